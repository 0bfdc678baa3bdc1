"""What every metric family shares: the metric record and the period being closed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import ibis

NPL_FLOOR = 3


@dataclass(frozen=True)
class Metric:
    """One indicator of the catalogue (SPEC §5): a stable id, a Chinese label, a unit."""

    id: str
    label: str
    unit: str  # count, yuan, ratio, flag, times, days
    formula: str


@dataclass(frozen=True)
class Period:
    """The close being computed and the closes it is compared with."""

    as_of: dt.date
    previous_as_of: dt.date | None
    base_as_of: dt.date | None  # the year's opening figures (年初), for the _ytd metrics
    red_lines: tuple[float, ...] = (0.01, 0.02, 0.05)
    red_line_band: float = 0.0005  # 0.05 percentage points
    provision_rates: dict[int, float] = field(
        default_factory=lambda: {1: 0.0, 2: 0.02, 3: 0.25, 4: 0.50, 5: 1.00}
    )
    large_borrower_balance: float = 1e8  # 1 亿

    @property
    def days(self) -> int | None:
        return (self.as_of - self.previous_as_of).days if self.previous_as_of else None


def live(t: ibis.Table) -> ibis.Value:
    """On the balance sheet and not written off: what every balance figure counts."""
    return ~t.written_off.fill_null(False) & ~t.off_balance.fill_null(False)


def ratio(numerator: ibis.Value, denominator: ibis.Value) -> ibis.Value:
    """numerator / denominator, null when the denominator is zero or missing."""
    return (denominator != 0).ifelse(numerator / denominator, ibis.null("float64"))


def balance_if(t: ibis.Table, condition: ibis.Value) -> ibis.Value:
    return (live(t) & condition.fill_null(False)).ifelse(t.balance, 0.0)
