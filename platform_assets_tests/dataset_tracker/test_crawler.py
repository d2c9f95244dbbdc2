"""The crawler on a realistic tree: stages, newest metadata, encodings, warnings, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_assets.dataset_tracker.config import load_sources_config
from platform_assets.dataset_tracker.crawler import crawl, folder_fingerprint
from platform_assets.dataset_tracker.errors import SourceUnavailableError
from platform_assets.dataset_tracker.magetab import UnreadableFile, decode_text, parse_idf, parse_sdrf
from platform_assets.dataset_tracker.stages import Stage
from platform_assets_tests.dataset_tracker.conftest import idf_text, write
from platform_assets_tests.servers import HttpServer, Response


def test_each_accession_gets_its_most_advanced_stage(dataset_tree) -> None:
    result = crawl(load_sources_config(dataset_tree.config))
    stages = {accession: dataset.stage.name for accession, dataset in result.datasets.items()}
    assert stages == {
        "E-GEOD-5001": "external", "E-GEOD-5002": "external",
        "E-MTAB-1": "loading", "E-MTAB-2": "incoming", "E-MTAB-3": "incoming", "E-MTAB-4": "analysing",
        "E-MTAB-5": "processed", "E-MTAB-6": "published", "E-MTAB-7": "published",
    }
    assert result.counts_by_stage() == {
        "external": 2, "incoming": 2, "loading": 1, "analysing": 1, "processed": 1, "published_dev": 0,
        "published": 2,
    }
    one = result.datasets["E-MTAB-1"]
    assert one.sources == ("loading", "submissions", "geo")  # most advanced first
    assert one.technologies == ("rna-seq",) and one.resources == ("atlas",)


def test_newest_metadata_file_wins_and_fields_are_read(dataset_tree) -> None:
    result = crawl(load_sources_config(dataset_tree.config))
    one = result.datasets["E-MTAB-1"]
    assert one.title == "Mouse liver across the day"
    assert one.idf_path.endswith("loading/E-MTAB-1/E-MTAB-1.idf.txt")
    meta = one.metadata
    assert meta.experiment_type == ("RNA-seq of coding RNA",)
    assert meta.curator == ("Ana Costa",)
    assert meta.organisms == ("Mus musculus",)
    assert meta.samples == 6
    assert "nucleic acid sequencing protocol" in meta.protocols and "P-1" in meta.protocols
    assert meta.software == ("bcl2fastq", "STAR")
    assert result.datasets["E-MTAB-7"].title == "Wheat grain atlas"
    # A listing's title stands in when no metadata file exists.
    assert result.datasets["E-GEOD-5002"].title == "Yeast heat shock"


def test_latin1_empty_and_binary_files_become_warnings(dataset_tree) -> None:
    result = crawl(load_sources_config(dataset_tree.config))
    two = result.datasets["E-MTAB-2"]
    assert two.title == "Wurzeln unter Kälte (Müller, Göttingen)"
    assert two.metadata.curator == ("Jürgen Müller",)
    assert two.warnings == ["metadata read as Latin-1 (not UTF-8)"]
    assert result.datasets["E-MTAB-3"].warnings == ["E-MTAB-3.idf.txt: empty file"]
    six = result.datasets["E-MTAB-6"]
    assert six.warnings == ["E-MTAB-6.idf.txt: undecodable: binary content, not text"]
    assert six.metadata.organisms == ("Danio rerio",)  # the SDRF beside it is still read
    lines = [warning.line() for warning in result.warnings]
    assert any(line.startswith("E-MTAB-3: ") and line.endswith("E-MTAB-3.idf.txt: empty file") for line in lines)
    assert any("geo.txt:5: 'GSE12345' is not an accession" in line for line in lines)


def test_duplicates_are_flagged_with_their_reason(dataset_tree) -> None:
    result = crawl(load_sources_config(dataset_tree.config))
    reasons = {d.accession: d.duplicate_reasons for d in result.duplicates()}
    assert reasons == {
        "E-MTAB-3": ["in 2 incoming sources: imports, submissions"],
        "E-MTAB-4": ["secondary accession E-GEOD-5001 also listed by E-MTAB-5",
                     "secondary accession E-GEOD-5001 is also tracked as its own accession"],
        "E-MTAB-5": ["secondary accession E-GEOD-5001 also listed by E-MTAB-4",
                     "secondary accession E-GEOD-5001 is also tracked as its own accession"],
        "E-GEOD-5001": ["is a secondary accession of E-MTAB-4, E-MTAB-5"],
    }
    # Seen at two different stages is progress, not a duplicate.
    assert not result.datasets["E-MTAB-1"].duplicate_reasons


def test_names_that_only_contain_an_accession_are_ignored(dataset_tree) -> None:
    write(dataset_tree.root / "published/E-MTAB-70.idf.txt", idf_text("Seventy"))
    result = crawl(load_sources_config(dataset_tree.config))
    assert "E-MTAB-8" not in result.datasets  # tmp-E-MTAB-8
    assert result.datasets["E-MTAB-7"].title == "Wheat grain atlas"
    assert result.datasets["E-MTAB-70"].title == "Seventy"


def test_missing_folder_stops_the_crawl_naming_the_source(dataset_tree) -> None:
    (dataset_tree.root / "analysing/E-MTAB-4/E-MTAB-4.idf.txt").unlink()
    (dataset_tree.root / "analysing/E-MTAB-4/E-MTAB-4.sdrf.txt").unlink()
    (dataset_tree.root / "analysing/E-MTAB-4").rmdir()
    (dataset_tree.root / "analysing").rmdir()
    with pytest.raises(SourceUnavailableError, match=r"source 'analysing': cannot read folder .*analysing"):
        crawl(load_sources_config(dataset_tree.config))


def test_http_listing_source(tmp_path: Path, http_server: HttpServer) -> None:
    http_server.route("GET", "/atlas/candidates.txt", Response(200, b"E-GEOD-1\tA\nE-GEOD-2\n"))
    http_server.route("GET", "/gone.txt", Response(503, b"down"))
    path = write(tmp_path / "sources.yaml", (
        "sources:\n"
        f"  - {{name: remote, stage: external, url: '{http_server.base_url}/atlas/candidates.txt'}}\n"
    ))
    result = crawl(load_sources_config(path))
    assert sorted(result.datasets) == ["E-GEOD-1", "E-GEOD-2"]
    assert result.datasets["E-GEOD-1"].title == "A"
    write(path, f"sources:\n  - {{name: remote, stage: external, url: '{http_server.base_url}/gone.txt'}}\n")
    with pytest.raises(SourceUnavailableError, match="gone.txt: HTTP 503"):
        crawl(load_sources_config(path))


def test_folder_fingerprint_changes_when_a_folder_appears(dataset_tree) -> None:
    config = load_sources_config(dataset_tree.config)
    before = folder_fingerprint(config)
    assert folder_fingerprint(config) == before
    (dataset_tree.root / "incoming/submissions/E-MTAB-9").mkdir()
    assert folder_fingerprint(config) != before


def test_decoding_rules() -> None:
    assert decode_text("Título".encode()).encoding == "utf-8"
    assert decode_text("\ufeffTitle".encode()).text == "Title"
    assert decode_text("Título".encode("latin-1")).text == "Título"
    assert decode_text("Title\tÄ".encode("utf-16")).text == "Title\tÄ"
    with pytest.raises(UnreadableFile, match="empty"):
        decode_text(b" \n\t\n")
    with pytest.raises(UnreadableFile, match="binary"):
        decode_text(b"PK\x03\x04\x00\x00" + bytes(100))
    with pytest.raises(UnreadableFile, match="no IDF fields"):
        parse_idf(b"just some notes\nnothing else\n")
    sdrf = parse_sdrf(b'"Source Name"\t"Characteristics[organism]"\n"s1"\t"Homo sapiens"\n"s2"\t"Homo sapiens"\n')
    assert sdrf.organisms == ("Homo sapiens",) and sdrf.samples == 2
    assert Stage.published > Stage.processed > Stage.analysing > Stage.loading > Stage.incoming > Stage.external


def test_unreadable_newest_file_falls_back_to_the_older_one_with_a_warning(dataset_tree) -> None:
    newest = dataset_tree.root / "loading/E-MTAB-1/E-MTAB-1.idf.txt"
    write(newest, b"", mtime=1_800_000_000.0)
    result = crawl(load_sources_config(dataset_tree.config))
    one = result.datasets["E-MTAB-1"]
    assert one.title == "Mouse liver, first draft"
    assert one.idf_path.endswith("incoming/submissions/E-MTAB-1/E-MTAB-1.idf.txt")
    assert one.warnings == ["E-MTAB-1.idf.txt: empty file"]
