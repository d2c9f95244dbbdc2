"""Campaign configuration: which incentive campaigns run when, and their booster days.

Enrichment gives every trip an incentive type: `booster` when its (Paris) day is a booster date
of a campaign active for it, `normal` when a campaign is active for it, else `inactive`. A campaign
applies to a trip that carries one of its incentives (campaign id) or starts or ends in its AOMs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from platform_assets.lib.yamlfile import YamlError, parse_yaml
from platform_assets.trip_exports.errors import CampaignConfigError


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    start: date
    end: date
    aom: frozenset[str] = frozenset()
    booster_dates: frozenset[date] = frozenset()


@dataclass(frozen=True)
class CampaignConfig:
    campaigns: tuple[Campaign, ...] = ()
    _by_id: Mapping[int, Campaign] = field(default_factory=dict, repr=False)
    _by_aom: Mapping[str, tuple[Campaign, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, campaigns: Sequence[Campaign]) -> CampaignConfig:
        by_aom: dict[str, list[Campaign]] = {}
        for campaign in campaigns:
            for aom in campaign.aom:
                by_aom.setdefault(aom, []).append(campaign)
        return cls(
            tuple(campaigns),
            {campaign.id: campaign for campaign in campaigns},
            {aom: tuple(items) for aom, items in by_aom.items()},
        )

    def name_of(self, campaign_id: int | None) -> str | None:
        campaign = self._by_id.get(campaign_id) if campaign_id is not None else None
        return campaign.name if campaign else None

    def incentive_type(
        self, day: date, campaign_ids: Sequence[int | None], start_aom: str | None, end_aom: str | None
    ) -> str:
        applicable: list[Campaign] = [self._by_id[cid] for cid in campaign_ids if cid in self._by_id]
        applicable += self._by_aom.get(start_aom or "", ())
        applicable += self._by_aom.get(end_aom or "", ())
        kind = "inactive"
        for campaign in applicable:
            if campaign.start <= day <= campaign.end:
                if day in campaign.booster_dates:
                    return "booster"
                kind = "normal"
        return kind


def _date(value: Any, where: str, problems: list[str]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def parse_campaign_config(data: Any, source: str = "campaign config") -> CampaignConfig:
    """Validate the YAML document; a CampaignConfigError lists every problem with its key."""
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("campaigns"), list):
        raise CampaignConfigError(f"{source}: expected a mapping with a 'campaigns' list")
    campaigns: list[Campaign] = []
    seen: set[int] = set()
    for index, item in enumerate(data["campaigns"]):
        where = f"{source}: campaigns[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        missing = [key for key in ("id", "name", "start", "end") if key not in item]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        if not isinstance(item["id"], int) or item["id"] in seen:
            problems.append(f"{where}.id: {item['id']!r} is not a unique integer")
            continue
        seen.add(item["id"])
        start = _date(item["start"], f"{where}.start", problems)
        end = _date(item["end"], f"{where}.end", problems)
        boosters = [_date(value, f"{where}.booster_dates", problems) for value in item.get("booster_dates") or []]
        if start and end and end < start:
            problems.append(f"{where}: end {end} is before start {start}")
        if start and end:
            campaigns.append(
                Campaign(
                    id=item["id"],
                    name=str(item["name"]),
                    start=start,
                    end=end,
                    aom=frozenset(str(code) for code in item.get("aom") or []),
                    booster_dates=frozenset(day for day in boosters if day),
                )
            )
    if problems:
        raise CampaignConfigError("; ".join(problems))
    return CampaignConfig.of(campaigns)


def load_campaign_config(path: str | Path) -> CampaignConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CampaignConfigError(f"PLATFORM_CAMPAIGN_CONFIG: cannot read {path}: {error.strerror}") from error
    try:
        data = parse_yaml(text, str(path))
    except YamlError as error:
        raise CampaignConfigError(f"PLATFORM_CAMPAIGN_CONFIG: {path} is not valid YAML: {str(error).removeprefix(f'{path}: ')}") from None
    return parse_campaign_config(data, str(path))
