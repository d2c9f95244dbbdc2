"""GTFS: a streaming feed reader and the validity-period rules (no Dagster)."""
