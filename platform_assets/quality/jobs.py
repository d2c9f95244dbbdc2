"""Jobs of the quality system."""

from dagster import AssetKey, AssetSelection, define_asset_job

ocds_quality_job = define_asset_job(
    "ocds_quality_job",
    selection=AssetSelection.assets("ocds_dataset", AssetKey("ocds_dataset_quality_report")),
    description="Load one OCDS dataset, run every OCDS check on it and write its quality report.",
)
ocds_filtered_quality_job = define_asset_job(
    "ocds_filtered_quality_job",
    selection=AssetSelection.assets("ocds_filtered_dataset", AssetKey("ocds_filtered_dataset_quality_report")),
    description="Filter a loaded OCDS dataset (run config), check the subset and report on it.",
)

CHECKS_JOB = "contributor_export_gtfs_checks"
contributor_export_checks_job = define_asset_job(
    CHECKS_JOB,
    selection=AssetSelection.checks_for_assets(AssetKey("contributor_export")),
    description="Run the GTFS quality checks on a contributor's latest export (the automation runs them "
    "after each new export; this job is for the launchpad, the CLI and the demo).",
)
