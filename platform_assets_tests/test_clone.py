"""A bare clone with nothing beside it passes (issue 17): the repository is cloned into an empty
temporary folder and the tests that read the public sample feeds and OCDS files run there, on the
clone's own code and bundled data (`platform_assets_tests/data`). The clone holds what is
committed; the environment's PLATFORM_* and test variables are not passed on, so nothing can point
the clone back at this checkout or at a `../shared` folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Tests that need the sample data: GTFS feeds (transit reading, validity), OCDS files (quality).
TESTS_READING_SAMPLE_DATA = (
    "platform_assets_tests/transit/test_gtfs_reading.py",
    "platform_assets_tests/transit/test_validity.py",
    "platform_assets_tests/quality/test_ocds.py",
)


def _clean_environment(clone: Path) -> dict[str, str]:
    kept = {name: value for name, value in os.environ.items()
            if not name.startswith(("PLATFORM_", "PYTEST_", "DAGSTER_", "PYTHONPATH"))}
    # The clone's code and tests first (the editable install in this venv points at this checkout).
    return {**kept, "PYTHONPATH": str(clone)}


def test_a_clone_with_nothing_beside_it_runs_the_tests_that_read_sample_data(tmp_path: Path) -> None:
    assert (REPO / ".git").exists(), f"{REPO} is not a git checkout: this test clones the checkout it runs in"
    alone = tmp_path / "alone"
    alone.mkdir()
    clone = alone / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120)
    assert [entry.name for entry in alone.iterdir()] == ["repo"]
    assert not (alone / "shared").exists()
    env = _clean_environment(clone)

    where = subprocess.run(
        [sys.executable, "-c", "import platform_assets, platform_assets_tests; "
                               "print(platform_assets.__file__); print(platform_assets_tests.__file__)"],
        cwd=clone, env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    assert all(Path(line).is_relative_to(clone) for line in where.stdout.split()), where.stdout

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *TESTS_READING_SAMPLE_DATA],
        cwd=clone, env=env, capture_output=True, text=True, timeout=900,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 50, summary
    assert not re.search(r"skipped|xfail|error", summary), summary
