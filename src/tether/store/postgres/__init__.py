"""The PostgreSQL store: many workers and servers on many machines share one database."""
