"""The SQL that builds the synthetic demo territory, step by step, in temporary tables.

Kept apart from ``grids.territory`` (which reads the seed files and writes the results)
so the geometry pipeline reads top to bottom. Every statement runs in the caller's
transaction; the temporary tables are dropped at the end of the build.

Why the pipeline has two halves:

1. *Raw* cells, in full floating precision: street Voronoi cells clipped to Chaoyang's
   main part, then per street community cells, then per community grid cells. Cells
   computed one parent at a time do not share their edges bit for bit, so their union
   would leave hair-thin gaps and overlaps.
2. *Exact* cells: the boundaries of every raw cell at every level are noded together
   once on a fixed 1e-7° grid (≈ 1 cm) and polygonized into atomic faces. Each face
   belongs to the raw grid cell that holds its interior point. Every level is then the
   union of its faces, so siblings share edges exactly (their overlaps have zero area),
   each level covers its parent exactly, and all of them sit on the same precision grid
   as the district boundaries.
"""

from .precision import GRID_SIZE

__all__ = ["GRID_SIZE"]

TEMP_TABLES = (
    "_ty_district",
    "_ty_part",
    "_ty_street",
    "_ty_comm",
    "_ty_grid",
    "_ty_face",
    "_ty_out",
    "_ty_region",
)

DROP_TEMP = "DROP TABLE IF EXISTS " + ", ".join(TEMP_TABLES)

# The district (its vertices already on the precision grid) and its parts: rank 1 is the
# main part, the rest is the Capital Airport exclave.
DISTRICT = """
CREATE TEMP TABLE _ty_district AS
SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(%(geom)s::geometry), 3)) AS geom;
CREATE TEMP TABLE _ty_part AS
SELECT row_number() OVER (ORDER BY ST_Area(d.geom) DESC) AS rank, d.geom
FROM _ty_district, ST_Dump(_ty_district.geom) AS d;
"""

# Streets: Voronoi cells around the given centres, clipped to the main part. A centre
# that falls outside the main part (the centres are approximate) is pulled 200 m inside,
# so that its cell cannot be empty. The exclave is the airport street, whole.
STREETS = """
CREATE TEMP TABLE _ty_street (id integer PRIMARY KEY, geom geometry NOT NULL);
WITH main AS (SELECT geom FROM _ty_part WHERE rank = 1),
given AS (
  SELECT t.seq, ST_SetSRID(ST_MakePoint(t.lng, t.lat), 4326) AS p
  FROM unnest(%(seq)s::integer[], %(lng)s::float8[], %(lat)s::float8[]) AS t(seq, lng, lat)
),
seeds AS (
  SELECT g.seq,
         CASE WHEN ST_Contains(main.geom, g.p) THEN g.p
              ELSE ST_ClosestPoint(ST_Buffer(main.geom, -0.002), g.p) END AS p
  FROM given AS g, main
),
cells AS (
  SELECT (ST_Dump(ST_VoronoiPolygons(
            (SELECT ST_Collect(p ORDER BY seq) FROM seeds), 0,
            (SELECT ST_Expand(geom, 0.1) FROM _ty_district)))).geom AS cell
)
INSERT INTO _ty_street (id, geom)
SELECT seeds.seq, ST_CollectionExtract(ST_Intersection(cells.cell, main.geom), 3)
FROM cells JOIN seeds ON ST_Intersects(cells.cell, seeds.p), main;
INSERT INTO _ty_street (id, geom)
SELECT %(exclave_seq)s, ST_Union(geom) FROM _ty_part WHERE rank > 1;
"""

# Children of every row of a parent table: seeded random points inside the parent,
# k-means into k balanced clusters, the cluster member nearest its cluster's centre as
# the seed (a centroid may fall outside a concave parent; a member never does), Voronoi
# cells around the seeds, clipped to the parent. ``{parent}``/``{child}`` are table names
# from this module, never user input.
CHILDREN = """
CREATE TEMP TABLE {child} AS
WITH pts AS (
  SELECT par.id AS parent, d.path[1] AS i, d.geom AS p
  FROM {parent} AS par,
       ST_Dump(ST_GeneratePoints(par.geom, %(points)s, %(seed)s + par.id)) AS d
),
clustered AS (
  SELECT parent, i, p, ST_ClusterKMeans(p, %(k)s) OVER (PARTITION BY parent ORDER BY i) AS cid
  FROM pts
),
centres AS (
  SELECT parent, cid, ST_Centroid(ST_Collect(p)) AS c FROM clustered GROUP BY parent, cid
),
seeds AS (
  SELECT DISTINCT ON (cl.parent, cl.cid) cl.parent, cl.cid, cl.p
  FROM clustered AS cl JOIN centres AS ce USING (parent, cid)
  ORDER BY cl.parent, cl.cid, ST_Distance(cl.p, ce.c), cl.i
),
cells AS (
  SELECT s.parent,
         (ST_Dump(ST_VoronoiPolygons(ST_Collect(s.p ORDER BY s.cid), 0,
                  (SELECT ST_Expand(geom, 0.1) FROM _ty_district)))).geom AS cell
  FROM seeds AS s GROUP BY s.parent
)
SELECT (row_number() OVER (ORDER BY cells.parent, seeds.cid))::integer AS id,
       cells.parent,
       ST_CollectionExtract(ST_Intersection(cells.cell, par.geom), 3) AS geom
FROM cells
JOIN seeds ON seeds.parent = cells.parent AND ST_Intersects(cells.cell, seeds.p)
JOIN {parent} AS par ON par.id = cells.parent;
CREATE INDEX ON {child} USING gist (geom);
"""

