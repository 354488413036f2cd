"""Durable storage: the Store protocol (base), and its SQLite and PostgreSQL implementations as subpackages."""
