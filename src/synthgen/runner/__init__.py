"""The runner: one scheduling loop over swappable executors (local processes, Ray actors)."""
