"""OCDS loading and checks on the shared OCDS files, with expectations worked out by hand."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from platform_assets.lib.quality.batch import batched
from platform_assets.lib.quality.result import CheckResult, Outcome
from platform_assets.lib.quality.runner import run_checks
from platform_assets.quality.ocds.compile import compile_releases
from platform_assets.quality.ocds.errors import OcdsSourceError, QualityError
from platform_assets.quality.ocds.filters import DatasetFilter
from platform_assets.quality.ocds.loader import list_datasets, load_folder
from platform_assets.quality.ocds.reader import DepthScanner
from platform_assets.quality.ocds.registry import ocds_checks

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def folder_with(tmp_path: Path, shared_data: Path, *names: str, folder_name: str = "dataset") -> Path:
    folder = tmp_path / folder_name
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(shared_data / "ocds" / name, folder / name)
    return folder


def check_all(items: list[dict[str, Any]], previous: list[dict[str, Any]] | None = None) -> dict[str, CheckResult]:
    checks = ocds_checks(now=NOW, minimum_items=1)
    results = run_checks(checks, batched(items, 2), batched(previous, 2) if previous is not None else None)
    return {result.name: result for result in results}


def counts(result: CheckResult) -> tuple[int, int, int]:
    return result.passed, result.failed, result.not_applicable


# -- loading ---------------------------------------------------------------------------------
def test_every_file_shape_loads(tmp_path: Path, shared_data: Path) -> None:
    names = {
        "ocdskit_release-package_encoding-iso-8859-1_CDMX.json": ["OCDS-87SD3T-SEFIN-DRM-AD-024-2016"],  # Latin-1
        "ocdskit_release-package_split_CDMX.concat.json": ["OCDS-87SD3T-AD-SF-DRM-063-2015", "OCDS-87SD3T-AD-SF-DRM-065-2015"],
        "ocdskit_ocds-sample-data.json.gz": ["ocds-213czf-000-00001"],
        "ocdskit_record-package_package_CDMX.json": ["OCDS-87SD3T-AD-SF-DRM-063-2015", "OCDS-87SD3T-AD-SF-DRM-065-2015"],
    }
    for name, ocids in names.items():
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        shutil.copy(shared_data / "ocds" / name, folder / name)
        assert [item["ocid"] for item in load_folder(folder)] == ocids, name
    latin = next(load_folder(tmp_path / "ocdskit_release-package_encoding-iso-8859-1_CDMX"))
    assert "SECRETARÍA DE FINANZAS" in json.dumps(latin, ensure_ascii=False)
    # The JSON array holding one package of 100 releases of 100 ocids.
    portugal = folder_with(tmp_path, shared_data, "kingfisher-process_collection_file_PT-IMPIC.json")
    assert len(list(load_folder(portugal))) == 100


def test_releases_compile_by_date_last_value_wins(tmp_path: Path, shared_data: Path) -> None:
    folder = folder_with(tmp_path, shared_data, "ocdskit_ocds-sample-data.json.gz")
    (compiled,) = load_folder(folder)
    # Six releases of one ocid; tender last set by 04-award (status complete); 05 and 06 have no
    # tender, so it is kept; the compiled date and id come from the newest release (06).
    assert compiled["tag"] == ["compiled"]
    assert compiled["date"] == "2011-01-10T09:30:00Z"
    assert compiled["id"] == "ocds-213czf-000-00001-2011-01-10T09:30:00Z"
    assert compiled["tender"]["status"] == "complete"
    assert compiled["tender"]["title"] == "Planned cycle lane improvements"
    # ocdskit (ocdsmerge) compiled the same CDMX releases: ours is identical, field by field.
    cdmx = folder_with(tmp_path, shared_data, "ocdskit_release-package-1-2_CDMX.json", folder_name="cdmx")
    ours = next(load_folder(cdmx))
    reference = json.loads((shared_data / "ocds" / "ocdskit_compiled-release-1_CDMX.json").read_text())
    assert ours == reference


def test_compile_follows_ocdsmerge_rules_on_hand_made_releases() -> None:
    """What the hand-written compile got wrong: nulls and empty objects kept, arrays of objects
    without id replaced instead of appended."""
    first = {
        "ocid": "ocds-213czf-1", "id": "1", "date": "2020-01-01T00:00:00Z", "tag": ["tender"],
        "buyer": {"id": "B", "name": "Council"},
        "tender": {"id": "T", "title": "Roads", "value": {}, "tenderers": [{"name": "A"}], "items": [{"id": "1", "quantity": 2}]},
    }
    second = {
        "ocid": "ocds-213czf-1", "id": "2", "date": "2020-02-01T00:00:00Z", "tag": ["tenderUpdate"],
        "buyer": {"id": None},
        "tender": {"title": None, "tenderers": [{"name": "C"}], "items": [{"id": "2", "quantity": 5}, {"id": "1", "quantity": 3}]},
    }
    # Given out of date order: merged by date all the same.
    compiled = compile_releases([second, first])
    assert compiled == {
        "ocid": "ocds-213czf-1",
        "id": "ocds-213czf-1-2020-02-01T00:00:00Z",
        "date": "2020-02-01T00:00:00Z",
        "tag": ["compiled"],
        "buyer": {"name": "Council"},  # the null removed buyer.id
        # title removed by its null, the empty value object dropped, tenderers (no id) appended,
        # items merged by id (item 1 updated in place, item 2 added after it).
        "tender": {"id": "T", "tenderers": [{"name": "A"}, {"name": "C"}], "items": [{"id": "1", "quantity": 3}, {"id": "2", "quantity": 5}]},
    }
    # number_of_tenderers sees both tenderers (the hand-written compile kept only "C").
    assert len(compiled["tender"]["tenderers"]) == 2


def test_unusable_sources_fail_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(OcdsSourceError, match="no such dataset folder"):
        list(load_folder(tmp_path / "missing"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.json").write_text('{"releases": [')
    with pytest.raises(OcdsSourceError, match=r"broken/a.json: not JSON: parse error: premature EOF$"):
        list(load_folder(broken))
    (broken / "a.json").unlink()
    (broken / "b.json.gz").write_bytes(b"not gzip")
    with pytest.raises(OcdsSourceError, match="b.json.gz: cannot read"):
        list(load_folder(broken))
    assert list_datasets(tmp_path) == ["broken"]


def test_deeply_nested_file_is_refused_by_name_and_the_other_files_are_checked(tmp_path: Path, shared_data: Path) -> None:
    """Issue 18 item 5: 100k levels of nesting gave a RecursionError traceback."""
    folder = folder_with(tmp_path, shared_data, "pelican-backend_compiled-release.json")
    depth = 100_000
    (folder / "deep.json").write_bytes(b'{"releases": [{"ocid": "ocds-213czf-deep", "x": ' + b"[" * depth + b"]" * depth + b"}]}")
    # A file that breaks half-way: its first release must not be kept either.
    (folder / "half.json").write_text('{"version": "1.1", "releases": [{"ocid": "ocds-213czf-half", "date": "2020-01-01"}, {"ocid": ')
    errors: list[str] = []
    items = list(load_folder(folder, errors))
    assert [item["ocid"] for item in items] == ["ocds-213czf-000-00001"]
    assert len(errors) == 2
    deep_error, half_error = sorted(errors)
    assert deep_error == f"{folder / 'deep.json'}: JSON nested deeper than 128 levels: not OCDS data"
    assert half_error.startswith(f"{folder / 'half.json'}: not JSON: ") and "\n" not in half_error
    # Only bad files: the folder fails with the first file's line.
    (folder / "pelican-backend_compiled-release.json").unlink()
    with pytest.raises(OcdsSourceError, match=r"deep.json: JSON nested deeper than 128 levels: not OCDS data \(and 1 more files\)$"):
        list(load_folder(folder))


def test_nesting_depth_scanner_against_json_on_random_documents() -> None:
    """The numpy depth scan (strings, escapes, chunk boundaries) agrees with Python's json."""
    import random

    rng = random.Random(5)

    def depth_of(value: Any) -> int:
        if isinstance(value, dict | list):
            children = value.values() if isinstance(value, dict) else value
            return 1 + max((depth_of(child) for child in children), default=0)
        return 0

    def document(level: int) -> Any:
        roll = rng.random()
        if level > 7 or roll < 0.3:
            return rng.choice(['a\\"[{', "\\\\", '}]"\\\\\\"', "x", 3, None])
        if roll < 0.65:
            return [document(level + 1) for _ in range(rng.randrange(3))]
        return {rng.choice(["k[", '\\"{', "z"]) + str(i): document(level + 1) for i in range(rng.randrange(3))}

    for _ in range(300):
        value = document(0)
        data = json.dumps(value).encode()
        scanner = DepthScanner()
        cuts = sorted(rng.sample(range(len(data) + 1), min(4, len(data) + 1)))
        previous = 0
        for cut in [*cuts, len(data)]:
            scanner.feed(data[previous:cut])
            previous = cut
        assert (scanner.deepest, scanner.depth, scanner.in_string) == (depth_of(value), 0, False), data


