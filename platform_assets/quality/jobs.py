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
