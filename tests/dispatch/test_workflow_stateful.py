"""Random action sequences by random demo accounts (right and wrong ones) on a few cases,
with the closed loop's invariants checked after every step.

Two kinds of step: any account tries any action (mostly refused, and the kind of refusal
must match the rules: missing input 400, outside role or jurisdiction 403, wrong state
409); and an account performs one of the actions the case API offers it, which must then
succeed. A periodic SLA sweep far in the future turns lights red and flags supervision
between steps, as the real beat would.
"""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from cases.models import Case, CaseEvent, Status
from dispatch import calendar
from dispatch.actors import Actor, actor_for
from dispatch.errors import Conflict, Forbidden, Invalid
from dispatch.selectors import available_actions
from dispatch.services import sla
from dispatch.services.transitions import ActionInput, case_act
from dispatch.workflow import BY_ACTION, STAGE_OF, Field
from tests.factories import (
    Demo,
    allowed_users,
    ensure_territory,
    inputs_for,
    intake,
    pending_of,
    seed_demo,
)

pytestmark = pytest.mark.django_db

# Deadline moves without a status change are allowed only for these (approve_park and
# unpark change the status too, but they stop and resume the clock rather than restart it).
MOVES_DEADLINE = {"approve_extension", "approve_park", "unpark"}
ACTIONS = sorted(BY_ACTION)
MAIN_LOOP = {"verify", "open", "dispatch", "accept", "report_done", "check_pass", "close"}
FIELDS = sorted(Field)
# A Wednesday morning, a working day; 30 s per action keeps a whole example (at most
# 25 steps of up to 8 actions) before the lunch break.
START = datetime(2026, 6, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TICK = timedelta(seconds=30)


def _state(case_id: int) -> dict[str, Any]:
    """What the steps compare before and after, in one query."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT status, version, deadline, supervised, light, handling_level,"
            " (SELECT count(*) FROM cases_caseevent e WHERE e.case_id = c.id),"
            " (SELECT count(*) FROM dispatch_assignment a WHERE a.case_id = c.id),"
            " (SELECT pending_request FROM dispatch_assignment a"
            "  WHERE a.case_id = c.id AND a.active),"
            " (SELECT requested_deadline FROM dispatch_assignment a"
            "  WHERE a.case_id = c.id AND a.active)"
            " FROM cases_case c WHERE id = %s",
            [case_id],
        )
        row = cur.fetchone()
    keys = "status version deadline supervised light handling_level events assignments"
    return dict(zip([*keys.split(), "pending", "requested"], row, strict=True))


def _logs(first_id: int) -> dict[int, tuple[str, list[tuple[str, str, str]]]]:
    """Every case of the example with its status and its event log, in two queries."""
    logs: dict[int, tuple[str, list[tuple[str, str, str]]]] = {
        i: (status, [])
        for i, status in Case.objects.filter(id__gte=first_id).values_list("id", "status")
    }
    for case_id, *event in (
        CaseEvent.objects.filter(case_id__gte=first_id)
        .order_by("case_id", "id")
        .values_list("case_id", "action", "from_status", "to_status")
    ):
        logs[case_id][1].append((event[0], event[1], event[2]))
    return logs


class Workflow(RuleBasedStateMachine):
    demo: Demo  # set by the test before the machine runs
    actors: dict[str, Actor]

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        # Each example in a savepoint of its own, undone in teardown: examples don't see
        # each other's cases.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        # Frozen time, moved on a little before every action, inside working hours: real
        # time would often be a night or a weekend, when every clock restarted on the same
        # morning gives the same deadline, and a wrongly moved deadline would go unseen.
        self._travel = time_machine.travel(START, tick=False)
        self.clock = self._travel.start()
        self.first_id = (Case.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1

    def teardown(self) -> None:
        self._travel.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- steps -------------------------------------------------------------------------

    @initialize(target=cases)
    def first_report(self) -> int:
        return intake(self.demo).id

    @rule(target=cases, citizen=st.booleans(), street=st.sampled_from(["jianwai", "wangjing"]))
    def report(self, citizen: bool, street: str) -> int:
        return intake(self.demo, citizen=citizen, street=street).id

    @rule(
        case_id=cases,
        who=st.integers(
            min_value=0, max_value=99
        ),  # an index into the demo's accounts (known at run time)
        action=st.sampled_from(ACTIONS),
        omit=st.none() | st.sampled_from(FIELDS),
    )
    def anyone_tries_anything(
        self, case_id: int, who: int, action: str, omit: Field | None
    ) -> None:
        usernames = self.demo.usernames
        username = usernames[who % len(usernames)]
        t = BY_ACTION[action]
        case = Case.objects.select_related("grid", "street").get(id=case_id)
        data = inputs_for(self.demo, t, case, omit=omit)
        # What the rules say should happen, worked out independently of the service.
        if omit is not None and omit in t.required:
            expected: type[Exception] | None = Invalid
        elif username not in allowed_users(self.demo, t, case):
            expected = Forbidden
        elif not t.allows_state(case, pending_of(case)):
            expected = Conflict
        else:
            expected = None
        self._perform(case_id, username, action, data, expected)

    @rule(case_id=cases, data=st.data())
    def people_do_what_is_offered(self, case_id: int, data: st.DataObject) -> None:
        """A run of actions the case API offers (up to eight), so cases get deep into the
        loop; each one must succeed, and the invariants hold after each."""
        for _ in range(data.draw(st.integers(min_value=1, max_value=8), label="run")):
            case = Case.objects.select_related("grid", "street").get(id=case_id)
            offered: dict[str, list[str]] = {}
            for username, actor in self.actors.items():
                for spec in available_actions(actor, case):
                    offered.setdefault(spec.action, []).append(username)
            if not offered:
                return
            # The action first, then who, so the leaders' ever-present 督办 doesn't crowd
            # out the rest; the main loop's steps weigh more than the exits (void, merge),
            # or few cases would get past opening.
            weighted = [a for a in sorted(offered) for _ in range(4 if a in MAIN_LOOP else 1)]
            action = data.draw(st.sampled_from(weighted), label="action")
            username = data.draw(st.sampled_from(sorted(offered[action])), label="who")
            inputs = inputs_for(self.demo, BY_ACTION[action], case)
            self._perform(case_id, username, action, inputs, None)
            self.event_logs_replay_to_the_current_state()
            self.every_close_follows_a_passed_check()

    @rule(days=st.integers(min_value=1, max_value=20))
    def time_passes_and_the_sweep_runs(self, days: int) -> None:
        ids = list(Case.objects.filter(id__gte=self.first_id).values_list("id", flat=True))
        before = {i: _state(i) for i in ids}
        sla.sweep_batch(now=timezone.now() + timedelta(days=days))
        for i in ids:
            after = _state(i)
            # The sweep changes lights and the supervise flag, never the workflow.
            for key in ("status", "version", "deadline", "pending", "assignments"):
                assert after[key] == before[i][key], (key, before[i], after)

    def _perform(
        self,
        case_id: int,
        username: str,
        action: str,
        data: ActionInput,
        expected: type[Exception] | None,
    ) -> None:
        self.clock.shift(TICK)
        before = _state(case_id)
        try:
            case_act(case_id=case_id, user=self.demo.user(username), action=action, data=data)
        except (Invalid, Forbidden, Conflict) as exc:
            assert expected is not None and isinstance(exc, expected), (
                f"{username} {action} in {before['status']}: got {type(exc).__name__} "
                f"({exc.message}), expected {expected and expected.__name__}"
            )
            # (e) a refused action changes nothing.
            assert _state(case_id) == before
            return
        assert expected is None, f"{username} {action} in {before['status']} succeeded"
        after = _state(case_id)
        t = BY_ACTION[action]
        # (d) the version goes up by exactly one; one event is written.
        assert after["version"] == before["version"] + 1
        assert after["events"] == before["events"] + 1
        assert after["status"] == (t.target or before["status"])
        # (c) the deadline moves only with a new stage, an approved extension or parking.
        if after["deadline"] != before["deadline"]:
            assert after["status"] != before["status"] or action in MOVES_DEADLINE, action
        if action == "approve_extension":
            assert after["deadline"] == before["requested"]
        status = Status(after["status"])
        if after["status"] != before["status"]:
            assert (after["deadline"] is None) == (status not in STAGE_OF), action

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def event_logs_replay_to_the_current_state(self) -> None:
        """(a) the log is a chain from the report to the current status."""
        for case_id, (status, events) in _logs(self.first_id).items():
            assert events and events[0][0] == "report" and events[0][1] == "", events
            state = events[0][2]
            for action, from_status, to_status in events[1:]:
                assert from_status == state, (case_id, action, from_status, state)
                state = to_status
            assert state == status, (case_id, events)

    @invariant()
    def every_close_follows_a_passed_check(self) -> None:
        """(b) a case is closed only after a check passed since the last report of work."""
        for case_id, (status, events) in _logs(self.first_id).items():
            actions = [e[0] for e in events]
            for i, action in enumerate(actions):
                if action != "close":
                    continue
                since = actions[:i]
                last_done = max((j for j, a in enumerate(since) if a == "report_done"), default=-1)
                assert last_done >= 0, (case_id, actions)
                assert "check_pass" in since[last_done + 1 :], (case_id, actions)
            if status == Status.CLOSED:
                assert "close" in actions, (case_id, actions)


@pytest.fixture
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def test_random_action_sequences_keep_the_workflow_invariants(
    _media: None, territory: None
) -> None:
    assert calendar.is_workday(START.date())
    ensure_territory()
    demo = seed_demo()
    Workflow.demo = demo
    Workflow.actors = {u: actor_for(demo.user(u)) for u in demo.usernames}
    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            database=None,  # nothing written into the working tree
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
