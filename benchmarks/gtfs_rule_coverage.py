"""Rule coverage of our GTFS checks against gtfs-kit 9's validate(), measured on the same feeds.

The corpus is the tests' one-rule broken feeds: `test_gtfs_rules.CASES` (edits of the Google sample
feed's tables, or of its written files' bytes) and `test_gtfs_flex_fares_stations.CASES` (text
edits of a small feed with the optional files). For each case the good feed and its broken copy
are written as zips, both tools run on both, and a tool "caught" the case when the broken copy
yields a problem the good feed does not:

- ours (`check_feed`): strictly, the case's own notice code fails (failed > 0) on the broken copy
  and not on the good feed; loosely, any code fails on the broken copy and not on the good one.
- gtfs-kit (`read_feed(path, dist_units="km").validate()`): a (type, message, table) of its
  problems frame that the good feed's frame lacks (row indexes ignored). When it raises on a
  broken copy, the exception is recorded: counted as caught only when it is a deliberate, named
  error raised by gtfs-kit's own code (a `raise` in the gtfs_kit package); any other exception (a
  pandas KeyError deep in a check, say) is a crash, reported in its own count, never hidden.

The corpus was written for our rules (one case per notice we raise), so ours catching every case
is by construction: the figure says how much of our rule set gtfs-kit also covers, not what
gtfs-kit checks that we do not (that needs cases written from gtfs-kit's checks). gtfs-kit has no
`today`: its "Feed expired" compares with the real date, and both good feeds are already expired
for it. It does not know GTFS-Flex either: the small feed's flex stop times are errors to it
already, so an edit there is caught only when it adds a different (type, message, table).

    PYTHONPATH=. python benchmarks/gtfs_rule_coverage.py   (also run by quality_checks.py)
"""

from __future__ import annotations

import tempfile
import traceback
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from platform_assets.quality.gtfs.registry import FeedReport, check_feed

Writer = Callable[[Path], Path]  # writes a feed zip at the given path and returns it


@dataclass(frozen=True)
class Case:
    code: str  # the MobilityData notice the broken copy is built to raise
    label: str  # the code, plus the test's case id when a code has several cases
    write_broken: Writer


@dataclass(frozen=True)
class Corpus:
    """A good feed and the cases broken from it (the tests' `today` for our date rules)."""

    name: str
    today: date
    write_good: Writer
    cases: list[Case]


def _sample_feed_writer(edit: Callable | None) -> Writer:
    """The Google sample feed read and written back with `edit` applied (None: as is) by the tests'
    own writer, `test_gtfs_rules.write_case`: good and broken go through it, and the edits it makes on
    the written zip's bytes (`MemberBytes`: Latin-1 text, a short row, a NUL byte) are made here too,
    so both tools read the very bytes the tests check."""
    from platform_assets_tests.quality.test_gtfs_rules import write_case

    def write(path: Path) -> Path:
        return write_case(edit, path)
    return write


def _text_feed_writer(files: dict[str, str], extra: dict[str, str] | None = None) -> Writer:
    def write(path: Path) -> Path:
        with zipfile.ZipFile(path, "w") as archive:
            for name, text in {**files, **(extra or {})}.items():
                archive.writestr(name, text)
        return path
    return write


def corpora() -> list[Corpus]:
    """The tests' case lists (imported from the test modules, so the corpus is the one the tests keep green)."""
    from platform_assets_tests.quality import test_gtfs_flex_fares_stations as flex
    from platform_assets_tests.quality import test_gtfs_rules as rules

    sample = Corpus("sample feed", rules.TODAY, _sample_feed_writer(None),
                    [Case(code, code, _sample_feed_writer(edit)) for code, edit in rules.CASES])
    small = Corpus("flex/fares/stations feed", date(2024, 6, 1), _text_feed_writer(flex.GOOD),
                   [Case(code, f"{code}-{case_id}" if case_id else code, _text_feed_writer(flex.GOOD, edit))
                    for code, case_id, edit, _count in flex.CASES])
    return [sample, small]


# ours

def failing_codes(report: FeedReport) -> frozenset[str]:
    """The checks that raised at least one notice (informational ones included: a notice is a notice)."""
    return frozenset(result.name for result in report.results if result.failed > 0)


def ours_caught(code: str, good: frozenset[str], broken: frozenset[str]) -> tuple[bool, bool]:
    """(the case's own code newly failing, any code newly failing) between the good and broken runs."""
    new = broken - good
    return code in new, bool(new)


# gtfs-kit

Problem = tuple[str, str, str]  # (type, message, table)


@dataclass(frozen=True)
class PeerRun:
    problems: frozenset[Problem] = frozenset()
    error: str | None = None  # "stage: Type: message" when gtfs-kit raised
    deliberate: bool = False  # the exception was raised by gtfs-kit's own `raise`, not inside pandas & co.


def run_gtfs_kit(path: Path) -> PeerRun:
    import gtfs_kit

    stage = "read_feed"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas/geopandas chatter, not problems
            feed = gtfs_kit.read_feed(path, dist_units="km")
            stage = "validate"
            frame = feed.validate()
    except Exception as error:  # noqa: BLE001 (what it raises is the measurement)
        innermost = traceback.extract_tb(error.__traceback__)[-1]
        deliberate = f"{Path(gtfs_kit.__file__).parent}" in innermost.filename and isinstance(error, ValueError) and bool(str(error))
        return PeerRun(error=f"{stage}: {type(error).__name__}: {str(error)[:120]}", deliberate=deliberate)
    return PeerRun(frozenset((str(t), str(m), str(tb)) for t, m, tb in zip(frame["type"], frame["message"], frame["table"], strict=True)))


