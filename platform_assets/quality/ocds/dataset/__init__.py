"""Dataset-level OCDS checks."""
