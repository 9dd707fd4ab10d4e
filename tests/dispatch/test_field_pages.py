"""Field pages through Django's test client: the grid worker's report and tasks, the
department inbox, the hotline form, the case page's action forms, and who sees what."""

import io
import re
import uuid
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image
from pytest_django.fixtures import Settings

from cases.models import Attachment, Case, Status
from dispatch.models import Assignment, Department
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.services.transitions import ActionInput, case_act
from grids.models import Region

pytestmark = pytest.mark.django_db

GRID1 = "110105001001001"  # jianwai_grid1's grid
GRID2 = "110105001001002"  # jianwai_grid2's grid
JIANWAI = "110105001"
DONGCHENG = (116.3975, 39.9087)  # Tiananmen: Dongcheng, west of Chaoyang
GPS_IFD = 0x8825


@pytest.fixture
def demo(territory: None, settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=StringIO())


def login(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def point_in(code: str) -> tuple[float, float]:
    p = Region.objects.get(code=code).boundary.point_on_surface
    return p.x, p.y


def jpeg(gps: tuple[float, float] | None = None, colour: str = "red") -> bytes:
    image = Image.new("RGB", (32, 24), colour)
    exif = Image.Exif()
    if gps is not None:
        ifd = exif.get_ifd(GPS_IFD)
        for ref, idx, value, pos in ((1, 2, gps[1], "N"), (3, 4, gps[0], "E")):
            deg = int(value)
            minutes = int((value - deg) * 60)
            ifd[ref] = pos
            ifd[idx] = (deg, minutes, round(((value - deg) * 60 - minutes) * 60, 4))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload(name: str = "IMG_1.jpg", **kw: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg(**kw), content_type="image/jpeg")


def report_form(code: str = GRID1, **overrides: Any) -> dict[str, Any]:
    lng, lat = point_in(code)
    data: dict[str, Any] = {
        "category": "0601",
        "description": "楼门口堆放袋装垃圾",
        "urgency": "normal",
        "lng": f"{lng:.7f}",
        "lat": f"{lat:.7f}",
        "idempotency_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def hotline_case(code: str = GRID1, operator: str = "jianwai_operator") -> Case:
    """A citizen's call in a grid: it waits for the grid worker's verification."""
    lng, lat = point_in(code)
    data = IntakeInput(
        category="0601",
        description="市民来电:路边有垃圾",
        source="hotline",
        lng=lng,
        lat=lat,
        citizen_name="王先生",
        citizen_phone="13800138000",
    )
    return case_intake(user=User.objects.get(username=operator), data=data).case


def act(case: Case, username: str, action: str, **kw: Any) -> Case:
    return case_act(
        case_id=case.id,
        user=User.objects.get(username=username),
        action=action,
        data=ActionInput(**kw),
    )


def worker_case(code: str = GRID1, reporter: str = "jianwai_grid1") -> Case:
    lng, lat = point_in(code)
    data = IntakeInput(
        category="0601", description="暴露垃圾", source="grid_worker", lng=lng, lat=lat
    )
    return case_intake(user=User.objects.get(username=reporter), data=data).case


def dispatched(code: str = GRID1, kind: str = "sanitation") -> Case:
    case = worker_case(code)
    act(case, "jianwai_lead", "open")
    dept = Department.objects.get(code=f"{JIANWAI}-{kind}")
    return act(case, "jianwai_dispatcher", "dispatch", department_id=dept.id)


def done_case(code: str = GRID1) -> Case:
    case = act(dispatched(code), "jianwai_hw", "accept")
    return act(case, "jianwai_hw", "report_done", note="已清理", photos=[jpeg()])


def text(response: Any) -> str:
    return response.content.decode()


# ---- access ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/field/report/", "/field/tasks/", "/field/inbox/", "/field/hotline/"]
)
def test_field_pages_require_login(demo: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("jianwai_hw", "/field/report/"),
        ("jianwai_operator", "/field/tasks/"),
        ("jianwai_grid1", "/field/inbox/"),
        ("jianwai_grid1", "/field/hotline/"),
    ],
)
def test_pages_refuse_roles_they_are_not_for(demo: None, username: str, path: str) -> None:
    response = login(username).get(path)
    assert response.status_code == 403
    assert "无权访问" in text(response)


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("jianwai_grid1", "/field/tasks/"),
        ("jianwai_hw", "/field/inbox/"),
        ("jianwai_operator", "/centre/"),
        ("jianwai_lead", "/centre/"),
        ("jianwai_dispatcher", "/centre/"),
        ("data_admin", "/map/"),
    ],
)
def test_home_sends_each_role_to_its_page(demo: None, username: str, landing: str) -> None:
    response = login(username).get("/")
    assert response.status_code == 302
    assert response["Location"] == landing


