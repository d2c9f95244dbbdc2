"""Hostile-feed benchmark (issue 18 items 2 and 6): peak RSS and time of reading feed zips, each in
a fresh process (resource.getrusage). Valid feeds of growing stop_times size are read by the
streaming reader and by the old way (each member read whole, decoded whole, then parsed) for a
baseline; the export path (read, prefix ids, write the zip) with every row a Python list against
large tables spilled to a temporary file; compression bombs are refused by the limits. Figures go in the README "Limits" section.

    PYTHONPATH=. python benchmarks/hostile_feeds.py [--sizes 25 50 100] [--zeros-mib 1024] [--modes lists spilled]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

CHILD = """
import io, json, resource, sys, time, zipfile
from platform_assets.lib.errors import PlatformError
from platform_assets.lib.gtfs.reader import ZipLimits, decode_text, parse_table, read_feed
path, mode, ratio = sys.argv[1], sys.argv[2], int(sys.argv[3])
started = time.perf_counter()
try:
    limits = ZipLimits(max_ratio=ratio, max_member_bytes=4 << 30, max_feed_bytes=8 << 30)
    if mode == "streaming":
        feed = read_feed(path, limits=limits)
        rows = sum(len(t.rows) for t in feed.tables.values())
    elif mode in ("lists", "spilled"):
        # A contributor export's path: read, prefix every id (as a merge does), write the export zip.
        # "lists" keeps every row as a Python list (before), "spilled" spills large tables (after).
        from platform_assets.lib.gtfs.reader import write_feed
        from platform_assets.transit.merge import prefix_feed
        feed = read_feed(path, limits=limits, spill_rows=None if mode == "lists" else 50_000)
        prefix_feed(feed, "P")
        write_feed(feed, path + ".export.zip")
        rows = sum(len(t.rows) for t in feed.tables.values())
    else:  # the reader before issue 18: archive.read(member), decode the whole text, parse it
        rows = 0
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                text = decode_text(archive.read(info), info.filename, [])
                rows += len(parse_table(info.filename, text, info.filename, []).rows)
    outcome = f"read {rows} rows"
except PlatformError as error:
    outcome = str(error)
print(json.dumps({"outcome": outcome[:110], "seconds": round(time.perf_counter() - started, 2),
                  "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def stop_times_feed(path: Path, megabytes: int, varied: bool) -> Path:
    """stop_times of about `megabytes` MB: varied rows (a real feed's ratio, ~10:1) or one row repeated."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,One,1.0,1.0\n")
        with archive.open("stop_times.txt", "w", force_zip64=True) as member:
            member.write(b"trip_id,arrival_time,departure_time,stop_id,stop_sequence\n")
            written, trip = 0, 0
            while written < megabytes * 1_000_000:
                trip += 1
                block = "".join(
                    f"T{trip if varied else 1},{8 + s // 60:02d}:{s % 60:02d}:00,{8 + s // 60:02d}:{s % 60:02d}:30,"
                    f"S{(trip * 7 + s) % 5000 if varied else 1},{s}\n"
                    for s in range(40)
                ).encode()
                member.write(block)
                written += len(block)
    return path


def zeros_feed(path: Path, mebibytes: int) -> Path:
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("stop_times.txt", "w", force_zip64=True) as member:
        for _ in range(mebibytes):
            member.write(zeros)
    return path


def measure(path: Path, mode: str, ratio: int = 100) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, str(ratio)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100], help="stop_times sizes in MB")
    parser.add_argument("--zeros-mib", type=int, default=1024)
    parser.add_argument("--modes", nargs="+", default=["old", "streaming", "lists", "spilled"],
                        help="old: whole members; streaming: read_feed; lists / spilled: read, prefix and write "
                        "the export with rows as lists (before) or large tables spilled to disk (after)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        print("| input | zip size | reader | outcome | seconds | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        for size in args.sizes:
            path = stop_times_feed(root / f"valid-{size}.zip", size, varied=True)
            for mode in args.modes:
                result = measure(path, mode, ratio=1000)
                print(f"| valid stop_times {size} MB | {path.stat().st_size / 1e6:.1f} MB | {mode} | {result['outcome']} | {result['seconds']} | {result['peak_mib']} |")
        bomb = stop_times_feed(root / "bomb.zip", 300, varied=False)
        result = measure(bomb, "streaming")
        print(f"| repeated-row bomb 300 MB | {bomb.stat().st_size / 1e6:.1f} MB | streaming, default limits | {result['outcome']} | {result['seconds']} | {result['peak_mib']} |")
        zeros = zeros_feed(root / "zeros.zip", args.zeros_mib)
        result = measure(zeros, "streaming")
        print(f"| zeros {args.zeros_mib} MiB | {zeros.stat().st_size / 1e6:.1f} MB | streaming, default limits | {result['outcome']} | {result['seconds']} | {result['peak_mib']} |")


if __name__ == "__main__":
    main()
