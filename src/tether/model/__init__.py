"""Plain data of tether: events, options, tokens, payloads and clocks; no I/O."""
