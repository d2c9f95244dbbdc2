"""Field-level OCDS checks, as Pelican runs them (pelican-backend
`contracting_process/field_level/definitions.py`): coverage (`exists`, `non_empty`) on every path
of the OCDS 1.1 release schema, and quality checks chosen by where a field sits in the schema:

| check (name suffix)          | fields                                                            |
|------------------------------|-------------------------------------------------------------------|
| date_time                    | every date-time field: 1990-01-01..2049-12-31; date, dateMet,      |
|                              | dateModified, datePublished, dateSigned not after today (UTC+14)   |
| ocid_prefix_check            | ocid starts with a registered OCID prefix                          |
| language                     | language, documents' language: in the language codelist            |
| email                        | ContactPoint.email looks like an email address                    |
| telephone                    | ContactPoint.telephone and faxNumber: a possible number with its   |
|                              | international dialing code (libphonenumber)                       |
| document_description_length  | Document.description at most 250 characters                        |
| document_type                | Document.documentType: a known code is used in its section         |
| document_format_codelist     | Document.format in the media type codelist                         |
| identifier_scheme            | Identifier.scheme in the org-id.guide register                     |
| number_checks                | Item.quantity, Period.durationInDays, Tender.numberOfTenderers,    |
|                              | transactions' and unit values' amount: a finite number >= 0        |

Check names are `<path>.<check>`, e.g. `parties.contactPoint.telephone.telephone`. A few checks
Pelican does not have are kept under their own names (`.type`, `.codelist`, see `EXTRA`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.quality.check import Check, FieldCheck, ValueTest
from platform_assets.lib.quality.field.codelist import in_codelist
from platform_assets.lib.quality.field.format import EMAIL, pattern_test
from platform_assets.lib.quality.field.type import of_type
from platform_assets.lib.quality.result import Level
from platform_assets.quality.ocds import codelists, registers

PAST_DATE_FIELDS = {"date", "dateMet", "dateModified", "datePublished", "dateSigned"}
EARLIEST, LATEST = date(1990, 1, 1), date(2049, 12, 31)
DESCRIPTION_MAX = 250
# Which documentType section a Document belongs to, by the schema definition holding it.
SECTIONS = {"Planning": "planning", "Tender": "tender", "Award": "award", "Contract": "contract", "Implementation": "implementation"}


# -- the schema's paths ---------------------------------------------------------------------------
def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _resolve(node: dict[str, Any], definitions: dict[str, Any], refs: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/definitions/"):
        name = reference.removeprefix("#/definitions/")
        return {**definitions[name], **{k: v for k, v in node.items() if k != "$ref"}}, (*refs, name)
    return node, refs


def schema_paths(schema: dict[str, Any] | None = None) -> Iterator[tuple[str, tuple[str, ...], dict[str, Any] | None]]:
    """(dotted path, definitions passed through, the field's schema or None for objects and arrays
    of objects) for every field of the release schema, in schema order."""
    schema = schema or registers.release_schema()
    definitions = schema.get("definitions", {})

    def walk(properties: dict[str, Any], path: tuple[str, ...], refs: tuple[str, ...]) -> Iterator[tuple[str, tuple[str, ...], dict[str, Any] | None]]:
        for key, raw in properties.items():
            node, node_refs = _resolve(raw, definitions, refs)
            here = (*path, key)
            dotted = ".".join(here)
            if "object" in _types(node) and "properties" in node:
                yield dotted, node_refs, None
                yield from walk(node["properties"], here, node_refs)
                continue
            if "array" in _types(node) and isinstance(node.get("items"), dict):
                element, element_refs = _resolve(node["items"], definitions, node_refs)
                if "object" in _types(element) and "properties" in element:
                    yield dotted, element_refs, None
                    yield from walk(element["properties"], here, element_refs)
                    continue
            yield dotted, node_refs, node

    yield from walk(schema["properties"], (), ())


# -- Pelican's value tests, vectorised where it pays ------------------------------------------------
def _strings(values: pd.Series) -> np.ndarray:
    return np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=len(values))


def _today() -> date:
    """Today in UTC+14, the latest offset: no date that is already past somewhere fails."""
    return datetime.now(tz=timezone(timedelta(hours=14))).date()


def date_time_test(past: bool, today: date | None = None) -> ValueTest:
    def test(values: pd.Series) -> np.ndarray:
        text = _strings(values)
        days = pd.to_datetime(values.where(text, "").astype(str).str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
        latest = (today or _today()) if past else LATEST
        good = days.notna() & (days >= pd.Timestamp(EARLIEST)) & (days <= pd.Timestamp(latest))
        return good.to_numpy(bool) & text

    return test


def _possible_telephone(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    import phonenumbers  # here, not at import: the code location loads this module on every run

    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def telephone_test(values: pd.Series) -> np.ndarray:
    return np.fromiter((_possible_telephone(v) for v in values), dtype=bool, count=len(values))


def member_test(codes: frozenset[str] | tuple[str, ...]) -> ValueTest:
    allowed = frozenset(codes)

    def test(values: pd.Series) -> np.ndarray:
        return np.fromiter((isinstance(v, str) and v in allowed for v in values), dtype=bool, count=len(values))

    return test


def prefix_test(prefixes: tuple[str, ...]) -> ValueTest:
    def test(values: pd.Series) -> np.ndarray:
        return np.fromiter((isinstance(v, str) and v.startswith(prefixes) for v in values), dtype=bool, count=len(values))

    return test


def document_type_test(section: str) -> ValueTest:
    """Unknown codes pass (documentType is an open codelist); a known code outside its section fails."""
    mapping = registers.document_type_sections()

    def test(values: pd.Series) -> np.ndarray:
        return np.fromiter(
            (not isinstance(v, str) or v not in mapping or section in mapping[v] for v in values), dtype=bool, count=len(values)
        )

    return test


def description_length_test(values: pd.Series) -> np.ndarray:
    return np.fromiter((isinstance(v, str) and len(v) <= DESCRIPTION_MAX for v in values), dtype=bool, count=len(values))


def _non_negative(value: Any) -> bool:
    if isinstance(value, dict | list) or value is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number >= 0


def number_test(values: pd.Series) -> np.ndarray:
    return np.fromiter((_non_negative(v) for v in values), dtype=bool, count=len(values))


def email_test() -> ValueTest:
    return pattern_test(EMAIL)


# -- the checks ------------------------------------------------------------------------------------
def _quality(path: str, name: str, test: ValueTest, description: str) -> FieldCheck:
    return FieldCheck(name=f"{path}.{name}", level=Level.FIELD, description=f"{path}: {description}", path=path, kind="quality", test=test)


def quality_checks(path: str, refs: tuple[str, ...], node: dict[str, Any], today: date | None = None) -> list[FieldCheck]:
    """Pelican's quality checks for one leaf field of the schema."""
    key = path.rsplit(".", 1)[-1]
    parts = path.split(".")
    checks: list[FieldCheck] = []
    if node.get("format") == "date-time":
        past = key in PAST_DATE_FIELDS
        what = "a date from 1990 to today" if past else "a date from 1990 to 2049"
        checks.append(_quality(path, "date_time", date_time_test(past, today), what))
    definition = refs[-1] if refs else ""
    if not refs:
        if key == "language":
            checks.append(_quality(path, "language", member_test(registers.languages()), "in the language codelist"))
        elif key == "ocid":
            checks.append(_quality(path, "ocid_prefix_check", prefix_test(registers.ocid_prefixes()), "starts with a registered OCID prefix"))
    elif definition == "ContactPoint":
        if key == "email":
            checks.append(_quality(path, "email", email_test(), "an email address"))
        elif key in ("telephone", "faxNumber"):
            checks.append(_quality(path, "telephone", telephone_test, "a possible number with its international dialing code"))
    elif definition == "Document":
        if key == "description":
            checks.append(_quality(path, "document_description_length", description_length_test, f"at most {DESCRIPTION_MAX} characters"))
        elif key == "documentType":
            holder = refs[1] if len(refs) > 1 and refs[1] == "Implementation" else refs[0]
            section = SECTIONS.get(holder, holder.lower())
            checks.append(_quality(path, "document_type", document_type_test(section), f"a known code is one of the {section} section"))
        elif key == "format":
            checks.append(_quality(path, "document_format_codelist", member_test(registers.media_types()), "in the media type codelist"))
        elif key == "language":
            checks.append(_quality(path, "language", member_test(registers.languages()), "in the language codelist"))
    elif definition == "Identifier" and key == "scheme":
        checks.append(_quality(path, "identifier_scheme", member_test(registers.identifier_schemes()), "in the org-id.guide register"))
    elif (
        (definition == "Item" and key == "quantity")
        or (definition == "Period" and key == "durationInDays")
        or (definition == "Tender" and key == "numberOfTenderers")
        or (definition == "Value" and key == "amount" and len(parts) >= 3 and parts[-3] in ("transactions", "unit"))
    ):
        checks.append(_quality(path, "number_checks", number_test, "a finite number, 0 or more"))
    return checks


