"""Campaign configuration: incentive types and clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from platform_assets.core.settings import configure
from platform_assets.trip_exports.campaigns import load_campaign_config, parse_campaign_config
from platform_assets.trip_exports.errors import CampaignConfigError
from platform_assets.trip_exports.resources import TripExportPolicy

CONFIG = {
    "campaigns": [
        {"id": 1, "name": "Lyon", "aom": ["256900994"], "start": "2025-01-01", "end": "2025-06-30",
         "booster_dates": ["2025-03-18"]},
        {"id": 7, "name": "Operator-funded", "start": date(2025, 3, 1), "end": date(2025, 3, 31)},
    ]
}


@pytest.mark.parametrize(
    ("day", "campaign_ids", "start_aom", "end_aom", "expected"),
    [
        (date(2025, 3, 17), [], "256900994", None, "normal"),  # by AOM, inside the period
        (date(2025, 3, 18), [], None, "256900994", "booster"),  # booster day, by end AOM
        (date(2025, 7, 1), [], "256900994", None, "inactive"),  # after the campaign
        (date(2025, 3, 10), [7], "287500078", None, "normal"),  # by campaign id of an incentive
        (date(2025, 4, 10), [7], "287500078", None, "inactive"),  # campaign 7 is over
        (date(2025, 3, 10), [None, 99], "287500078", "287500078", "inactive"),  # unknown campaign
    ],
)
def test_incentive_type(day: date, campaign_ids: list, start_aom: str | None, end_aom: str | None, expected: str) -> None:
    assert parse_campaign_config(CONFIG).incentive_type(day, campaign_ids, start_aom, end_aom) == expected


def test_every_problem_is_named() -> None:
    with pytest.raises(CampaignConfigError) as caught:
        parse_campaign_config(
            {"campaigns": [
                {"id": 1, "name": "a", "start": "2025-13-01", "end": "2025-01-01"},
                {"id": 1, "name": "dup", "start": "2025-01-01", "end": "2025-02-01"},
                {"name": "no id"},
                {"id": 3, "name": "c", "start": "2025-05-01", "end": "2025-04-01", "booster_dates": ["soon"]},
            ]},
            "campaigns.yaml",
        )
    message = str(caught.value)
    assert "campaigns.yaml: campaigns[0].start: '2025-13-01' is not a date" in message
    assert "campaigns[1].id: 1 is not a unique integer" in message
    assert "campaigns[2]: missing id, start, end" in message
    assert "campaigns[3].booster_dates: 'soon' is not a date" in message
    assert "campaigns[3]: end 2025-04-01 is before start 2025-05-01" in message


def test_bad_files_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(CampaignConfigError, match="PLATFORM_CAMPAIGN_CONFIG: cannot read"):
        load_campaign_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("campaigns: [\n", encoding="utf-8")
    with pytest.raises(CampaignConfigError, match="is not valid YAML"):
        load_campaign_config(broken)


def test_the_default_config_loads(platform_env: Path) -> None:
    config = load_campaign_config(configure(TripExportPolicy, resolve=True).campaign_config)
    assert [campaign.id for campaign in config.campaigns] == [1, 2, 3, 4, 5, 6]
    assert config.incentive_type(date(2025, 6, 2), [], "256900994", None) == "booster"