# ---- the grid worker's report ----------------------------------------------------------


def test_report_page_offers_two_level_category_camera_and_a_map(demo: None) -> None:
    page = text(login("jianwai_grid1").get("/field/report/"))
    assert 'id="f-group"' in page and 'name="category"' in page
    assert re.search(r'<optgroup label="[^"]+" data-group="\d+">', page)
    photo_input = re.search(r'<input type="file" id="f-photos"[^>]*>', page)
    assert photo_input is not None
    assert 'accept="image/*"' in photo_input[0]
    assert 'capture="environment"' in photo_input[0]
    assert "multiple" in photo_input[0]
    assert 'data-idempotency="report"' in page
    assert GRID1 in page  # the worker's grid outline is drawn on the pick map


def test_report_with_a_photo_creates_a_case_in_the_workers_grid(demo: None) -> None:
    client = login("jianwai_grid1")
    response = client.post("/field/report/", {**report_form(), "photos": [upload()]})
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/field/report/{case.id}/done/"
    assert case.grid is not None and case.grid.code == GRID1
    assert case.reporter is not None
    assert (case.source, case.status, case.reporter.username) == (
        "grid_worker",
        Status.REPORTED,
        "jianwai_grid1",
    )
    assert case.attachments.filter(kind=Attachment.Kind.BEFORE).count() == 1
    done = text(client.get(response["Location"]))
    assert case.number in done
    assert "上报成功" in done


def test_report_without_gps_uses_the_photos_position(demo: None) -> None:
    lng, lat = point_in(GRID2)
    form = report_form(lng=None, lat=None)
    response = login("jianwai_grid1").post(
        "/field/report/", {**form, "photos": [upload(gps=(lng, lat))]}
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.grid is not None and case.grid.code == GRID2


def test_the_same_idempotency_key_twice_makes_one_case(demo: None) -> None:
    client = login("jianwai_grid1")
    form = report_form()
    first = client.post("/field/report/", {**form, "photos": [upload()]})
    second = client.post("/field/report/", {**form, "photos": [upload()]})
    case = Case.objects.get()
    assert first["Location"] == f"/field/report/{case.id}/done/"
    assert second["Location"] == f"/field/report/{case.id}/done/?repeat=1"
    page = text(client.get(second["Location"]))
    assert "该表单已提交过" in page and case.number in page
    # The success page tells the browser which key is spent, so the next form gets a new one.
    assert f'data-used-key="{form["idempotency_key"]}"' in page
    # A new form (a new key) is a new case.
    client.post("/field/report/", report_form())
    assert Case.objects.count() == 2


def test_a_point_outside_the_district_is_refused_with_the_reason(demo: None) -> None:
    lng, lat = DONGCHENG
    form = report_form(lng=str(lng), lat=str(lat))
    response = login("jianwai_grid1").post("/field/report/", form)
    assert response.status_code == 400
    page = text(response)
    assert "不在朝阳区" in page and "东城区" in page
    assert "/ outside" not in page  # the Chinese half only, on a phone
    assert Case.objects.count() == 0
    # The form keeps what was typed, and the key: sending it again is the same report.
    assert "楼门口堆放袋装垃圾" in page
    assert form["idempotency_key"] in page


def test_missing_fields_are_reported_beside_each_field(demo: None) -> None:
    form = report_form(category="", description="")
    response = login("jianwai_grid1").post("/field/report/", form)
    assert response.status_code == 400
    page = text(response)
    assert 'id="f-category-error">请选择问题小类' in page
    assert 'id="f-description-error">请描述问题' in page
    assert 'id="error-summary"' in page
    assert Case.objects.count() == 0


def test_a_bad_photo_is_a_field_error_not_a_case(demo: None) -> None:
    bad = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    response = login("jianwai_grid1").post("/field/report/", {**report_form(), "photos": [bad]})
    assert response.status_code == 400
    assert 'id="f-photos-error">不是有效的图片文件' in text(response)
    assert Case.objects.count() == 0


# ---- hotline -----------------------------------------------------------------------------


def test_hotline_call_inside_the_district_waits_for_verification(demo: None) -> None:
    client = login("jianwai_operator")
    lng, lat = point_in(GRID1)
    form = {
        "citizen_name": "李女士",
        "citizen_phone": "13912345678",
        "category": "0601",
        "description": "小区门口垃圾没人清",
        "address": "建外第一社区东门",
        "lng": str(lng),
        "lat": str(lat),
        "urgency": "urgent",
        "idempotency_key": str(uuid.uuid4()),
    }
    response = client.post("/field/hotline/", form)
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.source, case.status, case.urgency) == ("hotline", Status.VERIFYING, "urgent")
    page = text(client.get(response["Location"]))
    assert case.number in page
    assert "/centre/" in page
    assert "13912345678" not in page  # the phone is stored encrypted and shown masked