def test_filtered_dataset(tmp_path: Path, shared_data: Path) -> None:
    items = list(load_folder(folder_with(tmp_path, shared_data, "lib-cove-ocds_tenders_releases_7_CA.json")))
    # By hand: three releases dated 2014-03-25 (buyer Agriculture & Agrifood Canada) and
    # ocds-bad-000004 dated 2014-04-04 (buyer Parks Canada, procuring entity also named so).
    assert len(items) == 4
    assert [i["ocid"] for i in DatasetFilter(date_from="2014-03-26").apply(items)] == ["ocds-bad-000004"]
    assert len(list(DatasetFilter(date_to="2014-03-25").apply(items))) == 3
    assert [i["ocid"] for i in DatasetFilter(buyer="Parks Canada").apply(items)] == ["ocds-bad-000004"]
    assert len(list(DatasetFilter(procuring_entity="Agriculture & Agrifood Canada").apply(items))) == 3
    assert [i["ocid"] for i in DatasetFilter(regex="ocds-00good").apply(items)] == ["ocds-00good-000003"]
    assert len(list(DatasetFilter(max_items=2).apply(items))) == 2
    assert list(DatasetFilter(buyer="nobody").apply(items)) == []
    with pytest.raises(QualityError, match="date_from"):
        list(DatasetFilter(date_from="2020-13-01").apply(items))
    with pytest.raises(QualityError, match="regex"):
        list(DatasetFilter(regex="(").apply(items))


