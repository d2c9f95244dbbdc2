"""ingest-tracker's rules on a generated tree (issue 16 "Dataset tracker", issue 18 item 8): full-match
discovery among archives and `_old` folders, merged IDFs ignored, metadata chosen by stage, a
source covering a range of stages, the Atlas JSON listing, published_dev, GEO duplicates, and
special files and hostile listings that never hang the crawl. Expected figures are computed in
the test from the tree's own specification."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from platform_assets.dataset_tracker.config import load_sources_config
from platform_assets.dataset_tracker.crawler import crawl, fetch_listing
from platform_assets.dataset_tracker.errors import SourceUnavailableError
from platform_assets.dataset_tracker.stages import Stage
from platform_assets_tests.dataset_tracker.conftest import idf_text, sdrf_text, write
from platform_assets_tests.servers import HttpServer, Response

FOLDER_STAGES = ("incoming", "loading", "analysing", "processed", "published")


def _config(root: Path, extra: str = "") -> Path:
    lines = ['accession_pattern: "E-[A-Z]{4}-[0-9]+"', "sources:"]
    lines += [f"  - {{name: {stage}, stage: {stage}, folder: {stage}}}" for stage in FOLDER_STAGES]
    return write(root / "sources.yaml", "\n".join(lines) + "\n" + extra)


def test_generated_tree_counts_match_the_rules(tmp_path: Path) -> None:
    rng = random.Random(16)
    root = tmp_path / "tree"
    for stage in FOLDER_STAGES:
        (root / stage).mkdir(parents=True)
    real: dict[str, set[str]] = {}  # accession -> stages where it really is
    merged_titles: set[str] = set()
    for number in range(1, 121):
        accession = f"E-MTAB-{number}"
        stages = set(rng.sample(FOLDER_STAGES, rng.randint(0, 2)))
        for stage in sorted(stages):
            if rng.random() < 0.5:
                write(root / stage / accession / f"{accession}.idf.txt", idf_text(f"{accession} at {stage}"))
            else:
                write(root / stage / f"{accession}.idf.txt", idf_text(f"{accession} at {stage}"))
        if stages:
            real[accession] = stages
        # Decoys at any stage: an archive, an `_old` copy, a merged IDF, a longer accession's prefix.
        decoy_stage = rng.choice(FOLDER_STAGES)
        kind = rng.choice(("archive", "old", "merged", "backup"))
        if kind == "archive":
            write(root / decoy_stage / f"{accession}.tar.gz", b"\x1f\x8b archive")
        elif kind == "old":
            write(root / decoy_stage / f"{accession}_old" / f"{accession}.idf.txt", idf_text("old copy"))
        elif kind == "merged":
            title = f"merged {accession}"
            merged_titles.add(title)
            write(root / decoy_stage / f"{accession}.merged.idf.txt", idf_text(title))
            if stages:
                write(root / max(stages, key=FOLDER_STAGES.index) / accession / f"{accession}.merged.idf.txt",
                      idf_text(title))
        else:
            write(root / decoy_stage / f"{accession}.idf.txt.bak", "backup\n")
    result = crawl(load_sources_config(_config(root)))

    expected_stage = {acc: max(stages, key=FOLDER_STAGES.index) for acc, stages in real.items()}
    assert {acc: d.stage.name for acc, d in result.datasets.items()} == expected_stage
    counts = Counter(expected_stage.values())
    assert result.counts_by_stage() == {stage.name: counts.get(stage.name, 0) for stage in Stage}
    # The metadata read is the real one of the most advanced stage: never a merged IDF or an old copy.
    for accession, dataset in result.datasets.items():
        assert dataset.title == f"{accession} at {expected_stage[accession]}"
    assert not merged_titles & {d.title for d in result.datasets.values()}


def test_metadata_is_chosen_by_stage_before_age(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for stage in FOLDER_STAGES:
        (root / stage).mkdir(parents=True)
    # The processed copy is older than a curator's later edit left in incoming: processed wins.
    write(root / "processed/E-MTAB-9/E-MTAB-9.idf.txt", idf_text("processed version"), mtime=1_700_000_000)
    write(root / "processed/E-MTAB-9/E-MTAB-9.sdrf.txt", sdrf_text("Mus musculus", 2), mtime=1_700_000_000)
    write(root / "incoming/E-MTAB-9/E-MTAB-9.idf.txt", idf_text("stray later edit"), mtime=1_800_000_000)
    write(root / "incoming/E-MTAB-9/E-MTAB-9.sdrf.txt", sdrf_text("Homo sapiens", 5), mtime=1_800_000_000)
    dataset = crawl(load_sources_config(_config(root))).datasets["E-MTAB-9"]
    assert dataset.title == "processed version"
    assert (dataset.metadata.organisms, dataset.metadata.samples) == (("Mus musculus",), 2)
    assert dataset.idf_path.endswith("processed/E-MTAB-9/E-MTAB-9.idf.txt")


def test_atlas_json_listing_with_a_range_of_stages_and_published_dev(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for stage in FOLDER_STAGES:
        (root / stage).mkdir(parents=True)
    (root / "processed/E-MTAB-20").mkdir()
    (root / "analysing/E-MTAB-21").mkdir()
    write(root / "dev.json", json.dumps({"experiments": [
        {"experimentAccession": "E-MTAB-20", "experimentDescription": "Twenty on dev"},
        {"experimentAccession": "E-MTAB-21"},
        {"experimentAccession": "not-an-accession"},
    ]}))
    write(root / "public.json", json.dumps({"experiments": [{"experimentAccession": "E-MTAB-22"}]}))
    extra = (
        "  - {name: dev, stage: [processed, published_dev], listing: dev.json, format: atlas_json}\n"
        "  - {name: public, stage: published, listing: public.json, format: atlas_json}\n"
    )
    result = crawl(load_sources_config(_config(root, extra)))
    assert {acc: (d.stage.name, d.stage_label) for acc, d in result.datasets.items()} == {
        "E-MTAB-20": ("published_dev", "processed..published_dev"),
        "E-MTAB-21": ("published_dev", "processed..published_dev"),
        "E-MTAB-22": ("published", "published"),
    }
    assert result.datasets["E-MTAB-20"].listing_title == "Twenty on dev"
    assert Stage.processed < Stage.published_dev < Stage.published
    assert any("'not-an-accession' is not an accession" in warning.line() for warning in result.warnings)
    write(root / "dev.json", json.dumps({"accessions": []}))
    with pytest.raises(SourceUnavailableError, match=r"dev.json: no `experiments` list"):
        crawl(load_sources_config(_config(root, extra)))


def test_geo_series_duplicates_across_archives(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for stage in FOLDER_STAGES:
        (root / stage).mkdir(parents=True)
    pairs = {f"E-GEOD-{n}": f"GSE{n}" for n in (100, 200, 300)}
    # Each GEO import is listed externally; an ingested dataset cites the same series as GSEN.
    write(root / "geo.txt", "".join(f"{geod}\n" for geod in pairs) + "E-GEOD-999\n")
    for index, gse in enumerate(pairs.values(), start=1):
        write(root / "loading" / f"E-MTAB-{index}" / f"E-MTAB-{index}.idf.txt", idf_text(f"ingested {gse}", secondary=[gse]))
    extra = '  - {name: geo, stage: external, listing: geo.txt, accession_pattern: "E-[A-Z]{4}-[0-9]+"}\n'
    result = crawl(load_sources_config(_config(root, extra)))
    flagged = {d.accession for d in result.duplicates()}
    expected = set(pairs) | {f"E-MTAB-{index}" for index in range(1, len(pairs) + 1)}
    assert flagged == expected
    assert result.datasets["E-GEOD-100"].duplicate_reasons == ["is a secondary accession of E-MTAB-1 (as GSE100)"]
    assert result.datasets["E-MTAB-1"].duplicate_reasons == [
        "secondary accession GSE100 is also tracked as its own accession E-GEOD-100"
    ]
    assert not result.datasets["E-GEOD-999"].duplicate_reasons


def test_special_files_are_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    for stage in FOLDER_STAGES:
        (root / stage).mkdir(parents=True)
    write(root / "loading/E-MTAB-1/E-MTAB-1.sdrf.txt", sdrf_text("Danio rerio", 3))
    os.mkfifo(root / "loading/E-MTAB-1/E-MTAB-1.idf.txt")
    os.mkfifo(root / "published/E-MTAB-2.idf.txt")  # a FIFO at the top: not an accession either
    (root / "processed/E-MTAB-3").mkdir()
    os.symlink("/dev/zero", root / "processed/E-MTAB-3/E-MTAB-3.idf.txt")
    os.mkfifo(root / "geo.txt")
    config = _config(root)
    finished: list[object] = []
    worker = threading.Thread(target=lambda: finished.append(crawl(load_sources_config(config))), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert finished, "the crawl hung on a special file"
    result = finished[0]
    assert sorted(result.datasets) == ["E-MTAB-1", "E-MTAB-3"]
    assert result.datasets["E-MTAB-1"].metadata.organisms == ("Danio rerio",)
    lines = [warning.line() for warning in result.warnings]
    assert any(line.startswith("E-MTAB-1: ") and line.endswith("E-MTAB-1.idf.txt: not a regular file: not read")
               for line in lines)
    assert any(line.startswith("E-MTAB-3: ") and "not a regular file" in line for line in lines)
    # A listing that is a FIFO is refused in one line, without waiting for a writer.
    extra = "  - {name: geo, stage: external, listing: geo.txt}\n"
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError, match=r"cannot read listing .*geo.txt: not a regular file \(a FIFO\)"):
        crawl(load_sources_config(_config(root, extra)))
    assert time.monotonic() - started < 10


class RawListingServer:
    """A loopback HTTP server that answers every GET with a body of no declared length: either
    endless (`chunk` forever) or trickling (`chunk` every `pause` seconds)."""

    def __init__(self, chunk: bytes, pause: float) -> None:
        self.chunk, self.pause = chunk, pause
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/listing.txt"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by close()
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
                while not self.stop.is_set():
                    connection.sendall(self.chunk)
                    if self.pause:
                        time.sleep(self.pause)
            except OSError:
                return  # the client gave up: what the test wants

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def test_http_listing_limits_size_and_time(http_server: HttpServer) -> None:
    http_server.route("GET", "/big.txt", Response(200, b"E-MTAB-1\n" * 200_000))
    with pytest.raises(SourceUnavailableError, match=r"big.txt: 1800000 bytes, more than the 1000000 allowed"):
        fetch_listing(f"{http_server.base_url}/big.txt", max_bytes=1_000_000)

    endless = RawListingServer(b"E-MTAB-1\n" * 1000, pause=0)
    try:
        with pytest.raises(SourceUnavailableError, match=r"listing.txt: more than the 1000000 bytes allowed"):
            fetch_listing(endless.url, max_bytes=1_000_000)
    finally:
        endless.close()

    trickle = RawListingServer(b"E", pause=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailableError, match=r"listing.txt: not received within 2 s"):
            fetch_listing(trickle.url, timeout=5, deadline_seconds=2)
        assert time.monotonic() - started < 5
    finally:
        trickle.close()


def test_a_range_starting_at_external_stays_on_the_external_tab(tmp_path: Path) -> None:
    from platform_assets.dataset_tracker.report import (
        EXTERNAL_TAB,
        TRACKED_TAB,
        inventory_document,
        tracker_tabs,
    )

    root = tmp_path / "tree"
    for stage in FOLDER_STAGES:
        (root / stage).mkdir(parents=True)
    (root / "staging/E-MTAB-40").mkdir(parents=True)
    (root / "loading/E-MTAB-41").mkdir()
    extra = "  - {name: staging, stage: [external, incoming], folder: staging}\n"
    result = crawl(load_sources_config(_config(root, extra)))
    assert result.datasets["E-MTAB-40"].stage_label == "external..incoming"
    tabs = tracker_tabs(inventory_document(result, str(root)), {})
    assert [row[0] for row in tabs[EXTERNAL_TAB].rows] == ["E-MTAB-40"]
    assert [row[0] for row in tabs[TRACKED_TAB].rows] == ["E-MTAB-41"]
