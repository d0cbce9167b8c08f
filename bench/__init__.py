"""Caseline's benchmark: load, catch-up, reads and memory, with the raw limits in the same run."""