# Node every raw boundary once on the precision grid and polygonize into atomic faces;
# each face goes to the raw grid cell holding its interior point or, should that point
# fall in a hair-thin gap between raw cells, to the nearest one.
FACES = """
CREATE TEMP TABLE _ty_face AS
WITH lines AS (
  SELECT ST_Boundary(geom) AS g FROM _ty_district
  UNION ALL SELECT ST_Boundary(geom) FROM _ty_street
  UNION ALL SELECT ST_Boundary(geom) FROM _ty_comm
  UNION ALL SELECT ST_Boundary(geom) FROM _ty_grid
),
noded AS (SELECT ST_Union(g, %(grid)s) AS g FROM lines),
faces AS (SELECT (ST_Dump(ST_Polygonize(g))).geom AS geom FROM noded)
SELECT faces.geom,
       (SELECT g.id FROM _ty_grid AS g
        WHERE ST_Intersects(g.geom, ST_PointOnSurface(faces.geom)) ORDER BY g.id LIMIT 1) AS grid
FROM faces;
UPDATE _ty_face AS f
SET grid = (SELECT g.id FROM _ty_grid AS g ORDER BY g.geom <-> ST_PointOnSurface(f.geom) LIMIT 1)
WHERE f.grid IS NULL;
"""

# Voronoi cells clipped to a concave parent can leave a grid with small detached
# pieces (some of a few square metres). A piece under a quarter of its grid's main part
# joins the neighbouring grid it shares the longest edge with, preferring one of the same
# community, then of the same street. Pieces that touch no other grid stay where they are.
SLIVERS = """
CREATE INDEX ON _ty_face USING gist (geom);
WITH multi AS (
  SELECT grid, ST_Union(geom, %(grid)s) AS geom FROM _ty_face GROUP BY grid HAVING count(*) > 1
),
pieces AS (
  SELECT m.grid, d.geom, ST_Area(d.geom) AS a,
         max(ST_Area(d.geom)) OVER (PARTITION BY m.grid) AS amax
  FROM multi AS m, ST_Dump(m.geom) AS d
),
small AS (
  SELECT p.grid, p.geom, g.parent AS comm, c.parent AS street
  FROM pieces AS p JOIN _ty_grid AS g ON g.id = p.grid JOIN _ty_comm AS c ON c.id = g.parent
  WHERE p.a < 0.25 * p.amax
),
moves AS (
  SELECT s.grid, s.geom,
         (SELECT f.grid FROM _ty_face AS f
          JOIN _ty_grid AS g ON g.id = f.grid JOIN _ty_comm AS c ON c.id = g.parent
          WHERE f.grid <> s.grid AND ST_Intersects(f.geom, s.geom)
          GROUP BY f.grid, g.parent, c.parent
          HAVING sum(ST_Length(ST_Intersection(f.geom, s.geom))) > 0
          ORDER BY g.parent = s.comm DESC, c.parent = s.street DESC,
                   sum(ST_Length(ST_Intersection(f.geom, s.geom))) DESC, f.grid
          LIMIT 1) AS target
  FROM small AS s
)
UPDATE _ty_face AS f SET grid = m.target
FROM moves AS m
WHERE m.target IS NOT NULL AND f.grid = m.grid AND ST_Covers(m.geom, ST_PointOnSurface(f.geom));
"""

# One row per region below the district, with its exact boundary: the union of its faces.
# ``seq`` numbers siblings west to east, north to south: siblings are cut into
# round(sqrt(n)) bands by the latitude of their centroids, north first; in each band
# they run west to east.
OUTPUT = """
CREATE TEMP TABLE _ty_out AS
WITH tagged AS (
  SELECT f.geom, g.id AS grid, c.id AS comm, c.parent AS street
  FROM _ty_face AS f JOIN _ty_grid AS g ON g.id = f.grid JOIN _ty_comm AS c ON c.id = g.parent
),
regions AS (
  SELECT 2 AS level, street AS id, NULL::integer AS parent, ST_Union(geom, %(grid)s) AS geom
  FROM tagged GROUP BY street
  UNION ALL
  SELECT 3, comm, min(street), ST_Union(geom, %(grid)s) FROM tagged GROUP BY comm
  UNION ALL
  SELECT 4, grid, min(comm), ST_Union(geom, %(grid)s) FROM tagged GROUP BY grid
),
placed AS (
  SELECT r.*, ST_X(ST_Centroid(r.geom)) AS x, ST_Y(ST_Centroid(r.geom)) AS y,
         count(*) OVER (PARTITION BY r.level, r.parent) AS n
  FROM regions AS r
),
banded AS (
  SELECT p.*,
         floor((row_number() OVER (PARTITION BY p.level, p.parent ORDER BY p.y DESC, p.x) - 1)
               * greatest(1, round(sqrt(p.n))) / p.n) AS band
  FROM placed AS p
)
SELECT level, id, parent, ST_Multi(geom) AS geom,
       (row_number() OVER (PARTITION BY level, parent ORDER BY band, x, y DESC))::integer AS seq
FROM banded;
"""

DISTRICT_UNION = "SELECT ST_Multi(ST_Union(geom, %(grid)s)) FROM _ty_face"