def _open_codelist_test(codes: tuple[str, ...]) -> ValueTest:
    """A code of the codelist or an extension code (`x_...`), as OCDS allows in open codelists."""
    allowed = frozenset(codes)
    extension = re.compile(r"x_\w+")

    def test(values: pd.Series) -> np.ndarray:
        return np.fromiter(
            (isinstance(v, str) and (v in allowed or extension.fullmatch(v) is not None) for v in values), dtype=bool, count=len(values)
        )

    return test


def extra_checks() -> list[Check]:
    """Checks Pelican does not have, kept under names of their own."""
    checks: list[Check] = [
        of_type("ocid", "string"),
        of_type("buyer", "object"),
        of_type("tender", "object"),
        of_type("tender.numberOfTenderers", "integer"),
        in_codelist("tender.status", codelists.TENDER_STATUS, codelist="tenderStatus"),
        in_codelist("awards.status", codelists.AWARD_STATUS, codelist="awardStatus"),
        in_codelist("contracts.status", codelists.CONTRACT_STATUS, codelist="contractStatus"),
        in_codelist("tender.procurementMethod", codelists.PROCUREMENT_METHOD, codelist="method"),
        in_codelist("tender.mainProcurementCategory", codelists.PROCUREMENT_CATEGORY, codelist="procurementCategory"),
        in_codelist("parties.roles", codelists.PARTY_ROLES, codelist="partyRole"),
    ]
    codes = tuple(registers.document_type_sections())
    for documents in ("planning.documents", "tender.documents", "awards.documents", "contracts.documents", "contracts.implementation.documents"):
        path = f"{documents}.documentType"
        checks.append(FieldCheck(
            name=f"{path}.codelist", level=Level.FIELD, path=path, kind="quality", test=_open_codelist_test(codes),
            description=f"{path} is a documentType code or an extension code (x_...)",
        ))
    return checks


@cache
def _paths() -> tuple[tuple[str, tuple[str, ...], dict[str, Any] | None], ...]:
    return tuple(schema_paths())


def coverage_paths() -> list[str]:
    return [path for path, _refs, _node in _paths()]


def field_checks(now: datetime | None = None) -> list[Check]:
    """Every field check; `now` fixes "not after today" (tests pass a fixed moment)."""
    today = (now.astimezone(timezone(timedelta(hours=14))).date() if now.tzinfo else now.replace(tzinfo=UTC).date()) if now else None
    checks: list[Check] = []
    for path, refs, node in _paths():
        checks += [
            FieldCheck(name=f"{path}.exists", level=Level.FIELD, description=f"{path} is present", path=path, kind="exists", parent_must_be_object=True),
            FieldCheck(name=f"{path}.non_empty", level=Level.FIELD, description=f"{path} is not empty", path=path, kind="non_empty", parent_must_be_object=True),
        ]
        if node is not None:
            checks += quality_checks(path, refs, node, today)
    return [*checks, *extra_checks()]

