"""Revealing a full identity number or phone: permission, reason, one audit row; the audit
list and its exports for data administrators; clear exports audited per person."""

from datetime import date, datetime
from io import BytesIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone, translation
from openpyxl import load_workbook

from population.models import RevealAudit
from population.reveal import Field, NotVisible, RevealRefused, reveal_person
from tests.factories import client_for, demo_grids, organisation_in, person_in, run_seed_demo

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}
REASON = "入户核实户籍信息"


@pytest.fixture
def world(territory: None) -> dict[str, Any]:
    run_seed_demo()
    grids = demo_grids()
    return {
        "jianwai": person_in(grids["grid1"], name="建外居民", phone="13612345678"),
        "wangjing": person_in(grids["wangjing"], name="望京居民", phone="13787654321"),
        "org": organisation_in(grids["grid1"], name="建外商店", phone="13511112222"),
    }


def _streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _rows(response: Any) -> list[tuple[Any, ...]]:
    book = load_workbook(BytesIO(_streamed(response)), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def cells_of(rows: list[tuple[Any, ...]]) -> list[Any]:
    return [c for row in rows for c in row]


def _url(placed: Any) -> str:
    return f"/population/persons/{placed.person.pk}/reveal/"


def test_without_permission_nothing_is_revealed_or_audited(world: dict[str, Any]) -> None:
    client = client_for("jianwai_leader")  # sees the person, may not reveal
    detail = client.get(f"/population/persons/{world['jianwai'].person.pk}/").content.decode()
    assert "查看完整身份证号" not in detail and world["jianwai"].number not in detail
    for extra in (JSON, {}):
        response = client.post(_url(world["jianwai"]), {"reason": REASON}, headers=extra)
        assert response.status_code == 403
        assert world["jianwai"].number not in response.content.decode()
    response = client.post(
        f"/population/organisations/{world['org'].pk}/reveal/", {"reason": REASON}, headers=JSON
    )
    assert response.status_code == 403
    assert RevealAudit.objects.count() == 0


@pytest.mark.parametrize("reason", ["", "   ", "看看", "abc"])
def test_a_reason_is_required(world: dict[str, Any], reason: str) -> None:
    client = client_for("data_admin")
    response = client.post(_url(world["jianwai"]), {"reason": reason}, headers=JSON)
    assert response.status_code == 400
    assert "原因" in response.json()["error"]
    page = client.post(_url(world["jianwai"]), {"reason": reason})
    assert page.status_code == 400
    assert "查看原因" in page.content.decode()
    assert world["jianwai"].number not in page.content.decode()
    assert RevealAudit.objects.count() == 0


def test_a_refusal_is_in_the_language_of_the_request(world: dict[str, Any]) -> None:
    # LocaleMiddleware leaves the language of the last request active in this thread;
    # the override puts the default back for the tests that follow.
    with translation.override(settings.LANGUAGE_CODE):
        client = client_for("data_admin")
        chinese = client.post(_url(world["jianwai"]), {"reason": "看看"}, headers=JSON)
        assert chinese.json()["error"] == "请填写查看原因(至少 4 个字)"
        english = client.post(
            _url(world["jianwai"]), {"reason": "看看"}, headers={**JSON, "Accept-Language": "en"}
        )
        assert english.status_code == 400
        assert english.json()["error"] == "Give a reason of at least 4 characters"
        # The organisation page shows the service's refusal as it is.
        page = client.post(
            f"/population/organisations/{world['org'].pk}/reveal/",
            {"reason": "看看"},
            headers={"Accept-Language": "en"},
        )
        assert page.status_code == 400
        assert "Give a reason of at least 4 characters" in page.content.decode()
        assert "请填写查看原因" not in page.content.decode()
        assert RevealAudit.objects.count() == 0


def test_permission_and_reason_reveal_and_audit_once(world: dict[str, Any]) -> None:
    client = client_for("data_admin")
    placed = world["jianwai"]
    detail = client.get(f"/population/persons/{placed.person.pk}/").content.decode()
    assert "查看完整身份证号" in detail and placed.number not in detail

    response = client.post(
        _url(placed), {"reason": REASON, "field": "id_number"}, REMOTE_ADDR="10.1.2.3", headers=JSON
    )
    assert response.status_code == 200
    # The birth date comes with the revealed number only (the page showed the age).
    born = f"{placed.number[6:10]}-{placed.number[10:12]}-{placed.number[12:14]}"
    assert response.json() == {"field": "id_number", "value": placed.number, "birth_date": born}
    assert "no-store" in response["Cache-Control"]
    audit = RevealAudit.objects.get()
    assert audit.user.username == "data_admin"
    assert (audit.person_id, audit.field, audit.reason, audit.ip) == (
        placed.person.pk,
        "id_number",
        REASON,
        "10.1.2.3",
    )

    # Without JavaScript the form posts and the page comes back with the value shown.
    page = client.post(_url(placed), {"reason": REASON, "field": "phone"})
    assert page.status_code == 200 and placed.phone in page.content.decode()
    assert born not in page.content.decode()  # a phone reveal tells no birth date
    assert RevealAudit.objects.count() == 2
    assert RevealAudit.objects.filter(field="phone").count() == 1

    org = world["org"]
    response = client.post(
        f"/population/organisations/{org.pk}/reveal/", {"reason": REASON}, headers=JSON
    )
    assert response.json()["value"] == "13511112222"
    assert RevealAudit.objects.filter(organisation=org, field="contact_phone").count() == 1


def test_permission_does_not_reach_outside_the_jurisdiction(world: dict[str, Any]) -> None:
    leader = get_user_model().objects.get(username="jianwai_leader")
    leader.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    client = client_for("jianwai_leader")
    assert client.post(_url(world["wangjing"]), {"reason": REASON}, headers=JSON).status_code == 404
    assert RevealAudit.objects.count() == 0
    ok = client.post(_url(world["jianwai"]), {"reason": REASON}, headers=JSON)
    assert ok.json()["value"] == world["jianwai"].number
    with pytest.raises(NotVisible):
        reveal_person(
            user=get_user_model().objects.get(username="jianwai_leader"),
            person_id=world["wangjing"].person.pk,
            field=Field.ID_NUMBER,
            reason=REASON,
        )
    with pytest.raises(RevealRefused):
        reveal_person(
            user=get_user_model().objects.get(username="jianwai_leader"),
            person_id=world["jianwai"].person.pk,
            field=Field.ID_NUMBER,
            reason="短",
        )
    assert RevealAudit.objects.count() == 1


def test_a_number_typed_into_the_reason_is_kept_masked(world: dict[str, Any]) -> None:
    placed = world["jianwai"]
    reason = f"核对 {placed.number} 与电话 {placed.phone}"
    response = client_for("data_admin").post(_url(placed), {"reason": reason}, headers=JSON)
    assert response.json()["value"] == placed.number
    stored = RevealAudit.objects.get().reason
    assert placed.number not in stored and placed.phone not in stored
    assert stored == f"核对 {placed.person.id_number_masked} 与电话 136****5678"


def test_audit_list_and_exports_for_data_administrators(world: dict[str, Any]) -> None:
    admin = client_for("data_admin")
    admin.post(_url(world["jianwai"]), {"reason": REASON}, headers=JSON)
    admin.post(_url(world["wangjing"]), {"reason": "核对流动人口登记"}, headers=JSON)

    page = admin.get("/population/audit/").content.decode()
    assert REASON in page and "核对流动人口登记" in page and "data_admin" in page
    assert world["jianwai"].number not in page  # the audit names people masked
    filtered = admin.get("/population/audit/", {"user": "nobody"}).content.decode()
    assert REASON not in filtered and "没有符合条件的查看记录" in filtered

    csv_text = _streamed(admin.get("/population/audit/export.csv")).decode()
    assert csv_text.startswith("\ufeff") and REASON in csv_text
    assert world["jianwai"].person.id_number_masked in csv_text
    assert world["jianwai"].number not in csv_text
    rows = _rows(admin.get("/population/audit/export.xlsx"))
    assert len(rows) == 3 and {r[6] for r in rows[1:]} == {REASON, "核对流动人口登记"}

    for username in ("jianwai_leader", "district_leader", "jianwai_grid1"):
        client = client_for(username)
        assert client.get("/population/audit/").status_code == 403
        assert client.get("/population/audit/export.csv").status_code == 403


def test_admin_audit_is_read_only_with_export_actions(world: dict[str, Any]) -> None:
    admin = client_for("data_admin")
    admin.post(_url(world["jianwai"]), {"reason": REASON}, headers=JSON)
    audit = RevealAudit.objects.get()
    assert admin.get("/admin/population/revealaudit/").status_code == 200
    assert admin.get("/admin/population/revealaudit/add/").status_code == 403
    response = admin.post(
        "/admin/population/revealaudit/",
        {"action": "export_audit_csv", "_selected_action": [audit.pk]},
    )
    assert response.status_code == 200 and REASON in response.content.decode()
    response = admin.post(
        "/admin/population/revealaudit/",
        {"action": "export_audit_xlsx", "_selected_action": [audit.pk]},
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    # The person admin shows masked values; a full number finds through the blind index.
    listing = admin.get("/admin/population/person/", {"q": world["jianwai"].number})
    body = listing.content.decode()
    start = body.index("<tbody>", body.index('id="result_list"'))  # rows, not sort links
    results = body[start : body.index("</tbody>", start)]
    assert "建外居民" in results and "望京居民" not in results
    assert f">{world['jianwai'].person.id_number_masked}<" in results
    # Links echo the query the user typed; no cell shows the number.
    assert f">{world['jianwai'].number}<" not in results


def test_exports_are_masked_unless_revealed_with_a_reason(world: dict[str, Any]) -> None:
    admin = client_for("data_admin")
    masked = _rows(admin.get("/population/export/persons.xlsx"))
    cells = {str(c) for row in masked for c in row}
    assert world["jianwai"].person.id_number_masked in cells
    assert world["jianwai"].number not in cells and world["jianwai"].phone not in cells
    assert RevealAudit.objects.count() == 0

    refused = admin.post("/population/export/persons.xlsx", {"reason": ""})
    assert refused.status_code == 302 and RevealAudit.objects.count() == 0
    leader = client_for("district_leader")  # sees everyone, may not reveal
    assert leader.post("/population/export/persons.xlsx", {"reason": REASON}).status_code == 403
    assert RevealAudit.objects.count() == 0

    # Masked: the age, never the birth date; clear: the birth date read from the number.
    number = world["jianwai"].number
    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert masked[0][3] == "年龄"
    row = next(r for r in masked if r[0] == "建外居民")
    assert row[3] == timezone.localdate().year - born.year
    assert not any(isinstance(c, datetime) and c.date() == born for c in cells_of(masked))
    clear = _rows(admin.post("/population/export/persons.xlsx", {"reason": REASON, "q": "建外"}))
    assert [r[1] for r in clear[1:]] == [world["jianwai"].number]
    assert clear[1][4] == world["jianwai"].phone
    assert clear[0][3] == "出生日期" and clear[1][3].date() == born
    audits = RevealAudit.objects.all()
    assert {(a.person_id, a.field) for a in audits} == {
        (world["jianwai"].person.pk, "id_number"),
        (world["jianwai"].person.pk, "phone"),
    }
    assert {a.reason for a in audits} == {REASON}

    orgs = _rows(admin.post("/population/export/organisations.xlsx", {"reason": REASON}))
    assert "13511112222" in {r[5] for r in orgs[1:]}
    assert RevealAudit.objects.filter(field="contact_phone").count() == 1


def test_a_long_export_is_cut_at_the_cap_and_says_so(world: dict[str, Any]) -> None:
    from population.export import export_persons
    from population.models import Person

    admin = get_user_model().objects.get(username="data_admin")
    out = export_persons(user=admin, qs=Person.objects.order_by("id"), limit=1)
    assert (out.rows, out.truncated) == (1, True)
    rows = list(load_workbook(out.file, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3 and "仅导出前 1 行" in str(rows[-1][0])
    clear = export_persons(
        user=admin, qs=Person.objects.order_by("id"), clear=True, reason=REASON, limit=1
    )
    assert clear.truncated
    # Only the exported row is audited, not the one that told the list was longer.
    assert RevealAudit.objects.filter(field="id_number").count() == 1
