"""A streaming XLSX writer with bounded memory (no Dagster)."""
