"""Point → grid: the one definition, as SQL that every caller embeds.

A point lies in the unit grid (level 4) whose boundary covers it — ST_Covers, not
ST_Contains, so a point on a boundary belongs somewhere; on an edge or corner shared by
several grids the lowest grid code wins, so the answer never depends on row order. The
grid's parent is its community and the community's parent its street: those three ids are
what `grids.models.Placed` stores.

`covering_grids_sql` is written once, as a relation over a set of points, and used for one
point (`grids.selectors.locate`, behind every report and map click) as for many (population
imports, re-assignment after boundary changes, the demo generator). A relation and not a
SQL function of one point: over many points the planner drives the join from the grids
through the GiST index on the points, and that is six to twelve times faster than a
per-point lookup (a function would force that, inlined or not). For one point it plans
to the same index probe as a hand-written `ORDER BY code LIMIT 1`. Being SQL text in
Python, it lives and changes with the code that uses it, with no database object to keep
in step through migrations; every statement still runs through Django's cursor.
"""

from collections.abc import Sequence

# The parameters of one WGS 84 point: two placeholders, longitude then latitude.
POINT_PARAMS = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)"

COLUMNS = ("grid_id", "community_id", "street_id")


def covering_grids_sql(points: str, *, keys: Sequence[str] = ("key",), geom: str = "geom") -> str:
    """SQL answering, for each point of `points` that lies in a unit grid, its grid,
    community and street: columns `*keys`, grid_id, community_id, street_id; one row per
    key, none for a point outside every grid (LEFT JOIN it to keep those).

    `points` is a query (SQL text, placeholders allowed) with the key columns and a
    geometry column `geom` in SRID 4326; the keys must identify a point. Keys and `geom`
    are column names written by the caller, never user input.
    """
    if not keys:
        raise ValueError("covering_grids_sql needs at least one key column")
    key_cols = ", ".join(f"p.{k}" for k in keys)
    return f"""
        SELECT DISTINCT ON ({key_cols}) {key_cols},
               g.id AS grid_id, g.parent_id AS community_id, c.parent_id AS street_id
        FROM grids_region g
        JOIN ({points}) p ON ST_Covers(g.boundary, p.{geom})
        JOIN grids_region c ON c.id = g.parent_id
        WHERE g.level = 4
        ORDER BY {key_cols}, g.code
    """
