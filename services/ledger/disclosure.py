"""Disclosure control of a two-way table of counts with its margins: small counts suppressed, and
complementary suppression so that no suppressed count follows from those published.

The table has `R` rows (facilities) and `C` columns (periods) and is published with its row totals,
column totals and grand total: an `(R+1) x (C+1)` grid whose last row and column are the margins.
Every line of the grid (a row or a column, margins included) is one additive relation. With the
suppressed cells as unknowns, a cell is recoverable from the published ones exactly when it is a
bridge of the bipartite graph whose vertices are the grid's rows and columns and whose edges are
the suppressed cells; a suppressed cell on a cycle can move up and down along the cycle (+t, -t,
...) with every relation kept. So: suppress the small counts, then, while a suppressed cell is a
bridge, suppress the three other corners of the cheapest rectangle through it (a 4-cycle).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Cell", "bridges", "extended", "suppress"]

Cell = tuple[int, int]

_ZERO_COST = 10**9
"""Suppressing a zero as a complement protects little: a count is never negative, so a cycle
through zeros may move one way only. Taken only when no other rectangle exists."""
_MARGIN_COST = 1000
_GRAND_TOTAL_COST = 10**6


def extended(table: Sequence[Sequence[int]], columns: int) -> list[list[int]]:
    """The table with its row totals (last column) and column totals (last row)."""
    grid = [[*row, sum(row)] for row in table]
    totals = [sum(row[j] for row in grid) for j in range(columns + 1)]
    return [*grid, totals]


def suppress(table: Sequence[Sequence[int]], columns: int, min_cell: int) -> set[Cell]:
    """The cells of `extended(table)` to suppress: every count from 1 to `min_cell - 1`, and the
    complements that leave none of them, nor any complement, recoverable."""
    grid = extended(table, columns)
    hidden = {
        (i, j) for i, row in enumerate(grid) for j, value in enumerate(row) if 0 < value < min_cell
    }
    while True:
        open_cells = bridges(hidden)
        if not open_cells:
            return hidden
        hidden |= _rectangle(grid, hidden, min(open_cells))


def bridges(hidden: set[Cell]) -> set[Cell]:
    """The suppressed cells that lie on no cycle of the row-column graph (recoverable ones):
    the graph's bridges, by Tarjan's low-link depth-first search."""
    adjacent: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for i, j in hidden:
        adjacent.setdefault(("r", i), []).append(("c", j))
        adjacent.setdefault(("c", j), []).append(("r", i))
    order: dict[tuple[str, int], int] = {}
    low: dict[tuple[str, int], int] = {}
    found: set[Cell] = set()
    for root in adjacent:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack = [(root, root, iter(adjacent[root]))]
        while stack:
            node, parent, neighbours = stack[-1]
            step = next(neighbours, None)
            if step is None:
                stack.pop()
                if node != parent:
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        found.add(_cell(parent, node))
            elif step == parent:
                continue  # the edge just come along (the graph has no parallel edges)
            elif step in order:
                low[node] = min(low[node], order[step])
            else:
                order[step] = low[step] = len(order)
                stack.append((step, node, iter(adjacent[step])))
    return found


def _cell(a: tuple[str, int], b: tuple[str, int]) -> Cell:
    return (a[1], b[1]) if a[0] == "r" else (b[1], a[1])


def _rectangle(grid: list[list[int]], hidden: set[Cell], cell: Cell) -> set[Cell]:
    """The other three corners of the cheapest rectangle through `cell`."""
    i, j = cell
    rows, columns = len(grid), len(grid[0])
    best: tuple[int, int, set[Cell]] | None = None
    for i2 in range(rows):
        for j2 in range(columns):
            if i2 == i or j2 == j:
                continue
            corners = {(i, j2), (i2, j), (i2, j2)} - hidden
            cost = sum(_cost(grid, c) for c in corners)
            if best is None or (cost, len(corners)) < best[:2]:
                best = (cost, len(corners), corners)
    return best[2] if best is not None else set()


def _cost(grid: list[list[int]], cell: Cell) -> int:
    i, j = cell
    last_row, last_column = len(grid) - 1, len(grid[0]) - 1
    value = grid[i][j]
    if value == 0:
        return _ZERO_COST
    if i == last_row and j == last_column:
        return _GRAND_TOTAL_COST + value
    if i == last_row or j == last_column:
        return _MARGIN_COST + value
    return value
