"""The merge statement of each kind (see merge.py for the steps they share).

Each statement computes its source once (a MATERIALIZED CTE), updates the records that
differ, inserts the missing ones in key order (the unique index then grows at its right
edge instead of splitting random pages), and returns (source rows, updated, created).
"""

from collections.abc import Callable

from django.utils.translation import gettext_noop

from .merge import WHERE, Merge, MergeCounts, last
from .staging import STAGE

# Message ids; Merge.reject translates them when it files the rejected rows.
UNKNOWN_BUILDING = gettext_noop("楼栋不存在,且未提供经纬度,无法新建")
UNKNOWN_OWNER = gettext_noop("产权人身份证号未登记,请先导入人口")
UNKNOWN_PERSON = gettext_noop("人员未登记,请先导入人口")
UNKNOWN_UNIT = gettext_noop("房屋未登记,请先导入房屋")


def _finish(m: Merge, counts: tuple[int, ...], staged: int) -> MergeCounts:
    source, updated, created = counts
    return MergeCounts(
        created=created,
        updated=updated,
        merged=staged - source,
        unchanged=source - created - updated,
        rejected=m.rejected,
    )


def _last_all(cols: list[str], by: dict[str, str] | None = None) -> list[str]:
    by = by or {}
    return [f"{last(c, by.get(c))} AS {c}" for c in cols]


def persons(m: Merge) -> MergeCounts:
    # No ON CONFLICT on the insert: its speculative insertion costs a tenth of a million-row
    # import. Imports run one at a time (advisory lock), so only a person added through a
    # page during the merge can collide; the unique index then fails the statement and
    # the service rolls the whole import back with ConcurrentChange, where DO NOTHING
    # would have silently dropped that row's data.
    m.locate()
    m.dedup("id_index")
    staged = m.staged()
    fixed = ["id_enc", "id_masked", "id_area", "id_tail_index", "sex", "birth_year"]
    varying = ["name", "phone_enc", "phone_index", "phone_masked", "hukou", "registered_on"]
    varying += ["permit_expires_on", "status", "grid_id", "street_id"]
    phone_by = {"phone_enc": "phone_index", "phone_masked": "phone_index"}
    source = m.source(
        f"SELECT s.*, s.id_index AS key, w.grid_id, w.street_id FROM {STAGE} s "
        f"LEFT JOIN {WHERE} w ON w.lng = s.lng AND w.lat = s.lat",
        ["id_index", *fixed, *varying],
        [
            "ok.key AS id_index",
            *[f"(array_agg({c}))[1] AS {c}" for c in fixed],
            *_last_all(varying, {**phone_by, "street_id": "grid_id"}),
        ],
    )
    counts = m.one(
        f"""
        WITH src AS MATERIALIZED ({source}),
        upd AS (
            UPDATE population_person p SET
                name = s.name, sex = s.sex, birth_year = s.birth_year,
                phone_enc = CASE WHEN s.phone_index IS NULL OR s.phone_index = p.phone_index
                                 THEN p.phone_enc ELSE s.phone_enc END,
                phone_index = COALESCE(s.phone_index, p.phone_index),
                phone_masked = COALESCE(s.phone_masked, p.phone_masked),
                hukou = COALESCE(s.hukou, p.hukou),
                registered_on = COALESCE(s.registered_on, p.registered_on),
                permit_expires_on = COALESCE(s.permit_expires_on, p.permit_expires_on),
                status = COALESCE(s.status, p.status),
                grid_id = COALESCE(s.grid_id, p.grid_id),
                street_id = COALESCE(s.street_id, p.street_id),
                updated_at = now()
            FROM src s
            WHERE p.id_number_index = s.id_index AND (
                p.name <> s.name OR p.sex <> s.sex OR p.birth_year <> s.birth_year
                OR s.phone_index <> p.phone_index
                OR s.hukou <> p.hukou
                OR (s.registered_on IS NOT NULL
                    AND s.registered_on IS DISTINCT FROM p.registered_on)
                OR (s.permit_expires_on IS NOT NULL
                    AND s.permit_expires_on IS DISTINCT FROM p.permit_expires_on)
                OR s.status <> p.status
                OR (s.grid_id IS NOT NULL AND s.grid_id IS DISTINCT FROM p.grid_id)
                OR (s.street_id IS NOT NULL AND s.street_id IS DISTINCT FROM p.street_id))
            RETURNING 1
        ),
        ins AS (
            INSERT INTO population_person (
                name, id_number_enc, id_number_index, id_number_masked, id_area,
                id_tail_index, sex, birth_year, phone_enc, phone_index, phone_masked, hukou,
                registered_on, permit_expires_on, status, grid_id, street_id, created_at,
                updated_at)
            SELECT s.name, s.id_enc, s.id_index, s.id_masked, s.id_area, s.id_tail_index,
                s.sex, s.birth_year, s.phone_enc, COALESCE(s.phone_index, ''),
                COALESCE(s.phone_masked, ''), s.hukou, s.registered_on, s.permit_expires_on,
                COALESCE(s.status, 'living'), s.grid_id, s.street_id, now(), now()
            FROM src s
            WHERE NOT EXISTS (
                SELECT 1 FROM population_person p WHERE p.id_number_index = s.id_index)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM upd), (SELECT count(*) FROM ins)
        """
    )
    return _finish(m, counts, staged)


