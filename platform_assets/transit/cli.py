"""`platform-assets transit ...`: manual actions and the validity-period helper."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from platform_assets.transit.errors import FeedError, TransitError


@click.group("transit")
def transit_cli() -> None:
    """Transit feeds: contributors, coverages, exports and publications."""


@transit_cli.command("validity-period")
@click.argument("feed", type=click.Path(dir_okay=False, path_type=Path))
def validity_period_command(feed: Path) -> None:
    """Print FEED's own validity period as JSON (no union, no 'today' rule)."""
    from platform_assets.lib.gtfs.validity import validity_period_of_file

    try:
        period = validity_period_of_file(feed)
    except FeedError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(json.dumps(period.as_json()))


def _transit_settings():  # type: ignore[no-untyped-def]
    from platform_assets.core.settings import configure
    from platform_assets.transit.resources import TransitSettings

    return configure(TransitSettings, resolve=True)


def _submit(webserver: str, job_name: str, partition_key: str, run_config: dict, subject: str) -> None:
    """Submit a transit job run through a Dagster webserver (GraphQL): it joins the instance's run
    queue, so the deployment's tag concurrency limits (one publication per coverage) apply."""
    from urllib.parse import urlsplit

    from dagster._core.storage.tags import PARTITION_NAME_TAG
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    from platform_assets.core.tags import SUBJECT_TAG, TRANSIT_TRIGGER_TAG, publication_tags
    from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB

    url = urlsplit(webserver if "://" in webserver else f"http://{webserver}")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise TransitError(f"--queue {webserver!r}: not a Dagster webserver URL (http://host:port)")
    tags = {SUBJECT_TAG: subject, TRANSIT_TRIGGER_TAG: "cli", PARTITION_NAME_TAG: partition_key}
    if job_name != CONTRIBUTOR_EXPORT_JOB:
        tags.update(publication_tags(partition_key))  # as the job's PartitionedConfig adds in the UI
    try:
        client = DagsterGraphQLClient(url.hostname, port_number=url.port, use_https=url.scheme == "https")
        run_id = client.submit_job_execution(job_name, run_config=run_config, tags=tags)
    except DagsterGraphQLClientError as error:
        cause = error.__cause__ or error
        reason = str(cause).splitlines()[0][:300] if str(cause).strip() else type(cause).__name__
        raise TransitError(f"{webserver}: could not submit {job_name} [{partition_key}]: {reason}") from None
    base = webserver.rstrip("/")
    click.echo(f"{job_name} [{partition_key}]: queued as run {run_id} ({base}/runs/{run_id})")


def _launch(job_name: str, partitions: str, partition_key: str, run_config: dict, subject: str, webserver: str | None = None) -> None:
    """Run a transit job in this process on the Dagster instance (DAGSTER_HOME), partition added
    first; or, with `webserver`, submit it to that webserver's run queue."""
    if webserver is not None:
        _submit(webserver, job_name, partition_key, run_config, subject)
        return
    from platform_assets.core.alerts import PlatformInfo
    from platform_assets.core.instance import dagster_instance
    from platform_assets.core.settings import configure
    from platform_assets.core.tags import TRANSIT_TRIGGER_TAG
    from platform_assets.transit.update_now import outcome_lines, run_transit_job

    heartbeat_seconds = configure(PlatformInfo, resolve=True).run_heartbeat_seconds
    # The instance as a context manager: disposed (and its state storage unset) when done.
    with dagster_instance() as instance:
        result = run_transit_job(
            instance, job_name, partitions, partition_key, run_config, {TRANSIT_TRIGGER_TAG: "cli"}, heartbeat_seconds
        )
    for line in outcome_lines(job_name, partition_key, result):
        click.echo(line)


@transit_cli.command("export-contributor")
@click.argument("contributor_id")
@click.option("--force/--no-force", default=True, show_default=True, help="Export even when no source changed.")
@click.option("--queue", "webserver", metavar="URL", default=None,
              help="Submit the run to the Dagster webserver at URL (its run queue and tag limits apply) "
              "instead of running it in this process.")
def export_contributor_command(contributor_id: str, force: bool, webserver: str | None) -> None:
    """Export CONTRIBUTOR_ID now (forced by default)."""
    from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB
    _transit_settings().load_catalog().contributor(contributor_id)
    config = {"ops": {"contributor_export": {"config": {"force": force}}}}
    _launch(CONTRIBUTOR_EXPORT_JOB, "contributors", contributor_id, config, contributor_id, webserver)


@transit_cli.command("export-coverage")
@click.argument("coverage_id")
@click.option("--force/--no-force", default=True, show_default=True, help="Export even when no contributor changed.")
@click.option("--queue", "webserver", metavar="URL", default=None,
              help="Submit the run to the Dagster webserver at URL (its run queue and tag limits apply) "
              "instead of running it in this process.")
def export_coverage_command(coverage_id: str, force: bool, webserver: str | None) -> None:
    """Export (then publish) COVERAGE_ID now (forced by default)."""
    from platform_assets.transit.jobs import COVERAGE_EXPORT_JOB
    _transit_settings().load_catalog().coverage(coverage_id)
    config = {"ops": {"coverage_export": {"config": {"force": force}}}}
    _launch(COVERAGE_EXPORT_JOB, "coverages", coverage_id, config, coverage_id, webserver)


@transit_cli.command("rollback")
@click.argument("coverage_id")
@click.argument("version", required=False)
@click.option("--queue", "webserver", metavar="URL", default=None,
              help="Submit the run to the Dagster webserver at URL instead of running it in this process.")
