"""The transition table, enumerated: every transition from every source status succeeds for
the accounts the table names, in their jurisdiction, and is refused for everyone else,
from every other status, when its condition fails, and without its required inputs.

The parameters are generated from dispatch.workflow.TRANSITIONS, so a new transition (or a
new source status) gets its tests without editing this file. Cases are driven through the
real services once per module (committed, and removed after the module), and every
attempt runs in a savepoint that is rolled back, so one driven case serves every account.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from cases.models import Case, CaseEvent, Status
from dispatch.errors import Conflict, Forbidden, Invalid
from dispatch.workflow import BY_ACTION, FIELD_CHOICES, TRANSITIONS, Field, Transition
from tests.factories import (
    Demo,
    Setup,
    allowed_users,
    attempt,
    committed_for_module,
    drive,
    ensure_territory,
    first_setup,
    inputs_for,
    intake,
    pending_of,
    role_holders,
    seed_demo,
    simplest_setup,
    tiny_jpeg,
)

S = Status
pytestmark = pytest.mark.django_db

VALID = [
    (t.action, s, setup)
    for t in TRANSITIONS
    for s in sorted(t.sources)
    for district in (False, True)
    if (setup := first_setup(t, s, district=district)) is not None
]
WRONG_STATE = [
    (t.action, s, simplest_setup(s))
    for t in TRANSITIONS
    for s in sorted(Status)
    if s not in t.sources
]
WHEN_FALSE = [
    (t.action, s, setup)
    for t in TRANSITIONS
    if t.when is not None
    for s in sorted(t.sources)
    for district in (False, True)
    if (setup := first_setup(t, s, district=district, when=False)) is not None
]
MISSING = [(t.action, f) for t in TRANSITIONS for f in sorted(t.required)]
API_CASES = [
    (S.REPORTED, Setup()),
    (S.VERIFYING, Setup(citizen=True)),
    (S.OPEN, Setup()),
    (S.ACCEPTED, Setup(pending="extension")),
    (S.DONE, Setup()),
    (S.CLOSED, Setup(citizen=True)),
    (S.DISPATCHED, Setup(district=True)),
]


def _missing_setup(action: str) -> tuple[Status, Setup]:
    t = BY_ACTION[action]
    for s in sorted(t.sources):
        for district in (False, True):
            if (setup := first_setup(t, s, district=district)) is not None:
                return s, setup
    raise AssertionError(f"no setup satisfies {action}")


POOL_KEYS = sorted(
    {(s, setup) for _a, s, setup in VALID + WRONG_STATE + WHEN_FALSE}
    | {_missing_setup(a) for a, _f in MISSING}
    | set(API_CASES)
)


def _id(value: Any) -> str:
    return value.label if isinstance(value, Setup) else str(value)


@dataclass
class Pool:
    demo: Demo
    ids: dict[tuple[Status, Setup], int]

    def case(self, status: Status, setup: Setup) -> Case:
        return Case.objects.select_related("grid", "street").get(id=self.ids[(status, setup)])


@pytest.fixture(scope="module")
def pool(
    django_db_setup: None,
    django_db_blocker: Any,
    _territory_snapshot: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pool]:
    """The demo and one case per (status, setup) the tests need, committed once for the
    module and removed after it (see committed_for_module)."""
    media = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=str(media)),
        committed_for_module(),
    ):
        ensure_territory()
        demo = seed_demo()
        intake(demo)  # the earliest live case of the street: where merges go
        ids = {key: drive(demo, *key).id for key in POOL_KEYS}
        yield Pool(demo, ids)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def _check_applied(t: Transition, before: Case, username: str, photos: int, after: Case) -> None:
    fresh = Case.objects.get(id=before.id)
    assert fresh.status == (t.target or before.status)
    assert after.status == fresh.status
    assert fresh.version == before.version + 1
    events = list(fresh.events.order_by("id"))
    assert len(events) == CaseEvent.objects.filter(case_id=before.id).count()
    last = events[-1]
    assert (last.action, last.from_status, last.to_status) == (
        t.action,
        before.status,
        fresh.status,
    )
    assert last.actor is not None and last.actor.username == username
    assert last.actor_role in t.roles
    assert last.attachments.count() == photos


# --- allowed -------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "status", "setup"), VALID, ids=_id)
def test_transition_succeeds_for_the_right_accounts_and_no_others(
    pool: Pool, action: str, status: Status, setup: Setup
) -> None:
    demo, t = pool.demo, BY_ACTION[action]
    case = pool.case(status, setup)
    assert t.allows_state(case, pending_of(case)), "the setup no longer meets the condition"
    allowed = allowed_users(demo, t, case)
    assert allowed, f"no demo account may {action} a {setup.label} case in {status}"
    events_before = case.events.count()
    for username in demo.usernames:
        data = inputs_for(demo, t, case)
        check = partial(_check_applied, t, case, username, len(data.photos))
        outcome = attempt(demo, case, action, username, data, on_success=check)
        if username in allowed:
            assert outcome.error is None, (username, outcome.error.message)
        else:
            assert isinstance(outcome.error, Forbidden), (username, outcome.error)
            assert str(t.label) in outcome.error.message
    assert case.events.count() == events_before
    # The right role in the wrong place: the other street's holders, and after escalation
    # the street's own centre, are refused like anyone else.
    elsewhere = {u for u in role_holders(demo, t) if u.startswith("wangjing_")}
    assert elsewhere, f"no wangjing account holds a role of {action}"
    assert not elsewhere & allowed


def test_every_source_status_of_every_transition_is_exercised() -> None:
    covered = {(a, s) for a, s, _setup in VALID}
    assert covered == {(t.action, s) for t in TRANSITIONS for s in t.sources}


# --- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "status", "setup"), WRONG_STATE, ids=_id)
def test_transition_refused_from_a_status_outside_its_sources(
    pool: Pool, action: str, status: Status, setup: Setup
) -> None:
    """Role holders in the jurisdiction get 409 naming the status; everyone else 403 (the
    jurisdiction is checked first, so an outsider learns nothing about the state)."""
    demo, t = pool.demo, BY_ACTION[action]
    case = pool.case(status, setup)
    allowed = allowed_users(demo, t, case)
    # Every account that may act here, one that holds the role elsewhere (all of them
    # when none may act: a department the case is not dispatched to), and one without it.
    outsiders = sorted(role_holders(demo, t) - allowed)
    tried = sorted(allowed) + (outsiders[:1] if allowed else outsiders) + ["data_admin"]
    for username in tried:
        data = inputs_for(demo, t, case)
        outcome = attempt(demo, case, action, username, data, check_unchanged=False)
        if username in allowed:
            assert isinstance(outcome.error, Conflict), (username, outcome.error)
            assert str(Status(status).label) in outcome.error.message
            assert str(t.label) in outcome.error.message
            assert outcome.error.extra == {"case_status": status, "version": case.version}
        else:
            assert isinstance(outcome.error, Forbidden), (username, outcome.error)


@pytest.mark.parametrize(("action", "status", "setup"), WHEN_FALSE, ids=_id)
def test_transition_refused_when_its_condition_fails(
    pool: Pool, action: str, status: Status, setup: Setup
) -> None:
    demo, t = pool.demo, BY_ACTION[action]
    case = pool.case(status, setup)
    assert not t.allows_state(case, pending_of(case))
    allowed = allowed_users(demo, t, case)
    assert allowed
    for username in sorted(allowed):
        outcome = attempt(demo, case, action, username, inputs_for(demo, t, case))
        assert isinstance(outcome.error, Conflict), (username, outcome.error)
        assert outcome.error.message == str(t.when_label)


@pytest.mark.parametrize(("action", "field"), MISSING, ids=_id)
def test_missing_required_input_is_invalid_and_names_the_field(
    pool: Pool, action: str, field: Field
) -> None:
    demo, t = pool.demo, BY_ACTION[action]
    case = pool.case(*_missing_setup(action))
    username = sorted(allowed_users(demo, t, case))[0]
    outcome = attempt(demo, case, action, username, inputs_for(demo, t, case, omit=field))
    assert isinstance(outcome.error, Invalid)
    assert list(outcome.error.fields) == [field.value]
    assert outcome.error.fields[field.value][0]
    if field is Field.NOTE:  # blank is missing too
        data = inputs_for(demo, t, case)
        data.note = "   "
        outcome = attempt(demo, case, action, username, data)
        assert isinstance(outcome.error, Invalid) and "note" in outcome.error.fields


def test_unknown_action_is_invalid(pool: Pool) -> None:
    case = pool.case(S.OPEN, Setup())
    outcome = attempt(
        pool.demo, case, "teleport", "jianwai_lead", inputs_for(pool.demo, BY_ACTION["open"], case)
    )
    assert isinstance(outcome.error, Invalid) and "action" in outcome.error.fields


# --- through the HTTP API ------------------------------------------------------------------


def _client(pool: Pool, username: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(pool.demo.user(username))
    return client


def _post(pool: Pool, username: str, case_id: int, body: dict[str, Any]) -> Any:
    return _client(pool, username).post(f"/api/v1/cases/{case_id}/actions/", body, format="json")


def test_api_action_answers_each_outcome_with_a_clear_detail(pool: Pool) -> None:
    case = pool.case(S.OPEN, Setup())
    dept = pool.demo.dispatch_department(case)
    # 403: can see the case (same street) but holds no role for the action.
    r = _post(pool, "jianwai_operator", case.id, {"action": "dispatch", "department": dept})
    assert r.status_code == 403 and "派遣" in r.json()["detail"]
    assert r.json()["code"] == "permission_denied"
    # 422: a required input is missing, or names nothing, for this action (the rules).
    r = _post(pool, "jianwai_dispatcher", case.id, {"action": "dispatch"})
    assert r.status_code == 422 and r.json()["detail"] and "department" in r.json()["fields"]
    assert r.json()["code"] == "validation_failed"
    r = _post(pool, "jianwai_dispatcher", case.id, {"action": "dispatch", "department": 10**8})
    assert r.status_code == 422 and "department" in r.json()["fields"]
    # 400: not an action at all (the schema's list of actions).
    r = _post(pool, "jianwai_dispatcher", case.id, {"action": "fly"})
    assert r.status_code == 400 and "action" in r.json()["fields"]
    # 422: the right person, the wrong state (the body says which state and version).
    r = _post(pool, "jianwai_lead", case.id, {"action": "close"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_state"
    assert "已立案" in r.json()["detail"]
    assert (r.json()["case_status"], r.json()["version"]) == ("open", case.version)
    # 404: another street's dispatcher may not even learn the case exists; nor anyone
    # of a case that doesn't exist.
    r = _post(pool, "wangjing_dispatcher", case.id, {"action": "dispatch", "department": dept})
    assert r.status_code == 404 and r.json()["detail"]
    r = _post(pool, "district_dispatcher", 10**9, {"action": "dispatch", "department": dept})
    assert r.status_code == 404
    # 409: a stale version, even for an allowed action.
    body = {"action": "dispatch", "department": dept, "version": case.version - 1}
    r = _post(pool, "jianwai_dispatcher", case.id, body)
    assert r.status_code == 409 and r.json()["version"] == case.version
    assert r.json()["code"] == "version_conflict"
    # 200: the case as it is now.
    body["version"] = case.version
    r = _post(pool, "jianwai_dispatcher", case.id, body)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["version"]) == ("dispatched", case.version + 1)
    assert Case.objects.get(id=case.id).status == S.DISPATCHED


def test_api_actions_accept_photos_as_multipart(pool: Pool) -> None:

    case = pool.case(S.DONE, Setup())
    client = _client(pool, "jianwai_grid1")
    url = f"/api/v1/cases/{case.id}/actions/"
    r = client.post(url, {"action": "check_pass"}, format="multipart")
    assert r.status_code == 422 and "photos" in r.json()["fields"]
    photo = SimpleUploadedFile("p.jpg", tiny_jpeg(), content_type="image/jpeg")
    r = client.post(url, {"action": "check_pass", "photos": [photo]}, format="multipart")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "checked"
    assert [a["kind"] for a in r.json()["attachments"]][-1] == "check"


def _sees(pool: Pool, username: str, case: Case) -> bool:
    """Visibility in the domain's words: the district sees all, a street or grid its own,
    a department the cases ever dispatched to it."""
    grid = case.grid.code if case.grid else ""
    for a in pool.demo.accounts:
        if a.username != username:
            continue
        if a.code and (a.code == "110105" or grid.startswith(a.code)):
            return True
        if a.department_id and case.assignments.filter(department_id=a.department_id).exists():
            return True
    return False


@pytest.mark.parametrize(("status", "setup"), API_CASES, ids=_id)
def test_available_actions_are_exactly_what_case_act_accepts(
    pool: Pool, status: Status, setup: Setup
) -> None:
    demo = pool.demo
    case = pool.case(status, setup)
    seen = 0
    for username in demo.usernames:
        client = _client(pool, username)
        detail = client.get(f"/api/v1/cases/{case.id}/")
        listed = client.get(f"/api/v1/cases/{case.id}/available-actions/")
        if not _sees(pool, username, case):
            assert (detail.status_code, listed.status_code) == (404, 404), username
            assert client.get(f"/api/v1/cases/{case.id}/events/").status_code == 404
            continue
        seen += 1
        assert (detail.status_code, listed.status_code) == (200, 200), username
        offered = {item["action"]: item for item in listed.json()}
        # Accounts without any of an action's roles are refused it everywhere (the tests
        # above try every account); here the question is the state and the jurisdiction.
        roles = demo.roles_of(username)
        accepted = {
            t.action
            for t in TRANSITIONS
            if roles & t.roles
            and attempt(
                demo, case, t.action, username, inputs_for(demo, t, case), check_unchanged=False
            ).error
            is None
        }
        assert set(offered) == accepted, username
        for action, item in offered.items():
            t = BY_ACTION[action]
            assert item["requires"] == sorted(f.value for f in t.required)
            assert item["target_status"] == (t.target.value if t.target else None)
            # Each input with the values it allows: a client needs nothing else to act.
            names = {i["name"] for i in item["inputs"]}
            assert names == {f.value for f in t.required | t.optional}
            for given in item["inputs"]:
                f = Field(given["name"])
                assert given["required"] == (f in t.required)
                if f in FIELD_CHOICES:
                    values = [c["value"] for c in given["choices"]]
                    assert values == [v for v, _label in FIELD_CHOICES[f]]
                elif f is Field.DEPARTMENT:
                    listed_ids = {d["id"] for d in item["departments"]}
                    assert {int(c["value"]) for c in given["choices"]} == listed_ids
                else:
                    assert given["choices"] is None
        if "dispatch" in offered:
            ids = [d["id"] for d in offered["dispatch"]["departments"]]
            assert demo.dispatch_department(case) in ids
    assert seen >= 5


def test_case_outside_the_users_scope_is_not_found(pool: Pool) -> None:
    case = pool.case(S.OPEN, Setup())
    for username in ("wangjing_lead", "wangjing_grid1", "jianwai_grid2", "jianwai_cg"):
        assert _client(pool, username).get(f"/api/v1/cases/{case.id}/").status_code == 404
    for username in ("jianwai_lead", "jianwai_grid1", "district_leader", "data_admin"):
        assert _client(pool, username).get(f"/api/v1/cases/{case.id}/").status_code == 200
    # A department sees a case once it is dispatched to it.
    dispatched = pool.case(S.DISPATCHED, Setup())
    assert _client(pool, "jianwai_cg").get(f"/api/v1/cases/{dispatched.id}/").status_code == 200
    assert _client(pool, "jianwai_hw").get(f"/api/v1/cases/{dispatched.id}/").status_code == 404
    listed = _client(pool, "wangjing_lead").get("/api/v1/cases/?page_size=500").json()
    assert case.id not in {c["id"] for c in listed["results"]}
