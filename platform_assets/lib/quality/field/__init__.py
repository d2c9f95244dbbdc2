"""Field-level checks: coverage (exists, non_empty) and quality (type, format, range, codelist)."""
