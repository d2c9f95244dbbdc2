"""The quality check framework (no Dagster): checks at four levels, results with pass / fail /
not-applicable counts and reservoir-sampled examples, their storage and report rendering.
Systems declare their own checks with it (quality/ocds, quality/gtfs)."""
