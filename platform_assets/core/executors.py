"""Step execution chosen per deployment: Dagster's default, in-process, multiprocess or celery."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from platform_assets.core.settings import SettingSpec, read

if TYPE_CHECKING:
    from dagster import ExecutorDefinition

EXECUTOR_SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "PLATFORM_EXECUTOR",
        "default",
        "How a run's steps execute: Dagster's default (multiprocess), in_process, or celery workers.",
        choices=("default", "in_process", "multiprocess", "celery"),
    ),
    SettingSpec(
        "PLATFORM_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//", "Celery broker (PLATFORM_EXECUTOR=celery)."
    ),
    SettingSpec("PLATFORM_CELERY_BACKEND", "rpc://", "Celery result backend (PLATFORM_EXECUTOR=celery)."),
)


def _celery_value(name: str, env: Mapping[str, str] | None) -> Any:
    """Dagster's `{"env": NAME}` config form when the variable is set (the broker URL may hold a
    password, which must not reach the UI), else the default."""
    if env is None and os.environ.get(name):
        return {"env": name}
    return read(name, EXECUTOR_SETTINGS, env)


def build_executor(env: Mapping[str, str] | None = None) -> ExecutorDefinition:
    """The executor of every job of the code location (PLATFORM_EXECUTOR)."""
    from dagster import in_process_executor, multi_or_in_process_executor, multiprocess_executor

    kind = read("PLATFORM_EXECUTOR", EXECUTOR_SETTINGS, env)
    if kind == "celery":
        # Imported only here: workers and launchers that use celery need dagster-celery's app.
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": _celery_value("PLATFORM_CELERY_BROKER", env),
                "backend": _celery_value("PLATFORM_CELERY_BACKEND", env),
            },
            name="celery",
        )
    if kind == "in_process":
        return in_process_executor
    if kind == "multiprocess":
        return multiprocess_executor
    return multi_or_in_process_executor
