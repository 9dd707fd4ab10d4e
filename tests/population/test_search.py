"""Search: people by name, masked fragment, full identity number (blind index) or phone;
housing by normalised address; organisations by name or credit code. Results masked."""

from typing import Any

import pytest
from django.db import connection

from grids.scope import EVERYTHING, TerritorialScope
from population.selectors import (
    Mode,
    classify_person_query,
    housing_search,
    organisation_search,
    person_search,
)
from population.services import BuildingInput, building_create, housing_unit_create
from tests.factories import (
    client_for,
    credit_code,
    grid_point,
    id_number,
    organisation_in,
    person_in,
    run_seed_demo,
)

pytestmark = pytest.mark.django_db

GRID = "110105001001001"


@pytest.mark.parametrize(
    ("raw", "mode"),
    [
        ("", Mode.ALL),
        ("张三", Mode.NAME),
        ("欧阳 明", Mode.NAME),
        ("11010519491231002X", Mode.ID_NUMBER),
        ("11010519491231002x", Mode.ID_NUMBER),
        ("１１０１０５１９４９１２３１００２Ｘ", Mode.ID_NUMBER),
        ("110105194912310021", Mode.INVALID),  # wrong check digit: said, not searched
        ("110105********002X", Mode.ID_FRAGMENT),
        ("110105*002X", Mode.ID_FRAGMENT),
        ("110105…002x", Mode.ID_FRAGMENT),
        ("110105 002X", Mode.ID_FRAGMENT),
        ("****002X", Mode.ID_FRAGMENT),
        ("139 0000 1234", Mode.PHONE),
        ("+86 139-0000-1234", Mode.PHONE),
        ("010-65001234", Mode.PHONE),
        ("12", Mode.NAME),
    ],
)
def test_queries_are_recognised(raw: str, mode: Mode) -> None:
    query = classify_person_query(raw)
    assert query.mode is mode
    if mode is Mode.INVALID:
        assert "校验位" in query.error


def _names(raw: str, scope: TerritorialScope = EVERYTHING) -> set[str]:
    return set(person_search(scope, classify_person_query(raw)).values_list("name", flat=True))


@pytest.fixture
def people(territory: None) -> dict[str, Any]:
    return {
        "zhang": person_in(GRID, name="张三丰", born="19491231", seq=2, phone="13900001234"),
        "zhang2": person_in(GRID, name="张三", born="19800101", seq=11, phone="13900005678"),
        "ouyang": person_in(GRID, name="欧阳明华", born="19900505", seq=21, phone=""),
        "floating": person_in(
            GRID, name="李流动", born="19950707", seq=33, area="410102", hukou="floating"
        ),
    }


def test_people_by_name(people: dict[str, Any]) -> None:
    assert _names("张三") == {"张三丰", "张三"}  # two characters: a prefix
    assert _names("张") == {"张三丰", "张三"}
    assert _names("三丰") == set()  # not a prefix, and too short for anywhere
    assert _names("明华") == set()
    assert _names("阳明华") == {"欧阳明华"}  # three or more: anywhere in the name
    assert _names("欧阳明华") == {"欧阳明华"}
    assert _names("王") == set()


def test_people_by_identity_number_fragment_and_phone(people: dict[str, Any]) -> None:
    zhang = people["zhang"]
    assert zhang.number == "11010519491231002X"
    for raw in (zhang.number, zhang.number.lower(), " 110105 19491231 002x "):
        assert _names(raw) == {"张三丰"}, raw
    assert _names(id_number("19491231", 4)) == set()  # valid, but nobody has it
    assert _names("110105194912310021") == set()
    assert _names("110105********002X") == {"张三丰"}
    assert _names("110105*002x") == {"张三丰"}
    assert _names("****002X") == {"张三丰"}
    tail = people["floating"].number[-4:]
    assert _names(f"410102*{tail}") == {"李流动"}
    assert _names(f"110105*{tail}") == set()  # right tail, wrong area
    assert _names("139 0000 1234") == {"张三丰"}
    assert _names("+86 139-0000-5678") == {"张三"}
    assert _names("13900009999") == set()


def test_filters_combine_with_the_query(people: dict[str, Any]) -> None:
    from population.selectors import PersonFilters

    found = person_search(
        EVERYTHING, classify_person_query(""), PersonFilters(hukou="floating")
    ).values_list("name", flat=True)
    assert set(found) == {"李流动"}


def test_full_number_lookup_uses_the_blind_index(people: dict[str, Any]) -> None:
    qs = person_search(EVERYTHING, classify_person_query(people["zhang"].number))
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        sql, params = qs.query.sql_with_params()
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "id_number_index" in plan


def test_fragment_lookup_uses_the_tail_index(people: dict[str, Any]) -> None:
    """The last four are found through their blind index, never stored in clear."""
    for raw in ("110105*002X", "*002X"):
        qs = person_search(EVERYTHING, classify_person_query(raw))
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            sql, params = qs.query.sql_with_params()
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cur.fetchall())
        assert "person_id_tail_hash" in plan, plan
        assert "002X" not in str(params)  # the query carries the index, not the digits


