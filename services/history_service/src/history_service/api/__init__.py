"""HTTP API of the history service (``/v1``)."""
