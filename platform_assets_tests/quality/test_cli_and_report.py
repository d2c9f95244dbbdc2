"""The `platform-assets quality` commands and the report formats."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from platform_assets.cli import platform_cli
from platform_assets.lib.quality.report import (
    level_summaries,
    render_html,
    report_markdown,
    worst_first,
    write_xlsx,
)
from platform_assets.lib.quality.result import CheckResult, Level, Outcome
from platform_assets_tests.servers import HttpServer, Response

RESULTS = [
    CheckResult("a.exists", Level.FIELD, passed=10),
    CheckResult("b.format", Level.FIELD, passed=5, failed=5, examples={Outcome.FAILED: [{"item": "x1", "value": "bad|value"}]}),
    CheckResult("coherent.dates", Level.ITEM, passed=9, failed=1),
    CheckResult("time.ocid_persistence", Level.TIME, not_applicable=4, threshold=0.95),
    CheckResult("dataset.unique", Level.DATASET, passed=3, failed=0),
]


def test_worst_first_and_levels() -> None:
    assert [r.name for r in worst_first(RESULTS)] == ["b.format", "coherent.dates", "a.exists", "dataset.unique", "time.ocid_persistence"]
    field = level_summaries(RESULTS)[0]
    assert (field.level, field.checks, field.ok, field.failing, field.passed, field.failed) == ("field", 2, 1, 1, 15, 5)
    markdown = report_markdown(RESULTS, "Quality")
    assert markdown.index("b.format") < markdown.index("coherent.dates") < markdown.index("a.exists")
    assert "bad\\|value" in markdown  # pipes escaped inside the table


def test_xlsx_and_html(tmp_path: Path) -> None:
    path = write_xlsx(RESULTS, tmp_path / "r.xlsx", "Quality")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Summary", "Checks", "Examples"]
    checks = list(workbook["Checks"].values)
    assert checks[1][:6] == ("b.format", "field", "failing", 5, 5, 0)
    assert list(workbook["Examples"].values)[1][:3] == ("b.format", "failed", "x1")
    html = render_html(RESULTS, "Quality <of> things")
    assert "Quality &lt;of&gt; things" in html and html.index("b.format") < html.index("a.exists")


def test_cli_check_datasets_and_report(tmp_path: Path, shared_data: Path, platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ocds" / "worked"
    folder.mkdir(parents=True)
    shutil.copy(shared_data / "ocds" / "pelican-backend_compiled-release.json", folder)
    monkeypatch.setenv("PLATFORM_OCDS_SOURCE", str(tmp_path / "ocds"))
    runner = CliRunner()
    listed = runner.invoke(platform_cli, ["quality", "datasets"])
    assert listed.exit_code == 0 and listed.output.split() == ["worked"]
    checked = runner.invoke(platform_cli, ["quality", "check", str(folder), "--worst", "2000"])
    assert checked.exit_code == 0, checked.output
    assert "(1 compiled releases)" in checked.output and "❌ consistent.tender_value |" in checked.output
    missing = runner.invoke(platform_cli, ["quality", "check", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such dataset folder" in missing.output
    no_run = runner.invoke(platform_cli, ["quality", "report", "worked"])
    assert no_run.exit_code == 2 and "no stored check run for ocds_dataset [worked]" in no_run.output

    from platform_assets.core.database import PlatformDatabase, get_engine
    from platform_assets.core.settings import configure
    from platform_assets.lib.quality.storage import store_check_run

    store_check_run(get_engine(configure(PlatformDatabase, resolve=True).url), "ocds_dataset", "worked", "v1", RESULTS, items=1)
    exported = runner.invoke(platform_cli, ["quality", "report", "worked", "--format", "xlsx", "--output", str(tmp_path / "w.xlsx")])
    assert exported.exit_code == 0, exported.output
    assert load_workbook(tmp_path / "w.xlsx")["Checks"]["A2"].value == "b.format"


def test_policies_names_and_report_formats(platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import AssetCheckSeverity

    from platform_assets.core.settings import configure
    from platform_assets.quality.dagster_checks import CheckPolicy, dagster_check_name, policy_from_mapping
    from platform_assets.quality.ocds.errors import QualityError
    from platform_assets.quality.resources import QualityPolicy

    def report_formats() -> list[str]:
        return configure(QualityPolicy, resolve=True).report_formats()

    assert dagster_check_name("parties.contactPoint.email.format") == "parties__contactPoint__email__format"
    assert dagster_check_name("stops.stop_lat.in_range(-90, 90)") == "stops__stop_lat__in_range_90_90"
    policy = policy_from_mapping({"ocid.exists": "blocking", "tender.id.exists": "warn"})
    assert policy.severity("ocid.exists") == AssetCheckSeverity.ERROR and not policy.is_blocking("tender.id.exists")
    patterns = CheckPolicy(blocking={"reference.*"})
    assert patterns.is_blocking("reference.buyer_in_parties") and not patterns.is_blocking("coherent.dates")
    with pytest.raises(ValueError, match="'fatal'"):
        policy_from_mapping({"x": "fatal"})
    assert report_formats() == ["xlsx", "html"]
    monkeypatch.setenv("PLATFORM_QUALITY_REPORT_FORMATS", "pdf")
    with pytest.raises(QualityError, match="PLATFORM_QUALITY_REPORT_FORMATS: 'pdf'"):
        report_formats()


def test_cli_check_against_a_previous_folder(tmp_path: Path, shared_data: Path, platform_env: Path) -> None:
    current, previous = tmp_path / "current", tmp_path / "previous"
    current.mkdir()
    previous.mkdir()
    shutil.copy(shared_data / "ocds" / "pelican-backend_compiled-release.json", current)
    shutil.copy(shared_data / "ocds" / "lib-cove-ocds_badfile.json", previous)
    result = CliRunner().invoke(platform_cli, ["quality", "check", str(current), "--previous", str(previous), "--worst", "200"])
    assert result.exit_code == 0, result.output
    # The previous dataset's only ocid is not in the current one: persistence 0 of 1.
    assert "| ❌ time.ocid_persistence | time | 0 | 1 | 0 | 0.0% |" in result.output


def test_cli_refresh_registers_from_a_local_server(tmp_path: Path, http_server: HttpServer, platform_env: Path) -> None:
    """The register is downloaded, written whole, and read by the identifier_scheme check; a bad
    download leaves the old copy and says why in one line."""
    from platform_assets.quality.ocds import registers

    target = tmp_path / "schemes.csv"
    target.write_text("code,name\nOLD-1,old\n")
    http_server.route("GET", "/download.csv", Response(200, b"code,name,deprecated\nXX-B,B,false\nXX-A,A,false\n"))
    http_server.route("GET", "/broken.csv", Response(200, b"<html>maintenance</html>"))
    http_server.route("GET", "/gone.csv", Response(503, b""))
    runner = CliRunner()
    url = f"{http_server.base_url}/download.csv"
    done = runner.invoke(platform_cli, ["quality", "refresh-registers", "--register", "org-id", "--url", url, "--target", str(target)])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"org-id: 2 codes written to {target}"
    assert target.read_text().splitlines() == ["code,name,deprecated", "XX-A,A,false", "XX-B,B,false"]
    for path, reason in (("/broken.csv", "not a register CSV with a 'code' column"), ("/gone.csv", "cannot download the org-id register: HTTPError")):
        failed = runner.invoke(platform_cli, ["quality", "refresh-registers", "--register", "org-id", "--url", http_server.base_url + path, "--target", str(target)])
        assert failed.exit_code == 2 and reason in failed.output and len(failed.output.strip().splitlines()) == 1
        assert target.read_text().splitlines()[1] == "XX-A,A,false"
    both = runner.invoke(platform_cli, ["quality", "refresh-registers", "--url", url])
    assert both.exit_code == 2 and "--url and --target need exactly one --register" in both.output
    # The shipped register holds the org-id.guide codes: 823 lists, GB-COH among them, GB-LAC not.
    assert len(registers.identifier_schemes()) == 823 and "GB-COH" in registers.identifier_schemes()
    assert "GB-LAC" not in registers.identifier_schemes()


def test_cli_refresh_ocid_prefixes_from_a_local_server(tmp_path: Path, http_server: HttpServer, platform_env: Path) -> None:
    """The OCID prefix register is the CSV OCP publishes from its sheet (the source Pelican reads):
    an `OCID` column among others, a BOM and blank rows as spreadsheets write them. The refreshed
    copy is what `ocid.ocid_prefix_check` accepts."""
    import pandas as pd

    from platform_assets.quality.ocds.field_checks import prefix_test
    from platform_assets.quality.ocds.registers import read_ocid_prefixes

    sheet = "\ufeffOCID,Publisher,Country\r\nocds-zz9b2c,Town B,GB\r\n,,\r\nocds-aa1a1a,Town A,GB\r\n".encode()
    http_server.route("GET", "/pub", Response(200, sheet, {"Content-Type": "text/csv"}))
    http_server.route("GET", "/wrong", Response(200, b"code,name\nXX,Y\n"))
    target = tmp_path / "ocid-prefixes.csv"
    runner = CliRunner()
    done = runner.invoke(platform_cli, ["quality", "refresh-registers", "--register", "ocid-prefix", "--url", f"{http_server.base_url}/pub?gid=1&output=csv", "--target", str(target)])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"ocid-prefix: 2 codes written to {target}"
    assert target.read_text().splitlines() == ["OCID,Publisher,Country", "ocds-aa1a1a,Town A,GB", "ocds-zz9b2c,Town B,GB"]
    assert read_ocid_prefixes(target) == ("ocds-aa1a1a", "ocds-zz9b2c")
    # Pelican's rule: the ocid starts with a registered prefix (ocds-aa1a1 is one character short).
    check = prefix_test(read_ocid_prefixes(target))
    ocids = pd.Series(["ocds-aa1a1a-000-1", "ocds-zz9b2c-x", "ocds-aa1a1-000-1", "ocds-213czf-1", 7], dtype=object)
    assert check(ocids).tolist() == [True, True, False, False, False]
    # A download that is not the register leaves the copy as it was.
    failed = runner.invoke(platform_cli, ["quality", "refresh-registers", "--register", "ocid-prefix", "--url", f"{http_server.base_url}/wrong", "--target", str(target)])
    assert failed.exit_code == 2 and "not a register CSV with a 'OCID' column" in failed.output
    assert read_ocid_prefixes(target) == ("ocds-aa1a1a", "ocds-zz9b2c")
