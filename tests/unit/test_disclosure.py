"""Disclosure control over random tables: every small count is suppressed, and no suppressed cell
can be derived from the published cells and margins by the table's additive relations.

Derivability is decided by linear algebra over the rationals, independently of the graph argument
the suppression itself relies on: a suppressed cell is derivable exactly when its unit vector lies
in the row space of the relations restricted to the suppressed cells.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.ledger.disclosure import bridges, extended, suppress

Cell = tuple[int, int]


def _relations(rows: int, columns: int) -> list[dict[Cell, int]]:
    """The additive relations of the extended grid: each line's cells sum to its margin."""
    last_row, last_column = rows, columns
    lines: list[dict[Cell, int]] = []
    for i in range(rows + 1):
        line = {(i, j): 1 for j in range(columns)}
        line[(i, last_column)] = -1
        lines.append(line)
    for j in range(columns + 1):
        line = {(i, j): 1 for i in range(rows)}
        line[(last_row, j)] = -1
        lines.append(line)
    return lines


def _derivable(rows: int, columns: int, hidden: set[Cell]) -> set[Cell]:
    """The suppressed cells whose value follows from the published ones."""
    unknowns = sorted(hidden)
    index = {cell: k for k, cell in enumerate(unknowns)}
    basis: list[list[Fraction]] = []
    pivots: list[int] = []
    for line in _relations(rows, columns):
        vector = [Fraction(0)] * len(unknowns)
        for cell, sign in line.items():
            if cell in index:
                vector[index[cell]] = Fraction(sign)
        _reduce_into(basis, pivots, vector)
    found = set()
    for cell, k in index.items():
        unit = [Fraction(0)] * len(unknowns)
        unit[k] = Fraction(1)
        if not any(_reduced(basis, pivots, unit)):
            found.add(cell)
    return found


def _reduced(
    basis: list[list[Fraction]], pivots: list[int], vector: list[Fraction]
) -> list[Fraction]:
    vector = list(vector)
    for row, pivot in zip(basis, pivots, strict=True):
        if vector[pivot]:
            factor = vector[pivot] / row[pivot]
            vector = [a - factor * b for a, b in zip(vector, row, strict=True)]
    return vector


def _reduce_into(basis: list[list[Fraction]], pivots: list[int], vector: list[Fraction]) -> None:
    vector = _reduced(basis, pivots, vector)
    pivot = next((k for k, value in enumerate(vector) if value), None)
    if pivot is None:
        return
    for n, row in enumerate(basis):
        if row[pivot]:
            factor = row[pivot] / vector[pivot]
            basis[n] = [a - factor * b for a, b in zip(row, vector, strict=True)]
    basis.append(vector)
    pivots.append(pivot)


counts = st.one_of(st.integers(0, 4), st.integers(0, 40))
tables = st.integers(1, 6).flatmap(
    lambda columns: st.lists(
        st.lists(counts, min_size=columns, max_size=columns), min_size=1, max_size=6
    ).map(lambda table: (table, columns))
)


@settings(max_examples=300, deadline=None)
@given(tables, st.integers(2, 10))
def test_no_suppressed_cell_can_be_derived_from_the_published_ones(table_columns, min_cell):
    table, columns = table_columns

    hidden = suppress(table, columns, min_cell)

    assert _derivable(len(table), columns, hidden) == set()


@settings(max_examples=300, deadline=None)
@given(tables, st.integers(2, 10))
def test_every_count_under_the_threshold_but_zero_is_suppressed(table_columns, min_cell):
    table, columns = table_columns

    hidden = suppress(table, columns, min_cell)

    grid = extended(table, columns)
    small = {(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if 0 < v < min_cell}
    assert small <= hidden


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda rows: st.integers(1, 5).flatmap(
            lambda columns: st.sets(
                st.tuples(st.integers(0, rows), st.integers(0, columns)), max_size=12
            ).map(lambda hidden: (rows, columns, hidden))
        )
    )
)
def test_the_recoverable_cells_are_the_bridges_of_the_row_column_graph(case):
    rows, columns, hidden = case

    assert bridges(hidden) == _derivable(rows, columns, hidden)


def test_a_row_with_one_small_cell_and_a_published_total_loses_a_second_cell():
    table = [[3, 20, 30], [12, 15, 9]]

    hidden = suppress(table, 3, 5)

    assert (0, 0) in hidden
    assert len({cell for cell in hidden if cell[0] == 0}) >= 2
    assert len({cell for cell in hidden if cell[1] == 0}) >= 2
