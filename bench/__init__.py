"""Benchmarks: commands that print figures (no timing lives in the unit tests)."""
