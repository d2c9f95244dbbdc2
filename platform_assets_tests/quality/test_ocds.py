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
from platform_assets.quality.ocds.registers import RELEASE_SCHEMA
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
    # Named as Pelican names them: <path>.<check>.
    # tender.documents: x_consultationDocument, x_map (extension codes), tenderNotice and
    # clarifications (both of the tender section): documentType is open, all four pass, and the
    # codelist check accepts the x_ codes too.
    assert counts(results["tender.documents.documentType.document_type"]) == (4, 0, 0)
    assert counts(results["tender.documents.documentType.codelist"]) == (4, 0, 0)
    # Three parties with valid emails; their telephones and fax numbers ("01234 345 346", ...) lack
    # the international dialing code: all fail. Schemes GB-LAC (not in the org-id.guide register),
    # GB-COH, GB-COH -> 2 passed, 1 failed.
    assert counts(results["parties.contactPoint.email.email"]) == (3, 0, 0)
    assert counts(results["parties.contactPoint.telephone.telephone"]) == (0, 3, 0)
    assert counts(results["parties.contactPoint.faxNumber.telephone"]) == (0, 3, 0)
    schemes = results["parties.identifier.scheme.identifier_scheme"]
    assert counts(schemes) == (2, 1, 0) and schemes.examples[Outcome.FAILED][0]["value"] == "GB-LAC"
    assert counts(results["parties.roles.codelist"]) == (3, 0, 0)
    # ocid "ocds-213czf-000-00001": a registered prefix; release date 2011-01-10, in range, past.
    assert counts(results["ocid.ocid_prefix_check"]) == (1, 0, 0)
    assert counts(results["date.date_time"]) == (1, 0, 0)
    # Transactions: dated 2010-08-01 and 2010-10-01, amounts 50000 and 10000.
    assert counts(results["contracts.implementation.transactions.date.date_time"]) == (2, 0, 0)
    assert counts(results["contracts.implementation.transactions.value.amount.number_checks"]) == (2, 0, 0)
    # durationInDays 31, 14 and 365 (tender, enquiry, contract periods): numbers >= 0.
    for period in ("tenderPeriod", "enquiryPeriod", "contractPeriod"):
        assert counts(results[f"tender.{period}.durationInDays.number_checks"]) == (1, 0, 0)
    # Coverage on every schema path: two planning milestones, one with dateMet.
    assert counts(results["planning.milestones.dateMet.exists"]) == (1, 1, 0)
    assert counts(results["planning.milestones.dateMet.date_time"]) == (1, 0, 1)
    assert results["awards.documents.description.document_description_length"].failed == 0


