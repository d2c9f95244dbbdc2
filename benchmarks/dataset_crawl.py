"""Benchmark of the dataset tracker: crawl 10,000 accessions across 6 sources, record their states,
build and write the tracker sheet (local workbook). Prints the figures; not part of the test suite.

    PYTHONPATH=. python benchmarks/dataset_crawl.py [--accessions 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from platform_assets.core.database import get_engine, upgrade_database
from platform_assets.dataset_tracker.config import load_sources_config
from platform_assets.dataset_tracker.crawler import crawl
from platform_assets.dataset_tracker.service import crawl_and_record, sheet_tabs
from platform_assets.dataset_tracker.sheets import (
    GoogleSheets,
    LocalWorkbookSheets,
    batch_update_body,
    staged_batch_update_bodies,
)

STAGES = ("external", "incoming", "loading", "analysing", "processed", "published")


def build_tree(root: Path, accessions: int) -> Path:
    """One folder source per stage past `external` (each accession folder with an IDF and an SDRF)
    and an external listing; 5% of accessions also sit in an earlier stage."""
    lines = []
    for n in range(accessions):
        accession = f"E-MTAB-{n}"
        stage = STAGES[n % len(STAGES)]
        if stage == "external":
            lines.append(f"{accession}\tCandidate {n}")
            continue
        folder = root / stage / accession
        folder.mkdir(parents=True)
        (folder / f"{accession}.idf.txt").write_text(
            f"Investigation Title\tExperiment {n}\nComment[AEExperimentType]\tRNA-seq of coding RNA\n"
            f"Comment[EACurator]\tCurator {n % 7}\nComment[SecondaryAccession]\tE-GEOD-{n}\n"
            "Protocol Type\tnucleic acid extraction protocol\tsequencing protocol\nProtocol Software\t\tSTAR\n"
        )
        sdrf = ["Source Name\tCharacteristics[organism]\tProtocol REF"]
        sdrf += [f"s{i}\tHomo sapiens\tP-1" for i in range(12)]
        (folder / f"{accession}.sdrf.txt").write_text("\n".join(sdrf) + "\n")
        if n % 20 == 0 and stage != "incoming":
            (root / "incoming" / accession).mkdir(parents=True)
    (root / "external").mkdir(exist_ok=True)
    (root / "external" / "listing.txt").write_text("\n".join(lines) + "\n")
    config = root / "sources_config.yaml"
    sources = ["  - {name: external, stage: external, listing: external/listing.txt}"]
    sources += [f"  - {{name: {stage}, stage: {stage}, folder: {stage}}}" for stage in STAGES[1:]]
    config.write_text("sources:\n" + "\n".join(sources) + "\n")
    return config


def timed(label: str, function):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = function()
    print(f"{label:<46} {time.perf_counter() - start:7.2f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accessions", type=int, default=10_000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config_path = timed(f"build tree ({args.accessions} accessions)", lambda: build_tree(root / "tree", args.accessions))
        config = load_sources_config(config_path)
        result = timed("crawl (cold: parse every IDF and SDRF)", lambda: crawl(config))
        print(f"  {len(result.datasets)} accessions, {result.metadata_files_read} metadata files read, "
              f"{len(result.duplicates())} flagged duplicates, counts {result.counts_by_stage()}")
        timed("crawl again (warm page cache)", lambda: crawl(config))
        url = f"sqlite:///{root / 'platform.db'}"
        upgrade_database(url)
        engine = get_engine(url)
        outcome = timed("crawl + record states (first run, SQLite)", lambda: crawl_and_record(config, engine))
        print(f"  {len(outcome.changes)} state rows written")
        again = timed("crawl + record states (no change, SQLite)", lambda: crawl_and_record(config, engine))
        print(f"  {len(again.changes)} state rows written")
        tabs = timed("sheet tabs from inventory + history", lambda: sheet_tabs(again.inventory, engine))
        sheets = LocalWorkbookSheets(workbook_path=str(root / "tracker.xlsx"))
        timed("write local workbook (openpyxl, atomic)", lambda: sheets.replace_tabs(tabs))
        print(f"  workbook {os.path.getsize(root / 'tracker.xlsx') / 1e6:.1f} MB")
        body = timed("Google Sheets batch request body", lambda: json.dumps(batch_update_body(tabs, {})))
        staged = staged_batch_update_bodies(tabs, {}, GoogleSheets().max_request_bytes)
        print(f"  one request: {len(body) / 1e6:.1f} MB; staged past {GoogleSheets().max_request_bytes / 1e6:.0f} MB: "
              f"{len(staged)} requests")
        # gspread end to end against the tests' local Sheets endpoint (real HTTP on loopback).
        from platform_assets_tests.dataset_tracker.fake_sheets import FakeSheetsServer, service_account_file

        server = FakeSheetsServer()
        with server.running():
            google = GoogleSheets(spreadsheet_key=server.spreadsheet_id, api_base_url=server.base_url,
                            credentials_file=str(service_account_file(root / "sa.json", server.token_uri)))
            timed("gspread write to a local Sheets endpoint", lambda: google.replace_tabs(tabs))
        print(f"  {len(server.batch_updates())} batch requests")


if __name__ == "__main__":
    main()