# -- checks, by hand on the OCDS worked example (pelican-backend_compiled-release.json) ----------
@pytest.fixture(scope="module")
def worked(shared_data: Path) -> dict[str, Any]:
    return json.loads((shared_data / "ocds" / "pelican-backend_compiled-release.json").read_text())


def test_field_checks_on_the_worked_example(worked: dict[str, Any]) -> None:
    results = check_all([worked])
    # tender.documents: 3.0 "x_consultationDocument" and 4.0 "x_map" are not documentType codes,
    # 5.0 "tenderNotice" and 6.0 "clarifications" are -> 2 passed, 2 failed.
    doc_types = results["tender.documents.documentType.codelist"]
    assert counts(doc_types) == (2, 2, 0)
    assert {e["value"] for e in doc_types.examples[Outcome.FAILED]} == {"x_consultationDocument", "x_map"}
    # Three parties, each with a valid email, a telephone, a GB-LAC/GB-COH scheme, known roles.
    assert counts(results["parties.contactPoint.email.format"]) == (3, 0, 0)
    assert counts(results["parties.contactPoint.telephone.format"]) == (3, 0, 0)
    assert counts(results["parties.identifier.scheme.codelist"]) == (3, 0, 0)
    assert counts(results["parties.roles.codelist"]) == (3, 0, 0)
    # One ocid "ocds-213czf-000-00001": prefix ok; one release date 2011-01-10, in range and past.
    assert counts(results["ocid.prefix"]) == (1, 0, 0)
    assert counts(results["date.date_range"]) == (1, 0, 0)
    # Transactions: two dated 2010-08-01 and 2010-10-01, amounts 50000 and 10000 (non-negative).
    assert counts(results["contracts.implementation.transactions.date.date_range"]) == (2, 0, 0)
    assert counts(results["contracts.implementation.transactions.value.amount.non_negative"]) == (2, 0, 0)
    # No planning.budget.amount? It has one (6,700,000); no awards.documents.description over 250 chars.
    assert counts(results["planning.budget.amount.amount.non_negative"]) == (1, 0, 0)
    assert results["awards.documents.description.length"].failed == 0


