"""Every OCDS check, in report order: field, compiled release, dataset, time-based."""

from __future__ import annotations

from datetime import datetime

from platform_assets.lib.quality.check import Check
from platform_assets.quality.ocds.compiled_release.coherent import (
    amendments_dates,
    awards_status,
    contracts_status,
    dates,
    documents_dates,
    milestone_status,
    milestones_dates,
    period,
    procurement_method_vs_number_of_tenderers,
    release_date,
    tender_status,
    value_realistic,
)
from platform_assets.quality.ocds.compiled_release.consistent import (
    awards_total,
    contracts_implementation_transactions_value,
    contracts_value,
    number_of_tenderers,
    org_ref_name,
    parties_roles,
    period_duration_in_days,
    roles,
    tender_value,
)
from platform_assets.quality.ocds.compiled_release.reference import contract_in_awards, parties
from platform_assets.quality.ocds.dataset import (
    buyer_repetition,
    code_distributions,
    top_value_share,
    unique_tender_id,
    value_repetition,
)
from platform_assets.quality.ocds.field_checks import field_checks
from platform_assets.quality.ocds.time_based import ocid_persistence, phase_stable, tender_title


def compiled_release_checks() -> list[Check]:
    """Pelican's compiled release checks, in the order of pelican-backend
    `contracting_process/resource_level/definitions.py`, then this project's extra one."""
    consistent = [
        number_of_tenderers.check, tender_value.check, contracts_value.check, parties_roles.check, *roles.checks,
        contracts_implementation_transactions_value.check, period_duration_in_days.check, *org_ref_name.checks,
    ]
    reference = [*parties.checks, contract_in_awards.check]
    coherent = [
        amendments_dates.check, awards_status.check, contracts_status.check, dates.check, documents_dates.check,
        milestone_status.check, milestones_dates.check, period.check, procurement_method_vs_number_of_tenderers.check,
        release_date.check, tender_status.check, value_realistic.check,
    ]
    return [*consistent, *reference, *coherent, awards_total.check]


def dataset_checks(minimum_items: int | None = None) -> list[Check]:
    """`minimum_items` overrides each check's minimum sample size (small test datasets use 1)."""
    if minimum_items is None:
        return [*code_distributions.checks(), top_value_share.check(), value_repetition.check(),
                buyer_repetition.check(), unique_tender_id.check]
    return [*code_distributions.checks(minimum_items), top_value_share.check(minimum_items),
            value_repetition.check(minimum_items), buyer_repetition.check(minimum_items), unique_tender_id.check]


def time_based_checks() -> list[Check]:
    return [ocid_persistence.check, phase_stable.check, tender_title.check]


def ocds_checks(now: datetime | None = None, minimum_items: int | None = None) -> list[Check]:
    return [*field_checks(now), *compiled_release_checks(), *dataset_checks(minimum_items), *time_based_checks()]