def test_hotline_point_outside_offers_and_then_registers_outside_jurisdiction(
    demo: None,
) -> None:
    client = login("jianwai_operator")
    lng, lat = DONGCHENG
    form = {
        "citizen_phone": "13912345678",
        "category": "0601",
        "description": "天安门附近垃圾",
        "lng": str(lng),
        "lat": str(lat),
        "idempotency_key": str(uuid.uuid4()),
    }
    refused = client.post("/field/hotline/", form)
    assert refused.status_code == 400
    page = text(refused)
    assert "东城区" in page
    # The server said the point is outside: the checkbox is shown, no longer hidden.
    assert re.search(r'<div class="outside-box" id="outside-box">', page)
    assert Case.objects.count() == 0

    response = client.post("/field/hotline/", {**form, "register_outside": "1"})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.outside_jurisdiction and case.grid is None
    assert case.handling_level == "district"
    assert "非本辖区" in text(client.get(response["Location"]))


def test_hotline_form_hides_the_outside_box_until_the_server_says_so(demo: None) -> None:
    page = text(login("jianwai_operator").get("/field/hotline/"))
    assert '<div class="outside-box" id="outside-box" hidden>' in page
    assert 'name="citizen_phone"' in page


# ---- my tasks and the inbox: scoped -------------------------------------------------------


def test_a_grid_worker_sees_only_their_grids_tasks(demo: None) -> None:
    verify1, verify2 = hotline_case(GRID1), hotline_case(GRID2)
    check1 = done_case(GRID1)
    page1 = text(login("jianwai_grid1").get("/field/tasks/"))
    page2 = text(login("jianwai_grid2").get("/field/tasks/"))
    assert verify1.number in page1 and check1.number in page1
    assert verify2.number not in page1
    assert verify2.number in page2
    assert verify1.number not in page2 and check1.number not in page2
    wangjing = text(login("wangjing_grid1").get("/field/tasks/"))
    assert "没有待核实的案件" in wangjing and verify1.number not in wangjing


def test_a_grid_worker_cannot_open_another_grids_case_or_photo(demo: None) -> None:
    case = done_case(GRID1)
    photo = case.attachments.get()
    assert login("jianwai_grid2").get(f"/field/cases/{case.id}/").status_code == 404
    assert login("jianwai_grid2").get(f"/field/photos/{photo.id}/thumb/").status_code == 404
    for username in ("jianwai_grid1", "jianwai_hw", "jianwai_lead", "district_leader"):
        response = login(username).get(f"/field/photos/{photo.id}/thumb/")
        assert response.status_code == 200, username
        assert response["Content-Type"] == "image/jpeg"
    for username in ("wangjing_lead", "wangjing_hw", "jianwai_cg"):
        assert login(username).get(f"/field/photos/{photo.id}/").status_code == 404, username


def test_a_handler_sees_only_their_departments_tasks_grouped(demo: None) -> None:
    sanitation = dispatched(GRID1, "sanitation")
    enforcement = dispatched(GRID2, "enforcement")
    hw = login("jianwai_hw")
    page = text(hw.get("/field/inbox/"))
    assert sanitation.number in page and enforcement.number not in page
    assert enforcement.number in text(login("jianwai_cg").get("/field/inbox/"))
    assert sanitation.number not in text(login("wangjing_hw").get("/field/inbox/"))
    assert hw.get(f"/field/cases/{enforcement.id}/").status_code == 404

    def group_of(number: str) -> str:
        page = text(hw.get("/field/inbox/"))
        for key, body in re.findall(r'<ul class="cards" data-group="(\w+)">(.*?)</ul>', page, re.S):
            if number in body:
                return str(key)
        return ""

    assert group_of(sanitation.number) == "new"
    act(sanitation, "jianwai_hw", "accept")
    assert group_of(sanitation.number) == "progress"
    deadline = timezone.now() + timedelta(days=30)
    act(sanitation, "jianwai_hw", "request_extension", note="需要协调", deadline=deadline)
    assert group_of(sanitation.number) == "requests"
    act(sanitation, "jianwai_dispatcher", "reject_extension", note="不同意")
    case = act(sanitation, "jianwai_hw", "report_done", note="已清理", photos=[jpeg()])
    act(case, "jianwai_grid1", "check_fail", note="仍有垃圾", photos=[jpeg()])
    assert group_of(sanitation.number) == "rework"