BLD = "population_import_buildings"


def _buildings(m: Merge) -> dict[str, int]:
    """Resolve each row's building by normalised address; create the missing ones that
    come with a point, reject the rows of those that don't; move or rename existing ones
    when the file says so."""
    m.run(f"DROP TABLE IF EXISTS {BLD}")
    m.run(
        f"""
        CREATE TEMPORARY TABLE {BLD} AS
        SELECT k.*, b.id AS building_id, w.grid_id, w.community_id, w.street_id
        FROM (
            SELECT bld_norm, {last("bld_address")} AS address, {last("bld_name")} AS name,
                   {last("floors")} AS floors, {last("lng")} AS lng, {last("lat", "lng")} AS lat
            FROM {STAGE} GROUP BY bld_norm
        ) k
        LEFT JOIN population_building b ON b.address_norm = k.bld_norm
        LEFT JOIN {WHERE} w ON w.lng = k.lng AND w.lat = k.lat
        """
    )
    m.reject(
        "k.bld_norm = s.bld_norm AND k.building_id IS NULL AND k.lng IS NULL",
        UNKNOWN_BUILDING,
        using=f"USING {BLD} k",
    )
    created = m.run(
        f"""
        WITH ins AS (
            INSERT INTO population_building (address, address_norm, name, floors, location,
                grid_id, community_id, street_id, created_at, updated_at)
            SELECT address, bld_norm, COALESCE(name, ''), floors,
                ST_SetSRID(ST_MakePoint(lng, lat), 4326), grid_id, community_id, street_id,
                now(), now()
            FROM {BLD} WHERE building_id IS NULL AND lng IS NOT NULL
            ORDER BY bld_norm
            ON CONFLICT (address_norm) DO NOTHING
            RETURNING id, address_norm
        )
        UPDATE {BLD} k SET building_id = ins.id FROM ins WHERE k.bld_norm = ins.address_norm
        """
    )
    updated = m.run(
        f"""
        UPDATE population_building b SET
            location = COALESCE(ST_SetSRID(ST_MakePoint(k.lng, k.lat), 4326), b.location),
            grid_id = COALESCE(k.grid_id, b.grid_id),
            community_id = COALESCE(k.community_id, b.community_id),
            street_id = COALESCE(k.street_id, b.street_id),
            name = COALESCE(k.name, b.name), floors = COALESCE(k.floors, b.floors),
            updated_at = now()
        FROM {BLD} k
        WHERE b.id = k.building_id AND (
            (k.lng IS NOT NULL AND (b.location IS NULL
                OR ST_X(b.location) <> k.lng OR ST_Y(b.location) <> k.lat))
            OR k.name <> b.name OR (k.floors IS NOT NULL AND k.floors IS DISTINCT FROM b.floors))
        """
    )
    return {"buildings_created": created, "buildings_updated": updated}


