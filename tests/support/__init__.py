"""Helpers shared by test folders and benches (no pytest imports here)."""