def test_housing_by_address_in_any_spelling(territory: None) -> None:
    building = building_create(
        data=BuildingInput(address="朝阳区建国路88号楼", location=grid_point(GRID))
    )
    housing_unit_create(building=building, unit="2", room="301")
    housing_unit_create(building=building, unit="2", room="302")
    other = building_create(data=BuildingInput(address="光华路5号", location=grid_point(GRID)))
    housing_unit_create(building=other, unit="1", room="101")

    def found(raw: str) -> set[str]:
        return set(housing_search(EVERYTHING, raw).values_list("room", flat=True))

    assert found("建国路８８号楼２单元３０１室") == {"301"}
    assert found("北京市朝阳区 建国路88栋2单元301") == {"301"}
    assert found("建国路88号") == {"301", "302"}
    assert found("光华路") == {"101"}
    assert found("长安街") == set()


def test_organisations_by_name_or_credit_code(territory: None) -> None:
    org = organisation_in(GRID, name="北京朝阳测试科技有限公司", code=credit_code("MA0ABCDEF"))
    organisation_in(GRID, name="王记便利店", code=credit_code("L12345678"))

    def found(raw: str) -> set[str]:
        return set(organisation_search(EVERYTHING, raw).values_list("name", flat=True))

    assert found("测试科技") == {"北京朝阳测试科技有限公司"}
    assert found("王记") == {"王记便利店"}
    assert found(org.credit_code) == {org.name}
    assert found(org.credit_code.lower()) == {org.name}
    assert found(org.credit_code[:10]) == {org.name}
    assert found("91110105") == {org.name, "王记便利店"}
    bad = org.credit_code[:-1] + ("1" if org.credit_code[-1] != "1" else "2")
    assert found(bad) == set()


def test_search_page_shows_masked_values_only(people: dict[str, Any]) -> None:

    run_seed_demo()
    client = client_for("jianwai_leader")
    zhang = people["zhang"]
    for q in (zhang.number, "张三丰", zhang.phone):
        page = client.get("/population/", {"q": q}).content.decode()
        # The results: masked only (the search box shows back what the user typed).
        results = page[page.index("<table") : page.index("</table>")]
        assert "张三丰" in results
        assert zhang.number not in results and zhang.phone not in results
        assert "110105**********2X" in results and "139****1234" in results
    page = client.get("/population/", {"q": "张三丰"}).content.decode()
    assert zhang.number not in page and zhang.phone not in page
    page = client.get("/population/", {"q": "110105194912310021"}).content.decode()
    assert "校验位" in page and "没有找到符合条件的记录" in page
    # Pagination: 50 a page, the rest behind a next-page link.
    for n in range(55):
        person_in(GRID, name=f"分页{n:02d}")
    first = client.get("/population/", {"q": "分页"}).content.decode()
    assert "共 55 条记录" in first and "分页00" in first and "分页54" not in first
    second = client.get("/population/", {"q": "分页", "page": "2"}).content.decode()
    assert "分页54" in second and "分页00" not in second


def test_a_typed_number_never_lands_in_a_url(people: dict[str, Any]) -> None:

    run_seed_demo()
    client = client_for("jianwai_leader")
    zhang = people["zhang"]
    for q in (zhang.number, zhang.phone, "110105*002X"):
        response = client.post("/population/", {"kind": "persons", "q": q})
        assert response.status_code == 302
        location = response["Location"]
        assert q not in location and "q=" not in location and "qt=" in location
        page = client.get(location).content.decode()
        results = page[page.index("<table") : page.index("</table>")]
        assert "张三丰" in results and "张三" not in results.replace("张三丰", "")
        # Export and pagination links carry the token, not the number.
        assert zhang.number not in page.replace(f'value="{zhang.number}"', "")
        export = client.get("/population/export/persons.xlsx?" + location.split("?", 1)[1])
        assert export.status_code == 200 and export["X-Export-Rows"] == "1"
    # Another session does not know the token.
    token_url = client.post("/population/", {"q": zhang.number})["Location"]
    stranger = client_for("jianwai_operator")
    assert "张三丰" in stranger.get(token_url).content.decode()  # the list, unfiltered
    assert "共 1 条记录" not in stranger.get(token_url).content.decode()
    # A name is no secret: it stays in the URL, so the link can be shared.
    response = client.post("/population/", {"kind": "persons", "q": "张三"})
    assert "q=%E5%BC%A0%E4%B8%89" in response["Location"]


def test_identifier_searches_are_capped_per_user_and_day(
    people: dict[str, Any], settings: Any
) -> None:
    """Enough "is this number here?" questions would rebuild a number the pages never show
    (a hundred fragments for the last four, then a few dozen whole numbers): they are
    capped per user and day; names are not."""

    run_seed_demo()
    settings.POPULATION_IDENTIFIER_SEARCHES_PER_DAY = 3
    client = client_for("jianwai_leader")
    zhang = people["zhang"]
    for q in ("*0001", "*0002", zhang.number):
        location = client.post("/population/", {"kind": "persons", "q": q})["Location"]
        assert "qt=" in location
    refused = client.post("/population/", {"kind": "persons", "q": zhang.number}, follow=True)
    page = refused.content.decode()
    assert "查询的次数已达上限" in page and "qt=" not in refused.redirect_chain[-1][0]
    typed = client.get("/population/", {"q": zhang.phone}).content.decode()
    assert "查询的次数已达上限" in typed and "共 1 条记录" not in typed
    by_name = client.post("/population/", {"kind": "persons", "q": "张三丰"}, follow=True)
    assert "共 1 条记录" in by_name.content.decode()
    # Another user has their own allowance.
    other = client_for("jianwai_operator")
    assert "qt=" in other.post("/population/", {"q": zhang.number})["Location"]
