"""The running service around the engine: the store's lease, the health check, the metrics."""
