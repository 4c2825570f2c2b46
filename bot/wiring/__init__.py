"""Each site's systems, wired: the real clients, or the simulated observatory (demo, rehearsals)."""