def peer_verdict(good: PeerRun, broken: PeerRun) -> str:
    """"problem" (a new (type, message, table)), "error" (a deliberate gtfs-kit error), "crash"
    (any other exception) or "missed"."""
    if broken.error is not None:
        return "error" if broken.deliberate else "crash"
    return "problem" if broken.problems - good.problems else "missed"


@dataclass
class Outcome:
    corpus: str
    label: str
    code: str
    ours_code: bool
    ours_any: bool
    ours_new: list[str]
    peer: str
    peer_new: list[Problem] = field(default_factory=list)
    peer_error: str | None = None


@dataclass
class Coverage:
    outcomes: list[Outcome]
    good: dict[str, tuple[list[str], list[Problem]]]  # per corpus: what each tool already reports on the good feed


def coverage(selected: list[Corpus] | None = None, peer: bool = True) -> Coverage:
    """Every case of `selected` (default: every corpus) through ours and, with `peer`, gtfs-kit."""
    outcomes, good_runs = [], {}
    with tempfile.TemporaryDirectory(prefix="gtfs-coverage-") as folder:
        for number, corpus in enumerate(selected if selected is not None else corpora()):
            good_path = corpus.write_good(Path(folder) / f"good-{number}.zip")
            good = failing_codes(check_feed(good_path, today=corpus.today))
            good_peer = run_gtfs_kit(good_path) if peer else PeerRun()
            if good_peer.error:
                raise RuntimeError(f"gtfs-kit fails on the good {corpus.name}: {good_peer.error}")
            good_runs[corpus.name] = (sorted(good), sorted(good_peer.problems))
            for case in corpus.cases:
                path = case.write_broken(Path(folder) / "broken.zip")
                broken = failing_codes(check_feed(path, today=corpus.today))
                by_code, by_any = ours_caught(case.code, good, broken)
                broken_peer = run_gtfs_kit(path) if peer else PeerRun()
                outcomes.append(Outcome(corpus.name, case.label, case.code, by_code, by_any, sorted(broken - good),
                                        peer_verdict(good_peer, broken_peer) if peer else "not run",
                                        sorted(broken_peer.problems - good_peer.problems), broken_peer.error))
                path.unlink()
    return Coverage(outcomes, good_runs)


def print_coverage(measured: Coverage) -> dict[str, float]:
    """The figures and the per-case lists; returns the figures."""
    from importlib.metadata import version

    outcomes = measured.outcomes
    cases = len(outcomes)
    ours_code = sum(o.ours_code for o in outcomes)
    ours_any = sum(o.ours_any for o in outcomes)
    verdicts = {kind: sum(o.peer == kind for o in outcomes) for kind in ("problem", "error", "crash", "missed")}
    peer = verdicts["problem"] + verdicts["error"]
    with_crashes = peer + verdicts["crash"]
    print(f"GTFS rule coverage on {cases} one-rule broken feeds (tests' corpus; caught = the broken copy yields a notice/problem "
          f"the good feed does not), gtfs-kit {version('gtfs-kit')}:")
    print(f"  ours, the case's own notice code newly failing: {ours_code}/{cases}; any code newly failing: {ours_any}/{cases}")
    print(f"  gtfs-kit, a new (type, message, table) problem: {verdicts['problem']}; deliberate error raised: {verdicts['error']}; "
          f"crashed: {verdicts['crash']}; missed: {verdicts['missed']}")
    print(f"  gtfs-kit caught: {peer}/{cases} (crashes not counted), {with_crashes}/{cases} (a crash counted as caught)")
    ratio = ours_code / peer if peer else float("inf")
    ratio_crashes = ours_code / with_crashes if with_crashes else float("inf")
    print(f"  ratio ours (own code) / gtfs-kit: {ratio:.2f}x (crashes not counted), {ratio_crashes:.2f}x (crashes counted as caught)")
    for name in dict.fromkeys(o.corpus for o in outcomes):  # the core tables apart from the optional files gtfs-kit does not read
        part = [o for o in outcomes if o.corpus == name]
        caught = sum(o.peer in ("problem", "error") for o in part)
        ours = sum(o.ours_code for o in part)
        print(f"  {name}: {len(part)} cases, ours {ours}, gtfs-kit {caught} (+{sum(o.peer == 'crash' for o in part)} crashes) -> "
              f"{ours / caught if caught else float('inf'):.2f}x")
    for name, (ours_good, peer_good) in measured.good.items():
        print(f"  already on the good {name}: ours {', '.join(ours_good) or 'nothing'}; gtfs-kit "
              f"{'; '.join(f'{t} {tb}: {m}' for t, m, tb in peer_good) or 'nothing'}")
    print("  gtfs-kit catches:")
    for o in outcomes:
        if o.peer in ("problem", "error"):
            detail = "; ".join(f"{t} {tb}: {m}" for t, m, tb in o.peer_new) if o.peer == "problem" else o.peer_error
            print(f"    {o.label}: {detail}")
    print("  gtfs-kit crashes on:")
    for o in outcomes:
        if o.peer == "crash":
            print(f"    {o.label}: {o.peer_error}")
    missed = [o.label for o in outcomes if o.peer == "missed"]
    print(f"  gtfs-kit misses ({len(missed)}): {', '.join(missed)}")
    ours_missed = [f"{o.label} (new: {', '.join(o.ours_new) or 'none'})" for o in outcomes if not o.ours_code]
    print(f"  ours misses by own code ({len(ours_missed)}): {', '.join(ours_missed) or 'none'}")
    return {"cases": cases, "ours_code": ours_code, "ours_any": ours_any, "peer": peer, "peer_with_crashes": with_crashes,
            "ratio": ratio, "ratio_with_crashes": ratio_crashes, **verdicts}


if __name__ == "__main__":
    print_coverage(coverage())
