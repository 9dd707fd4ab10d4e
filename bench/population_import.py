"""Import of a persons file (BENCH_PERSONS rows, default 1,000,000; 10% duplicates).

The file is generated into a temporary directory: valid GB 11643 numbers with the Chaoyang
area code 110105, names, phones, and the point of the building each person lives in (one
building per ~30 residents, points inside the district, as geocoded addresses are). The
import runs in a subprocess (`python -m bench.population_import child FILE`) so its peak
RSS is its own; a dry run of the first tenth shows the peak does not grow with the file.
Beside it, a raw COPY of the same file into an unindexed table is the floor (ratio).

Numbers already in the database are left out of the file, so every unique row is new and
the benchmark's persons are exactly those it created; they are deleted afterwards.
"""

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from bench.common import Entry, median, percentile, time_each
from population.protect import id_index
from population.validators import id_check_char

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["姓名", "身份证号", "性别", "出生日期", "联系电话", "户籍类型", "经度", "纬度"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏辉建国志红梅海燕丹"
RESIDENTS_PER_BUILDING = 30
DAYS = 30_000  # birth dates over ~82 years; the sequence number makes each number unique
FIRST_BIRTH = date(1935, 1, 1)


def size() -> int:
    return int(os.environ.get("BENCH_PERSONS", "1000000"))


def _number(i: int) -> str:
    born = FIRST_BIRTH + timedelta(days=i % DAYS)
    first17 = f"110105{born:%Y%m%d}{i // DAYS:03d}"
    return first17 + id_check_char(first17)


def _building_points(n: int, seed: int) -> list[tuple[float, float]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM ST_Dump(ST_GeneratePoints("
            "(SELECT boundary FROM grids_region WHERE code = %s), %s, %s))",
            [settings.HOME_DISTRICT_CODE, n, seed],
        )
        return [(round(x, 7), round(y, 7)) for x, y in cur.fetchall()]


def _taken(indexes: list[str]) -> set[str]:
    """Blind indexes among `indexes` that some person in the database already has."""
    taken: set[str] = set()
    with connection.cursor() as cur:
        for start in range(0, len(indexes), 50_000):
            cur.execute(
                "SELECT id_number_index FROM population_person WHERE id_number_index = ANY(%s)",
                [indexes[start : start + 50_000]],
            )
            taken.update(r[0] for r in cur.fetchall())
    return taken


def generate(path: Path, rows: int, seed: int = 7) -> list[str]:
    """Write the file; return the blind indexes of its unique persons (for the clean-up)."""
    rng = random.Random(seed)
    unique = rows - rows // 10
    candidates = [_number(i) for i in range(unique + unique // 20 + 10)]
    indexes = [id_index(n) for n in candidates]
    taken = _taken(indexes)
    chosen = [(n, x) for n, x in zip(candidates, indexes, strict=True) if x not in taken][:unique]
    assert len(chosen) == unique, "too many of the benchmark's numbers are already taken"
    points = _building_points(max(1, unique // RESIDENTS_PER_BUILDING), seed)
    people: list[tuple[str, str, str]] = []  # (number, name, building point as text)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            if i % 10 == 9 and people:  # every tenth row: someone already in the file
                number, name, where = people[rng.randrange(len(people))]
                born = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
                lng, lat = where.split(",")
            else:
                number = chosen[len(people)][0]
                name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
                lng, lat = map(str, points[rng.randrange(len(points))])
                people.append((number, name, f"{lng},{lat}"))
                born = ""
            phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            sex = "男" if int(number[16]) % 2 else "女"
            hukou = "户籍" if rng.random() < 0.7 else "流动"
            out.writerow([name, number, sex, born, phone, hukou, lng, lat])
    return [x for _, x in chosen]


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds of the database backend serving this process (when it runs here)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child(path: str, dry_run: bool) -> None:
    """In the subprocess: import, then report figures as one JSON line."""
    import resource

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chaoyang.settings.local")
    django.setup()
    from population.imports.service import population_import

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = int(cur.fetchone()[0])
    pg_before = _backend_cpu(backend)
    started = time.perf_counter()
    report = population_import(path=path, kind="persons", dry_run=dry_run)
    seconds = time.perf_counter() - started
    pg_after = _backend_cpu(backend)
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {
        "main": me.ru_utime + me.ru_stime,
        "workers": kids.ru_utime + kids.ru_stime,
        "postgres": None if pg_before is None or pg_after is None else pg_after - pg_before,
    }
    print(
        json.dumps(
            {
                "seconds": seconds,
                "counts": report.counts(),
                "rss_kb": hwm,
                "workers_kb": kids.ru_maxrss,  # KiB on Linux: the largest worker
                "timings": report.timings,
                "cpu": cpu,
            }
        )
    )


def _run_child(path: Path, dry_run: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.population_import", "child", str(path)]
    done = subprocess.run(
        command + (["--dry-run"] if dry_run else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE},
    )
    if done.returncode:
        raise RuntimeError(f"import subprocess failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def raw_copy(path: Path) -> float:
    """The floor: the same bytes into an unindexed table, no checks, no encryption."""
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_raw_persons")
        cur.execute(
            "CREATE UNLOGGED TABLE bench_raw_persons (name text, id_number text, sex text, "
            "birth_date text, phone text, hukou text, lng text, lat text)"
        )
        started = time.perf_counter()
        with (
            path.open("rb") as f,
            cur.cursor.copy("COPY bench_raw_persons FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        seconds = time.perf_counter() - started
        cur.execute("DROP TABLE bench_raw_persons")
    return seconds


def clean(indexes: list[str]) -> int:
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE bench_person_keys (k text)")
        with cur.cursor.copy("COPY bench_person_keys (k) FROM STDIN") as copy:
            for k in indexes:
                copy.write_row((k,))
        cur.execute(
            "DELETE FROM population_person p USING bench_person_keys b "
            "WHERE p.id_number_index = b.k"
        )
        deleted = cur.rowcount
        cur.execute("DROP TABLE bench_person_keys")
        cur.execute("VACUUM ANALYZE population_person")
    return deleted


SEARCHES = 300


def _sample(path: Path, k: int, seed: int = 11) -> tuple[list[str], list[str]]:
    """Identity numbers and names of persons in the file, for the search timings."""
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(line for i, line in enumerate(f) if 0 < i <= 50_000))
    rng = random.Random(seed)
    picked = rng.sample(rows, min(k, len(rows)))
    return [r[1] for r in picked], [r[0] for r in picked]


def search_timings(path: Path) -> list[Entry]:
    """Search at the imported size through the selectors a district user's page uses,
    beside the same lookups in plain SQL in the same run."""
    from grids.scope import EVERYTHING
    from population.selectors import classify_person_query, person_search

    numbers, names = _sample(path, SEARCHES)
    scope = EVERYTHING

    def ours(text: str) -> object:
        return list(person_search(scope, classify_person_query(text)).values_list("id")[:50])

    def raw_id(number: str) -> object:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM population_person WHERE id_number_index = %s LIMIT 50",
                [id_index(number)],
            )
            return cur.fetchall()

    def raw_name(name: str) -> object:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM population_person WHERE name ILIKE %s ORDER BY name, id LIMIT 50",
                [f"%{name}%"],
            )
            return cur.fetchall()

    out: list[Entry] = []
    for label, texts, raw in (("id_number", numbers, raw_id), ("name", names, raw_name)):
        ours(texts[0]), raw(texts[0])  # warm both
        a = [t / 1000 for t in time_each(ours, texts)]
        b = [t / 1000 for t in time_each(raw, texts)]
        out.append(Entry(f"population.search.{label}.p50", median(a), "ms", median(b), "", len(a)))
        out.append(
            Entry(
                f"population.search.{label}.p99",
                percentile(a, 99),
                "ms",
                percentile(b, 99),
                "",
                len(a),
            )
        )
    return out


def run() -> list[Entry]:
    n = size()
    with tempfile.TemporaryDirectory(prefix="bench-persons-") as tmp:
        path = Path(tmp) / "persons.csv"
        started = time.perf_counter()
        indexes = generate(path, n)
        print(f"  generated {n:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        small = Path(tmp) / "tenth.csv"
        with path.open(encoding="utf-8") as src, small.open("w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i > n // 10:
                    break
                dst.write(line)
        tenth = _run_child(small, dry_run=True)
        searches: list[Entry] = []
        try:
            full = _run_child(path)
            searches = search_timings(path)
        finally:
            print(f"  removed {clean(indexes):,} benchmark persons", flush=True)
        copy_s = raw_copy(path)
    counts = full["counts"]
    expected = {"rows": n, "created": len(indexes), "merged": n - len(indexes), "rejected": 0}
    assert {k: counts[k] for k in expected} == expected, counts
    print(f"  import: {counts} in {full['seconds']:.1f} s; raw COPY {copy_s:.1f} s", flush=True)
    for step, seconds in sorted(full["timings"].items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {seconds:7.2f} s  {step}", flush=True)
    cpu = ", ".join(f"{k} {v:.1f} s" for k, v in full["cpu"].items() if v is not None)
    print(f"  cpu time: {cpu} (load average {os.getloadavg()[0]:.1f})", flush=True)
    mb = 1024.0
    return [
        Entry("population.import.persons.seconds", full["seconds"], "s", copy_s, "< 60 s", n),
        Entry("population.import.persons.rows_per_s", n / full["seconds"], "/s", n / copy_s, "", n),
        Entry("population.import.persons.peak_rss", full["rss_kb"] / mb, "MB", None, "flat", n),
        Entry(
            "population.import.persons.peak_rss_tenth",
            tenth["rss_kb"] / mb,
            "MB",
            None,
            "≈ peak_rss",
            n // 10,
        ),
        Entry(
            "population.import.persons.worker_rss",
            full["workers_kb"] / mb,
            "MB",
            None,
            "flat",
            n,
        ),
        *searches,
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    _child(sys.argv[2], "--dry-run" in sys.argv[3:])
