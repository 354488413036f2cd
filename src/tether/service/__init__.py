"""The tether server: an HTTP API with API-key permissions over the engine."""
