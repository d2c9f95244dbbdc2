"""A run launcher that records what the queued-run coordinator hands it and executes nothing.

Configured in place of DefaultRunLauncher so a test can watch the coordinator's decisions (which
queued runs it dequeues) without starting run workers.
"""

from collections.abc import Mapping
from typing import Any

from dagster import _check as check
from dagster._core.launcher import LaunchRunContext, RunLauncher
from dagster._serdes import ConfigurableClass, ConfigurableClassData


class RecordingRunLauncher(RunLauncher, ConfigurableClass):
    def __init__(self, inst_data: ConfigurableClassData | None = None) -> None:
        self._inst_data = inst_data
        self.launched_run_ids: list[str] = []
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> "RecordingRunLauncher":
        return cls(inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        check.invariant(context.dagster_run.run_id not in self.launched_run_ids, "run launched twice")
        self.launched_run_ids.append(context.dagster_run.run_id)

    def terminate(self, run_id: str) -> bool:
        return False
