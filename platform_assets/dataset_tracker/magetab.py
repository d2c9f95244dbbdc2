"""Reading MAGE-TAB style metadata: IDF (key<TAB>value lines) and SDRF (one tab table).

Curators' files come in any encoding a spreadsheet tool saved them in: UTF-8 (with or without
BOM), UTF-16, or Latin-1. Text that is none of these (binary content) or empty is reported as a
warning by the caller, never as a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

IDF_NAME = re.compile(r"\.idf(\.txt|\.tsv)?$", re.IGNORECASE)
SDRF_NAME = re.compile(r"\.sdrf(\.txt|\.tsv)?$", re.IGNORECASE)
# A merged IDF (several IDFs pasted together) is not an accession's own metadata: the anchor ignores it.
MERGED_IDF_NAME = re.compile(r"\.merged\.idf(\.txt|\.tsv)?$", re.IGNORECASE)

# C0/C1 control characters other than TAB, LF, CR: text full of them is binary, not a metadata file.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class UnreadableFile(ValueError):
    """A metadata file that cannot be read as text (empty or binary); the message says which."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str


def decode_text(data: bytes) -> DecodedText:
    """Decode a curator's text file: UTF-16 by BOM, else UTF-8, else Latin-1; refuse empty or binary."""
    if not data.strip():
        raise UnreadableFile("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return DecodedText(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            raise UnreadableFile("undecodable: broken UTF-16") from None
    try:
        decoded = DecodedText(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        decoded = DecodedText(data.decode("latin-1"), "latin-1")
    controls = len(_CONTROL.findall(decoded.text))
    if "\x00" in decoded.text or controls > max(2, len(decoded.text) // 100):
        raise UnreadableFile("undecodable: binary content, not text")
    return decoded


def normalise_key(key: str) -> str:
    """`Comment [Secondary Accession]` -> `comment[secondaryaccession]` (MAGE-TAB keys vary in case and spacing)."""
    return re.sub(r"[\s_]+", "", key.strip().strip('"')).lower()


def _cells(line: str) -> list[str]:
    return [cell.strip().strip('"').strip() for cell in line.rstrip("\r\n").split("\t")]


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


IDF_FIELDS: dict[str, str] = {
    "investigationtitle": "title",
    "comment[aeexperimenttype]": "experiment_type",
    "comment[eaexperimenttype]": "experiment_type",
    "experimenttype": "experiment_type",
    "comment[eacurator]": "curator",
    "comment[curator]": "curator",
    "comment[secondaryaccession]": "secondary_accessions",
    "protocoltype": "protocols",
    "protocolsoftware": "software",
    "comment[organism]": "organisms",
}


@dataclass(frozen=True)
class DatasetMetadata:
    """The fields the tracker shows, merged from one IDF and one SDRF."""

    title: str = ""
    experiment_type: tuple[str, ...] = ()
    curator: tuple[str, ...] = ()
    secondary_accessions: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ()
    software: tuple[str, ...] = ()
    organisms: tuple[str, ...] = ()
    samples: int | None = None
    encodings: tuple[str, ...] = field(default=())

    def merge(self, other: DatasetMetadata) -> DatasetMetadata:
        """Fields of `self` win; empty ones are filled from `other`; lists are united."""
        return DatasetMetadata(
            title=self.title or other.title,
            experiment_type=_unique([*self.experiment_type, *other.experiment_type]),
            curator=_unique([*self.curator, *other.curator]),
            secondary_accessions=_unique([*self.secondary_accessions, *other.secondary_accessions]),
            protocols=_unique([*self.protocols, *other.protocols]),
            software=_unique([*self.software, *other.software]),
            organisms=_unique([*self.organisms, *other.organisms]),
            samples=self.samples if self.samples is not None else other.samples,
            encodings=_unique([*self.encodings, *other.encodings]),
        )


def parse_idf(data: bytes) -> DatasetMetadata:
    """The tracker's fields from an IDF file; UnreadableFile when it is empty, binary or holds no IDF key."""
    decoded = decode_text(data)
    found: dict[str, list[str]] = {}
    for line in decoded.text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, *values = _cells(line)
        target = IDF_FIELDS.get(normalise_key(key))
        if target is not None:
            found.setdefault(target, []).extend(values)
    if not found:
        raise UnreadableFile("no IDF fields found (expected e.g. 'Investigation Title<TAB>...')")
    secondary = [part.strip() for value in found.get("secondary_accessions", []) for part in re.split(r"[;,\s]+", value)]
    return DatasetMetadata(
        title=next(iter(_unique(found.get("title", []))), ""),
        experiment_type=_unique(found.get("experiment_type", [])),
        curator=_unique(found.get("curator", [])),
        secondary_accessions=_unique(secondary),
        protocols=_unique(found.get("protocols", [])),
        software=_unique(found.get("software", [])),
        organisms=_unique(found.get("organisms", [])),
        encodings=(decoded.encoding,),
    )


def parse_sdrf(data: bytes) -> DatasetMetadata:
    """Organisms, protocols and software used, and the number of rows, from an SDRF table."""
    decoded = decode_text(data)
    lines = [line for line in decoded.text.splitlines() if line.strip() and not line.startswith("#")]
    header = [normalise_key(cell) for cell in _cells(lines[0])]
    wanted = {
        "organisms": [i for i, name in enumerate(header) if name == "characteristics[organism]"],
        "protocols": [i for i, name in enumerate(header) if name == "protocolref"],
        "software": [i for i, name in enumerate(header) if name == "comment[software]"],
    }
    if not any(wanted.values()) and len(header) < 2:
        raise UnreadableFile("not an SDRF table (no tab-separated header with Characteristics[organism])")
    # Only the wanted cells are cleaned (SDRFs have dozens of columns and thousands of rows).
    seen: dict[str, dict[str, None]] = {name: {} for name in wanted}
    for line in lines[1:]:
        cells = line.split("\t")
        for name, indexes in wanted.items():
            bucket = seen[name]
            for index in indexes:
                if index < len(cells):
                    value = cells[index].strip().strip('"').strip()
                    if value:
                        bucket[value] = None
    return DatasetMetadata(
        organisms=tuple(seen["organisms"]),
        protocols=tuple(seen["protocols"]),
        software=tuple(seen["software"]),
        samples=len(lines) - 1,
        encodings=(decoded.encoding,),
    )
