"""Exports of one contributor at once lose no version (issue 18 item 13): the state JSON's
read-modify-write is serialised per key, and retention sees (and deletes) every object."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.transit.catalog import Catalog, parse_catalog
from platform_assets.transit.service import export_contributor
from platform_assets.transit.store import advisory_state_lock, file_state_lock, read_state, state_key

TODAY = date(2018, 1, 1)


class SlowStore:
    """The local object store, slow to save files (as S3 is): runs started together all read the
    state before any of them writes it, so an unserialised update would lose versions."""

    def __init__(self, root: Path, delay: float = 0.4) -> None:
        self.inner = LocalObjectStore(local_dir=str(root))
        self.delay = delay

    def put_file(self, key: str, path: Any, content_type: str | None = None) -> Any:
        time.sleep(self.delay)
        return self.inner.put_file(key, path, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _catalog(feed: Path) -> Catalog:
    return parse_catalog(
        {"contributors": [{"id": "alpha", "data_prefix": "A", "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": str(feed)}}]}],
         "coverages": []},
        "test",
    )


def _keys_in_state(store: Any, *ids: str) -> set[str]:
    state = read_state(store, state_key(*ids))
    return {key for version in state.get("versions", []) for key in version["keys"]}


def test_concurrent_exports_of_one_contributor_keep_every_version(shared_data: Path, tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "objects")
    catalog = _catalog(shared_data / "gtfs/history/gtfs-1.zip")
    lock = file_state_lock(tmp_path / "locks")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def export(number: int) -> None:
        start.wait()
        try:
            export_contributor(store, catalog, "alpha", tmp_path / f"w{number}", TODAY, force=True, lock=lock)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=export, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    state = read_state(store, state_key("contributor_exports", "alpha"))
    assert len(state["versions"]) == 2  # unserialised: 1, the other version dropped out
    exported = {info.key for info in store.list("transit/contributor_exports/alpha/")}
    assert exported == _keys_in_state(store, "contributor_exports", "alpha")
    # Both runs downloaded the same new file at once: each saved data set is in the history too.
    saved = {info.key for info in store.list("transit/data_sets/alpha/")}
    assert saved == _keys_in_state(store, "data_sources", "alpha", "gtfs") and len(saved) == 2


def test_retention_sees_every_object_of_concurrent_exports(shared_data: Path, tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "objects")
    catalog = _catalog(shared_data / "gtfs/history/gtfs-1.zip")
    lock = file_state_lock(tmp_path / "locks")
    assert export_contributor(store, catalog, "alpha", tmp_path / "first", TODAY, lock=lock).exported
    start = threading.Barrier(4)

    def export(number: int) -> None:
        start.wait()
        export_contributor(store, catalog, "alpha", tmp_path / f"w{number}", TODAY, force=True, lock=lock)

    threads = [threading.Thread(target=export, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # 5 exports made, 3 kept: the 2 oldest objects deleted, no orphan left behind.
    exported = {info.key for info in store.list("transit/contributor_exports/alpha/")}
    assert len(exported) == 3 and exported == _keys_in_state(store, "contributor_exports", "alpha")


def _export_in_process(objects: str, locks: str, feed: str, workdir: str, go: Any) -> None:
    store = SlowStore(Path(objects))
    go.wait(60)
    export_contributor(store, _catalog(Path(feed)), "alpha", Path(workdir), TODAY, force=True, lock=file_state_lock(Path(locks)))


def test_concurrent_exports_in_two_processes_keep_every_version(shared_data: Path, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    go = context.Barrier(2)
    feed = str(shared_data / "gtfs/history/gtfs-1.zip")
    processes = [
        context.Process(target=_export_in_process, args=(str(tmp_path / "objects"), str(tmp_path / "locks"), feed, str(tmp_path / f"p{n}"), go))
        for n in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    assert len(read_state(store, state_key("contributor_exports", "alpha"))["versions"]) == 2


def test_the_postgres_advisory_lock_serialises_holders(postgres_url: str, tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(postgres_url)
    lock = advisory_state_lock(engine)
    inside: list[str] = []
    overlap: list[bool] = []

    def hold(name: str) -> None:
        with lock("transit/state/contributor_exports/alpha.json"):
            overlap.append(bool(inside))
            inside.append(name)
            time.sleep(0.3)
            inside.remove(name)

    threads = [threading.Thread(target=hold, args=(f"t{n}",)) for n in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert overlap == [False, False, False] and time.monotonic() - started >= 0.9
    engine.dispose()
