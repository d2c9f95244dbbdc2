"""Small, realistic dataset trees for the dataset tracker's tests (built fresh in each test's tmp dir)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def resources(platform_env: Path) -> dict[str, Any]:
    """The shared resources plus the dataset tracker's own `sheets` (the embedded default's workbook)."""
    from platform_assets.definitions import all_resources

    return all_resources()


def idf_text(
    title: str,
    experiment_type: str = "RNA-seq of coding RNA",
    curator: str = "Ana Costa",
    secondary: Sequence[str] = (),
) -> str:
    lines = [
        "MAGE-TAB Version\t1.1",
        f"Investigation Title\t{title}",
        f"Comment[AEExperimentType]\t{experiment_type}",
        f'Comment [EACurator]\t"{curator}"',
        "Experimental Design\ttime series design",
        "Protocol Name\tP-1\tP-2",
        "Protocol Type\tnucleic acid extraction protocol\tnucleic acid sequencing protocol",
        "Protocol Software\t\tbcl2fastq",
    ]
    if secondary:
        lines.append("Comment[SecondaryAccession]\t" + "\t".join(secondary))
    return "\r\n".join(lines) + "\r\n"


def sdrf_text(organism: str, samples: int) -> str:
    rows = ["Source Name\tCharacteristics [Organism]\tCharacteristics[organism part]\tProtocol REF\tComment[software]"]
    rows += [f"sample {i}\t{organism}\tliver\tP-1\tSTAR" for i in range(1, samples + 1)]
    return "\n".join(rows) + "\n"


def write(path: Path, content: str | bytes, encoding: str = "utf-8", mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


CONFIG = """\
accession_pattern: "E-[A-Z]{4}-[0-9]+"
sources:
  - {name: geo, stage: external, listing: external/geo.txt, technology: microarray, resource: GEO}
  - {name: submissions, stage: incoming, folder: incoming/submissions, technology: rna-seq, resource: ArrayExpress}
  - {name: imports, stage: incoming, folder: incoming/imports, technology: rna-seq, resource: GEO import}
  - {name: loading, stage: loading, folder: loading, technology: rna-seq, resource: atlas}
  - {name: analysing, stage: analysing, folder: analysing, technology: rna-seq, resource: atlas}
  - {name: processed, stage: processed, folder: processed, technology: rna-seq, resource: atlas}
  - {name: published, stage: published, folder: published, technology: rna-seq, resource: atlas}
"""


@dataclass
class DatasetTree:
    root: Path
    config: Path

    def move(self, accession: str, source_folder: str, target_folder: str) -> None:
        (self.root / source_folder / accession).rename(self.root / target_folder / accession)


@pytest.fixture
def dataset_tree(tmp_path: Path) -> DatasetTree:
    """Seven sources over six stages: IDF/SDRF files, a Latin-1 IDF, an empty IDF, a binary IDF,
    two IDF versions of one accession, and duplicates of every kind."""
    root = tmp_path / "datasets"
    for folder in ("incoming/submissions", "incoming/imports", "loading", "analysing", "processed", "published"):
        (root / folder).mkdir(parents=True)
    write(root / "external/geo.txt",
          "# accession<TAB>title\nE-GEOD-5001\tMaize leaf gradient\nE-GEOD-5002\tYeast heat shock\n"
          "\nGSE12345\tnot ours\nE-MTAB-1\tMouse liver (also submitted)\n")
    base = 1_700_000_000.0
    # E-MTAB-1: incoming, then loading: two IDFs, the newest (in loading) wins.
    write(root / "incoming/submissions/E-MTAB-1/E-MTAB-1.idf.txt", idf_text("Mouse liver, first draft"), mtime=base)
    write(root / "loading/E-MTAB-1/E-MTAB-1.idf.txt", idf_text("Mouse liver across the day"), mtime=base + 100)
    write(root / "loading/E-MTAB-1/E-MTAB-1.sdrf.txt", sdrf_text("Mus musculus", 6), mtime=base + 100)
    # E-MTAB-2: Latin-1 IDF.
    write(root / "incoming/submissions/E-MTAB-2/E-MTAB-2.idf.txt",
          idf_text("Wurzeln unter Kälte (Müller, Göttingen)", curator="Jürgen Müller"), encoding="latin-1")
    write(root / "incoming/submissions/E-MTAB-2/E-MTAB-2.sdrf.txt", sdrf_text("Arabidopsis thaliana", 4))
    # E-MTAB-3: in two incoming sources (duplicate), empty IDF.
    write(root / "incoming/submissions/E-MTAB-3/E-MTAB-3.idf.txt", b"")
    (root / "incoming/imports/E-MTAB-3").mkdir()
    # E-MTAB-4 and E-MTAB-5 both claim E-GEOD-5001 as secondary accession; E-GEOD-5001 is also listed.
    write(root / "analysing/E-MTAB-4/E-MTAB-4.idf.txt", idf_text("Human neurons", secondary=["E-GEOD-5001"]))
    write(root / "analysing/E-MTAB-4/E-MTAB-4.sdrf.txt", sdrf_text("Homo sapiens", 8))
    write(root / "processed/E-MTAB-5/E-MTAB-5.idf.txt", idf_text("Human neurons again", secondary=["E-GEOD-5001"]))
    # E-MTAB-6: binary content where an IDF should be (a gzip saved with the wrong name).
    write(root / "published/E-MTAB-6/E-MTAB-6.idf.txt", b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4)
    write(root / "published/E-MTAB-6/E-MTAB-6.sdrf.txt", sdrf_text("Danio rerio", 3))
    # Metadata files directly in the folder, and names that are not accessions.
    write(root / "published/E-MTAB-7.idf.txt", idf_text("Wheat grain atlas"))
    write(root / "published/README.txt", "not a dataset\n")
    (root / "published/tmp-E-MTAB-8").mkdir()
    # Folders in the config are relative to the config file.
    config = write(root / "sources_config.yaml", CONFIG)
    return DatasetTree(root, config)
