"""The "caught" decision of benchmarks/gtfs_rule_coverage.py (rule coverage against gtfs-kit), for
ours on real feeds run through check_feed, and the peer's verdict on its problems (gtfs-kit itself
is the `bench` extra, not a test dependency, so it is not run here)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from benchmarks.gtfs_rule_coverage import Case, Corpus, PeerRun, corpora, coverage, ours_caught, peer_verdict


def test_ours_caught_needs_the_code_newly_failing() -> None:
    assert ours_caught("invalid_color", frozenset({"unused_shape"}), frozenset({"unused_shape", "invalid_color"})) == (True, True)
    # Failing on the good feed already: the broken copy adds nothing.
    assert ours_caught("invalid_color", frozenset({"invalid_color"}), frozenset({"invalid_color"})) == (False, False)
    # Another code newly failing: caught loosely, not by the case's own code.
    assert ours_caught("invalid_url", frozenset(), frozenset({"invalid_color"})) == (False, True)


def test_coverage_of_ours_on_sample_feed_cases() -> None:
    sample = corpora()[0]
    colour = next(case for case in sample.cases if case.code == "invalid_color")  # route AB's colour set to "red"
    cases = [colour,
             Case("invalid_url", "colour edit named invalid_url", colour.write_broken),
             Case("invalid_color", "the good feed itself", sample.write_good)]
    measured = coverage([Corpus(sample.name, sample.today, sample.write_good, cases)], peer=False)
    assert measured.good == {sample.name: ([], [])}  # the sample feed breaks no rule of ours
    assert [(o.label, o.ours_code, o.ours_any, o.ours_new, o.peer) for o in measured.outcomes] == [
        ("invalid_color", True, True, ["invalid_color"], "not run"),
        ("colour edit named invalid_url", False, True, ["invalid_color"], "not run"),
        ("the good feed itself", False, False, [], "not run"),
    ]


def test_peer_verdict_compares_problems_without_rows() -> None:
    expired = ("warning", "Feed expired", "calendar")
    colour = ("error", "Invalid route_color; maybe has extra space characters", "routes")
    good = PeerRun(frozenset({expired}))
    assert peer_verdict(good, PeerRun(frozenset({expired, colour}))) == "problem"
    assert peer_verdict(good, PeerRun(frozenset({expired}))) == "missed"
    assert peer_verdict(PeerRun(frozenset({expired, colour})), PeerRun(frozenset({colour}))) == "missed"  # fewer is not caught
    assert peer_verdict(good, PeerRun(error="validate: ValueError: Path x does not exist", deliberate=True)) == "error"
    assert peer_verdict(good, PeerRun(error="validate: TypeError: boolean value of NA is ambiguous")) == "crash"


def test_the_benchmark_writes_the_byte_edits_the_tests_check(tmp_path: Path) -> None:
    """A case edited on the written bytes (agency.txt made Latin-1) reaches the benchmark's zip as is."""
    sample = corpora()[0]
    latin = next(case for case in sample.cases if case.code == "invalid_character")
    with zipfile.ZipFile(latin.write_broken(tmp_path / "broken.zip")) as archive:
        agency = archive.read("agency.txt")
    assert "Autorité de passage de démonstration".encode("cp1252") in agency and b"\xc3" not in agency
    measured = coverage([Corpus(sample.name, sample.today, sample.write_good, [latin])], peer=False)
    assert [(o.ours_code, o.ours_new) for o in measured.outcomes] == [(True, ["invalid_character"])]
