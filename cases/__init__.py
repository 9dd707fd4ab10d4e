"""cases/ — what a case *is*: the category catalogue, the case row, its photos, its number,
and the append-only event log with its typed kinds (cases/events.py).

It decides nothing about what may happen to a case: who may act, in which state, by when,
and how a report becomes a case (intake) are dispatch/'s. cases/ imports grids/ and core/
only (docs/architecture.md).
"""
