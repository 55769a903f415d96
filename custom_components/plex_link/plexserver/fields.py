"""Readers of the fields a Plex Media Server sends, with one rule for every answer.

Sessions, notifications, players and webhook posts all come through these, so
a field means the same wherever it is read: a number is a whole number from 0
to 2**53 (sent as a number, as digits, or as an integral float), text is a
string with something other than blanks in it (a number as its digits), and a
flag is true/false, 1/0 or their strings. Anything else counts as absent.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .exceptions import PlexServerResponseError

MAX_NUMBER = 2**53
_DIGITS = re.compile(r"[ \t]*([0-9]{1,16})[ \t]*")
_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def number(value: Any) -> int | None:
    """Return a whole number from 0 to MAX_NUMBER, also when sent as digits or a float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and (digits := _DIGITS.fullmatch(value)):
        value = int(digits.group(1))
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_NUMBER:
        return value
    return None


def text(value: Any) -> str | None:
    """Return a string that is not blank, as sent; a number counts as its digits."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if 0 <= value <= MAX_NUMBER else None
    return None


def lower(value: Any) -> str | None:
    """Return a text field in lower case, without surrounding blanks."""
    found = text(value)
    return found.strip().lower() if found is not None else None


def flag(value: Any) -> bool | None:
    """Return a boolean sent as true/false, 1/0 or their strings; None when absent."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {1: True, 0: False}.get(value)
    return _FLAGS.get(lower(value) or "")


def child(data: dict[str, Any], key: str) -> dict[str, Any]:
    """Return a nested object (the first, if a list), or an empty one when there is none."""
    value = data.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """Return the objects of a list field (one object counts as a list of one)."""
    entries = value if isinstance(value, list) else [value]
    return [entry for entry in entries if isinstance(entry, dict)]


def container(data: Any) -> dict[str, Any]:
    """Return the `MediaContainer` object of an answer, or raise for another shape."""
    found = data.get("MediaContainer") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise PlexServerResponseError("The server sent JSON of an unexpected shape")
    return found
