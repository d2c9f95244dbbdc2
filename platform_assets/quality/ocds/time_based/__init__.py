"""Time-based OCDS checks against the previous (or an ancestor) dataset."""
