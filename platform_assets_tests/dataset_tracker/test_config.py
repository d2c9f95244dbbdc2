"""sources_config: YAML and JSON, relative folders, errors that name the entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platform_assets.core.settings import configure
from platform_assets.dataset_tracker.config import load_sources_config
from platform_assets.dataset_tracker.errors import SourcesConfigError
from platform_assets.dataset_tracker.resources import TrackerSources
from platform_assets.dataset_tracker.stages import Stage


def test_yaml_config_resolves_folders_against_its_own_folder(dataset_tree) -> None:
    config = load_sources_config(dataset_tree.config)
    assert [source.name for source in config.sources][:3] == ["geo", "submissions", "imports"]
    assert config.sources[1].folder == dataset_tree.root / "incoming" / "submissions"
    assert config.sources[0].listing == dataset_tree.root / "external" / "geo.txt"
    assert config.sources[0].stage is Stage.external and config.sources[-1].stage is Stage.published
    assert config.sources[1].technology == "rna-seq" and config.sources[1].resource == "ArrayExpress"


def test_json_config_and_per_source_pattern(tmp_path: Path) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"sources": [
        {"name": "geo", "stage": "external", "url": "http://127.0.0.1:1/list.txt", "accession_pattern": "GSE[0-9]+"},
    ]}))
    config = load_sources_config(path)
    assert config.pattern_of(config.sources[0]).fullmatch("GSE123")
    assert config.accession_pattern == "E-[A-Z]{4}-[0-9]+"


def test_bundled_demo_config_is_the_default_and_valid(platform_env: Path) -> None:
    path = configure(TrackerSources, resolve=True).path
    assert path.name == "sources_config.yaml" and "dataset_tracker/demo" in str(path)
    config = load_sources_config(path)
    assert {source.stage for source in config.sources} == set(Stage)
    assert all((source.folder or source.listing).exists() for source in config.sources)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources:\n  - {name: inbox, stage: incomming, folder: x}\n",
         "sources[0] (inbox): stage: 'incomming' is not one of: external, incoming, loading"),
        ("sources:\n  - {name: a, stage: loading, folder: x}\n  - {name: b, stage: loading, folder: y, listing: z}\n",
         "sources[1] (b): give exactly one of folder, listing, url (got folder, listing)"),
        ("sources:\n  - {name: a, stage: loading, folder: x, accession_pattern: 'E-[A-Z'}\n",
         "sources[0] (a): accession_pattern: 'E-[A-Z' is not a regular expression"),
        ("sources:\n  - {name: a, stage: loading, folder: x}\n  - {name: a, stage: processed, folder: y}\n",
         "source name 'a' is used twice"),
        ("sources:\n  - {name: a, stage: loading, folder: x, colour: red}\n",
         "sources[0] (a): colour: Extra inputs are not permitted"),
        ("sources:\n  - {name: a, stage: loading, url: ftp://host/list}\n",
         "sources[0] (a): url: 'ftp://host/list' is not an http(s) URL"),
        ("sources: []\n", "sources: Tuple should have at least 1 item"),
        ("sources: [unclosed\n", "not valid yaml"),
        ("- just a list\n", "expected a mapping with a `sources` list"),
    ],
)
def test_invalid_configs_name_the_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sources_config.yaml"
    path.write_text(text)
    with pytest.raises(SourcesConfigError) as caught:
        load_sources_config(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_config_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError, match="PLATFORM_SOURCES_CONFIG=.*nowhere.yaml: cannot read"):
        load_sources_config(tmp_path / "nowhere.yaml")