def housing(m: Merge) -> MergeCounts:
    m.locate()
    m.reject(
        "s.owner_index IS NOT NULL AND NOT EXISTS (SELECT 1 FROM population_person p "
        "WHERE p.id_number_index = s.owner_index)",
        UNKNOWN_OWNER,
    )
    extra = _buildings(m)
    m.dedup("address_norm")
    staged = m.staged()
    varying = ["building_id", "unit", "floor", "room", "area_m2", "use", "owner_id"]
    varying += ["grid_id", "street_id"]
    source = m.source(
        f"""SELECT s.row_no, s.address_norm AS key, s.address, s.unit, s.floor, s.room,
               s.area_m2, s.use, k.building_id, b.grid_id, b.street_id, o.id AS owner_id
        FROM {STAGE} s JOIN {BLD} k ON k.bld_norm = s.bld_norm
        JOIN population_building b ON b.id = k.building_id
        LEFT JOIN population_person o ON o.id_number_index = s.owner_index""",
        ["key AS address_norm", "address", *varying],
        [
            "ok.key AS address_norm",
            "(array_agg(address ORDER BY row_no))[1] AS address",
            *_last_all(varying, {"grid_id": "building_id", "street_id": "building_id"}),
        ],
    )
    counts = m.one(
        f"""
        WITH src AS MATERIALIZED ({source}),
        upd AS (
            UPDATE population_housingunit u SET
                building_id = s.building_id, unit = COALESCE(s.unit, u.unit),
                floor = COALESCE(s.floor, u.floor), room = COALESCE(s.room, u.room),
                area_m2 = COALESCE(s.area_m2, u.area_m2), use = COALESCE(s.use, u.use),
                owner_id = COALESCE(s.owner_id, u.owner_id),
                grid_id = s.grid_id, street_id = s.street_id, updated_at = now()
            FROM src s
            WHERE u.address_norm = s.address_norm AND (
                u.building_id <> s.building_id OR s.unit <> u.unit OR s.room <> u.room
                OR (s.floor IS NOT NULL AND s.floor IS DISTINCT FROM u.floor)
                OR (s.area_m2 IS NOT NULL AND s.area_m2 IS DISTINCT FROM u.area_m2)
                OR s.use <> u.use
                OR (s.owner_id IS NOT NULL AND s.owner_id IS DISTINCT FROM u.owner_id)
                OR s.grid_id IS DISTINCT FROM u.grid_id
                OR s.street_id IS DISTINCT FROM u.street_id)
            RETURNING 1
        ),
        ins AS (
            INSERT INTO population_housingunit (building_id, unit, floor, room, address,
                address_norm, area_m2, use, owner_id, grid_id, street_id, created_at, updated_at)
            SELECT s.building_id, COALESCE(s.unit, ''), s.floor, COALESCE(s.room, ''),
                s.address, s.address_norm, s.area_m2, COALESCE(s.use, 'owner'), s.owner_id,
                s.grid_id, s.street_id, now(), now()
            FROM src s
            WHERE NOT EXISTS (
                SELECT 1 FROM population_housingunit u WHERE u.address_norm = s.address_norm)
            ORDER BY s.address_norm
            ON CONFLICT (address_norm) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM upd), (SELECT count(*) FROM ins)
        """
    )
    # Units of a moved building that the file did not list follow it into its new grid.
    extra["units_regridded"] = m.run(
        f"""
        UPDATE population_housingunit u SET grid_id = b.grid_id, street_id = b.street_id,
            updated_at = now()
        FROM population_building b JOIN {BLD} k ON k.building_id = b.id
        WHERE u.building_id = b.id
          AND (u.grid_id IS DISTINCT FROM b.grid_id OR u.street_id IS DISTINCT FROM b.street_id)
        """
    )
    m.run(f"DROP TABLE {BLD}")
    result = _finish(m, counts, staged)
    result.extra = extra
    return result


def organisations(m: Merge) -> MergeCounts:
    m.locate()
    m.dedup("credit_code")
    staged = m.staged()
    varying = ["name", "kind", "address", "contact_name", "phone_enc", "phone_index"]
    varying += ["phone_masked", "location", "grid_id", "community_id", "street_id"]
    by = {
        "phone_enc": "phone_index",
        "phone_masked": "phone_index",
        **{c: "location" for c in ("grid_id", "community_id", "street_id")},
    }
    # A row without coordinates whose address is a known building takes the building's
    # place: the same house, whoever listed it first.
    source = m.source(
        f"""SELECT s.row_no, s.credit_code AS key, s.name, s.kind, s.address, s.contact_name,
               s.phone_enc, s.phone_index, s.phone_masked,
               COALESCE(ST_SetSRID(ST_MakePoint(s.lng, s.lat), 4326), b.location) AS location,
               COALESCE(w.grid_id, b.grid_id) AS grid_id,
               COALESCE(w.community_id, b.community_id) AS community_id,
               COALESCE(w.street_id, b.street_id) AS street_id
        FROM {STAGE} s LEFT JOIN {WHERE} w ON w.lng = s.lng AND w.lat = s.lat
        LEFT JOIN population_building b ON s.lng IS NULL AND b.address_norm = s.address_norm""",
        ["key AS credit_code", *varying],
        ["ok.key AS credit_code", *_last_all(varying, by)],
    )
    counts = m.one(
        f"""
        WITH src AS MATERIALIZED ({source}),
        upd AS (
            UPDATE population_organisation o SET
                name = s.name, kind = s.kind, address = COALESCE(s.address, o.address),
                contact_name = COALESCE(s.contact_name, o.contact_name),
                contact_phone_enc = CASE
                    WHEN s.phone_index IS NULL OR s.phone_index = o.contact_phone_index
                    THEN o.contact_phone_enc ELSE s.phone_enc END,
                contact_phone_index = COALESCE(s.phone_index, o.contact_phone_index),
                contact_phone_masked = COALESCE(s.phone_masked, o.contact_phone_masked),
                location = COALESCE(s.location, o.location),
                grid_id = COALESCE(s.grid_id, o.grid_id),
                community_id = COALESCE(s.community_id, o.community_id),
                street_id = COALESCE(s.street_id, o.street_id),
                updated_at = now()
            FROM src s
            WHERE o.credit_code = s.credit_code AND (
                o.name <> s.name OR o.kind <> s.kind OR s.address <> o.address
                OR s.contact_name <> o.contact_name OR s.phone_index <> o.contact_phone_index
                OR (s.location IS NOT NULL
                    AND (o.location IS NULL OR NOT ST_Equals(s.location, o.location)))
                OR (s.grid_id IS NOT NULL AND s.grid_id IS DISTINCT FROM o.grid_id))
            RETURNING 1
        ),
        ins AS (
            INSERT INTO population_organisation (name, credit_code, kind, address,
                contact_name, contact_phone_enc, contact_phone_index, contact_phone_masked,
                location, grid_id, community_id, street_id, created_at, updated_at)
            SELECT s.name, s.credit_code, s.kind, COALESCE(s.address, ''),
                COALESCE(s.contact_name, ''), s.phone_enc, COALESCE(s.phone_index, ''),
                COALESCE(s.phone_masked, ''), s.location, s.grid_id, s.community_id,
                s.street_id, now(), now()
            FROM src s
            WHERE NOT EXISTS (
                SELECT 1 FROM population_organisation o WHERE o.credit_code = s.credit_code)
            ORDER BY s.credit_code
            ON CONFLICT (credit_code) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM upd), (SELECT count(*) FROM ins)
        """
    )
    return _finish(m, counts, staged)


