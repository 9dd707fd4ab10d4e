"""Imports of the base databases: merge, never duplicate; rejections with row numbers and
reasons; header refused before anything is written; re-import changes nothing; no clear
identifier lands in any column."""

import csv
import subprocess
import sys
from datetime import date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from openpyxl import Workbook

from grids.models import Level, Region
from grids.selectors import locate
from population.imports import service
from population.imports.columns import HeaderMismatch, UnknownKind
from population.imports.service import ImportReport, population_import
from population.models import Building, HousingUnit, Organisation, Person, Residence
from population.protect import protect_id_number, protect_phone, reveal_phone
from population.validators import credit_check_char, id_check_char

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

PERSON_HEADER = ["姓名", "身份证号", "性别", "出生日期", "联系电话", "户籍类型", "经度", "纬度"]


def idn(seq: int, born: str = "19800101", area: str = "110105") -> str:
    first17 = f"{area}{born}{seq:03d}"
    return first17 + id_check_char(first17)


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def credit(body: str) -> str:
    return body + credit_check_char(body)


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def grid_point(index: int = 0) -> tuple[float, float]:
    """A point inside a unit grid of the demo territory (a different grid per index)."""
    grid = Region.objects.filter(level=Level.GRID).order_by("code")[index * 37]
    p = grid.boundary.point_on_surface
    return p.x, p.y


def existing_person(number: str, name: str, **fields: Any) -> Person:
    pid = protect_id_number(number)
    return Person.objects.create(
        name=name,
        id_number_enc=pid.enc,
        id_number_index=pid.index,
        id_number_masked=pid.masked,
        id_area=pid.area,
        id_tail_index=pid.tail_index,
        sex="M" if int(number[16]) % 2 else "F",
        birth_year=int(number[6:10]),
        hukou=fields.pop("hukou", "local"),
        **fields,
    )


def by_number(number: str) -> Person:
    return Person.objects.get(id_number_index=protect_id_number(number).index)


def counts(report: ImportReport) -> dict[str, int]:
    return {k: v for k, v in report.counts().items() if k in ("rows", *COUNT_KEYS)}


COUNT_KEYS = ("created", "updated", "merged", "unchanged", "rejected")


def test_persons_merge_within_the_file_and_with_the_database(
    territory: None, tmp_path: Path
) -> None:
    lng, lat = grid_point(1)
    existing_person(idn(2), "旧名字")
    existing_person(idn(3), "王五", hukou="floating")
    rows: list[list[Any]] = [
        PERSON_HEADER,
        ["张三", idn(1), "男", "1980-01-01", "13800138000", "户籍", lng, lat],
        ["李四", idn(2), "", "", "", "户籍", "", ""],  # in the DB under another name
        ["张三", idn(1), "", "", "13900139000", "户籍", "", ""],  # same person again
        ["王五", idn(3), "", "", "", "流动", "", ""],  # in the DB, nothing new
    ]
    report = population_import(path=write_csv(tmp_path / "p.csv", rows), kind="persons")

    assert counts(report) == {
        "rows": 4,
        "created": 1,
        "updated": 1,
        "merged": 1,
        "unchanged": 1,
        "rejected": 0,
    }
    assert Person.objects.count() == 3
    zhang = by_number(idn(1))
    # The later row's phone wins; the point of the earlier row still places the person.
    assert zhang.phone_enc is not None
    assert reveal_phone(bytes(zhang.phone_enc)) == "13900139000"
    assert zhang.phone_masked == "139****9000"
    assert zhang.phone_index == protect_phone("13900139000").index
    where = locate(lng=lng, lat=lat)
    assert where is not None
    assert (zhang.grid_id, zhang.street_id) == (where.grid.id, where.street.id)
    assert (zhang.sex, zhang.birth_year, zhang.hukou) == ("M", 1980, "local")
    assert (zhang.id_area, zhang.id_number_masked) == ("110105", "110105**********" + idn(1)[-2:])
    assert zhang.id_tail_index == protect_id_number(idn(1)).tail_index
    assert by_number(idn(2)).name == "李四"
    assert by_number(idn(2)).hukou == "local"


