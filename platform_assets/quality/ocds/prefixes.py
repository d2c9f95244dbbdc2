"""Where each OCDS dataset asset keeps its datasets in the object store (`<prefix>/<dataset>/`).
Apart from `dataset_store` so that the Dagster layer names them without importing the store."""

DATASET_PREFIX = "quality/ocds"
FILTERED_PREFIX = "quality/ocds_filtered"
