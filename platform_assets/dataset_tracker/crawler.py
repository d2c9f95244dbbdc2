"""The crawler: find every accession in every source, give it its most advanced stage, read its
newest metadata files and flag duplicates. Pure Python (no Dagster), one pass of `os.scandir`
per folder, so 10,000 accessions take seconds.

Rules from the EBI ingest-tracker (app/lib/statusCrawl.py, app/lib/trackerBuild.py):
- a folder entry is an accession only when its whole name is one: a folder `E-MTAB-1`, or a file
  `E-MTAB-1.idf.txt` (never `E-MTAB-2.tar.gz` or `E-MTAB-3_old/`); `*.merged.idf.txt` is ignored;
- the IDF/SDRF used is the one of the most advanced stage (newest file on a tie);
- a JSON listing of the Atlas (`experiments[].experimentAccession`) is a source like a text listing;
- E-GEOD-N and GSEN name the same GEO series when looking for duplicates.
Only regular files are ever opened (a FIFO or a link to /dev/zero named like an IDF is a warning),
with a size limit; HTTP listings are streamed with a size limit and a total deadline.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from platform_assets.dataset_tracker.config import SourceConfig, SourcesConfig
from platform_assets.dataset_tracker.errors import SourceUnavailableError
from platform_assets.dataset_tracker.magetab import (
    IDF_NAME,
    MERGED_IDF_NAME,
    SDRF_NAME,
    DatasetMetadata,
    UnreadableFile,
    decode_text,
    parse_idf,
    parse_sdrf,
)
from platform_assets.dataset_tracker.stages import Stage


@dataclass(frozen=True)
class Sighting:
    """An accession seen in one source (a folder entry or a listing line)."""

    accession: str
    source: SourceConfig
    location: str
    title: str = ""


@dataclass(frozen=True)
class MetadataFile:
    path: str
    modified: float
    source: str
    stage: int = 0


@dataclass(frozen=True)
class CrawlWarning:
    """Something the crawl could not use; shown to curators instead of failing the crawl."""

    source: str
    location: str
    message: str
    accession: str = ""

    def line(self) -> str:
        return f"{self.accession + ': ' if self.accession else ''}{self.location}: {self.message}"


# Limits on what the crawl reads (generous: an SDRF of 100,000 samples is a few tens of MB).
MAX_METADATA_BYTES = 64 * 1024 * 1024
MAX_LISTING_BYTES = 64 * 1024 * 1024
LISTING_DEADLINE_SECONDS = 120.0


class NotARegularFile(OSError):
    """A path that is a FIFO, a device or a socket (or a link to one): never read."""


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`. The file is opened non-blocking (opening
    a FIFO must not wait for a writer) and checked with fstat before any read, so a FIFO or a link
    to /dev/zero is refused without reading a byte."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(f"not a regular file ({_file_kind(info.st_mode)}): not read")
        if info.st_size > max_bytes:
            raise NotARegularFile(f"{info.st_size} bytes: larger than the {max_bytes} bytes read at most")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(descriptor, 1024 * 1024)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:  # grew while being read
                raise NotARegularFile(f"more than the {max_bytes} bytes read at most")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "a special file"


@dataclass
class Dataset:
    """One accession: its stage, where it was seen, its metadata and why it may be a duplicate."""

    accession: str
    stage: Stage
    sources: tuple[str, ...]
    technologies: tuple[str, ...]
    resources: tuple[str, ...]
    metadata: DatasetMetadata
    idf_path: str = ""
    sdrf_path: str = ""
    listing_title: str = ""
    duplicate_reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The least advanced stage the current sources allow (== stage unless a source covers a range).
    min_stage: Stage | None = None
    stage_label: str = ""

    @property
    def title(self) -> str:
        return self.metadata.title or self.listing_title


@dataclass
class CrawlResult:
    datasets: dict[str, Dataset]
    warnings: list[CrawlWarning]
    crawled_at: datetime
    metadata_files_read: int = 0

    def counts_by_stage(self) -> dict[str, int]:
        counts = {stage.name: 0 for stage in Stage}
        for dataset in self.datasets.values():
            counts[dataset.stage.name] += 1
        return counts

    def duplicates(self) -> list[Dataset]:
        return [dataset for dataset in self.datasets.values() if dataset.duplicate_reasons]


def metadata_accession(name: str) -> str | None:
    """`E-MTAB-1` of `E-MTAB-1.idf.txt` / `E-MTAB-1.sdrf.txt`; None for any other name and for
    merged IDFs (`E-MTAB-1.merged.idf.txt`, which the anchor ignores too)."""
    if MERGED_IDF_NAME.search(name):
        return None
    for suffix in (IDF_NAME, SDRF_NAME):
        match = suffix.search(name)
        if match is not None and match.start() > 0:
            return name[: match.start()]
    return None


def accession_of_entry(pattern: re.Pattern[str], entry: os.DirEntry[str]) -> str | None:
    """The accession a folder entry stands for: a folder named exactly as an accession, or a regular
    file named `<accession>.idf.txt` (or an SDRF); never a prefix match (`E-MTAB-2.tar.gz`,
    `E-MTAB-3_old`), never a FIFO, device or socket."""
    try:
        if entry.is_dir():
            return entry.name if pattern.fullmatch(entry.name) else None
        if not entry.is_file():
            return None
    except OSError:
        return None
    accession = metadata_accession(entry.name)
    return accession if accession is not None and pattern.fullmatch(accession) else None


def _metadata_in(
    entry: os.DirEntry[str], accession: str, source: SourceConfig
) -> tuple[list[MetadataFile], list[MetadataFile], list[str]]:
    """The IDF and SDRF files of one accession entry, and the names of special files skipped."""
    idfs: list[MetadataFile] = []
    sdrfs: list[MetadataFile] = []
    skipped: list[str] = []
    entries: Iterable[os.DirEntry[str]]
    if entry.is_dir():
        # An unreadable accession folder raises OSError: the caller turns it into a warning.
        with os.scandir(entry.path) as inner:
            entries = list(inner)
    else:
        entries = [entry]
    for item in entries:
        if metadata_accession(item.name) != accession:
            continue  # not this accession's metadata, or a merged IDF
        if not item.is_file():
            if not item.is_dir():
                skipped.append(item.path)  # a FIFO, device or socket named like metadata
            continue
        found = MetadataFile(item.path, item.stat().st_mtime, source.name, source.stage)
        (idfs if IDF_NAME.search(item.name) else sdrfs).append(found)
    return idfs, sdrfs, skipped


def _listing_lines(source: SourceConfig, fetch_url: Callable[[str], bytes]) -> tuple[str, str]:
    """The listing's text and where it came from; SourceUnavailableError when it cannot be read."""
    if source.url is not None:
        where = source.url
        data = fetch_url(source.url)
    else:
        assert source.listing is not None
        where = str(source.listing)
        try:
            data = read_regular_file(source.listing, MAX_LISTING_BYTES)
        except OSError as error:
            raise SourceUnavailableError(
                f"source {source.name!r}: cannot read listing {where}: {error.strerror or error}"
            ) from None
    if not data.strip():
        return "", where
    try:
        return decode_text(data).text, where
    except UnreadableFile as error:
        raise SourceUnavailableError(f"source {source.name!r}: listing {where}: {error}") from None


