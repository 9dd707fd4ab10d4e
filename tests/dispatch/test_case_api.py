"""POST /api/v1/cases/ (intake) and the case endpoints around it, over HTTP."""

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, CaseNumberCounter, Status
from dispatch.models import Notification
from grids.crs import wgs84_to_gcj02
from grids.models import Region
from tests.factories import GRID1, grid_point, module_demo

pytestmark = pytest.mark.django_db

URL = "/api/v1/cases/"
DONGCHENG = (116.3975, 39.9087)
M_LAT = 1 / 111_320  # one metre north, in degrees


demo = module_demo()


@pytest.fixture(autouse=True)
def media(settings: Settings, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def client_for(username: str) -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.get(username=username))
    return api


def photo() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), "brown").save(out, "JPEG")
    return SimpleUploadedFile("IMG_2001.jpg", out.getvalue(), content_type="image/jpeg")


def form(**overrides: Any) -> dict[str, Any]:
    lng, lat = grid_point()
    data: dict[str, Any] = {
        "category": "0601",
        "description": "楼门口堆放袋装垃圾",
        "source": "grid_worker",
        "lng": lng,
        "lat": lat,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def hotline_form(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "source": "hotline",
        "citizen_name": "王先生",
        "citizen_phone": "13800138000",
    }
    return form(**{**fields, **overrides})


def counts() -> tuple[int, int, int]:
    return Case.objects.count(), CaseNumberCounter.objects.count(), CaseEvent.objects.count()


def test_grid_worker_reports_with_a_photo_using_a_token(demo: None) -> None:
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token/", {"username": "jianwai_grid1", "password": "chaoyang2026"}
    )
    assert token.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    response = api.post(URL, form(photos=[photo()]), format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert re.fullmatch(r"110105-\d{8}-\d{5}", body["number"])
    assert body["status"] == "reported"
    assert body["grid"]["code"] == GRID1
    assert body["community"]["code"] == GRID1[:12]
    assert body["street"]["code"] == GRID1[:9]
    assert body["duplicates"] == []
    [attachment] = body["attachments"]
    assert attachment["kind"] == "before"
    assert attachment["image"].endswith(".jpg") and attachment["thumbnail"].endswith(".thumb.jpg")
    case = Case.objects.get(id=body["id"])
    assert (case.grid_id, case.street_id) == (
        Region.objects.get(code=GRID1).id,
        Region.objects.get(code=GRID1[:9]).id,
    )
    # The detail and the event log agree.
    detail = api.get(f"{URL}{case.id}/").json()
    assert detail["number"] == body["number"]
    events = api.get(f"{URL}{case.id}/events/").json()
    assert [e["action"] for e in events] == ["report"]
    assert len(events[0]["attachments"]) == 1


def test_hotline_reports_wait_for_verification(demo: None) -> None:
    response = client_for("jianwai_operator").post(URL, hotline_form(), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "verifying"
    assert response.json()["verification_required"] is True


def test_the_same_idempotency_key_answers_200_with_the_same_case(demo: None) -> None:
    api = client_for("jianwai_grid1")
    first = api.post(URL, form(), format="json", HTTP_IDEMPOTENCY_KEY="a1b2c3")
    again = api.post(URL, form(), format="json", HTTP_IDEMPOTENCY_KEY="a1b2c3")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["number"] == first.json()["number"]
    assert Case.objects.count() == 1
    other = api.post(URL, form(), format="json", HTTP_IDEMPOTENCY_KEY="d4e5f6")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_an_idempotency_key_reused_with_another_body_answers_422(demo: None) -> None:
    api = client_for("jianwai_grid1")
    first = api.post(URL, form(), format="json", HTTP_IDEMPOTENCY_KEY="k-77")
    before = counts()
    reused = api.post(
        URL, form(description="另一个问题"), format="json", HTTP_IDEMPOTENCY_KEY="k-77"
    )
    assert reused.status_code == 422
    assert reused["Content-Type"] == "application/problem+json"
    body = reused.json()
    assert body["code"] == "idempotency_key_reused"
    assert body["case_number"] == first.json()["number"]
    assert counts() == before
    # The very same request again is still the retry it always was.
    again = api.post(URL, form(), format="json", HTTP_IDEMPOTENCY_KEY="k-77")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_a_photo_counts_in_the_idempotency_fingerprint(demo: None) -> None:
    api = client_for("jianwai_grid1")
    first = api.post(URL, {**form(), "photos": [photo()]}, HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == 201, first.content
    again = api.post(URL, {**form(), "photos": [photo()]}, HTTP_IDEMPOTENCY_KEY="p-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    out = io.BytesIO()
    Image.new("RGB", (120, 90), "navy").save(out, "JPEG")
    other = SimpleUploadedFile("IMG_2002.jpg", out.getvalue(), content_type="image/jpeg")
    reused = api.post(URL, {**form(), "photos": [other]}, HTTP_IDEMPOTENCY_KEY="p-1")
    assert reused.status_code == 422, reused.content


def test_a_point_in_dongcheng_is_refused_naming_the_district(demo: None) -> None:
    before = counts()
    response = client_for("jianwai_grid1").post(
        URL, form(lng=DONGCHENG[0], lat=DONGCHENG[1]), format="json"
    )
    assert response.status_code == 422
    body = response.json()
    assert "东城区" in body["detail"]
    assert "东城区" in body["fields"]["location"][0]
    assert body["code"] == "validation_failed"
    assert counts() == before


def test_an_operator_registers_an_outside_point_for_the_district(demo: None) -> None:
    response = client_for("jianwai_operator").post(
        URL,
        hotline_form(lng=DONGCHENG[0], lat=DONGCHENG[1], register_outside=True),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outside_jurisdiction"] is True
    assert body["handling_level"] == "district"
    assert (body["grid"], body["street"]) == (None, None)
    # The district centre sees it in its list.
    listed = client_for("district_dispatcher").get(URL, {"status": "reported"}).json()
    assert body["id"] in [c["id"] for c in listed["results"]]


@pytest.mark.parametrize("username", ["jianwai_cg", "jianwai_leader"])
def test_roles_without_intake_get_403(demo: None, username: str) -> None:
    response = client_for(username).post(URL, hotline_form(), format="json")
    assert response.status_code == 403
    assert "不能登记案件" in response.json()["detail"]
    assert not Case.objects.exists()


def test_a_grid_worker_cannot_use_the_hotline_source(demo: None) -> None:
    response = client_for("jianwai_grid1").post(URL, hotline_form(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied" and "热线" in response.json()["detail"]
    assert not Case.objects.exists()


def test_anonymous_requests_are_refused(demo: None) -> None:
    response = APIClient().post(URL, form(), format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("data", "fields", "status"),
    [
        # Against the schema (a field missing, of the wrong type, not one of its values): 400.
        (
            {"category": None, "description": None, "source": None},
            {"category", "description", "source"},
            400,
        ),
        ({"source": "carrier_pigeon"}, {"source"}, 400),
        ({"lng": "east"}, {"lng"}, 400),
        ({"crs": "bd09"}, {"crs"}, 400),
        ({"description": "很" * 4001}, {"description"}, 400),
        # Only whitespace: the schema's `pattern` refuses it as the server does (a fuzzer
        # found "\n" schema-valid and refused).
        ({"description": "\n \u3000"}, {"description"}, 400),
        ({"category": "\t"}, {"category"}, 400),
        # Well-formed, refused by the rules: 422.
        ({"category": "9999"}, {"category"}, 422),
        ({"lat": None}, {"lat"}, 422),
        ({"lng": None, "lat": None}, {"location"}, 422),
    ],
)
def test_bad_input_is_refused_with_field_messages_and_no_row(
    demo: None, data: dict[str, Any], fields: set[str], status: int
) -> None:
    before = counts()
    payload = form()
    for key, value in data.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    response = client_for("jianwai_grid1").post(URL, payload, format="json")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == ("invalid" if status == 400 else "validation_failed")
    assert fields <= set(body["fields"]), body
    assert all(isinstance(body["fields"][f], list) and body["fields"][f] for f in fields)
    assert counts() == before


def test_the_citizens_phone_is_masked_in_every_response(demo: None) -> None:
    api = client_for("jianwai_operator")
    response = api.post(URL, hotline_form(citizen_phone="138 0013 8000"), format="json")
    assert response.status_code == 201
    assert response.json()["citizen_phone"] == "138****8000"
    assert "13800138000" not in response.content.decode()
    detail = api.get(f"{URL}{response.json()['id']}/")
    assert detail.json()["citizen_phone"] == "138****8000"
    assert "13800138000" not in detail.content.decode()


def test_duplicates_within_the_radius_come_back_with_the_new_case(demo: None) -> None:
    api = client_for("jianwai_grid1")
    _lng, lat = grid_point()
    first = api.post(URL, form(), format="json").json()
    near = api.post(URL, form(lat=lat + 30 * M_LAT), format="json").json()
    assert [d["number"] for d in near["duplicates"]] == [first["number"]]
    far = api.post(URL, form(lat=lat + 150 * M_LAT), format="json").json()
    assert first["number"] not in [d["number"] for d in far["duplicates"]]
    other = api.post(URL, form(category="1001"), format="json").json()
    assert other["duplicates"] == []


def test_merge_through_the_actions_endpoint(demo: None) -> None:
    _lng, lat = grid_point()
    target = client_for("jianwai_grid1").post(URL, form(), format="json").json()
    dup = client_for("jianwai_grid2").post(URL, form(lat=lat + 10 * M_LAT), format="json").json()
    assert [d["id"] for d in dup["duplicates"]] == [target["id"]]
    operator = client_for("jianwai_operator")
    actions = operator.get(f"{URL}{dup['id']}/available-actions/").json()
    merge = next(a for a in actions if a["action"] == "merge")
    assert merge["requires"] == ["target_case"]
    response = operator.post(
        f"{URL}{dup['id']}/actions/",
        {"action": "merge", "target_case": target["number"], "note": "同一处"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.MERGED
    assert response.json()["merged_into"] == target["number"]
    events = operator.get(f"{URL}{target['id']}/events/").json()
    assert [e["action"] for e in events] == ["report", "merged_from"]
    assert events[1]["note"] == dup["number"]
    told = set(
        Notification.objects.filter(case_id=dup["id"], kind="merged").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"jianwai_grid1", "jianwai_grid2"}


def test_gcj02_coordinates_are_converted(demo: None) -> None:
    lng, lat = grid_point()
    glng, glat = wgs84_to_gcj02(lng, lat)
    response = client_for("jianwai_grid1").post(
        URL, form(lng=glng, lat=glat, crs="gcj02"), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["lng"] == pytest.approx(lng, abs=1e-7)
    assert body["lat"] == pytest.approx(lat, abs=1e-7)
    assert body["grid"]["code"] == GRID1


# ---- what a client needs to act ------------------------------------------------------------


def test_verify_lists_the_results_a_grid_worker_may_give(demo: None) -> None:
    case = client_for("jianwai_operator").post(URL, hotline_form(), format="json").json()
    actions = client_for("jianwai_grid1").get(f"{URL}{case['id']}/available-actions/").json()
    verify = next(a for a in actions if a["action"] == "verify")
    result = next(i for i in verify["inputs"] if i["name"] == "result")
    assert result["required"] is True and result["type"] == "string"
    assert [(c["value"], c["label"]) for c in result["choices"]] == [
        ("confirmed", "问题属实"),
        ("not_found", "未发现问题"),
    ]
    photos = next(i for i in verify["inputs"] if i["name"] == "photos")
    assert (photos["type"], photos["choices"]) == ("files", None)
    # A value outside the list is refused by the API before the service sees it.
    refused = client_for("jianwai_grid1").post(
        f"{URL}{case['id']}/actions/", {"action": "verify", "result": "maybe"}, format="json"
    )
    assert refused.status_code == 400 and "result" in refused.json()["fields"]


def test_merge_takes_the_target_by_id_and_refuses_the_case_itself(demo: None) -> None:
    _lng, lat = grid_point()
    target = client_for("jianwai_grid1").post(URL, form(), format="json").json()
    dup = client_for("jianwai_grid2").post(URL, form(lat=lat + 10 * M_LAT), format="json").json()
    operator = client_for("jianwai_operator")
    itself = operator.post(
        f"{URL}{dup['id']}/actions/",
        {"action": "merge", "target_case": dup["number"]},
        format="json",
    )
    assert itself.status_code == 422
    assert itself.json()["fields"]["target_case"] == ["不能把案件合并到它自己"]
    in_english = operator.post(
        f"{URL}{dup['id']}/actions/",
        {"action": "merge", "target_case": str(dup["id"])},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert in_english.json()["fields"]["target_case"] == ["A case cannot be merged into itself."]
    by_id = operator.post(
        f"{URL}{dup['id']}/actions/",
        {"action": "merge", "target_case": str(target["id"])},
        format="json",
    )
    assert by_id.status_code == 200, by_id.content
    assert by_id.json()["merged_into"] == target["number"]


# ---- one time zone -------------------------------------------------------------------------

OFFSET = re.compile(r"[+-]\d\d:\d\d$|Z$")


def _times(value: Any) -> list[str]:
    """Every ISO 8601 time in a JSON value, however deep."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _times(v)]
    if isinstance(value, list):
        return [t for v in value for t in _times(v)]
    if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        return [value]
    return []


def test_every_time_in_every_answer_is_beijing_time(demo: None) -> None:
    """Times for people, in one zone: +08:00 in the intake answer, the case, its list, its
    events (deadlines inside event data included) and the change feed."""
    lead = client_for("jianwai_lead")
    created = lead.post(URL, hotline_form(source="web"), format="json")
    case = created.json()
    answers = [created.json(), lead.get(f"{URL}{case['id']}/").json(), lead.get(URL).json()]
    dispatcher = client_for("jianwai_dispatcher")
    worker = client_for("jianwai_grid1")
    worker.post(
        f"{URL}{case['id']}/actions/", {"action": "verify", "result": "confirmed"}, format="json"
    )
    lead.post(f"{URL}{case['id']}/actions/", {"action": "open"}, format="json")
    actions = dispatcher.get(f"{URL}{case['id']}/available-actions/").json()
    dispatch = next(a for a in actions if a["action"] == "dispatch")
    department = next(d["id"] for d in dispatch["departments"] if d["default"])
    dispatched = dispatcher.post(
        f"{URL}{case['id']}/actions/", {"action": "dispatch", "department": department}
    )
    assert dispatched.status_code == 200, dispatched.content
    answers += [
        dispatched.json(),
        lead.get(f"{URL}{case['id']}/events/").json(),
        lead.get(f"{URL}changes/", {"since": "2020-01-01T00:00:00Z"}).json(),
    ]
    times = [t for answer in answers for t in _times(answer)]
    assert len(times) >= 15
    assert all(t.endswith("+08:00") for t in times), [t for t in times if not t.endswith("+08:00")]
    events = answers[-2]
    assert any("deadline" in e["data"] for e in events)


# ---- strict filters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"open": "maybe"}, "open"),
        ({"supervised": "yes please"}, "supervised"),
        ({"created_after": ""}, "created_after"),
        ({"status": ""}, "status"),
        ({"status": "lost"}, "status"),
        ({"department": "12345678901234567890"}, "department"),
        ({"department": "1.5"}, "department"),
        ({"created_before": "yesterday"}, "created_before"),
        ({"queue": "everything"}, "queue"),
    ],
)
def test_a_filter_value_the_list_cannot_use_is_400(
    demo: None, params: dict[str, str], field: str
) -> None:
    response = client_for("jianwai_lead").get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_filters_take_any_offset_and_plain_booleans(demo: None) -> None:
    api = client_for("jianwai_grid1")
    made = api.post(URL, form(), format="json").json()
    lead = client_for("jianwai_lead")
    # An offset PostgreSQL cannot store (-18:01) is a valid ISO 8601 time all the same.
    far = lead.get(URL, {"created_before": "2999-01-01T00:00:00-18:01", "open": "true"})
    assert far.status_code == 200, far.content
    assert made["id"] in [c["id"] for c in far.json()["results"]]
    past = lead.get(URL, {"created_before": "2001-01-01T00:00:00-18:01", "open": "false"})
    assert past.status_code == 200 and past.json()["count"] == 0


def test_a_grid_worker_follows_a_report_made_outside_their_grid_everywhere(demo: None) -> None:
    """One visibility rule: a reporter sees what they reported — through the API as on the
    field pages — even in another grid of the street; a colleague of that other grid does
    not gain their other cases."""
    other_grid = (
        Region.objects.filter(level=4, code__startswith="110105001")
        .exclude(code__in=[GRID1, "110105001001002"])
        .order_by("code")
        .first()
    )
    assert other_grid is not None
    lng, lat = grid_point(other_grid.code)
    api = client_for("jianwai_grid1")
    made = api.post(URL, form(lng=lng, lat=lat), format="json").json()
    assert made["grid"]["code"] == other_grid.code
    assert api.get(f"{URL}{made['id']}/").status_code == 200
    assert made["id"] in [c["id"] for c in api.get(URL).json()["results"]]
    assert api.get(f"{URL}{made['id']}/events/").status_code == 200
    page = Client()
    page.force_login(User.objects.get(username="jianwai_grid1"))
    assert page.get(f"/field/cases/{made['id']}/").status_code == 200
    # Someone else's report in that grid stays out of sight.
    theirs = (
        client_for("jianwai_operator")
        .post(URL, hotline_form(lng=lng, lat=lat + 0.0001), format="json")
        .json()
    )
    assert api.get(f"{URL}{theirs['id']}/").status_code == 404


def test_the_schema_says_a_description_needs_text() -> None:
    """Whitespace-only text is refused with 400 above; the schema must say so, or a
    schema-valid request would be refused."""
    schemas = APIClient().get("/api/schema/?format=json").json()["components"]["schemas"]
    for name in ("IntakeRequest", "IntakeUploadRequest"):
        props = schemas[name]["properties"]
        assert props["description"]["pattern"] == props["category"]["pattern"] == "\\S"