def test_rejected_rows_have_their_row_number_and_reason(territory: None, tmp_path: Path) -> None:
    lng, lat = grid_point(2)
    rows: list[list[Any]] = [
        PERSON_HEADER,
        ["好人", idn(10), "", "", "", "户籍", lng, lat],  # row 2: fine
        ["坏校验", wrong_check(idn(11)), "", "", "", "户籍", "", ""],  # row 3
        ["错生日", idn(12), "", "1981-01-01", "", "户籍", "", ""],  # row 4
        ["", "", "", "", "", "", "", ""],  # row 5: blank, skipped but counted as a row number
        ["错性别", idn(13), "女", "", "", "户籍", "", ""],  # row 6: odd sequence → male
        ["上海人", idn(14), "", "", "", "户籍", 121.47, 31.23],  # row 7: outside
        ["", idn(15), "", "", "", "户籍", "", ""],  # row 8: no name
        ["无户籍", idn(16), "", "", "", "", "", ""],  # row 9: no hukou
        ["半坐标", idn(17), "", "", "", "户籍", lng, ""],  # row 10
        ["坏电话", idn(18), "", "", "12ab", "户籍", "", ""],  # row 11
        ["奇怪户籍", idn(19), "", "", "", "外星", "", ""],  # row 12
    ]
    report = population_import(path=write_csv(tmp_path / "r.csv", rows), kind="persons")

    assert (report.rows, report.created, report.rejected) == (10, 1, 9)
    reasons = {r.row: r.reason for r in report.rejections}
    assert sorted(reasons) == [3, 4, 6, 7, 8, 9, 10, 11, 12]
    assert "校验位" in reasons[3]
    assert "出生日期与身份证号不符" in reasons[4]
    assert "性别与身份证号不符" in reasons[6]
    assert reasons[7].startswith("地址不在本区")
    assert "缺少必填项:姓名" in reasons[8]
    assert "缺少必填项:户籍类型" in reasons[9]
    assert "经度和纬度须同时填写" in reasons[10]
    assert "电话" in reasons[11]
    assert "户籍类型的值无法识别" in reasons[12]
    assert Person.objects.count() == 1
    # Reasons never quote the personal value itself.
    assert not any(idn(n)[:17] in r.reason for n in range(10, 20) for r in report.rejections)


