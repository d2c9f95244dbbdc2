"""The transit workflows as plain functions over a store: fetch a data source, export a
contributor, export a coverage, publish a coverage. The Dagster assets and the CLI call these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from platform_assets.lib.gtfs.reader import Feed, check_zip_file, feed_counts, read_feed, write_feed
from platform_assets.lib.gtfs.validity import ValidityPeriod, effective_period, feed_validity_period, union
from platform_assets.transit import store as layout
from platform_assets.transit.catalog import COVERAGE_EXPORT_INPUT, Catalog, Contributor, Coverage, DataSource
from platform_assets.transit.errors import FeedError, FetchError, TransitError
from platform_assets.transit.fetch import fetch
from platform_assets.transit.limits import TransitLimits
from platform_assets.transit.merge import merge_feeds, stream_merge
from platform_assets.transit.preprocesses import ComputeODS, PreprocessContext, build_preprocess
from platform_assets.transit.publish import OdsInfo, build_ods_archive, deliver, expand_url, stop_area_file
from platform_assets.transit.store import (
    StateLock,
    Store,
    apply_retention,
    read_state,
    state_key,
    update_state,
)

Log = Callable[[str], None]
PUBLICATION_HISTORY = 20  # publications remembered per coverage


def _no_log(_message: str) -> None:
    pass


@dataclass
class SourceOutcome:
    """One data source after a fetch: where its current data set is and whether it changed."""

    source_id: str
    status: str  # updated | unchanged
    sha256: str
    file_name: str
    uri: str
    local_path: Path
    written: list[Any] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass
class ExportOutcome:
    """A contributor or coverage export: `exported` is False when nothing changed."""

    exported: bool
    subject: str
    sources: list[SourceOutcome] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    main: Any = None
    written: list[Any] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    validity: ValidityPeriod | None = None
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reason: str = ""


def _period_json(period: ValidityPeriod) -> dict[str, str]:
    return period.as_json()


def _period_from(data: dict[str, str]) -> ValidityPeriod:
    return ValidityPeriod(date.fromisoformat(data["start_date"]), date.fromisoformat(data["end_date"]))


# -- data sources --------------------------------------------------------------------------------
def fetch_data_source(
    store: Store,
    catalog: Catalog,
    contributor: Contributor,
    source: DataSource,
    workdir: Path,
    log: Log = _no_log,
    location: str | None = None,
    limits: TransitLimits | None = None,
    lock: StateLock | None = None,
) -> SourceOutcome:
    """Fetch one source; save it as a new data set only when its sha256 differs from the last one.

    `location` (a URL or file path) overrides the catalog's: how an operator provides the data set
    of a `manual` source, or fetches a source from elsewhere once. A GTFS download that is not a
    safe zip within the limits (an HTML maintenance page, a JSON error) is refused before it is
    saved: the source's state records the failure, no data set is created, nothing is deleted.
    """
    limits = limits or TransitLimits()
    key = state_key("data_sources", contributor.id, source.id)
    state = read_state(store, key)
    versions: list[dict[str, Any]] = state.get("versions", [])
    target_dir = workdir / "sources" / source.id
    last = versions[-1] if versions else None

    def last_data_set(reason: str) -> SourceOutcome:
        if last is None:
            raise TransitError(f"contributor {contributor.id!r} source {source.id!r}: {reason} and no data set saved yet")
        path = store.download(last["keys"][0], target_dir / last["file_name"])
        return SourceOutcome(source.id, "unchanged", last["sha256"], last["file_name"], store.uri(last["keys"][0]), Path(path))

    if source.input.type != "url" and location is None:
        log(f"source {source.id}: input type {source.input.type!r}, using the last saved data set")
        return last_data_set(f"input type is {source.input.type!r}")
    url = location or catalog.resolve_path(source.input.url)
    auth = source.input.auth if location is None else None
    fetched = fetch(
        url,
        target_dir,
        fallback_name=f"{source.id}.zip",
        username=auth.username if auth else "",
        password=auth.resolved_password() if auth else "",
        etag=state.get("etag", "") if last and location is None else "",
        last_modified=state.get("last_modified", "") if last and location is None else "",
        limits=limits.fetch,
    )
    if fetched.not_modified:
        log(f"source {source.id}: not modified (HTTP 304), download skipped")
        return last_data_set("not modified")
    assert fetched.path is not None
    if source.data_format == "gtfs":
        try:
            check_zip_file(fetched.path, f"{contributor.id}/{source.id}/{fetched.file_name}", limits.archive)
        except FeedError as error:
            fetched.path.unlink(missing_ok=True)
            message = f"{url}: download refused, no data set saved (the last one stays): {error}"

            def record_failure(current: dict[str, Any]) -> None:
                current["last_failure"] = {"at": datetime.now(UTC).isoformat(), "error": message}

            update_state(store, key, record_failure, lock)
            raise FetchError(message) from None
    validators = {"etag": fetched.etag, "last_modified": fetched.last_modified, "url": url}
    if last is not None and last["sha256"] == fetched.sha256:
        update_state(store, key, lambda current: current.update(validators), lock)
        log(f"source {source.id}: unchanged (sha256 {fetched.sha256[:12]})")
        return SourceOutcome(source.id, "unchanged", fetched.sha256, last["file_name"], store.uri(last["keys"][0]), fetched.path)
    version = layout.stamp()
    data_key = layout.data_set_key(contributor.id, source.id, version, fetched.file_name)
    stored = store.put_file(data_key, fetched.path)
    entry = {"version": version, "keys": [data_key], "sha256": fetched.sha256, "file_name": fetched.file_name,
             "saved_at": datetime.now(UTC).isoformat()}

    def add_data_set(current: dict[str, Any]) -> list[str]:
        current.update(validators)
        current.pop("last_failure", None)
        kept, deleted = apply_retention(store, [*current.get("versions", []), entry])
        current["versions"] = kept
        return deleted

    deleted = update_state(store, key, add_data_set, lock)
    log(f"source {source.id}: new data set {fetched.file_name} (sha256 {fetched.sha256[:12]}) saved")
    return SourceOutcome(
        source.id, "updated", fetched.sha256, fetched.file_name, stored.uri, fetched.path, [stored], deleted  # type: ignore[arg-type]
    )


# -- contributor export --------------------------------------------------------------------------
SaveComputed = Callable[[str, Feed], tuple[Feed, Path]]


def _apply_preprocesses(
    feed: Feed, specs: list[Any], config_files: dict[str, Path], where: str, log: Log, unknown_params: str = "refuse",
    save_computed: SaveComputed | None = None,
) -> Feed:
    context = PreprocessContext(config_files, log)
    for spec in sorted((s for s in specs if s.enabled), key=lambda s: s.sequence):
        preprocess = build_preprocess(spec.type, spec.params, spec.data_source_ids, where, unknown_params, log)
        if isinstance(preprocess, ComputeODS):
            continue
        log(f"{where}: preprocess {spec.type} (sequence {spec.sequence})")
        feed = preprocess.apply(feed, context)
        if spec.target_data_source_id and save_computed is not None:
            # A computed data source: what this preprocess produced is saved, and the steps after it
            # read the saved data set (as configuration too, by its id).
            feed, saved = save_computed(spec.target_data_source_id, feed)
            context.config_files[spec.target_data_source_id] = saved
    return feed


def _save_computed_data_set(
    store: Store, contributor: Contributor, source_id: str, feed: Feed, folder: Path, limits: TransitLimits,
    lock: StateLock | None, log: Log,
) -> tuple[Feed, Path, SourceOutcome]:
    """Save `feed` as a new data set of the computed source when its sha256 differs from the last one
    (retention as for fetched sources); return it read back from the store, the local file, the outcome."""
    key = state_key("data_sources", contributor.id, source_id)
    file_name = f"{source_id}.zip"
    written = write_feed(feed, folder / "written" / file_name)
    sha256 = hashlib.sha256(written.read_bytes()).hexdigest()
    versions: list[dict[str, Any]] = read_state(store, key).get("versions", [])
    last = versions[-1] if versions else None
    stored: list[Any] = []
    deleted: list[str] = []
    if last is not None and last["sha256"] == sha256:
        status, data_key = "unchanged", last["keys"][0]
        log(f"computed source {source_id}: unchanged (sha256 {sha256[:12]})")
    else:
        status = "updated"
        data_key = layout.data_set_key(contributor.id, source_id, layout.stamp(), file_name)
        stored.append(store.put_file(data_key, written, "application/zip"))
        entry = {"version": data_key.split("/")[-2], "keys": [data_key], "sha256": sha256, "file_name": file_name,
                 "saved_at": datetime.now(UTC).isoformat(), "computed": True}

        def add_data_set(current: dict[str, Any]) -> list[str]:
            kept, removed = apply_retention(store, [*current.get("versions", []), entry])
            current["versions"] = kept
            return removed

        deleted = update_state(store, key, add_data_set, lock)
        log(f"computed source {source_id}: new data set {file_name} (sha256 {sha256[:12]}) saved")
    local = Path(store.download(data_key, folder / "stored" / file_name))
    read_back = read_feed(local, f"{contributor.id}/{source_id}/{file_name}", limits.archive)
    outcome = SourceOutcome(source_id, status, sha256, file_name, store.uri(data_key), local, stored, deleted)
    return read_back, local, outcome


def export_contributor(
    store: Store,
    catalog: Catalog,
    contributor_id: str,
    workdir: Path,
    today: date,
    force: bool = False,
    log: Log = _no_log,
    limits: TransitLimits | None = None,
    lock: StateLock | None = None,
) -> ExportOutcome:
    """Fetch every source; when one changed (or `force`), preprocess, validate and save a new export."""
    limits = limits or TransitLimits()
    contributor = catalog.contributor(contributor_id)
    outcomes = [
        fetch_data_source(store, catalog, contributor, source, workdir, log, limits=limits, lock=lock)
        for source in contributor.data_sources
        if source.input.type != "computed"  # written by its preprocess below
    ]
    current = {outcome.source_id: outcome.sha256 for outcome in outcomes}
    key = state_key("contributor_exports", contributor.id)
    state = read_state(store, key)
    versions: list[dict[str, Any]] = state.get("versions", [])
    last = versions[-1] if versions else None
    written = [obj for outcome in outcomes for obj in outcome.written]
    deleted = [uri for outcome in outcomes for uri in outcome.deleted]
    if not force and last is not None and last.get("sources") == current:
        return ExportOutcome(False, contributor.id, outcomes, written=written, deleted=deleted,
                             reason="no data source changed since the last export")

    gtfs_ids = {source.id for source in contributor.gtfs_sources}
    feeds_by_source: dict[str, Feed] = {}
    for outcome in outcomes:
        if outcome.source_id in gtfs_ids:
            feeds_by_source[outcome.source_id] = read_feed(
                outcome.local_path, f"{contributor.id}/{outcome.source_id}/{outcome.file_name}", limits.archive
            )
    waiting: dict[str, str] = {}
    if contributor.future_versions == "wait" and last is not None:
        # Beyond Tartare (which exports at once): a new version starting after today is kept as a data
        # set, while the export goes on with the version in use; it goes live on its start date.
        for outcome in outcomes:
            live_sha = last.get("sources", {}).get(outcome.source_id)
            if outcome.source_id not in gtfs_ids or live_sha in (None, outcome.sha256):
                continue
            starts = feed_validity_period(feeds_by_source[outcome.source_id]).start_date
            if starts <= today:
                continue
            live = _kept_data_set(store, contributor.id, outcome.source_id, live_sha, workdir / "live")
            if live is None:
                log(f"source {outcome.source_id}: new version starts {starts}, but the version in use is gone: exported now")
                continue
            waiting[outcome.source_id] = starts.isoformat()
            current[outcome.source_id] = live_sha
            feeds_by_source[outcome.source_id] = read_feed(live, f"{contributor.id}/{outcome.source_id}/{live.name}", limits.archive)
            log(f"source {outcome.source_id}: new version (sha256 {outcome.sha256[:12]}) starts on {starts}: "
                "kept, it replaces the version in use on that date")
        if waiting and not force and last.get("sources") == current:
            when = ", ".join(f"{source} on {start}" for source, start in sorted(waiting.items()))
            return ExportOutcome(False, contributor.id, outcomes, written=written, deleted=deleted,
                                 reason=f"new version waiting for its start date ({when}); the version in use stays")
    pass_through = _pass_through_entries(store, contributor)
    reason = "forced" if force else "a data source changed" if last else "first export"
    if not gtfs_ids:
        # Only pass-through sources (osm_file, poly_file, ntfs): no GTFS export, the data sets are the export.
        entry = {"version": layout.stamp(), "keys": [], "sha256": "", "sources": current, "pass_through": pass_through,
                 "counts": {}, "created_at": datetime.now(UTC).isoformat()}
        deleted_exports = update_state(store, key, lambda state: _add_version(store, state, entry), lock)
        log(f"contributor {contributor.id}: pass-through data sets {sorted(pass_through)} recorded")
        return ExportOutcome(True, contributor.id, outcomes, written=written, deleted=deleted + deleted_exports,
                             read=[o.uri for o in outcomes], reason=reason)

    feeds = [("", feed) for feed in feeds_by_source.values()]
    periods = [feed_validity_period(feed) for feed in feeds_by_source.values()]
    config_files = {o.source_id: o.local_path for o in outcomes if o.source_id not in gtfs_ids and o.source_id not in pass_through}
    feed = feeds[0][1] if len(feeds) == 1 else merge_feeds(feeds, contributor.id)
    for warning in feed.warnings:
        log(f"warning: {warning}")
    computed: list[SourceOutcome] = []

    def save_computed(source_id: str, produced: Feed) -> tuple[Feed, Path]:
        read_back, local, outcome = _save_computed_data_set(
            store, contributor, source_id, produced, workdir / "computed" / source_id, limits, lock, log
        )
        computed.append(outcome)
        return read_back, local

    feed = _apply_preprocesses(feed, list(contributor.preprocesses), config_files, f"contributor {contributor.id}", log,
                               catalog.unknown_preprocess_params, save_computed)
    outcomes.extend(computed)
    written.extend(obj for outcome in computed for obj in outcome.written)
    deleted.extend(uri for outcome in computed for uri in outcome.deleted)
    validity = effective_period(union(periods), today, f"contributor {contributor.id}")
    path = write_feed(feed, workdir / "export" / f"{contributor.id}.zip")
    version = layout.stamp()
    export_key = layout.contributor_export_key(contributor.id, version)
    main = store.put_file(export_key, path, "application/zip")
    counts = feed_counts(feed)
    entry = {"version": version, "keys": [export_key], "sha256": main.sha256, "sources": current,
             "pass_through": pass_through, "computed": {o.source_id: o.sha256 for o in computed},
             "validity": _period_json(validity),
             "feed_validity": _period_json(union(periods)), "counts": counts, "created_at": datetime.now(UTC).isoformat()}
    deleted_exports = update_state(store, key, lambda state: _add_version(store, state, entry), lock)
    return ExportOutcome(
        True, contributor.id, outcomes, main=main, written=written, deleted=deleted + deleted_exports,
        read=[o.uri for o in outcomes], validity=validity, counts=counts, warnings=feed.warnings, reason=reason,
    )


def _kept_data_set(store: Store, contributor_id: str, source_id: str, sha256: str, folder: Path) -> Path | None:
    """The kept data set of a source with this sha256, downloaded into `folder` (None when deleted)."""
    versions = read_state(store, state_key("data_sources", contributor_id, source_id)).get("versions", [])
    for version in versions:
        if version["sha256"] == sha256:
            return Path(store.download(version["keys"][0], folder / source_id / version["file_name"]))
    return None


def _pass_through_entries(store: Store, contributor: Contributor) -> dict[str, dict[str, str]]:
    """source id -> the current data set (key, file name, data format) of each pass-through source."""
    entries: dict[str, dict[str, str]] = {}
    for source in contributor.pass_through_sources:
        versions = read_state(store, state_key("data_sources", contributor.id, source.id)).get("versions", [])
        if versions:
            entries[source.id] = {"key": versions[-1]["keys"][0], "file_name": versions[-1]["file_name"],
                                  "data_format": source.data_format}
    return entries


def latest_contributor_export(store: Store, contributor_id: str) -> dict[str, Any] | None:
    versions = read_state(store, state_key("contributor_exports", contributor_id)).get("versions", [])
    return versions[-1] if versions else None


def latest_coverage_export(store: Store, coverage_id: str) -> dict[str, Any] | None:
    versions = read_state(store, state_key("coverage_exports", coverage_id)).get("versions", [])
    return versions[-1] if versions else None


# -- coverage export -----------------------------------------------------------------------------
def export_coverage(
    store: Store,
    catalog: Catalog,
    coverage_id: str,
    workdir: Path,
    today: date,
    force: bool = False,
    log: Log = _no_log,
    limits: TransitLimits | None = None,
    lock: StateLock | None = None,
) -> ExportOutcome:
    """Merge the latest contributor exports (ids prefixed) when one of them is new (or `force`)."""
    limits = limits or TransitLimits()
    coverage = catalog.coverage(coverage_id)
    inputs: dict[str, dict[str, Any]] = {}
    for contributor_id in coverage.contributors:
        latest = latest_contributor_export(store, contributor_id)
        if latest is None:
            log(f"coverage {coverage.id}: contributor {contributor_id} has no export yet, left out")
            continue
        inputs[contributor_id] = latest
    if not inputs:
        raise TransitError(f"coverage {coverage.id!r}: none of its contributors {coverage.contributors} has an export")
    gtfs_inputs = {cid: latest for cid, latest in inputs.items() if latest["keys"]}
    if not gtfs_inputs:
        raise TransitError(f"coverage {coverage.id!r}: none of its contributors {coverage.contributors} has a GTFS export")
    # A contributor is identified by its GTFS export, or by its pass-through data sets when it has no GTFS.
    input_keys = {
        cid: latest["keys"][0] if latest["keys"] else ",".join(sorted(e["key"] for e in latest.get("pass_through", {}).values()))
        for cid, latest in inputs.items()
    }
    pass_through = [
        {"name": f"{cid}/{source_id}", **entry}
        for cid, latest in inputs.items() for source_id, entry in sorted(latest.get("pass_through", {}).items())
    ]
    key = state_key("coverage_exports", coverage.id)
    state = read_state(store, key)
    versions: list[dict[str, Any]] = state.get("versions", [])
    last = versions[-1] if versions else None
    if not force and last is not None and last.get("inputs") == input_keys:
        return ExportOutcome(False, coverage.id, inputs=input_keys, reason="no contributor produced a new export")

    validity = effective_period(
        union([_period_from(latest["validity"]) for latest in gtfs_inputs.values()]), today, f"coverage {coverage.id}"
    )
    local_inputs: list[tuple[str, Path]] = []
    for contributor_id, latest in gtfs_inputs.items():
        local = Path(store.download(latest["keys"][0], workdir / "inputs" / f"{contributor_id}.zip"))
        local_inputs.append((catalog.contributor(contributor_id).data_prefix, local))
    path = workdir / "export" / f"{coverage.id}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    feed_preprocesses = [spec for spec in coverage.preprocesses if spec.enabled and spec.type != ComputeODS.name]
    if feed_preprocesses:
        feeds = [(prefix, read_feed(local, local.name, limits.archive)) for prefix, local in local_inputs]
        feed = merge_feeds(feeds, coverage.id)
        feed = _apply_preprocesses(feed, feed_preprocesses, {}, f"coverage {coverage.id}", log, catalog.unknown_preprocess_params)
        write_feed(feed, path)
        counts = feed_counts(feed)
    else:
        # Exports are clean zips written by this platform: merge them row by row, in bounded memory.
        counts = stream_merge(local_inputs, path)
    version = layout.stamp()
    export_key = layout.coverage_export_key(coverage.id, version)
    main = store.put_file(export_key, path, "application/zip")
    keys, written = [export_key], [main]
    ods = _ods_spec(coverage, catalog.unknown_preprocess_params)
    if ods is not None:
        info = _ods_info(coverage, validity, datetime.now(UTC), catalog.unknown_preprocess_params)
        ods_inputs = _ods_inputs(store, path, pass_through, None, workdir / "ods-inputs")
        ods_path = build_ods_archive(ods_inputs, info, workdir / "export" / f"{coverage.id}_ods.zip")
        ods_key = layout.coverage_export_key(coverage.id, version, "_ods")
        written.append(store.put_file(ods_key, ods_path, "application/zip"))
        keys.append(ods_key)
    entry = {"version": version, "keys": keys, "sha256": main.sha256, "inputs": input_keys, "pass_through": pass_through,
             "validity": _period_json(validity), "counts": counts, "created_at": datetime.now(UTC).isoformat()}
    # Under the state lock; the state's other entries (the publication history) are kept.
    deleted = update_state(store, key, lambda state: _add_version(store, state, entry), lock)
    return ExportOutcome(
        True, coverage.id, inputs=input_keys, main=main, written=written, deleted=deleted,
        read=[store.uri(latest["keys"][0]) for latest in gtfs_inputs.values()] + [store.uri(e["key"]) for e in pass_through],
        validity=validity, counts=counts,
        reason="forced" if force else "a contributor produced a new export" if last else "first export",
    )


def _add_version(store: Store, state: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    """Append `entry` to the state's versions as they are now (under the state lock), apply
    retention; return the URIs deleted."""
    kept, deleted = apply_retention(store, [*state.get("versions", []), entry])
    state["versions"] = kept
    return deleted


def _default_inputs(platform_type: str, pass_through: list[dict[str, str]]) -> list[str]:
    """What a platform publishes when its input_data_source_ids are not set: navitia gets the export
    and the osm/poly files (Tartare's NavitiaPublisher), ods the export and ntfs (ComputeODS inputs)."""
    extra = {"navitia": ("osm_file", "poly_file"), "ods": ("ntfs",)}.get(platform_type, ())
    return [COVERAGE_EXPORT_INPUT, *(e["name"] for e in pass_through if e["data_format"] in extra)]


def _ods_inputs(
    store: Store, export: Path, pass_through: list[dict[str, str]], chosen: list[str] | None, folder: Path
) -> dict[str, Path]:
    """Upper-case format -> file, for the ODS archive (one metadata row each, as Tartare's ComputeODS)."""
    names = chosen if chosen is not None else _default_inputs("ods", pass_through)
    entries = {e["name"]: e for e in pass_through}
    inputs: dict[str, Path] = {}
    for name in names:
        if name == COVERAGE_EXPORT_INPUT:
            inputs["GTFS"] = export
        else:
            entry = entries[name]
            inputs[entry["data_format"].upper()] = Path(store.download(entry["key"], folder / name / entry["file_name"]))
    return inputs


def _ods_spec(coverage: Coverage, unknown_params: str = "refuse") -> ComputeODS | None:
    for spec in coverage.preprocesses:
        if spec.type == ComputeODS.name and spec.enabled:
            preprocess = build_preprocess(spec.type, spec.params, spec.data_source_ids, f"coverage {coverage.id}",
                                          unknown_params)
            assert isinstance(preprocess, ComputeODS)
            return preprocess
    return None


# -- publication ---------------------------------------------------------------------------------
@dataclass
class Publication:
    environment: str
    sequence: int
    platform_type: str
    protocol: str
    target: str


def publish_coverage(
    store: Store,
    catalog: Catalog,
    coverage_id: str,
    workdir: Path,
    replacements: dict[str, str] | None = None,
    log: Log = _no_log,
    on_published: Callable[[Publication], None] | None = None,
    limits: TransitLimits | None = None,
    version: str | None = None,
) -> tuple[dict[str, Any], list[Publication]]:
    """Publish the latest export (or the kept export `version`: a rollback) to every environment (in
    sequence), every platform (in sequence), each platform's files in turn.

    The first failure raises: the steps after it are not attempted. A complete publication is
    recorded in the coverage's state (`publications`: version, time, rollback or not).
    """
    coverage = catalog.coverage(coverage_id)
    key = state_key("coverage_exports", coverage.id)
    state = read_state(store, key)
    versions: list[dict[str, Any]] = state.get("versions", [])
    if not versions:
        raise TransitError(f"coverage {coverage.id!r}: no coverage export to publish yet")
    if version is None:
        chosen = versions[-1]
    else:
        matching = [v for v in versions if v["version"] == version]
        if not matching:
            kept = ", ".join(v["version"] for v in versions)
            raise TransitError(f"coverage {coverage.id!r}: no kept export {version!r} (kept: {kept})")
        chosen = matching[0]
    folder = workdir / "publish"
    export = Path(store.download(chosen["keys"][0], folder / f"{coverage.id}.zip"))
    validity = _period_from(chosen["validity"])
    pass_through: list[dict[str, str]] = chosen.get("pass_through", [])
    entries = {e["name"]: e for e in pass_through}
    done: list[Publication] = []
    for environment_name, environment in coverage.ordered_environments():
        for platform in sorted(environment.publication_platforms, key=lambda p: p.sequence):
            where = f"coverage {coverage.id} {environment_name} platform {platform.sequence} ({platform.type} over {platform.protocol})"
            files: list[tuple[Path, str]] = []
            if platform.type == "navitia":
                for name in platform.input_data_source_ids or _default_inputs("navitia", pass_through):
                    if name == COVERAGE_EXPORT_INPUT:
                        files.append((export, f"{coverage.id}.zip"))
                    elif name in entries:
                        entry = entries[name]
                        local = Path(store.download(entry["key"], folder / name / entry["file_name"]))
                        files.append((local, entry["file_name"]))  # Tartare publishes it under its own name
                    else:
                        log(f"{where}: {name} has no data set in export {chosen['version']}, not sent")
            elif platform.type == "ods":
                ods_keys = [k for k in chosen["keys"] if k.endswith("_ods.zip")]
                file = folder / f"{coverage.id}_ods.zip"
                download_url = platform.options.download_url
                if ods_keys and not download_url and platform.input_data_source_ids is None:
                    store.download(ods_keys[0], file)
                else:
                    # No archive saved at export time, or this portal announces its own download link
                    # or chooses its own data sources.
                    inputs = _ods_inputs(store, export, pass_through, platform.input_data_source_ids, folder / "ods")
                    info = _ods_info(coverage, validity, datetime.fromisoformat(chosen["created_at"]),
                                     catalog.unknown_preprocess_params)
                    build_ods_archive(inputs, info, file, expand_url(download_url, replacements or {}))
                files.append((file, f"{coverage.id}.zip"))
            else:
                stops = stop_area_file(export, coverage.id, folder)
                files.append((stops, stops.name))
            url = expand_url(platform.url, replacements or {})
            for file, remote_name in files:
                try:
                    target = deliver(
                        platform.protocol, url, file, remote_name, platform.options.for_delivery(),
                        (limits or TransitLimits()).upload,
                    )
                except TransitError as error:
                    raise type(error)(f"{where}: {error}") from None
                publication = Publication(environment_name, platform.sequence, platform.type, platform.protocol, target)
                done.append(publication)
                log(f"{where}: published {remote_name} to {target}")
                if on_published:
                    on_published(publication)
    rollback = chosen is not versions[-1]
    record = {"version": chosen["version"], "published_at": datetime.now(UTC).isoformat(), "rollback": rollback,
              "targets": [p.target for p in done]}

    def add_publication(state: dict[str, Any]) -> None:  # under the lock: an export may be saved meanwhile
        state["publications"] = [*state.get("publications", []), record][-PUBLICATION_HISTORY:]

    update_state(store, key, add_publication)
    return chosen, done


def publication_history(store: Store, coverage_id: str) -> list[dict[str, Any]]:
    """The coverage's recent publications, oldest first (version, published_at, rollback, targets)."""
    return read_state(store, state_key("coverage_exports", coverage_id)).get("publications", [])


def kept_coverage_exports(store: Store, coverage_id: str) -> list[dict[str, Any]]:
    """The kept exports of a coverage (oldest first): what a rollback may republish."""
    return read_state(store, state_key("coverage_exports", coverage_id)).get("versions", [])


def stored_file(
    store: Store, subject: str, *, coverage: bool = False, source: str | None = None, version: str | None = None
) -> tuple[str, str, str]:
    """(object key, file name, version) of a kept file: a data set of `subject`'s `source`, a coverage
    export (`coverage`), or a contributor export; the latest unless `version` names a kept one."""
    if source is not None:
        kind, what = state_key("data_sources", subject, source), f"contributor {subject!r} source {source!r}"
    elif coverage:
        kind, what = state_key("coverage_exports", subject), f"coverage {subject!r}"
    else:
        kind, what = state_key("contributor_exports", subject), f"contributor {subject!r}"
    versions = read_state(store, kind).get("versions", [])
    if not versions:
        raise TransitError(f"{what} has no {'data set' if source is not None else 'export'} yet")
    chosen = versions[-1] if version is None else next((v for v in versions if v["version"] == version), None)
    if chosen is None:
        raise TransitError(f"{what}: no kept version {version!r} (kept: {', '.join(v['version'] for v in versions)})")
    if not chosen["keys"]:
        raise TransitError(f"{what}: export {chosen['version']} has only pass-through data sets: use --source")
    object_key = chosen["keys"][0]
    return object_key, chosen.get("file_name") or object_key.rsplit("/", 1)[-1], chosen["version"]


def _ods_info(coverage: Coverage, validity: ValidityPeriod, updated: datetime, unknown_params: str = "refuse") -> OdsInfo:
    ods = _ods_spec(coverage, unknown_params)
    description = (ods.description if ods else "") or coverage.name
    return OdsInfo(coverage.id, description, (ods.licence_name if ods else "") or coverage.license.name,
                   (ods.licence_url if ods else "") or coverage.license.url, validity, updated)
