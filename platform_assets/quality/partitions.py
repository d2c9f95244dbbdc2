"""The quality system's partitions (one per OCDS dataset folder)."""

from dagster import DynamicPartitionsDefinition

ocds_datasets = DynamicPartitionsDefinition(name="ocds_dataset")
