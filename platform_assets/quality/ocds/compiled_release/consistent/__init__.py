"""Consistent: figures that describe the same thing agree (counts, values, roles)."""
