"""The base of every error the platform reports to a user as one line."""

from __future__ import annotations

MAX_MESSAGE_CHARS = 2000


class PlatformError(Exception):
    """Base of every error the platform reports to a user as one line (no traceback needed).

    The message is cut at MAX_MESSAGE_CHARS: an error never echoes unbounded input (a huge key or
    value from a hostile file) into logs, run metadata and alert emails."""

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str) and len(args[0]) > MAX_MESSAGE_CHARS:
            text = args[0]
            args = (f"{text[: MAX_MESSAGE_CHARS - 40]}...(message cut, {len(text)} characters)",)
        super().__init__(*args)


def clip(value: object, limit: int = 120) -> str:
    """`repr(value)` cut to `limit` characters: error messages never echo unbounded input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} characters)"
