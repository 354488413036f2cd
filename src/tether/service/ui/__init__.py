"""The web UI: executions, their timelines and histories, and the inbox of activities waiting for people."""