def test_compiled_release_checks_on_the_worked_example(worked: dict[str, Any]) -> None:
    results = check_all([worked])
    # coherent.dates: tender start 2010-03-01 <= award 2010-05-10 <= signed 2010-06-10
    # <= transactions 2010-08-01 and 2010-10-01: four pairs, all in order.
    dates = results["coherent.dates"]
    assert counts(dates) == (1, 0, 0) and dates.examples[Outcome.PASSED][0]["pairs"] == 4
    # coherent.period: six periods (tender, enquiry, award, contract, award's and contract's) in order.
    assert results["coherent.period"].examples[Outcome.PASSED][0]["periods"] == 6
    # tender.status "complete" is not an unfinished status -> not applicable.
    assert counts(results["coherent.tender_status"]) == (0, 0, 1)
    # numberOfTenderers 2, two tenderers listed.
    assert counts(results["consistent.number_of_tenderers"]) == (1, 0, 0)
    # Tender value 1,100,000 GBP but the award is 11,000,000 GBP: ratio 10, outside 50-150%.
    tender_value = results["consistent.tender_value"]
    assert counts(tender_value) == (0, 1, 0)
    assert tender_value.examples[Outcome.FAILED][0]["ratio"] == 10.0
    # The contract (11,000,000) equals its award's value: ratio 1.
    assert counts(results["consistent.contracts_value"]) == (1, 0, 0)
    # AnyCorp (GB-COH-11111111) is a tenderer and payee but has only the role "supplier".
    roles = results["consistent.parties_roles"]
    assert counts(roles) == (0, 1, 0)
    assert "GB-COH-11111111 as tenderer" in roles.examples[Outcome.FAILED][0]["missing_roles"]
    # Every reference (buyer, procuring entity, tenderers, supplier, payer, payee) is a party id,
    # and the contract's awardID is the award's id.
    for role in ("buyer", "procuring_entity", "tenderer", "supplier", "payer", "payee"):
        assert counts(results[f"reference.{role}_in_parties"]) == (1, 0, 0), role
    assert counts(results["reference.contract_in_awards"]) == (1, 0, 0)


def test_dataset_checks_on_the_canadian_releases(tmp_path: Path, shared_data: Path) -> None:
    items = list(load_folder(folder_with(tmp_path, shared_data, "lib-cove-ocds_tenders_releases_7_CA.json")))
    results = check_all(items)
    # Four ocids: "bad-prefix-000001", "bad-prefix-000002", "ocds-00good-000003", "ocds-bad-000004";
    # only ocds-00good matches ocds-xxxxxx- (ocds-bad- has 3 characters).
    assert counts(results["ocid.prefix"]) == (1, 3, 0)
    # The three releases of 2014-03-25 share tender.id PW-14-00627094; PW-14-00629344 is unique.
    unique = results["dataset.unique_tender_id"]
    assert counts(unique) == (1, 3, 0)
    assert unique.examples[Outcome.FAILED] == [
        {"value": "PW-14-00627094", "items": 3, "item": "bad-prefix-000001, bad-prefix-000002, ocds-00good-000003"}
    ]
    # Buyers have a name but no id: nothing to count, not applicable.
    assert counts(results["dataset.buyer_repetition"]) == (0, 0, 1)
    # No tender has a status: each of the 7 tenderStatus codes is not applicable.
    assert counts(results["dataset.tender_status_distribution"]) == (0, 0, 7)


