"""Dataset-level checks: distribution, uniqueness, repetition."""