def fetch_listing(
    url: str,
    timeout: float = 30.0,
    max_bytes: int = MAX_LISTING_BYTES,
    deadline_seconds: float = LISTING_DEADLINE_SECONDS,
) -> bytes:
    """GET an HTTP listing, streamed: `timeout` per connect and per read, at most `max_bytes` and
    `deadline_seconds` in total (an endless or trickling listing ends in a one-line error)."""
    import requests

    started = time.monotonic()
    try:
        with requests.get(url, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise SourceUnavailableError(f"listing {url}: HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SourceUnavailableError(f"listing {url}: {declared} bytes, more than the {max_bytes} allowed")
            chunks: list[bytes] = []
            total = 0
            while True:
                # read1: whatever has arrived (up to 64 KiB), so a trickle cannot hold one read open
                # past the deadline as filling a fixed-size chunk would.
                chunk = response.raw.read1(64 * 1024, decode_content=True)
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    raise SourceUnavailableError(f"listing {url}: more than the {max_bytes} bytes allowed")
                if time.monotonic() - started > deadline_seconds:
                    raise SourceUnavailableError(f"listing {url}: not received within {deadline_seconds:g} s")
                chunks.append(chunk)
    except requests.RequestException as error:
        raise SourceUnavailableError(f"listing {url}: {type(error).__name__}: {error}") from None
    return b"".join(chunks)


def atlas_json_accessions(text: str, where: str) -> list[tuple[str, str]]:
    """(accession, title) of each experiment of an Atlas JSON listing (`experiments[].experimentAccession`)."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise SourceUnavailableError(f"listing {where}: not JSON: {str(error).splitlines()[0][:200]}") from None
    experiments = document.get("experiments") if isinstance(document, dict) else None
    if not isinstance(experiments, list):
        raise SourceUnavailableError(f"listing {where}: no `experiments` list (expected an Atlas JSON listing)")
    found = []
    for experiment in experiments:
        if isinstance(experiment, dict) and isinstance(experiment.get("experimentAccession"), str):
            title = experiment.get("experimentDescription")
            found.append((experiment["experimentAccession"].strip(), title.strip() if isinstance(title, str) else ""))
    return found


class Crawler:
    """Crawl every source of a config; `crawl()` returns a CrawlResult."""

    def __init__(self, config: SourcesConfig, fetch_url: Callable[[str], bytes] = fetch_listing) -> None:
        self.config = config
        self.fetch_url = fetch_url
        self.sightings: dict[str, list[Sighting]] = defaultdict(list)
        self.idfs: dict[str, list[MetadataFile]] = defaultdict(list)
        self.sdrfs: dict[str, list[MetadataFile]] = defaultdict(list)
        self.warnings: list[CrawlWarning] = []
        self.files_read = 0

    def _crawl_folder(self, source: SourceConfig) -> None:
        assert source.folder is not None
        pattern = self.config.pattern_of(source)
        try:
            scanner = os.scandir(source.folder)
        except OSError as error:
            raise SourceUnavailableError(
                f"source {source.name!r}: cannot read folder {source.folder}: {error.strerror or error}"
            ) from None
        with scanner:
            for entry in scanner:
                accession = accession_of_entry(pattern, entry)
                if accession is None:
                    continue
                self.sightings[accession].append(Sighting(accession, source, entry.path))
                try:
                    idfs, sdrfs, skipped = _metadata_in(entry, accession, source)
                except OSError as error:
                    self.warnings.append(CrawlWarning(source.name, entry.path,
                                                      f"cannot list: {error.strerror or error}", accession))
                    continue
                for path in skipped:
                    self.warnings.append(CrawlWarning(source.name, path, "not a regular file: not read", accession))
                self.idfs[accession].extend(idfs)
                self.sdrfs[accession].extend(sdrfs)

    def _crawl_listing(self, source: SourceConfig) -> None:
        pattern = self.config.pattern_of(source)
        text, where = _listing_lines(source, self.fetch_url)
        if source.format == "atlas_json":
            for number, (accession, title) in enumerate(atlas_json_accessions(text, where) if text else [], start=1):
                if not pattern.fullmatch(accession):
                    self.warnings.append(CrawlWarning(
                        source.name, f"{where}:experiments[{number - 1}]", f"{accession!r} is not an accession"))
                    continue
                self.sightings[accession].append(Sighting(accession, source, f"{where}#{accession}", title))
            return
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            accession, *rest = (cell.strip() for cell in line.split("\t"))
            if not pattern.fullmatch(accession):
                self.warnings.append(
                    CrawlWarning(source.name, f"{where}:{number}", f"{accession!r} is not an accession")
                )
                continue
            title = rest[0] if rest else ""
            self.sightings[accession].append(Sighting(accession, source, f"{where}:{number}", title))

    def _read(self, accession: str, files: list[MetadataFile], parse: Callable[[bytes], DatasetMetadata],
              warnings: list[str]) -> tuple[DatasetMetadata, str]:
        """Parse the file of one kind from the most advanced stage (the newest on a tie), as the anchor
        ranks metadata by its source's stage; older ones stand in when it cannot be read."""
        for candidate in sorted(files, key=lambda item: (item.stage, item.modified), reverse=True):
            try:
                data = read_regular_file(candidate.path, MAX_METADATA_BYTES)
                self.files_read += 1
                return parse(data), candidate.path
            except (OSError, UnreadableFile) as error:
                message = str(error) if isinstance(error, UnreadableFile) else f"cannot read: {error}"
                warnings.append(f"{os.path.basename(candidate.path)}: {message}")
                self.warnings.append(CrawlWarning(candidate.source, candidate.path, message, accession))
        return DatasetMetadata(), ""

    def crawl(self, now: datetime | None = None) -> CrawlResult:
        """One crawl (a Crawler is used once: create a new one for the next crawl)."""
        if self.sightings:
            raise RuntimeError("a Crawler crawls once; create a new one")
        for source in self.config.sources:
            if source.folder is not None:
                self._crawl_folder(source)
            else:
                self._crawl_listing(source)

        datasets: dict[str, Dataset] = {}
        for accession, sightings in self.sightings.items():
            stage = max(sighting.source.stage for sighting in sightings)
            ordered = sorted(sightings, key=lambda s: (-s.source.stage, s.source.name))
            current = [s.source for s in ordered if s.source.stage == stage]
            # A source covering a range says "somewhere between": the least advanced of them bounds it.
            min_stage = max(source.min_stage for source in current)
            label = stage.name if min_stage == stage else f"{min_stage.name}..{stage.name}"
            warnings: list[str] = []
            idf, idf_path = self._read(accession, self.idfs.get(accession, []), parse_idf, warnings)
            sdrf, sdrf_path = self._read(accession, self.sdrfs.get(accession, []), parse_sdrf, warnings)
            if "latin-1" in idf.encodings or "latin-1" in sdrf.encodings:
                warnings.append("metadata read as Latin-1 (not UTF-8)")
            datasets[accession] = Dataset(
                accession=accession,
                stage=stage,
                sources=tuple(dict.fromkeys(s.source.name for s in ordered)),
                technologies=tuple(dict.fromkeys(s.technology for s in current if s.technology)),
                resources=tuple(dict.fromkeys(s.resource for s in current if s.resource)),
                metadata=idf.merge(sdrf),
                idf_path=idf_path,
                sdrf_path=sdrf_path,
                listing_title=next((s.title for s in ordered if s.title), ""),
                warnings=warnings,
                min_stage=min_stage,
                stage_label=label,
            )
        flag_duplicates(datasets, self.sightings)
        return CrawlResult(
            datasets=dict(sorted(datasets.items())),
            warnings=self.warnings,
            crawled_at=now or datetime.now(UTC),
            metadata_files_read=self.files_read,
        )


GEO_SERIES = re.compile(r"^(?:E-GEOD-|GSE)([0-9]+)$")


def canonical_accession(accession: str) -> str:
    """GSEN for E-GEOD-N and GSEN (ArrayExpress imported GEO series as E-GEOD-N: the anchor's
    `get_already_ingested_warn` maps one to the other); any other accession as it is."""
    match = GEO_SERIES.match(accession)
    return f"GSE{match.group(1)}" if match else accession


def flag_duplicates(datasets: dict[str, Dataset], sightings: dict[str, list[Sighting]]) -> None:
    """Add a reason to every dataset that may duplicate another (the reasons say which and why)."""
    for accession, seen in sightings.items():
        by_stage: dict[Stage, list[str]] = defaultdict(list)
        for sighting in seen:
            if sighting.source.name not in by_stage[sighting.source.stage]:
                by_stage[sighting.source.stage].append(sighting.source.name)
        for stage, names in sorted(by_stage.items()):
            if len(names) > 1:
                datasets[accession].duplicate_reasons.append(
                    f"in {len(names)} {stage.name} sources: {', '.join(sorted(names))}"
                )

    # Every identity a dataset claims, by canonical id (E-GEOD-N and GSEN are one GEO series).
    tracked_as: dict[str, list[str]] = defaultdict(list)
    for accession in datasets:
        tracked_as[canonical_accession(accession)].append(accession)
    for same in tracked_as.values():
        if len(same) > 1:
            for accession in same:
                others = ", ".join(other for other in same if other != accession)
                datasets[accession].duplicate_reasons.append(f"same GEO series as {others}")

    claimed_by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for accession, dataset in datasets.items():
        own = canonical_accession(accession)
        for secondary in dataset.metadata.secondary_accessions:
            if canonical_accession(secondary) != own:
                claimed_by[canonical_accession(secondary)].append((accession, secondary))
    for key, claims in sorted(claimed_by.items()):
        if len(claims) > 1:
            for primary, secondary in claims:
                others = ", ".join(other for other, _ in claims if other != primary)
                datasets[primary].duplicate_reasons.append(f"secondary accession {secondary} also listed by {others}")
        for tracked in tracked_as.get(key, []):
            written = {secondary for _, secondary in claims}
            alias = "" if written == {tracked} else f" (as {', '.join(sorted(written))})"
            datasets[tracked].duplicate_reasons.append(
                f"is a secondary accession of {', '.join(primary for primary, _ in claims)}{alias}"
            )
            for primary, secondary in claims:
                also = "" if secondary == tracked else f" {tracked}"
                datasets[primary].duplicate_reasons.append(
                    f"secondary accession {secondary} is also tracked as its own accession{also}"
                )


def crawl(config: SourcesConfig, now: datetime | None = None,
          fetch_url: Callable[[str], bytes] = fetch_listing) -> CrawlResult:
    """Crawl every source of `config` (SourceUnavailableError when a source cannot be read at all)."""
    return Crawler(config, fetch_url).crawl(now)


def folder_fingerprint(config: SourcesConfig) -> str:
    """A short digest of the accession entries of every folder source (one directory listing each):
    it changes when a dataset folder appears, moves or goes, which is what the new-folder sensor watches."""
    digest = hashlib.sha256()
    for source in config.folder_sources():
        assert source.folder is not None
        pattern = config.pattern_of(source)
        try:
            with os.scandir(source.folder) as scanner:
                names = sorted(e.name for e in scanner if accession_of_entry(pattern, e))
        except OSError:
            names = ["<unreadable>"]
        digest.update(f"{source.name}\0{chr(1).join(names)}\0".encode())
    return digest.hexdigest()[:16]
