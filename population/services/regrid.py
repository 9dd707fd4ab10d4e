"""Bulk re-assignment of everything located to the grids covering it, after boundaries
change: set-based SQL, one statement per table."""

from django.db import connection, transaction

from grids.covering import covering_grids_sql

from .people import persons_follow_residence


def _relocate_sql(table: str) -> str:
    """Every located row of `table` against the grid covering its point now
    (grids.covering, the one definition, which grids.selectors.locate also answers at
    write time); a row whose point lies outside every grid is left unplaced."""
    covering = covering_grids_sql(
        f"SELECT id AS key, location AS geom FROM {table} WHERE location IS NOT NULL"
    )
    return f"""
        WITH placed AS (
            SELECT t.id, here.grid_id, here.community_id, here.street_id
            FROM {table} t
            LEFT JOIN ({covering}) here ON here.key = t.id
            WHERE t.location IS NOT NULL
        )
        UPDATE {table} t
        SET grid_id = placed.grid_id, community_id = placed.community_id,
            street_id = placed.street_id
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
            cur.execute(_relocate_sql(table))
            changed[key] = cur.rowcount
        cur.execute(_UNITS_SQL)
        changed["housing_units"] = cur.rowcount
    changed["persons"] = persons_follow_residence()
    return changed