def rollback_command(coverage_id: str, version: str | None, webserver: str | None) -> None:
    """Republish VERSION, one of COVERAGE_ID's kept exports, to all its platforms (recorded as a
    publication of that version); without VERSION, list the kept exports and the last publications."""
    from platform_assets.core.resources import object_store
    from platform_assets.transit.jobs import COVERAGE_PUBLICATION_JOB
    from platform_assets.transit.service import kept_coverage_exports, publication_history

    _transit_settings().load_catalog().coverage(coverage_id)
    store = object_store(resolve=True)
    kept = kept_coverage_exports(store, coverage_id)
    if not kept:
        raise TransitError(f"coverage {coverage_id!r} has no export yet")
    if version is None:
        published = publication_history(store, coverage_id)
        live = published[-1]["version"] if published else ""
        for entry in reversed(kept):
            validity = entry.get("validity", {})
            marks = [mark for mark, on in (("latest", entry is kept[-1]), ("published", entry["version"] == live)) if on]
            click.echo(f"{entry['version']}  validity {validity.get('start_date')}..{validity.get('end_date')}  "
                       f"created {entry.get('created_at', '')}{'  (' + ', '.join(marks) + ')' if marks else ''}")
        return
    if version not in {entry["version"] for entry in kept}:
        choices = ", ".join(entry["version"] for entry in kept)
        raise TransitError(f"coverage {coverage_id!r}: no kept export {version!r} (kept: {choices})")
    config = {"ops": {"coverage_publication": {"config": {"version": version}}}}
    _launch(COVERAGE_PUBLICATION_JOB, "coverages", coverage_id, config, coverage_id, webserver)


@transit_cli.command("fetch-source")
@click.argument("contributor_id")
@click.argument("source_id")
@click.option("--from", "location", help="Fetch from this URL or file instead (e.g. a manual source's file).")
def fetch_source_command(contributor_id: str, source_id: str, location: str | None) -> None:
    """Fetch one data source and save it as a new data set if it changed."""
    from platform_assets.core.resources import core_resources
    from platform_assets.transit.service import fetch_data_source
    from platform_assets.transit.store import advisory_state_lock

    transit = _transit_settings()
    catalog = transit.load_catalog()
    contributor = catalog.contributor(contributor_id)
    resources = core_resources(resolve=True)
    store = resources["object_store"]
    with tempfile.TemporaryDirectory(prefix="transit-fetch-") as workdir:
        outcome = fetch_data_source(
            store, catalog, contributor, contributor.source(source_id), Path(workdir), location=location,
            limits=transit.limits(), lock=advisory_state_lock(resources["database"].engine, transit.state_lock()),
        )
    click.echo(f"{contributor_id}/{source_id}: {outcome.status} sha256={outcome.sha256} {outcome.uri}")


@transit_cli.command("get-file")
@click.argument("subject")
@click.argument("file_name", required=False)
@click.option("--coverage", is_flag=True, help="SUBJECT is a coverage: read its export.")
@click.option("--source", default=None, help="Read a data set of this source of contributor SUBJECT instead of its export.")
@click.option("--version", default=None, help="One of the kept versions (default: the latest).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
def get_file_command(
    subject: str, file_name: str | None, coverage: bool, source: str | None, version: str | None, output: Path | None
) -> None:
    """Get FILE_NAME (e.g. stops.txt) from the latest export of contributor SUBJECT; or, without
    FILE_NAME, the whole file. --coverage, --source and --version pick another kept file."""
    from platform_assets.core.resources import object_store
    from platform_assets.lib.gtfs.reader import read_member
    from platform_assets.transit.service import stored_file

    if coverage and source:
        raise TransitError("--coverage and --source exclude each other")
    store = object_store(resolve=True)
    key, stored_name, found = stored_file(store, subject, coverage=coverage, source=source, version=version)
    with tempfile.TemporaryDirectory(prefix="transit-get-") as workdir:
        local = Path(store.download(key, Path(workdir) / stored_name))
        data = read_member(local, file_name) if file_name else local.read_bytes()
    name = file_name or stored_name
    if output is None:
        if file_name:
            click.echo(data.decode("utf-8", errors="replace"), nl=False)
        else:
            click.get_binary_stream("stdout").write(data)
    else:
        output.write_bytes(data)
        click.echo(f"{name} of {subject}{f' source {source}' if source else ''} version {found} written to {output}")


@transit_cli.command("update-now")
@click.option("--queue", "webserver", metavar="URL", default=None,
              help="Submit the contributor runs to the Dagster webserver at URL (its sensor then exports "
              "and publishes the coverages) instead of running everything in this process.")
def update_now_command(webserver: str | None) -> None:
    """Tartare's "automatic update" now: export every contributor whose sources changed, then export
    and publish every coverage holding a new contributor export. Failures are listed at the end."""
    from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB

    catalog = _transit_settings().load_catalog()
    failed: list[str] = []
    if webserver is None:
        from platform_assets.core.alerts import PlatformInfo
        from platform_assets.core.instance import dagster_instance
        from platform_assets.core.settings import configure
        from platform_assets.transit.update_now import update_now

        def report(line: str) -> None:
            click.echo(line, err=line.startswith("error: "))

        heartbeat_seconds = configure(PlatformInfo, resolve=True).run_heartbeat_seconds
        with dagster_instance() as instance:
            failed = update_now(instance, catalog, "cli", report, heartbeat_seconds)
    else:
        for contributor in catalog.contributors:
            config = {"ops": {"contributor_export": {"config": {"force": False}}}}
            try:
                _launch(CONTRIBUTOR_EXPORT_JOB, "contributors", contributor.id, config, contributor.id, webserver)
            except TransitError as error:
                click.echo(f"error: {error}", err=True)
                failed.append(f"contributor {contributor.id}")
    if failed:
        raise TransitError(f"update-now: {len(failed)} failed: {', '.join(failed)}")
