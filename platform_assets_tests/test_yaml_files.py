"""Every YAML file the platform reads (transit catalog, Ruspell rules, campaign config, dataset
tracker sources config) goes through lib/yamlfile (issue 18 item 4): no anchors or aliases (an
alias bomb), no duplicate keys, errors naming the file, never echoing unbounded input."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from platform_assets.dataset_tracker.config import load_sources_config
from platform_assets.lib.errors import PlatformError
from platform_assets.lib.yamlfile import YamlError, load_yaml_file
from platform_assets.transit.catalog import load_catalog
from platform_assets.trip_exports.campaigns import load_campaign_config


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs": 9 levels of 9 aliases expand to 9**9 (387 million) strings."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


CATALOG_BOMB = """contributors:
  - id: alpha
    data_sources:
      - id: gtfs
        input: {type: manual}
    preprocesses:
      - type: GtfsAgencyFile
        params:
          bomb: *a9
coverages: []
"""

LOADERS: dict[str, Callable[[Path], Any]] = {
    "catalog": load_catalog,
    "campaigns": load_campaign_config,
    "sources_config": load_sources_config,
    "ruspell_rules": load_yaml_file,
}


def _refused(loader: str, path: Path) -> str:
    with pytest.raises(PlatformError) as raised:
        LOADERS[loader](path)
    message = str(raised.value)
    assert str(path) in message and "\n" not in message and len(message) < 500
    return message


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_an_alias_bomb_is_refused_at_once(tmp_path: Path, loader: str) -> None:
    path = tmp_path / f"{loader}.yaml"
    path.write_text(alias_bomb() + CATALOG_BOMB, encoding="utf-8")
    started = time.monotonic()
    assert "line 1: YAML anchors and aliases (& and *) are not allowed" in _refused(loader, path)
    assert time.monotonic() - started < 2  # refused while parsing, nothing expanded


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_a_duplicate_key_is_an_error_not_an_overwrite(tmp_path: Path, loader: str) -> None:
    path = tmp_path / f"{loader}.yaml"
    path.write_text("contributors: []\ncoverages: []\nsources: []\ncontributors: []\n", encoding="utf-8")
    assert "line 4: duplicate key 'contributors'" in _refused(loader, path)


def test_a_nested_duplicate_key_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("contributors:\n  - id: a\n    name: one\n    name: two\ncoverages: []\n", encoding="utf-8")
    assert "catalog.yaml: line 4: duplicate key 'name'" in _refused("catalog", path)


def test_a_lone_anchor_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("processes: &rules\n  - SnakeCase\n", encoding="utf-8")
    with pytest.raises(YamlError, match=r"rules.yaml: line 1: YAML anchors and aliases"):
        load_yaml_file(path)


def test_errors_never_echo_unbounded_input(tmp_path: Path) -> None:
    huge_key = "k" * 20_000
    path = tmp_path / "catalog.yaml"
    # Explicit keys (`? key`): implicit ones are limited to 1024 characters by YAML itself.
    path.write_text(f"contributors: []\ncoverages: []\n? {huge_key}\n: 1\n? {huge_key}\n: 2\n", encoding="utf-8")
    message = _refused("catalog", path)
    assert "duplicate key" in message and "characters)" in message
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [" + "x, " * 20_000 + "\n  b: {", encoding="utf-8")
    assert "invalid YAML" in _refused("catalog", broken)
    # Whatever a message says, a platform error is cut before it reaches logs and emails.
    assert len(str(PlatformError("x" * 100_000))) < 2100


def test_an_oversized_yaml_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 10, encoding="utf-8")
    with pytest.raises(YamlError, match=r"big.yaml: 50 bytes, over the 40 bytes limit"):
        load_yaml_file(path, max_bytes=40)


def test_valid_files_still_load(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "contributors:\n  - id: alpha\n    data_prefix: A\n    data_sources:\n      - id: gtfs\n        input: {type: manual}\n"
        "coverages:\n  - id: all\n    contributors: [alpha]\n",
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    assert [c.id for c in catalog.contributors] == ["alpha"] and catalog.coverage("all").contributors == ["alpha"]
