"""``search`` as WordPress runs it on posts: ``WP_Query::parse_search`` and its ``LIKE`` matching."""

from __future__ import annotations

import re
from typing import Any

_STOPWORDS = frozenset(
    "about an are as at be by com for from how in is it of on or that the this to was what when where "
    "who will with www".split()
)
"""WordPress's default search stopwords (``WP_Query::get_search_stopwords``)."""


def search_terms(text: str) -> list[str]:
    """``search`` as WordPress splits it (``WP_Query::parse_search``): quoted phrases or runs of
    anything but tab, space, quote, comma and plus; single letters and stopwords dropped
    (``parse_search_terms``); more than nine terms are searched as one phrase."""
    found = [t.strip('"').strip() for t in re.findall(r'".*?(?:"|$)|[^\t ",+]+', text)]
    if len(found) > 9:
        return [text.strip()] if text.strip() else []
    return [
        t
        for t in found
        if t and not (len(t) == 1 and re.fullmatch(r"[a-z\-]", t, re.I)) and t.lower() not in _STOPWORDS
    ]


def searched(record: dict[str, Any], terms: list[str]) -> bool:
    """Every term in the title, excerpt or content (``LIKE %term%``, case-insensitive collation)."""
    fields = [str(record.get(name) or "").lower() for name in ("name", "short_description", "description")]
    return all(any(term.lower() in text for text in fields) for term in terms)
