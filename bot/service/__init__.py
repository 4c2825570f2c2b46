"""The running process around the engine: the lease, the workers' supervisor, health, metrics."""
