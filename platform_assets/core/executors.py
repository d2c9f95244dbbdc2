"""Step execution chosen per deployment: Dagster's default, in-process, multiprocess or celery."""

from dagster import (
    ExecutorDefinition,
    in_process_executor,
    multi_or_in_process_executor,
    multiprocess_executor,
)

from platform_assets.core.settings import Settings


def build_executor(settings: Settings) -> ExecutorDefinition:
    """The executor of every job of the code location (PLATFORM_EXECUTOR)."""
    kind = settings.value("PLATFORM_EXECUTOR")
    if kind == "celery":
        # Imported only here: workers and launchers that use celery need dagster-celery's app.
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": settings.value("PLATFORM_CELERY_BROKER"),
                "backend": settings.value("PLATFORM_CELERY_BACKEND"),
            },
            name="celery",
        )
    if kind == "in_process":
        return in_process_executor
    if kind == "multiprocess":
        return multiprocess_executor
    return multi_or_in_process_executor
