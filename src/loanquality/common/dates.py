"""Dates in requests, read the same way by every page and the API: YYYY-MM-DD, 1900–2999.

A wider range buys nothing (no ledger, close or audit row lies outside it) and costs
errors: the day after 9999-12-31 does not exist, and years near 1 or 9999 overflow when a
day becomes a time in the server's zone.
"""

from __future__ import annotations

import datetime as dt
import re

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
# the same form and years as a pattern, for the API's schema (OpenAPI has no date minimum)
DAY_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_DAY_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def day_of(text: str) -> dt.date:
    """The date ``text`` names; ValueError with a Chinese message when it is not in the
    form YYYY-MM-DD, not a real day, or outside FIRST_DAY..LAST_DAY."""
    if not _DAY_FORM.fullmatch(text):
        raise ValueError(f"日期格式应为 YYYY-MM-DD（收到「{text}」）")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"不是有效日期（收到「{text}」）") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"日期应在 {FIRST_DAY} 至 {LAST_DAY} 之间（收到「{text}」）")
    return day