def test_time_based_checks_against_an_ancestor(tmp_path: Path, shared_data: Path, worked: dict[str, Any]) -> None:
    releases = json.loads(gzip.decompress((shared_data / "ocds" / "ocdskit_ocds-sample-data.json.gz").read_bytes()))
    early = tmp_path / "early"
    early.mkdir()
    # The first three releases (planning, tender, tenderAmendment): the process is at "tender".
    (early / "early.json").write_text(json.dumps({**releases, "releases": releases["releases"][:3]}))
    (at_tender,) = load_folder(early)
    # Ancestor at tender, now at implementation: the phase moved forward, the title is the same.
    forward = check_all([worked], previous=[at_tender])
    assert counts(forward["time.ocid_persistence"]) == (1, 0, 0)
    assert counts(forward["time.phase_stable"]) == (1, 0, 0)
    assert counts(forward["time.tender_title"]) == (1, 0, 0)
    # The other way round the process went back from implementation to tender.
    backward = check_all([at_tender], previous=[worked])
    assert counts(backward["time.phase_stable"]) == (0, 1, 0)
    assert backward["time.phase_stable"].examples[Outcome.FAILED][0] == {"item": "ocds-213czf-000-00001", "previous": 5, "current": 2}


def test_ocid_persistence_threshold_on_portugal(tmp_path: Path, shared_data: Path) -> None:
    items = list(load_folder(folder_with(tmp_path, shared_data, "kingfisher-process_collection_file_PT-IMPIC.json")))
    # 95 of 100 ancestor ocids kept: exactly the 95% threshold -> ok; 94 -> failing.
    assert check_all(items[5:], previous=items)["time.ocid_persistence"].ok
    lost = check_all(items[6:], previous=items)["time.ocid_persistence"]
    assert counts(lost) == (94, 6, 0) and not lost.ok
    assert {e["item"] for e in lost.examples[Outcome.FAILED]} == {item["ocid"] for item in items[:6]}


def test_badfile_fails_checks_with_examples_and_never_crashes(tmp_path: Path, shared_data: Path) -> None:
    items = list(load_folder(folder_with(tmp_path, shared_data, "lib-cove-ocds_badfile.json")))
    results = check_all(items)
    assert len(items) == 1
    # The release date is 2151-08-16: after 2050.
    date = results["date.date_range"]
    assert counts(date) == (0, 1, 0) and date.examples[Outcome.FAILED][0]["value"] == "2151-08-16T13:05:41.849Z"
    # buyer is a string: the type check fails, and buyer references have nothing to follow.
    assert counts(results["buyer.type"]) == (0, 1, 0)
    assert counts(results["reference.buyer_in_parties"]) == (0, 0, 1)
    # Contract "-3532710" is cancelled yet has two transactions.
    contracts_status = results["coherent.contracts_status"]
    assert counts(contracts_status) == (0, 1, 0) and contracts_status.examples[Outcome.FAILED][0]["contracts"] == ["-3532710"]
    # No contract's awardID (aliquid, 20395685, 53647781, "dolorem perferendis est nulla tempore")
    # is one of the five award ids.
    assert results["reference.contract_in_awards"].examples[Outcome.FAILED][0]["references"] == 4
    failing = [r for r in results.values() if not r.ok]
    assert len(failing) > 20 and all(r.examples.get(Outcome.FAILED) for r in failing if r.level == "field")


def test_checks_survive_any_value_in_any_place(worked: dict[str, Any]) -> None:
    """Real data puts strings where objects belong (see the badfile): mutate the worked example
    at random places and every check must still return results."""
    import copy
    import random

    rng = random.Random(3)
    replacements: list[Any] = ["text", 12, -4.5, None, True, [], {}, ["a", 1], {"id": 3}, "2999-01-01"]

    def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        found = [prefix] if prefix else []
        if isinstance(node, dict):
            for key, value in node.items():
                found += paths(value, (*prefix, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                found += paths(value, (*prefix, index))
        return found

    all_paths = paths(worked)
    mutants = []
    for _ in range(80):
        mutant = copy.deepcopy(worked)
        for path in rng.sample(all_paths, 5):
            node = mutant
            try:
                for step in path[:-1]:
                    node = node[step]
                node[path[-1]] = rng.choice(replacements)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation replaced a parent
        mutants.append(mutant)
    results = check_all(mutants)
    assert len(results) == len(ocds_checks(now=NOW)) and all(r.applicable + r.not_applicable > 0 or r.level == "time" for r in results.values())
