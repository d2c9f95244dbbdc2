"""Generic time-based checks against the previous dataset: persistence, stability."""
