"""platform_assets: a Dagster code location running five operational data systems."""
