"""Recipient texts that reach mail headers and bodies: refused when they hold control characters.

A newline or CR in a name would let a request write its own mail headers; NUL breaks SMTP and
PostgreSQL. Refused at create and again at send (rows written before this rule existed)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from platform_assets.trip_exports.errors import InvalidExportRequest
from platform_assets.trip_exports.scope import parse_address

_NAMED = {"\n": "newline", "\r": "carriage return", "\x00": "NUL", "\t": "tab"}
# Unicode line breaks that are not category Cc but end a header line in some mail clients.
_LINE_BREAKS = {"\u2028", "\u2029"}


def control_characters(text: str) -> list[str]:
    """Names of the control characters in `text` (empty when clean)."""
    found: list[str] = []
    for character in text:
        if unicodedata.category(character) == "Cc" or character in _LINE_BREAKS:
            name = _NAMED.get(character, f"U+{ord(character):04X}")
            if name not in found:
                found.append(name)
    return found


def text_problem(field: str, text: str | None) -> str | None:
    """One line naming the field and the control characters, or None."""
    if not text:
        return None
    found = control_characters(text)
    return f"{field}: contains control character(s) {', '.join(found)}" if found else None


def parse_recipients(texts: Sequence[str], max_recipients: int, field: str = "recipients") -> tuple[list[tuple[str, str]], list[str]]:
    """'Name <email>' texts -> ([(name, email)], problems)."""
    parsed: list[tuple[str, str]] = []
    problems: list[str] = []
    for text in texts:
        control = text_problem(f"{field}: {text[:80]!r}", text)
        if control:
            problems.append(control)
            continue
        address = parse_address(text)
        if address is None:
            problems.append(f"{field}: {text[:80]!r} is not formatted 'Name <email>'")
        else:
            parsed.append(address)
    if len(texts) > max_recipients:
        problems.append(f"{field}: {len(texts)} recipients, at most {max_recipients}")
    return parsed, problems


def check_message(message: str | None) -> None:
    problem = text_problem("message", message)
    if problem:
        raise InvalidExportRequest([problem])
