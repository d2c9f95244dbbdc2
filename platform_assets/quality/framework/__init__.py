"""The check framework: result shape, sampling, batches, runner (pure: no Dagster)."""
