"""Peak memory of loading a large OCDS dataset the way the `ocds_dataset` asset does (stream the
files, spool, compile with ocdsmerge, write the gzipped JSON lines) and then checking it in
batches (every OCDS check). Files of growing size are generated on disk, a release package and a
JSON lines file of releases each; every size runs in a fresh process, so the peak RSS printed is
its own. Bounded memory means the peak stays flat (~300 MB budget) while the file grows.

    PYTHONPATH=. python benchmarks/ocds_memory.py [--sizes-mb 50 200] [--skip-checks]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any


def release(number: int, version: int, rng: random.Random) -> dict[str, Any]:
    """One release of about 2.5 kB; two releases (tender, then award) per ocid."""
    ocid = f"ocds-213czf-{number:08d}"
    supplier = f"GB-COH-{rng.randrange(10**8):08d}"
    body: dict[str, Any] = {
        "ocid": ocid, "id": f"{ocid}-{version}", "date": f"2020-0{1 + version}-01T00:00:00Z",
        "tag": ["tender" if version == 0 else "award"], "initiationType": "tender",
        "buyer": {"id": "GB-LAC-E09000003", "name": "Council"},
        "parties": [{"id": "GB-LAC-E09000003", "name": "Council", "roles": ["buyer", "procuringEntity"],
                     "contactPoint": {"email": "buyer@example.org", "telephone": "+44 20 7946 0000"}}],
        "tender": {"id": f"T-{number}", "title": f"Tender {number} " + "x" * 600, "status": "active" if version == 0 else "complete",
                   "value": {"amount": rng.randrange(1000, 10**6), "currency": "GBP"},
                   "tenderers": [{"id": supplier, "name": "Supplier"}],
                   "documents": [{"id": str(d), "documentType": "tenderNotice", "url": f"https://example.org/{number}/{d}",
                                  "datePublished": "2020-01-01T00:00:00Z", "format": "application/pdf"} for d in range(4)]},
    }
    if version == 1:
        body["awards"] = [{"id": f"A-{number}", "status": "active", "date": "2020-02-15T00:00:00Z",
                           "value": {"amount": 1000, "currency": "GBP"}, "suppliers": [{"id": supplier, "name": "Supplier"}]}]
    return body


def write_files(folder: Path, megabytes: int) -> int:
    """A release package (half the size) and a JSON lines file (the other half); returns releases."""
    rng = random.Random(megabytes)
    half = megabytes * 1024 * 1024 // 2
    count = 0
    number = 0
    with (folder / "package.json").open("w") as out:
        out.write('{"uri": "https://example.org", "version": "1.1", "publishedDate": "2020-03-01T00:00:00Z", "releases": [')
        first = True
        while out.tell() < half:
            for version in (0, 1):
                out.write(("" if first else ",") + json.dumps(release(number, version, rng)))
                first = False
                count += 1
            number += 1
        out.write("]}")
    with (folder / "releases.jsonl").open("w") as out:
        while out.tell() < half:
            for version in (0, 1):
                out.write(json.dumps(release(number, version, rng)) + "\n")
                count += 1
            number += 1
    return count


def _run(folder: str, store_dir: str, with_checks: bool, queue: Any) -> None:
    from platform_assets.core.objectstore import LocalObjectStore
    from platform_assets.quality.ocds.dataset_store import write_dataset
    from platform_assets.quality.ocds.loader import load_folder
    from platform_assets.quality.ocds.service import run_dataset_checks

    store = LocalObjectStore(local_dir=store_dir)
    start = time.perf_counter()
    outcome = write_dataset(store, "big", load_folder(Path(folder)))
    loaded = time.perf_counter() - start
    load_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    checked = 0.0
    if with_checks:
        start = time.perf_counter()
        run_dataset_checks(store, outcome.manifest)
        checked = time.perf_counter() - start
    queue.put({"items": outcome.manifest.items, "load_s": loaded, "check_s": checked, "load_peak_mib": load_peak,
               "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def measure(megabytes: int, with_checks: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as store:
        releases = write_files(Path(data), megabytes)
        size = sum(path.stat().st_size for path in Path(data).iterdir()) / 1024 / 1024
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=_run, args=(data, store, with_checks, queue))
        child.start()
        figures = queue.get()
        child.join()
    return {"file_mib": size, "releases": releases, **figures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--skip-checks", action="store_true", help="Measure loading only.")
    args = parser.parse_args()
    for megabytes in args.sizes_mb:
        f = measure(megabytes, not args.skip_checks)
        print(f"OCDS {f['file_mib']:.0f} MiB ({f['releases']:,} releases -> {f['items']:,} compiled): "
              f"load+compile+write {f['load_s']:.1f} s ({f['file_mib'] / f['load_s']:.1f} MiB/s), peak RSS {f['load_peak_mib']:.0f} MiB; "
              f"checks {f['check_s']:.1f} s, peak RSS overall {f['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