def test_a_header_that_does_not_match_is_refused_before_anything_is_written(
    territory: None, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [["姓名", "电话", "户籍类型"], ["张三", "13800138000", "户籍"]]
    with pytest.raises(HeaderMismatch) as refused:
        population_import(path=write_csv(tmp_path / "h.csv", rows), kind="persons")
    assert refused.value.missing == ["身份证号"]
    assert "缺少必填列:身份证号" in str(refused.value)
    with pytest.raises(UnknownKind):
        population_import(path=write_csv(tmp_path / "k.csv", rows), kind="people")
    assert Person.objects.count() == 0
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass('population_import_stage')")
        assert cur.fetchone() == (None,)


def _snapshot() -> list[tuple[Any, ...]]:
    return list(
        Person.objects.order_by("id").values_list(
            "id", "name", "updated_at", "phone_enc", "grid_id", "hukou", "status"
        )
    )


def test_importing_the_same_file_twice_changes_nothing(territory: None, tmp_path: Path) -> None:
    lng, lat = grid_point(3)
    rows: list[list[Any]] = [
        PERSON_HEADER,
        *[
            ["人" + str(n), idn(n), "", "", f"1380013{n:04d}", "户籍", lng, lat]
            for n in range(1, 9)
        ],
    ]
    path = write_csv(tmp_path / "twice.csv", rows)
    first = population_import(path=path, kind="persons")
    assert (first.created, first.unchanged) == (8, 0)
    before = _snapshot()
    second = population_import(path=path, kind="persons")
    assert counts(second) == {**dict.fromkeys(COUNT_KEYS, 0), "rows": 8, "unchanged": 8}
    assert _snapshot() == before

    # With duplicates inside the file, the second run merges them again and writes nothing.
    dup_path = write_csv(tmp_path / "dups.csv", [*rows, rows[1], rows[2]])
    again = population_import(path=dup_path, kind="persons")
    assert (again.created, again.updated, again.merged, again.unchanged) == (0, 0, 2, 8)
    assert _snapshot() == before


def test_dry_run_reports_but_writes_nothing(territory: None, tmp_path: Path) -> None:
    rows: list[list[Any]] = [PERSON_HEADER, ["张三", idn(1), "", "", "", "户籍", "", ""]]
    report = population_import(
        path=write_csv(tmp_path / "d.csv", rows), kind="persons", dry_run=True
    )
    assert report.created == 1 and report.dry_run
    assert Person.objects.count() == 0


HOUSING_HEADER = ["楼栋地址", "单元", "房号", "房屋地址", "建筑面积", "房屋用途", "经度", "纬度"]


def test_address_variants_merge_into_one_housing_unit(territory: None, tmp_path: Path) -> None:
    lng, lat = grid_point(4)
    rows: list[list[Any]] = [
        HOUSING_HEADER,
        ["建国路88号楼", "2", "301", "", "89.5", "出租", lng, lat],
        ["建国路８８号楼", "２", "３０１", "", "", "", "", ""],  # full-width digits
        ["建国路 88 栋", "2单元", "301室", "", "", "自住", "", ""],  # spaces, 栋, 单元, 室
        ["建国路88号", "", "", "朝阳区建国路88号2门301", "", "", "", ""],  # 门 = 单元
        ["建国路88号楼", "3", "101", "", "", "", "", ""],  # another flat, same building
        ["光华路1号楼", "1", "101", "", "", "", "", ""],  # unknown building, no point
        ["建国路99号楼", "1", "101", "", "", "", 121.47, 31.23],  # outside the district
    ]
    report = population_import(path=write_csv(tmp_path / "h.csv", rows), kind="housing")

    assert counts(report) == {
        "rows": 7,
        "created": 2,
        "updated": 0,
        "merged": 3,
        "unchanged": 0,
        "rejected": 2,
    }
    assert report.extra["buildings_created"] == 1
    assert Building.objects.count() == 1
    assert HousingUnit.objects.count() == 2
    unit = HousingUnit.objects.get(address_norm="建国路88号2单元301")
    where = locate(lng=lng, lat=lat)
    assert where is not None
    assert unit.building.grid_id == where.grid.id and unit.building.street_id == where.street.id
    assert (unit.grid_id, unit.street_id) == (where.grid.id, where.street.id)
    # The last non-empty value of each field wins; the first spelling names the unit.
    assert (unit.use, str(unit.area_m2), unit.address) == (
        "owner",
        "89.50",
        "建国路88号楼2单元301室",
    )
    reasons = {r.row: r.reason for r in report.rejections}
    assert "楼栋不存在" in reasons[7]
    assert reasons[8].startswith("地址不在本区")

    variant: list[list[Any]] = [
        HOUSING_HEADER,
        ["建国路８８号楼", "2单元", "３０１", "", "", "", "", ""],
    ]
    again = population_import(path=write_csv(tmp_path / "v.csv", variant), kind="housing")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert HousingUnit.objects.count() == 2


ORG_HEADER = ["名称", "统一社会信用代码", "类型", "地址", "联系电话", "经度", "纬度"]


def test_organisations_merge_by_credit_code(territory: None, tmp_path: Path) -> None:
    lng, lat = grid_point(5)
    population_import(
        path=write_csv(
            tmp_path / "b.csv", [HOUSING_HEADER, ["望京街10号楼", "", "", "", "", "", lng, lat]]
        ),
        kind="housing",
    )
    known = credit("91110105MA0000001")
    Organisation.objects.create(name="旧名称", credit_code=known, kind="enterprise")
    new = credit("91110105MA0000002")
    rows: list[list[Any]] = [
        ORG_HEADER,
        ["新公司", new, "企业", "", "010-65000000", lng, lat],
        ["新公司(更名)", new.lower(), "企业", "", "", "", ""],  # same code, lower case
        ["老公司", known, "企业", "", "", "", ""],
        ["坏代码", wrong_check(new), "企业", "", "", "", ""],
        ["小店", credit("92110105MA0000003"), "个体工商户", "望京街10号", "", "", ""],
    ]
    report = population_import(path=write_csv(tmp_path / "o.csv", rows), kind="organisations")

    assert counts(report) == {
        "rows": 5,
        "created": 2,
        "updated": 1,
        "merged": 1,
        "unchanged": 0,
        "rejected": 1,
    }
    assert Organisation.objects.count() == 3
    org = Organisation.objects.get(credit_code=new)
    assert org.name == "新公司(更名)"
    assert org.contact_phone_masked == "010****0000"
    where = locate(lng=lng, lat=lat)
    assert where is not None
    assert (org.grid_id, org.community_id, org.street_id) == (
        where.grid.id,
        where.community.id,
        where.street.id,
    )
    assert Organisation.objects.get(credit_code=known).name == "老公司"
    # No coordinates, but the address is a known building: the shop takes its place.
    shop = Organisation.objects.get(name="小店")
    assert shop.grid_id == where.grid.id and shop.location is not None
    assert "校验位" in report.rejections[0].reason and report.rejections[0].row == 5


RES_HEADER = ["身份证号", "房屋地址", "居住关系", "起始日期", "截止日期"]


def test_residences_link_persons_and_units(territory: None, tmp_path: Path) -> None:
    lng, lat = grid_point(6)
    population_import(
        path=write_csv(
            tmp_path / "p.csv",
            [
                PERSON_HEADER,
                ["甲", idn(1), "", "", "", "户籍", "", ""],
                ["乙", idn(2)] + [""] * 3 + ["流动", "", ""],
            ],
        ),
        kind="persons",
    )
    population_import(
        path=write_csv(
            tmp_path / "h.csv", [HOUSING_HEADER, ["朝阳路5号楼", "1", "101", "", "", "", lng, lat]]
        ),
        kind="housing",
    )
    rows: list[list[Any]] = [
        RES_HEADER,
        [idn(1), "朝阳路５号楼１单元１０１室", "产权人", "2020-01-01", ""],
        [idn(2), "朝阳路5号1单元101", "租户", "2023-05-01", ""],
        [idn(2), "朝阳路5号1单元101", "租户", "", "2024-05-01"],  # same tenancy, now ended
        [idn(3), "朝阳路5号1单元101", "租户", "", ""],  # not a registered person
        [idn(1), "朝阳路6号1单元101", "产权人", "", ""],  # not a registered unit
        [idn(1), "朝阳路5号1单元101", "房客", "", ""],  # unknown relation
    ]
    path = write_csv(tmp_path / "r.csv", rows)
    report = population_import(path=path, kind="residences")

    assert counts(report) == {
        "rows": 6,
        "created": 2,
        "updated": 0,
        "merged": 1,
        "unchanged": 0,
        "rejected": 3,
    }
    reasons = {r.row: r.reason for r in report.rejections}
    assert "人员未登记" in reasons[5] and "房屋未登记" in reasons[6] and "居住关系" in reasons[7]
    tenancy = Residence.objects.get(relation="tenant")
    assert (tenancy.since, tenancy.until) == (date(2023, 5, 1), date(2024, 5, 1))
    owner = by_number(idn(1))
    unit = HousingUnit.objects.get()
    # A person's grid follows their current residence (the ended tenancy does not count).
    assert owner.grid_id == unit.grid_id is not None
    assert by_number(idn(2)).grid_id is None
    assert report.extra["persons_regridded"] == 1

    again = population_import(path=path, kind="residences")
    assert (again.created, again.updated, again.unchanged, again.merged) == (0, 0, 2, 1)
    assert Residence.objects.count() == 2


def test_csv_in_gbk_and_utf8_and_xlsx_read_alike(territory: None, tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["  公民身份号码 ", "姓名*", "人口类型", "出生日期", "手机号码"],  # header variants
        [idn(1), "张三", "户籍", "1980-01-01", "13800138000"],
        [idn(2), "李四", "流动", "", ""],
        [wrong_check(idn(3)), "王五", "户籍", "", ""],
    ]
    results = []
    for path in (
        write_csv(tmp_path / "gbk.csv", rows, encoding="gbk"),
        write_csv(tmp_path / "utf8.csv", rows, encoding="utf-8"),
        write_csv(tmp_path / "bom.csv", rows, encoding="utf-8-sig"),
    ):
        report = population_import(path=path, kind="persons", dry_run=True)
        results.append((counts(report), [(r.row, r.reason) for r in report.rejections]))
    xlsx_rows: list[list[Any]] = [list(r) for r in rows]
    xlsx_rows[1][3] = datetime(1980, 1, 1)  # a real date cell
    xlsx_rows[1][4] = 13800138000  # a phone typed as a number
    xlsx_rows.insert(2, [None] * 5)  # a blank row: row numbers still match the sheet
    report = population_import(path=write_xlsx(tmp_path / "p.xlsx", xlsx_rows), kind="persons")
    assert results[0] == results[1] == results[2]
    assert results[0][0] == {**dict.fromkeys(COUNT_KEYS, 0), "rows": 3, "created": 2, "rejected": 1}
    assert results[0][1][0][0] == 4
    assert counts(report) == results[0][0]
    assert [r.row for r in report.rejections] == [5]
    assert by_number(idn(1)).phone_masked == "138****8000"


def test_an_identity_number_stored_as_an_excel_number_is_rejected_clearly(
    territory: None, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [
        ["姓名", "身份证号", "户籍类型"],
        ["张三", float(idn(1)[:17] + "1"), "户籍"],
    ]
    report = population_import(path=write_xlsx(tmp_path / "n.xlsx", rows), kind="persons")
    assert report.rejected == 1
    assert "存成了数字" in report.rejections[0].reason


def test_batches_prepared_in_worker_processes_keep_file_order(
    territory: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_ROWS", 4)
    rows: list[list[Any]] = [PERSON_HEADER]
    for n in range(1, 31):
        number = wrong_check(idn(n)) if n % 7 == 0 else idn(n)
        rows.append([f"人{n}", number, "", "", "", "户籍", "", ""])
    progress: list[tuple[int, int]] = []
    report = population_import(
        path=write_csv(tmp_path / "w.csv", rows),
        kind="persons",
        workers=2,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert (report.created, report.rejected) == (26, 4)
    assert [r.row for r in report.rejections] == [8, 15, 22, 29]
    assert progress[0] == (0, 30) and progress[-1] == (30, 30)
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)


def test_command_prints_the_report(territory: None, tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        PERSON_HEADER,
        ["张三", idn(1), "", "", "", "户籍", "", ""],
        ["坏人", wrong_check(idn(2)), "", "", "", "户籍", "", ""],
    ]
    out = StringIO()
    call_command(
        "import_population", str(write_csv(tmp_path / "c.csv", rows)), kind="persons", stdout=out
    )
    text = out.getvalue()
    assert "新增: 1" in text and "拒绝: 1" in text
    assert "第 3 行:身份证号:身份证号校验位错误" in text
    with pytest.raises(CommandError, match="缺少必填列:姓名、身份证号、户籍类型"):
        call_command(
            "import_population",
            str(write_csv(tmp_path / "bad.csv", [["名称", "号码"], ["a", "b"]])),
            kind="persons",
            stdout=StringIO(),
        )


def test_command_prints_the_report_in_english(territory: None, tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        PERSON_HEADER,
        ["张三", idn(1), "", "", "", "户籍", "", ""],
        ["坏人", wrong_check(idn(2)), "", "", "", "户籍", "", ""],
        ["无户籍", idn(3), "", "", "", "", "", ""],
    ]
    out = StringIO()
    with translation.override("en"):
        call_command(
            "import_population",
            str(write_csv(tmp_path / "c.csv", rows)),
            kind="persons",
            dry_run=True,
            stdout=out,
        )
        text = out.getvalue()
        assert "persons: 3 rows in" in text and "(dry run, nothing written)" in text
        assert "Created: 1" in text and "Rejected: 2" in text and "Updated: 0" in text
        assert "Rejected rows:" in text
        assert "row 3: 身份证号: The identity number's check digit is wrong" in text
        assert "row 4: Missing required value: 户籍类型" in text
        assert "校验位" not in text and "缺少必填项" not in text
        with pytest.raises(
            CommandError, match="missing required columns: 姓名、身份证号、户籍类型"
        ):
            call_command(
                "import_population",
                str(write_csv(tmp_path / "bad.csv", [["名称", "号码"], ["a", "b"]])),
                kind="persons",
                stdout=StringIO(),
            )


@pytest.mark.parametrize(
    ("content", "kind", "code", "message"),
    [
        ("名字,号码\na,b\n", "persons", 1, "缺少必填列"),
        ("姓名,身份证号,户籍类型\n", "people", 2, "invalid choice"),
    ],
)
def test_command_exit_code_on_a_bad_file(
    tmp_path: Path, content: str, kind: str, code: int, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_population", str(path), "--kind", kind],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "chaoyang.settings.test", "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert done.stdout == ""


def _text_columns() -> list[tuple[str, str, str]]:
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name LIKE 'population\\_%%'
              AND data_type IN ('character varying', 'text', 'bytea', 'jsonb')
            """
        )
        return [(t, c, d) for t, c, d in cur.fetchall()]


def test_no_clear_identity_number_or_phone_in_any_population_column(
    territory: None, tmp_path: Path
) -> None:
    lng, lat = grid_point(7)
    numbers = [idn(n, born="19900315") for n in range(1, 6)]
    phones = [f"1391234{n:04d}" for n in range(1, 6)]
    population_import(
        path=write_csv(
            tmp_path / "p.csv",
            [PERSON_HEADER]
            + [
                ["某人", n, "", "", p, "户籍", lng, lat]
                for n, p in zip(numbers, phones, strict=True)
            ],
        ),
        kind="persons",
    )
    population_import(
        path=write_csv(
            tmp_path / "h.csv",
            [
                [*HOUSING_HEADER, "产权人身份证号"],
                ["安定路1号楼", "1", "101", "", "", "", lng, lat, numbers[0]],
            ],
        ),
        kind="housing",
    )
    population_import(
        path=write_csv(
            tmp_path / "o.csv",
            [ORG_HEADER, ["某公司", credit("91110105MA0000009"), "企业", "", phones[0], lng, lat]],
        ),
        kind="organisations",
    )
    population_import(
        path=write_csv(
            tmp_path / "r.csv", [RES_HEADER, [numbers[1], "安定路1号1单元101", "租户", "", ""]]
        ),
        kind="residences",
    )
    assert Person.objects.count() == 5 and Residence.objects.count() == 1
    secrets = numbers + phones + [n[:17] for n in numbers]
    columns = _text_columns()
    assert ("population_person", "id_number_enc", "bytea") in columns
    with connection.cursor() as cur:
        for table, column, data_type in columns:
            for secret in secrets:
                if data_type == "bytea":
                    cur.execute(
                        f'SELECT count(*) FROM "{table}" '
                        f"WHERE position(convert_to(%s, 'UTF8') in \"{column}\") > 0",
                        [secret],
                    )
                else:
                    cur.execute(
                        f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',
                        [f"%{secret}%"],
                    )
                assert cur.fetchone() == (0,), f"{secret} in {table}.{column}"


def test_gcj02_points_and_unknown_owners(territory: None, tmp_path: Path) -> None:
    from grids.crs import wgs84_to_gcj02

    lng, lat = grid_point(8)
    glng, glat = wgs84_to_gcj02(lng, lat)  # as AMap would give the same building
    existing_person(idn(1), "业主")
    rows: list[list[Any]] = [
        [*HOUSING_HEADER, "坐标系", "产权人身份证号"],
        ["左家庄1号楼", "1", "101", "", "", "", glng, glat, "GCJ-02", idn(1)],
        ["左家庄1号楼", "1", "102", "", "", "", "", "", "", idn(2)],  # owner not registered
        ["左家庄1号楼", "1", "103", "", "", "", "", "", "", wrong_check(idn(3))],
    ]
    report = population_import(path=write_csv(tmp_path / "g.csv", rows), kind="housing")
    assert (report.created, report.rejected) == (1, 2)
    reasons = {r.row: r.reason for r in report.rejections}
    assert "产权人身份证号未登记" in reasons[3] and "校验位" in reasons[4]
    unit = HousingUnit.objects.get()
    where = locate(lng=lng, lat=lat)
    assert where is not None and unit.grid_id == where.grid.id
    assert unit.owner == by_number(idn(1))
    location = unit.building.location
    assert location is not None
    assert abs(location.x - lng) < 1e-6 and abs(location.y - lat) < 1e-6


def test_a_person_added_elsewhere_during_the_merge_rolls_the_import_back(
    territory: None, tmp_path: Path
) -> None:
    """A page registers someone of the file while the merge runs: the import stops with a
    clear message and writes nothing, rather than silently dropping that row's data."""
    import threading
    import time

    import psycopg

    from population.imports.columns import ConcurrentChange

    lng, lat = grid_point(2)
    rows: list[list[Any]] = [
        PERSON_HEADER,
        ["张三", idn(1), "男", "", "", "户籍", lng, lat],
        ["李四", idn(2), "", "", "", "户籍", lng, lat],
    ]
    path = write_csv(tmp_path / "p.csv", rows)
    pid = protect_id_number(idn(2))
    s = connection.settings_dict
    dsn = f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"
    inserted, failures = threading.Event(), []

    def other_page() -> None:
        try:
            with psycopg.connect(dsn) as other:
                other.execute(
                    "INSERT INTO population_person (name, id_number_enc, id_number_index, "
                    "id_number_masked, id_area, id_tail_index, sex, birth_year, phone_enc, "
                    "phone_index, phone_masked, hukou, status, created_at, updated_at) VALUES "
                    "('李四', %s, %s, %s, %s, %s, 'F', 1980, NULL, '', '', 'local', "
                    "'living', now(), now())",
                    [pid.enc, pid.index, pid.masked, pid.area, pid.tail_index],
                )
                inserted.set()
                # Commit only once the import's insert waits on this row's key.
                stop = time.monotonic() + 180
                while time.monotonic() < stop:
                    with psycopg.connect(dsn, autocommit=True) as probe:
                        # Only this database's waiters: another test run on the same
                        # server would otherwise let this commit come too early.
                        waiting = probe.execute(
                            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a"
                            " USING (pid) WHERE NOT l.granted"
                            " AND l.locktype = 'transactionid'"
                            " AND a.datname = current_database()"
                        ).fetchone()
                    if waiting and waiting[0]:
                        break
                    time.sleep(0.05)
                other.commit()
        except Exception as exc:  # reported by the test thread
            failures.append(exc)
            inserted.set()

    thread = threading.Thread(target=other_page)
    thread.start()
    try:
        assert inserted.wait(180)
        with pytest.raises(ConcurrentChange, match="请重新导入"):
            population_import(path=path, kind="persons")
        thread.join(180)
        assert not failures
        # Nothing of the file was written: only the row the other page committed exists.
        assert not Person.objects.filter(id_number_index=protect_id_number(idn(1)).index)
    finally:
        thread.join(180)
        with psycopg.connect(dsn, autocommit=True) as cleanup:
            cleanup.execute("DELETE FROM population_person WHERE id_number_index = %s", [pid.index])
