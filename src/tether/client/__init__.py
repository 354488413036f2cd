"""The Client and its transports."""
