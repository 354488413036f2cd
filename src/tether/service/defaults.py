"""The server's default request-body limits, importable without its web framework (``tether --help`` shows them)."""

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