# ---- action forms on the case page ----------------------------------------------------------


def post_action(client: Client, case: Case, action: str, **data: Any) -> Any:
    payload: dict[str, Any] = {"action": action, "version": case.version}
    payload.update(data)
    return client.post(f"/field/cases/{case.id}/act/", payload)


def test_case_page_offers_this_users_actions_only(demo: None) -> None:
    case = hotline_case(GRID1)
    page = text(login("jianwai_grid1").get(f"/field/cases/{case.id}/"))
    assert 'data-action="verify"' in page
    assert 'name="version" value="1"' in page
    assert 'data-action="open"' not in page
    assert "上报" in page  # the timeline's first step


def test_verify_then_accept_done_and_check_through_the_forms(demo: None) -> None:
    case = hotline_case(GRID1)
    worker = login("jianwai_grid1")
    response = post_action(worker, case, "verify", result="confirmed", note="属实")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.VERIFIED
    assert "已完成“核实”" in text(worker.get(response["Location"]))

    act(case, "jianwai_lead", "open")
    dept = Department.objects.get(code=f"{JIANWAI}-sanitation")
    case = act(case, "jianwai_dispatcher", "dispatch", department_id=dept.id)
    handler = login("jianwai_hw")
    assert post_action(handler, case, "accept").status_code == 302
    case.refresh_from_db()
    response = post_action(handler, case, "report_done", note="已清理干净", photos=[upload()])
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DONE
    assert case.attachments.filter(kind=Attachment.Kind.AFTER).count() == 1

    response = post_action(worker, case, "check_pass", photos=[upload(colour="blue")])
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CHECKED
    page = text(worker.get(f"/field/cases/{case.id}/"))
    for step in ("上报", "核实", "立案", "派遣", "签收", "处置反馈", "核查通过"):
        assert f"<strong>{step}</strong>" in page


def test_a_stale_version_is_a_conflict_shown_on_the_page(demo: None) -> None:
    case = dispatched()
    handler = login("jianwai_hw")
    stale = case.version
    act(case, "jianwai_hw", "accept")  # someone else in the department was faster
    response = handler.post(f"/field/cases/{case.id}/act/", {"action": "accept", "version": stale})
    assert response.status_code == 409
    assert "案件已被他人处理,请刷新" in text(response)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    assert case.events.filter(action="accept").count() == 1


def test_missing_inputs_are_shown_on_the_actions_form(demo: None) -> None:
    case = act(dispatched(), "jianwai_hw", "accept")
    response = post_action(login("jianwai_hw"), case, "report_done", note="")
    assert response.status_code == 400
    page = text(response)
    assert 'id="report_done-note-error">请填写意见或原因' in page
    assert 'id="report_done-photos-error">请上传照片' in page
    assert re.search(r'<details class="action" id="action-report_done" open>', page)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED


def test_check_fail_needs_a_note_and_photos(demo: None) -> None:
    case = done_case()
    response = post_action(login("jianwai_grid1"), case, "check_fail", photos=[upload()])
    assert response.status_code == 400
    assert 'id="check_fail-note-error">请填写意见或原因' in text(response)
    case.refresh_from_db()
    assert case.status == Status.DONE and case.rework_count == 0


def test_return_asks_for_confirmation_and_extension_takes_a_deadline(demo: None) -> None:
    case = act(dispatched(), "jianwai_hw", "accept")
    handler = login("jianwai_hw")
    page = text(handler.get(f"/field/cases/{case.id}/"))
    assert re.search(r'data-action="return" data-confirm="[^"]+"', page)
    bad = post_action(handler, case, "request_extension", note="需协调", deadline="明天")
    assert bad.status_code == 400
    assert 'id="request_extension-deadline-error">时间格式不正确' in text(bad)
    later = timezone.localtime() + timedelta(days=20)
    response = post_action(
        handler,
        case,
        "request_extension",
        note="需要协调产权单位",
        deadline=later.strftime("%Y-%m-%dT%H:%M"),
    )
    assert response.status_code == 302
    assignment = Assignment.objects.get(case=case, active=True)
    assert assignment.pending_request == "extension"
    assert assignment.requested_deadline is not None
    assert abs(assignment.requested_deadline - later) < timedelta(minutes=1)


def test_an_action_the_user_may_not_take_is_refused(demo: None) -> None:
    case = dispatched()
    response = post_action(login("jianwai_grid1"), case, "accept")
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