def test_field_checks_cover_every_path_of_the_release_schema() -> None:
    """Independent oracle: walk the shipped OCDS 1.1 schema with a plain recursive function."""
    schema = json.loads(RELEASE_SCHEMA.read_text())
    definitions = schema["definitions"]

    def expand(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = definitions[node["$ref"].split("/")[-1]]
        return node

    def paths(properties: dict[str, Any], prefix: str) -> list[str]:
        found = []
        for key, node in properties.items():
            node = expand(node)
            found.append(prefix + key)
            if "properties" in node:
                found += paths(node["properties"], prefix + key + ".")
            elif isinstance(node.get("items"), dict) and "properties" in expand(node["items"]):
                found += paths(expand(node["items"])["properties"], prefix + key + ".")
        return found

    expected = paths(schema["properties"], "")
    names = {check.name for check in ocds_checks(now=NOW)}
    assert len(expected) == 559
    assert all(f"{path}.exists" in names and f"{path}.non_empty" in names for path in expected)
    assert "contracts.implementation.transactions.payee.contactPoint.faxNumber.telephone" in names


def test_field_rules_on_hand_made_values() -> None:
    item = {
        "ocid": "ocds-px0z7d-1", "date": "2050-01-01T00:00:00Z",
        "parties": [
            {"id": "1", "contactPoint": {"telephone": "+44 20 7946 0000", "faxNumber": "020 7946 0000"}, "identifier": {"scheme": "XI-LEI"}},
            {"id": "2", "contactPoint": {"telephone": "+1 2"}, "identifier": {"scheme": "US-DUNS"}},
        ],
        "planning": {"documents": [{"id": "a", "documentType": "tenderNotice"}, {"id": "b", "documentType": "procurementPlan"}]},
        "contracts": [{"id": "c", "implementation": {"documents": [{"id": "d", "documentType": "physicalProgressReport"}]}}],
        "tender": {"items": [{"id": "i", "quantity": "3"}, {"id": "j", "quantity": -1}], "documents": [{"id": "e", "documentType": "x_Plan"}, {"id": "f", "documentType": "plan"}]},
    }
    results = check_all([item, {"ocid": "OCDS-87SD3T-1", "buyer": "Council", "parties": ["not an object"]}])
    # (The second item has none of these fields' parent objects: one "not applicable" each.)
    # +44 20 7946 0000 is a possible number; 020 ... has no country code; +1 2 is too short.
    assert counts(results["parties.contactPoint.telephone.telephone"]) == (1, 1, 1)
    assert counts(results["parties.contactPoint.faxNumber.telephone"]) == (0, 1, 2)  # party 2 has no fax
    # XI-LEI is in the org-id.guide register, US-DUNS is not.
    assert counts(results["parties.identifier.scheme.identifier_scheme"]) == (1, 1, 1)
    # tenderNotice belongs to the tender section, not planning; physicalProgressReport to implementation.
    assert counts(results["planning.documents.documentType.document_type"]) == (1, 1, 1)
    assert counts(results["contracts.implementation.documents.documentType.document_type"]) == (1, 0, 1)
    # Open codelist: x_Plan is an extension code, "plan" is neither a code nor an extension.
    assert counts(results["tender.documents.documentType.codelist"]) == (1, 1, 1)
    # Pelican reads "3" as the number 3; -1 is below 0.
    assert counts(results["tender.items.quantity.number_checks"]) == (1, 1, 1)
    # 2050-01-01 is after 2049 (and after today for a release date); the prefix is case-sensitive.
    assert counts(results["date.date_time"]) == (0, 1, 1)
    assert counts(results["ocid.ocid_prefix_check"]) == (1, 1, 0)
    # A string buyer and a string party fail the coverage of their fields instead of being skipped.
    buyer_id = results["buyer.id.exists"]
    assert counts(buyer_id) == (0, 1, 1)
    assert buyer_id.examples[Outcome.FAILED][0]["reason"] == "parent is a str, not an object"
    assert counts(results["parties.id.exists"]) == (2, 1, 0)


def test_compiled_release_checks_on_the_worked_example(worked: dict[str, Any]) -> None:
    results = check_all([worked])
    names = [check.name for check in ocds_checks(now=NOW) if check.level == "item"]
    # Pelican's 37 compiled release checks, by their names, and the awards-total comparison.
    assert len(names) == 38 and len(set(names)) == 38
    for role in ("supplier", "tenderer", "buyer", "procuring_entity", "payer", "payee"):
        assert {f"reference.{role}_in_parties", f"consistent.{role}_in_parties_roles", f"consistent.{role}_name_in_parties"} <= set(names)

    def detail(name: str, outcome: Outcome = Outcome.PASSED) -> dict[str, Any]:
        return results[name].examples[outcome][0]

    # coherent.dates, ten pairs all in order: tender end 2010-04-08 <= contract period start
    # 2010-07-01, award 2010-05-10, signature 2010-06-10 (3); award, signature and the two
    # transactions <= release date 2011-01-10 (4); signature <= both transactions (2); the award
    # <= the signature of its contract (1).
    assert counts(results["coherent.dates"]) == (1, 0, 0) and detail("coherent.dates")["pairs"] == 10
    # Six periods, each starting before it ends.
    assert detail("coherent.period")["pairs"] == 6
    # Tender start 2010-03-01 <= amendment 2010-03-20 <= release date.
    assert detail("coherent.amendments_dates")["pairs"] == 2
    # Nine documents published before the release date... except the contract's, 2015-06-10.
    documents = detail("coherent.documents_dates", Outcome.FAILED)
    assert (documents["pairs"], documents["failed"]) == (9, 1)
    assert documents["failed_paths"][0]["path_1"] == "contracts[0].documents[0].datePublished"
    # 15 dates against the release date: 1 amendment, award, signature, 2 transactions, 1 milestone
    # dateMet, 9 documents; the contract's document fails again.
    release = detail("coherent.release_date", Outcome.FAILED)
    assert (release["pairs"], release["failed"]) == (15, 1)
    # The scheduled planning milestone has no dateMet; the met one was met 2009-03-14.
    assert counts(results["coherent.milestone_status"]) == (1, 0, 0)
    assert detail("coherent.milestones_dates")["pairs"] == 1
    # Not applicable: tender "complete", award and contract active, method "open".
    for name in ("coherent.tender_status", "coherent.awards_status", "coherent.contracts_status",
                 "coherent.procurement_method_vs_number_of_tenderers"):
        assert counts(results[name]) == (0, 0, 1), name
    # Values in GBP: tender 1.1M, minValue 600k, budget 6.7M, award 11M, contract 11M, 50k, 10k.
    assert detail("coherent.value_realistic")["applied"] == 7
    # numberOfTenderers 2, two tenderers listed.
    assert counts(results["consistent.number_of_tenderers"]) == (1, 0, 0)
    # Planning budget 6.7M vs tender 1.1M: |1.1 - 6.7| / 1.1 = 5.09 > 0.5.
    assert counts(results["consistent.tender_value"]) == (0, 1, 0)
    # The awards' total (11M) is 10 times the tender value: kept under its own name.
    assert detail("consistent.awards_total_vs_tender_value", Outcome.FAILED)["ratio"] == 10.0
    # The contract (11M) equals its award; its transactions (60k) stay under it.
    assert counts(results["consistent.contracts_value"]) == (1, 0, 0)
    assert counts(results["consistent.contracts_implementation_transactions_value"]) == (1, 0, 0)
    # durationInDays: tender period 31 but 2010-03-01T09:00 -> 04-08T18:00 is 38.375 days;
    # enquiry 14 for 13.35 days and contract 365 for 364.999 days pass.
    duration = detail("consistent.period_duration_in_days", Outcome.FAILED)
    assert (duration["applied"], duration["passed"]) == (3, 2) and duration["failed_paths"][0]["path"] == "tender.tenderPeriod"
    # Party -> reference: Barnet procuringEntity, AnyCorp supplier, Beta Corp tenderer, each referenced.
    assert detail("consistent.parties_roles")["applied"] == 3
    # Reference -> party: AnyCorp (only "supplier") is a tenderer and the payee; Barnet (buyer,
    # procuringEntity) is the payer of both transactions.
    for name in ("tenderer", "payer", "payee"):
        assert counts(results[f"consistent.{name}_in_parties_roles"]) == (0, 1, 0), name
    for name in ("supplier", "buyer", "procuring_entity"):
        assert counts(results[f"consistent.{name}_in_parties_roles"]) == (1, 0, 0), name
    assert detail("consistent.tenderer_in_parties_roles", Outcome.FAILED)["failed_paths"] == [
        {"party": "parties[1]", "reference": "tender.tenderers[0]", "id": "GB-COH-11111111", "role": "tenderer"}
    ]
    # Every reference carries its party's id and name.
    for role in ("buyer", "procuring_entity", "tenderer", "supplier", "payer", "payee"):
        assert counts(results[f"reference.{role}_in_parties"]) == (1, 0, 0), role
        assert counts(results[f"consistent.{role}_name_in_parties"]) == (1, 0, 0), role
    assert counts(results["reference.contract_in_awards"]) == (1, 0, 0)


def test_compiled_release_rules_on_hand_made_items() -> None:
    item = {
        "ocid": "ocds-213czf-2", "date": "2020-06-30T00:00:00Z",
        "buyer": {"name": "Council"},  # no id
        "parties": [{"id": 1, "name": "Council", "roles": ["buyer", "payer"]}, {"id": "S", "name": "Supplier Ltd", "roles": ["supplier"]}],
        "planning": {"budget": {"amount": {"amount": 140, "currency": "EUR"}}},
        "tender": {
            "value": {"amount": 100, "currency": "EUR"},
            "tenderPeriod": {"endDate": "2020-03-10T00:00:00Z"},
            "procurementMethod": "direct", "numberOfTenderers": 0.5,
            "milestones": [{"id": "m", "status": "notMet", "dateMet": "2020-01-01"}],
        },
        "awards": [{"id": "A", "date": "2020-03-01T00:00:00Z", "value": {"amount": 90, "currency": "EUR"}, "suppliers": [{"id": "S", "name": "Supplier"}],
                    "amendments": [{"date": "2020-02-01T00:00:00Z"}]}],
        "contracts": [{"id": "C", "awardID": "A", "dateSigned": "2020-03-05T23:00:00Z", "value": {"amount": 100, "currency": "EUR"},
                       "implementation": {"transactions": [
                           {"id": "t1", "date": "2020-03-05T01:00:00Z", "value": {"amount": 60, "currency": "EUR"}, "payer": {"id": "1", "name": "Council"}},
                           {"id": "t2", "date": "2020-04-01T00:00:00Z", "value": {"amount": 50, "currency": "EUR"}, "payer": {"id": 1, "name": "Council"}},
                       ]}},
                      {"id": "D"}],
    }
    results = check_all([item])

    def failed_paths(name: str) -> list[dict[str, Any]]:
        assert counts(results[name]) == (0, 1, 0), name
        return results[name].examples[Outcome.FAILED][0]["failed_paths"]

    # Budget 140 vs tender 100: |100 - 140| / 100 = 0.4 <= 0.5.
    assert counts(results["consistent.tender_value"]) == (1, 0, 0)
    # A reference without an id fails; "1" is not the party id 1 (another JSON type).
    assert failed_paths("reference.buyer_in_parties") == [{"path": "buyer", "id": None, "reason": "reference has no id"}]
    assert failed_paths("reference.payer_in_parties") == [
        {"path": "contracts[0].implementation.transactions[0].payer", "id": "1", "reason": "id values are not the same type"}
    ]
    # Contract D has no awardID.
    assert failed_paths("reference.contract_in_awards") == [{"path": "contracts[1]", "awardID": None, "reason": "contract has no awardID"}]
    # Tender end 2020-03-10 is after the award (03-01) and the signature (03-05); signature and the
    # transaction t1 fall on the same day: compared by date, in order.
    assert [(f["path_1"], f["path_2"]) for f in failed_paths("coherent.dates")] == [
        ("tender.tenderPeriod.endDate", "awards[0].date"), ("tender.tenderPeriod.endDate", "contracts[0].dateSigned"),
    ]
    # The award's amendment (02-01) predates the award (03-01).
    assert failed_paths("coherent.amendments_dates")[0]["path_2"] == "awards[0].amendments[0].date"
    # A notMet milestone with a dateMet.
    assert failed_paths("coherent.milestone_status") == [{"path": "tender.milestones[0]", "status": "notMet"}]
    # Direct procurement with 0.5 tenderers: only 0 or 1 pass.
    assert counts(results["coherent.procurement_method_vs_number_of_tenderers"]) == (0, 1, 0)
    # Transactions 60 + 50 = 110 exceed the contract's 100.
    assert failed_paths("consistent.contracts_implementation_transactions_value")[0]["transactions_amount_sum"] == 110
    # The supplier reference names "Supplier", the party "Supplier Ltd".
    assert failed_paths("consistent.supplier_name_in_parties")[0]["party_name"] == "Supplier Ltd"
    # Party "1" is a buyer and a payer: its payer role is backed by t2's reference (id 1); the
    # supplier S by the award's supplier.
    assert counts(results["consistent.parties_roles"]) == (1, 0, 0)


def test_dataset_checks_on_the_canadian_releases(tmp_path: Path, shared_data: Path) -> None:
    items = list(load_folder(folder_with(tmp_path, shared_data, "lib-cove-ocds_tenders_releases_7_CA.json")))
    results = check_all(items)
    # Four ocids: "bad-prefix-000001", "bad-prefix-000002", "ocds-00good-000003", "ocds-bad-000004":
    # none starts with a registered prefix (Pelican's rule, not a pattern: ocds-00good is well
    # formed but not registered).
    assert counts(results["ocid.ocid_prefix_check"]) == (0, 4, 0)
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
    from platform_assets.quality.ocds.time_based import ocid_persistence

    items = list(load_folder(folder_with(tmp_path, shared_data, "kingfisher-process_collection_file_PT-IMPIC.json")))

    def persistence(current: list[dict[str, Any]]) -> CheckResult:
        # Only the check under test: the other 1,330 added seconds and asserted nothing here.
        (result,) = run_checks([ocid_persistence.check], batched(current, 2), batched(items, 2))
        return result

    # 95 of 100 ancestor ocids kept: exactly the 95% threshold -> ok; 94 -> failing.
    assert persistence(items[5:]).ok
    lost = persistence(items[6:])
    assert counts(lost) == (94, 6, 0) and not lost.ok
    assert {e["item"] for e in lost.examples[Outcome.FAILED]} == {item["ocid"] for item in items[:6]}


def test_badfile_fails_checks_with_examples_and_never_crashes(tmp_path: Path, shared_data: Path) -> None:
    items = list(load_folder(folder_with(tmp_path, shared_data, "lib-cove-ocds_badfile.json")))
    results = check_all(items)
    assert len(items) == 1
    # The release date is 2151-08-16: after today.
    date = results["date.date_time"]
    assert counts(date) == (0, 1, 0) and date.examples[Outcome.FAILED][0]["value"] == "2151-08-16T13:05:41.849Z"
    # buyer is a string: the type check fails, its fields' coverage fails ("parent is a str"), and
    # the buyer reference fails for want of an id (Pelican), instead of being not applicable.
    assert counts(results["buyer.type"]) == (0, 1, 0)
    assert counts(results["buyer.id.exists"]) == (0, 1, 0)
    assert counts(results["reference.buyer_in_parties"]) == (0, 1, 0)
    assert results["reference.buyer_in_parties"].examples[Outcome.FAILED][0]["failed_paths"][0]["reason"] == "reference has no id"
    # Contract -3532710 is cancelled yet has two transactions.
    contracts_status = results["coherent.contracts_status"]
    assert counts(contracts_status) == (0, 1, 0)
    assert [f["id"] for f in contracts_status.examples[Outcome.FAILED][0]["failed_paths"]] == [-3532710]  # a number id
    # No contract's awardID (aliquid, 20395685, 53647781, "dolorem perferendis est nulla tempore")
    # is one of the five award ids: 4 contracts, none passing.
    in_awards = results["reference.contract_in_awards"].examples[Outcome.FAILED][0]
    assert (in_awards["applied"], in_awards["passed"]) == (4, 0)
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
    # Two batches of 40 (not check_all's batches of 2): each check still crosses a batch boundary,
    # at a twentieth of the per-batch cost of 1,331 checks.
    checks = ocds_checks(now=NOW, minimum_items=1)
    results = {result.name: result for result in run_checks(checks, batched(mutants, 40))}
    assert len(results) == len(checks) and all(r.applicable + r.not_applicable > 0 or r.level == "time" for r in results.values())


def test_indexed_paths_agree_with_a_plain_walk(worked: dict[str, Any]) -> None:
    """The compiled release checks read paths from a one-pass index of each item; a plain walk
    (path step by step) must give the same located values, in the same order, on odd shapes too."""
    import copy
    import random

    from platform_assets.quality.ocds.field_checks import coverage_paths
    from platform_assets.quality.ocds.values import located, located_within

    rng = random.Random(11)
    items = [worked]
    for _ in range(20):
        mutant = copy.deepcopy(worked)
        for key in rng.sample(sorted(mutant), 3):
            mutant[key] = rng.choice(["x", [1, {"a": 2}], {"id": 1}, None, [[{"date": "x"}]]])
        items.append(mutant)
    for item in items:
        for path in coverage_paths():
            assert list(located(item, path)) == list(located_within(item, path)), path


def test_located_reads_no_cached_paths_for_values_that_are_not_objects() -> None:
    """The path cache's 'item asked last' starts as a sentinel: None, a string or a list asked first
    (or after an item) locates nothing, and an item's paths stay its own."""
    from platform_assets.quality.ocds.values import located

    fresh = {"buyer": {"id": "B1"}}
    assert located(None, "buyer") == ()
    assert located(fresh, "buyer.id") == (("buyer.id", "B1"),)
    assert located(None, "buyer.id") == ()
    assert located(["buyer"], "buyer") == ()
    assert located({"buyer": [{"id": 1}, "x", {"id": 2}]}, "buyer.id") == (("buyer[0].id", 1), ("buyer[2].id", 2))
    assert located(fresh, "buyer.id") == (("buyer.id", "B1"),)