def residences(m: Merge) -> MergeCounts:
    m.reject(
        "NOT EXISTS (SELECT 1 FROM population_person p WHERE p.id_number_index = s.person_index)",
        UNKNOWN_PERSON,
    )
    m.reject(
        "NOT EXISTS (SELECT 1 FROM population_housingunit u WHERE u.address_norm = s.unit_norm)",
        UNKNOWN_UNIT,
    )
    key = "s.person_index || '|' || s.unit_norm || '|' || s.relation"
    m.dedup(key)
    staged = m.staged()
    fixed = ["person_id", "unit_id", "relation", "grid_id", "street_id"]
    source = m.source(
        f"""SELECT s.row_no, {key} AS key, p.id AS person_id, u.id AS unit_id, s.relation,
               s.since, s.until, u.grid_id, u.street_id
        FROM {STAGE} s
        JOIN population_person p ON p.id_number_index = s.person_index
        JOIN population_housingunit u ON u.address_norm = s.unit_norm""",
        [*fixed, "since", "until", "row_no"],
        [
            *[f"min({c}) AS {c}" for c in fixed],
            *_last_all(["since", "until"]),
            "max(row_no) AS row_no",
        ],
    )
    counts = m.one(
        f"""
        WITH src AS MATERIALIZED (
            SELECT s.*, r.id AS match_id FROM ({source}) s
            LEFT JOIN LATERAL (
                SELECT r.id FROM population_residence r
                WHERE r.person_id = s.person_id AND r.unit_id = s.unit_id
                  AND r.relation = s.relation
                  AND (r.until IS NULL OR r.since = s.since)
                ORDER BY r.until IS NULL DESC, r.id DESC LIMIT 1
            ) r ON true
        ),
        upd AS (
            UPDATE population_residence r SET
                since = COALESCE(s.since, r.since), until = COALESCE(s.until, r.until)
            FROM src s
            WHERE r.id = s.match_id AND (
                (s.since IS NOT NULL AND s.since IS DISTINCT FROM r.since)
                OR (s.until IS NOT NULL AND s.until IS DISTINCT FROM r.until))
            RETURNING 1
        ),
        ins AS (
            INSERT INTO population_residence (person_id, unit_id, relation, since, until)
            SELECT person_id, unit_id, relation, since, until FROM src
            WHERE match_id IS NULL
            ORDER BY person_id
            ON CONFLICT DO NOTHING
            RETURNING 1
        ),
        -- A person lives where their current residence is: profiles count them there.
        moved AS (
            UPDATE population_person p SET grid_id = x.grid_id, street_id = x.street_id,
                updated_at = now()
            FROM (SELECT DISTINCT ON (person_id) person_id, grid_id, street_id FROM src
                  WHERE until IS NULL AND grid_id IS NOT NULL
                  ORDER BY person_id, row_no DESC) x
            WHERE p.id = x.person_id
              AND (p.grid_id IS DISTINCT FROM x.grid_id OR p.street_id IS DISTINCT FROM x.street_id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM upd),
               (SELECT count(*) FROM ins), (SELECT count(*) FROM moved)
        """
    )
    result = _finish(m, counts[:3], staged)
    result.extra = {"persons_regridded": counts[3]}
    return result


MERGES: dict[str, Callable[[Merge], MergeCounts]] = {
    "persons": persons,
    "housing": housing,
    "organisations": organisations,
    "residences": residences,
}

__all__ = ["MERGES"]
