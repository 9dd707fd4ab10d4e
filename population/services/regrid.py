"""Bulk re-assignment of everything located to the grids covering it, after boundaries
change: set-based SQL, one statement per table."""

from django.db import connection, transaction

from .people import persons_follow_residence

# The lower grid code wins on a shared edge, as in grids.selectors.locate.
_RELOCATE_SQL = """
WITH placed AS (
    SELECT t.id, g.id AS grid_id, g.parent_id AS community_id, c.parent_id AS street_id
    FROM {table} t
    LEFT JOIN LATERAL (
        SELECT r.id, r.parent_id FROM grids_region r
        WHERE r.level = 4 AND ST_Covers(r.boundary, t.location)
        ORDER BY r.code LIMIT 1
    ) g ON TRUE
    LEFT JOIN grids_region c ON c.id = g.parent_id
    WHERE t.location IS NOT NULL
)
UPDATE {table} t
SET grid_id = placed.grid_id, community_id = placed.community_id, street_id = placed.street_id
FROM placed
WHERE t.id = placed.id
  AND (t.grid_id, t.community_id, t.street_id)
      IS DISTINCT FROM (placed.grid_id, placed.community_id, placed.street_id)
"""

_UNITS_SQL = """
UPDATE population_housingunit u SET grid_id = b.grid_id, street_id = b.street_id
FROM population_building b
WHERE b.id = u.building_id AND (u.grid_id, u.street_id) IS DISTINCT FROM (b.grid_id, b.street_id)
"""


@transaction.atomic
def population_reassign_grids() -> dict[str, int]:
    """Put every located building and organisation in the grid that covers it now, then
    let housing units follow their building and people their current residence.

    Set-based SQL: one statement per table, touching only rows whose grid changes, so
    running it twice changes nothing the second time. Returns the rows changed per table.
    """
    changed: dict[str, int] = {}
    with connection.cursor() as cur:
        for key, table in (
            ("buildings", "population_building"),
            ("organisations", "population_organisation"),
        ):
            cur.execute(_RELOCATE_SQL.format(table=table))
            changed[key] = cur.rowcount
        cur.execute(_UNITS_SQL)
        changed["housing_units"] = cur.rowcount
    changed["persons"] = persons_follow_residence()
    return changed
