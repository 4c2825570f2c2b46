"""The per-site state: the procedure as data, the pure state machine, its events, the store."""
