"""Small helpers shared by the engine's table functions."""

from __future__ import annotations

import ibis

from loanquality.engine.schema import IBIS_TYPES, Table


def complete(table: ibis.Table, spec: Table) -> ibis.Table:
    """Add every column of ``spec`` that ``table`` lacks, as typed nulls.

    An export without, say, 减值标志 is still classified: the rule reading it
    simply never fires.
    """
    missing = {
        c.id: ibis.null(IBIS_TYPES[c.kind]) for c in spec.columns if c.id not in table.columns
    }
    return table.mutate(**missing) if missing else table


def attach(
    table: ibis.Table, right: ibis.Table, key: str, right_key: str | None = None
) -> ibis.Table:
    """Left-join ``right`` to ``table`` on ``key`` (``right_key`` in ``right``), keeping only
    ``table``'s copy of the key, so joins can be chained without name collisions."""
    right_key = right_key or key
    temporary = f"_join_{key}"
    renamed = right.rename({temporary: right_key})
    joined = table.left_join(renamed, table[key] == renamed[temporary])
    return joined.drop(temporary)


CENTS = ibis.expr.datatypes.Decimal(38, 2)


def to_fen(value: ibis.Value) -> ibis.Value:
    """An amount in yuan as whole fen (int64). Rounding once, before many grouped sums,
    makes each of them exact and as cheap as adding integers."""
    return (value * 100).round().cast("int64")


def in_yuan(fen: ibis.Value) -> ibis.Value:
    """A sum of fen back in yuan; nothing to add up is 0."""
    return (fen.cast("float64") / 100).fill_null(0.0)


def money_sum(value: ibis.Value, where: ibis.Value | None = None) -> ibis.Value:
    """Sum of amounts in yuan, exact to the fen.

    A parallel engine adds floats in whatever order its threads finish, so a float
    sum can differ in the last digit between two runs of the same close; summing
    as decimals makes every figure reproducible. Nothing to add up sums to 0.
    """
    return value.cast(CENTS).sum(where=where).cast("float64").fill_null(0.0)
