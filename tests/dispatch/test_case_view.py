"""The one case presentation: both pages draw each action from its Transition, so the
command centre's panel and the field case page agree on which actions ask first, and the
one ActionForm enforces the table's required inputs before the service is called."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client
from django.utils.datastructures import MultiValueDict
from pytest_django.fixtures import Settings

from cases.models import Case, Status
from dispatch.services.intake import IntakeInput, case_intake
from dispatch.views.case_view import ActionForm, action_view
from dispatch.workflow import BY_ACTION, MAX_PHOTOS, TRANSITIONS, Field, Transition
from grids.models import Region

pytestmark = pytest.mark.django_db

GRID1 = "110105001001001"


@pytest.fixture
def demo(territory: None, settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=StringIO())


def reported_case() -> Case:
    """A grid worker's report: REPORTED, waiting for a shift lead to open or void it."""
    p = Region.objects.get(code=GRID1).boundary.point_on_surface
    data = IntakeInput(
        category="0601", description="暴露垃圾", source="grid_worker", lng=p.x, lat=p.y
    )
    return case_intake(user=User.objects.get(username="jianwai_grid1"), data=data).case


def login(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def centre_form(html: str, case: Case, action: str) -> str:
    m = re.search(rf'<form id="act-{case.id}-{action}"[^>]*>', html)
    assert m, action
    return m.group(0)


def field_form(html: str, action: str) -> str:
    m = re.search(rf'<form [^>]*data-action="{action}"[^>]*>', html)
    assert m, action
    return m.group(0)


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: t.action)
def test_both_pages_confirm_exactly_the_actions_the_table_says(
    demo: None, transition: Transition
) -> None:
    case = reported_case()
    view = action_view(transition, case)
    centre = render_to_string(
        "dispatch/centre/_case_panel.html", {"panel": {"case": case, "actions": [view]}}
    )
    field = render_to_string("dispatch/field/_action_form.html", {"f": view, "case": case})
    action = transition.action
    for form in (centre_form(centre, case, action), field_form(field, action)):
        if transition.confirm:
            assert f'data-confirm="{transition.confirm}"' in form
        else:
            assert "data-confirm" not in form
    danger = bool(transition.confirm)
    assert ("btn-danger" in centre) is danger
    assert ("btn-danger" in field) is danger


def test_a_lead_gets_the_same_confirmations_on_the_centre_and_the_field_page(
    demo: None,
) -> None:
    case = reported_case()
    client = login("jianwai_lead")
    centre = client.get(f"/centre/cases/{case.id}/", HTTP_X_REQUESTED_WITH="fetch")
    field = client.get(f"/field/cases/{case.id}/")
    centre_html, field_html = centre.content.decode(), field.content.decode()
    for action in ("void", "merge", "open"):
        prompt = BY_ACTION[action].confirm
        for form in (centre_form(centre_html, case, action), field_form(field_html, action)):
            if prompt:
                assert f'data-confirm="{prompt}"' in form, action
            else:
                assert "data-confirm" not in form, action
    # The note is named by the table on both pages.
    assert str(BY_ACTION["void"].note_label) in centre_html
    assert str(BY_ACTION["void"].note_label) in field_html


def test_action_form_rejects_a_missing_required_input_with_a_field_error() -> None:
    form = ActionForm(BY_ACTION["void"], {"action": "void", "version": "1", "note": "  "})
    assert not form.is_valid()
    assert form.errors["note"] == ["请填写意见或原因"]
    form = ActionForm(BY_ACTION["dispatch"], {"action": "dispatch", "version": "1"})
    assert not form.is_valid()
    assert set(form.errors) == {"department"}
    form = ActionForm(BY_ACTION["report_done"], {"action": "report_done", "version": "1"})
    assert not form.is_valid()
    assert set(form.errors) == {"note", "photos"}


def test_action_form_takes_only_the_transitions_inputs_and_feeds_the_service() -> None:
    t = BY_ACTION["request_extension"]
    form = ActionForm(t, {})
    assert set(form.fields) == {"action", "version", *(f.value for f in t.inputs)}
    form = ActionForm(
        t,
        {
            "action": "request_extension",
            "version": "3",
            "note": " 需协调 ",
            "deadline": "2030-01-02T10:00",
            "department": "7",  # not an input of this action: ignored
        },
    )
    assert form.is_valid(), form.errors
    data = form.to_input()
    assert data.note == "需协调" and data.expected_version == 3
    assert data.deadline is not None and data.deadline.year == 2030
    assert data.department_id is None


def test_action_form_checks_the_action_choices_and_photo_count() -> None:
    verify = BY_ACTION["verify"]
    form = ActionForm(verify, {"action": "verify", "version": "1", "result": "maybe"})
    assert not form.is_valid() and "result" in form.errors
    form = ActionForm(verify, {"action": "open", "version": "1", "result": "confirmed"})
    assert not form.is_valid() and "action" in form.errors
    photos = [SimpleUploadedFile(f"{i}.jpg", b"x") for i in range(MAX_PHOTOS + 1)]
    form = ActionForm(
        verify,
        {"action": "verify", "version": "1", "result": "confirmed"},
        MultiValueDict({"photos": photos}),
    )
    assert not form.is_valid() and "photos" in form.errors
    assert Field.PHOTOS in verify.optional


def test_an_unknown_action_is_refused_by_both_pages(demo: None) -> None:
    case = reported_case()
    client = login("jianwai_lead")
    for url in (f"/centre/cases/{case.id}/act/", f"/field/cases/{case.id}/act/"):
        response = client.post(url, {"action": "explode", "version": case.version})
        assert response.status_code == 400, url
        assert "未知的操作" in response.content.decode(), url
    case.refresh_from_db()
    assert case.status == Status.REPORTED
