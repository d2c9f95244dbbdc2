"""GTFS data-quality checks on one feed zip (pure: no Dagster), one module per rule group, all
listed in `registry`; the Dagster asset checks on transit's export assets are in
`quality/gtfs_checks.py`."""
