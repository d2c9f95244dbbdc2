"""Field-level OCDS checks: coverage (exists, non_empty) and quality for schema paths."""

from __future__ import annotations

from datetime import UTC, datetime

from platform_assets.lib.quality.check import Check
from platform_assets.lib.quality.field.codelist import in_codelist
from platform_assets.lib.quality.field.exists import exists
from platform_assets.lib.quality.field.format import EMAIL, TELEPHONE, matches
from platform_assets.lib.quality.field.non_empty import non_empty
from platform_assets.lib.quality.field.range import date_range, number_range, text_length
from platform_assets.lib.quality.field.type import of_type
from platform_assets.quality.ocds import codelists

COVERAGE_PATHS = (
    "ocid", "id", "date", "tag", "initiationType", "buyer", "buyer.id", "buyer.name", "parties", "parties.id",
    "parties.name", "parties.roles", "tender", "tender.id", "tender.title", "tender.status",
    "tender.procurementMethod", "tender.value.amount", "tender.value.currency", "awards.id", "awards.date",
    "awards.status", "awards.value.amount", "awards.suppliers", "contracts.id", "contracts.awardID",
    "contracts.status", "contracts.dateSigned", "contracts.value.amount",
)

# Events that have happened when published: their date cannot be in the future.
PAST_DATES = (
    "date", "awards.date", "contracts.dateSigned", "contracts.implementation.transactions.date",
    "planning.documents.datePublished", "tender.documents.datePublished", "awards.documents.datePublished",
    "contracts.documents.datePublished", "tender.amendments.date",
)
OTHER_DATES = tuple(
    f"{period}.{end}"
    for period in (
        "tender.tenderPeriod", "tender.enquiryPeriod", "tender.awardPeriod", "tender.contractPeriod",
        "awards.contractPeriod", "contracts.period",
    )
    for end in ("startDate", "endDate")
)
DOCUMENT_LISTS = (
    "planning.documents", "tender.documents", "awards.documents", "contracts.documents",
    "contracts.implementation.documents",
)
AMOUNTS = (
    "planning.budget.amount.amount", "tender.value.amount", "tender.minValue.amount", "awards.value.amount",
    "contracts.value.amount", "contracts.implementation.transactions.value.amount", "tender.items.quantity",
    "awards.items.quantity", "contracts.items.quantity", "tender.numberOfTenderers",
)
OCID = r"ocds-[a-z0-9]{6}-.+"
DOCUMENT_FORMAT = r"(?:application|audio|font|image|message|model|multipart|text|video)/[\w.+-]+|offline/print"


def field_checks(now: datetime | None = None) -> list[Check]:
    """Every field check; `now` fixes "not in the future" (tests pass a fixed moment)."""
    now = now or datetime.now(UTC)
    checks: list[Check] = []
    for path in COVERAGE_PATHS:
        checks += [exists(path), non_empty(path)]
    checks += [
        of_type("ocid", "string"),
        matches("ocid", OCID, name="ocid.prefix", what="an ocid with a registered-style prefix (ocds-xxxxxx-)"),
        of_type("buyer", "object"),
        of_type("tender", "object"),
        of_type("tender.numberOfTenderers", "integer"),
        in_codelist("tender.status", codelists.TENDER_STATUS, codelist="tenderStatus"),
        in_codelist("awards.status", codelists.AWARD_STATUS, codelist="awardStatus"),
        in_codelist("contracts.status", codelists.CONTRACT_STATUS, codelist="contractStatus"),
        in_codelist("tender.procurementMethod", codelists.PROCUREMENT_METHOD, codelist="method"),
        in_codelist("tender.mainProcurementCategory", codelists.PROCUREMENT_CATEGORY, codelist="procurementCategory"),
        in_codelist("parties.roles", codelists.PARTY_ROLES, codelist="partyRole"),
        in_codelist("parties.identifier.scheme", codelists.IDENTIFIER_SCHEMES, codelist="org-id schemes"),
        matches("parties.contactPoint.email", EMAIL, name="parties.contactPoint.email.format", what="an email address"),
        matches(
            "parties.contactPoint.telephone", TELEPHONE, name="parties.contactPoint.telephone.format",
            what="a telephone number", minimum_digits=6,
        ),
        in_codelist("language", codelists.LANGUAGES, name="language.codelist", codelist="ISO 639-1"),
    ]
    checks += [date_range(path, not_in_future=True, now=now) for path in PAST_DATES]
    checks += [date_range(path) for path in OTHER_DATES]
    for documents in DOCUMENT_LISTS:
        checks += [
            text_length(f"{documents}.description", maximum=250),
            in_codelist(f"{documents}.documentType", codelists.DOCUMENT_TYPE, codelist="documentType"),
            matches(f"{documents}.format", DOCUMENT_FORMAT, what="an IANA media type or offline/print"),
            in_codelist(f"{documents}.language", codelists.LANGUAGES, name=f"{documents}.language.codelist", codelist="ISO 639-1"),
        ]
    checks += [number_range(path, minimum=0, name=f"{path}.non_negative") for path in AMOUNTS]
    return checks
