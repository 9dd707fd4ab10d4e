"""Each indicator on one hand-built month of logs, counted by hand in the comments.

March 2026 in one street (one community, two grids), as_of 15 April:

  A  worker report, grid 1, 2 Mar: the whole loop on time, closed
  B  worker report, grid 1, 3 Mar: dispatched to enforcement, returned, sent to sanitation,
     handled late (5 h of 4), checked late, closed
  C  hotline, grid 1, 4 Mar: verified on time, an extension approved, closed, satisfied
  D  hotline, grid 1, 5 Mar: verified late, reworked once, closed, basically satisfied
  E  worker report, grid 1, 31 Mar 20:00: dispatched at 22:00, not accepted (due 1 Apr)
  F  worker2 report, grid 2, 6 Mar: opened, then voided
  G  worker report, grid 1, 7 Mar: merged by the operator, never opened
  H  worker report, grid 1, 27 Feb: closed in February
  I  worker report, grid 1, 10 Mar: accepted and never reported done
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from cases import events
from cases.models import Source
from core.roles import Role
from evaluation import indicators as ind
from evaluation.indicators import Rate
from evaluation.periods import month
from evaluation.services import rollup
from tests.evaluation.logs import (
    History,
    World,
    accept,
    check_fail,
    check_pass,
    close,
    dispatch,
    done,
    local,
    make_world,
    open_,
    through,
)

pytestmark = pytest.mark.django_db
MARCH = month(2026, 3)
AS_OF = local(2026, 4, 15)


@pytest.fixture
def w(territory: None) -> World:
    w = make_world()
    logs: list[History] = []
    logs.append(through(w, w.case(reported=local(2026, 3, 2))))  # A

    b = open_(w, w.case(reported=local(2026, 3, 3)))
    b = accept(w, dispatch(w, b, dept="enforcement"))
    b.go(events.returned, "returned", actor=w.user("handler"), role=Role.HANDLER)
    b = accept(w, dispatch(w, b))
    b = done(w, b, hours=5)
    logs.append(close(w, check_pass(w, b, hours=5)))  # B

    hotline: dict[str, Any] = {"reporter": "operator", "role": Role.INTAKE_OPERATOR}
    c = w.case(Source.HOTLINE, reported=local(2026, 3, 4), **hotline)
    c.go(events.verified, "verified", actor=w.user("worker"), role=Role.GRID_WORKER, result="ok")
    c = accept(w, dispatch(w, open_(w, c)))
    c.go(events.extension_approved, deadline=c.now + timedelta(hours=24))
    c = through_rest(w, c)
    logs.append(c.go(events.called_back, actor=w.user("operator"), satisfaction="satisfied"))

    d = w.case(Source.HOTLINE, reported=local(2026, 3, 5), limit=1, **hotline)  # 1 h to verify
    d.go(events.verified, "verified", hours=2, actor=w.user("worker"), result="ok")  # ... late
    d = done(w, accept(w, dispatch(w, open_(w, d))))
    d = check_fail(w, d)
    d = close(w, check_pass(w, done(w, d)))
    logs.append(d.go(events.called_back, actor=w.user("operator"), satisfaction="basically"))

    logs.append(dispatch(w, open_(w, w.case(reported=local(2026, 3, 31, 20)))))  # E

    f = open_(w, w.case(reporter="worker2", grid=w.other_grid, reported=local(2026, 3, 6)))
    logs.append(f.go(events.voided, "void", actor=w.user("lead"), role=Role.SHIFT_LEAD))

    g = w.case(reported=local(2026, 3, 7))
    logs.append(g.go(events.merged, "merged", actor=w.user("operator"), role="intake_operator",
                     merged_into="A"))  # fmt: skip

    logs.append(through(w, w.case(reported=local(2026, 2, 27))))  # H
    logs.append(accept(w, dispatch(w, open_(w, w.case(reported=local(2026, 3, 10))))))  # I
    for h in logs:
        h.save()
    rollup.sweep()
    return w


def through_rest(w: World, h: History) -> History:
    return close(w, check_pass(w, done(w, h)))


def test_region_figures_of_the_street(w: World) -> None:
    f = ind.region_figures(w.street, MARCH, as_of=AS_OF)
    assert f.opened == 7  # A B C D E F I (G never opened, H in February)
    assert f.public_share == Rate(2, 7)  # C D
    # Due to close in March: A B C D I (E falls due on 1 April, F was voided).
    assert f.closure == Rate(4, 5)  # I is not closed
    assert f.on_time_closure == Rate(3, 5)  # B was late, I is overdue
    assert f.overdue == Rate(2, 5)


def test_region_figures_by_grid_community_and_district(w: World) -> None:
    assert ind.region_figures(w.grid, MARCH, as_of=AS_OF).opened == 6  # F is in grid 2
    assert ind.region_figures(w.other_grid, MARCH, as_of=AS_OF).opened == 1
    assert ind.region_figures(w.community, MARCH, as_of=AS_OF).opened == 7
    assert ind.region_figures(None, MARCH, as_of=AS_OF).closure == Rate(4, 5)
    feb = ind.region_figures(w.street, month(2026, 2), as_of=AS_OF)
    assert (feb.opened, feb.on_time_closure) == (1, Rate(1, 1))  # H


def test_what_has_not_fallen_due_is_left_out(w: World) -> None:
    # On 10 March at noon only A, B, C and D have fallen due; I's handling not yet.
    f = ind.region_figures(w.street, MARCH, as_of=local(2026, 3, 10, 12))
    assert f.closure == Rate(4, 4)
    april = ind.region_figures(w.street, month(2026, 4), as_of=AS_OF)
    assert april.overdue == Rate(1, 1)  # E, whose acceptance fell due on 1 April


def test_department_figures(w: World) -> None:
    san = ind.department_figures(w.departments["sanitation"].id, MARCH, as_of=AS_OF)
    # Handle rounds due in March: A, B (late), C, D twice (the first failed its check), I.
    assert san.due == 6
    assert san.on_time_handling == Rate(4, 6)
    assert san.closure == Rate(5, 6)  # all but I's case are closed
    assert san.rework == Rate(1, 6)
    assert san.extension == Rate(1, 6)  # C's
    assert san.returns == 0
    enf = ind.department_figures(w.departments["enforcement"].id, MARCH, as_of=AS_OF)
    # B's round ended by a timely return: a return, not a case it had to handle.
    assert (enf.due, enf.returns) == (0, 1)


def test_grid_worker_figures(w: World) -> None:
    f = ind.worker_figures(w.user("worker").id, MARCH, as_of=AS_OF)
    assert f.reports == 5  # A B E G I
    assert f.valid == Rate(4, 5)  # G was merged, never opened
    assert f.misses == Rate(2, 6)  # C and D, public, among the six opened in grid 1
    assert f.on_time_verify == Rate(1, 2)  # D was late
    assert f.on_time_check == Rate(4, 5)  # A, B late, C, D failed, D passed
    other = ind.worker_figures(w.user("worker2").id, MARCH, as_of=AS_OF)
    assert (other.reports, other.valid, other.misses) == (1, Rate(1, 1), Rate(0, 1))


def test_centre_figures(w: World) -> None:
    lead = ind.lead_figures(w.user("lead").id, MARCH, as_of=AS_OF)
    assert lead.on_time_open == Rate(7, 7)
    assert lead.accurate_open == Rate(6, 7)  # F voided
    assert lead.on_time_close == Rate(4, 4)  # A B C D (H closed in February)
    disp = ind.dispatcher_figures(w.user("dispatcher").id, MARCH, as_of=AS_OF)
    assert disp.accurate == Rate(6, 7)  # B's first dispatch was returned
    assert disp.on_time == Rate(7, 7)
    op = ind.operator_figures(w.user("operator").id, MARCH, as_of=AS_OF)
    assert op.registered == 2  # C D
    assert op.on_time == Rate(1, 1)  # G merged within the hour


def test_hotline_figures_of_the_street(w: World) -> None:
    f = ind.hotline_figures(w.street, MARCH, as_of=AS_OF)
    assert f.response == Rate(1, 2)  # D verified late
    assert f.resolution == Rate(2, 2)
    assert f.satisfaction == Rate(1.9, 2)  # satisfied + 0.9 × basically
    assert f.satisfaction.value == pytest.approx(0.95)
    other = ind.hotline_figures(w.street, MARCH, as_of=AS_OF, basically=Decimal("0.5"))
    assert other.satisfaction.value == pytest.approx(0.75)
    with pytest.raises(ValueError):
        ind.hotline_figures(w.grid, MARCH, as_of=AS_OF)


def test_each_selector_asks_a_fixed_number_of_queries(
    w: World, django_assert_num_queries: Any
) -> None:
    """One aggregate per group of figures, however many cases (no query per row)."""
    user = w.user("worker").id
    with django_assert_num_queries(2):
        ind.region_figures(w.street, MARCH, as_of=AS_OF)
    with django_assert_num_queries(2):
        ind.department_figures(w.departments["sanitation"].id, MARCH, as_of=AS_OF)
    with django_assert_num_queries(5):  # reports, the worker's grids, misses, two stages
        ind.worker_figures(user, MARCH, as_of=AS_OF)
    with django_assert_num_queries(3):
        ind.lead_figures(user, MARCH, as_of=AS_OF)
    with django_assert_num_queries(2):
        ind.dispatcher_figures(user, MARCH, as_of=AS_OF)
    with django_assert_num_queries(2):
        ind.operator_figures(user, MARCH, as_of=AS_OF)
    with django_assert_num_queries(3):
        ind.hotline_figures(w.street, MARCH, as_of=AS_OF)


def test_parking_reopening_and_escalation_in_the_figures(w: World) -> None:
    """May 2026, beside March's logs: a parked case handled on time once the parking is
    taken out, a case reopened after closing, and one escalated to a district department."""
    from dispatch.models import Department
    from grids.models import Region

    district = Region.objects.get(code="110105")
    w.departments["district"] = Department.objects.create(
        code="ev-district", name="测试区级部门", level="district", kind="city", region=district
    )
    p = accept(w, dispatch(w, open_(w, w.case(reported=local(2026, 5, 4)))))
    p.go(events.park_requested, actor=w.user("handler"))
    p.go(events.park_approved, "parked", actor=w.user("dispatcher"))
    p.go(events.unparked, "accepted", hours=48, deadline=p.now + timedelta(hours=51))
    p = through_rest(w, p)  # reported done 50 hours after it was accepted: in time

    r = through(w, w.case(reported=local(2026, 5, 5)))
    r.go(events.reopened, "open", actor=w.user("lead"), role=Role.SHIFT_LEAD)

    x = open_(w, w.case(reported=local(2026, 5, 6)))
    x.go(events.escalated, "escalated", actor=w.user("dispatcher"), role=Role.DISPATCHER)
    x = through_rest(w, accept(w, dispatch(w, x, dept="district")))
    for h in (p, r, x):
        h.save()
    rollup.sweep()

    may = month(2026, 5)
    region = ind.region_figures(w.street, may, as_of=AS_OF.replace(month=6))
    # Due in May: P and X closed on time; R, reopened, falls due at its new dispatch
    # deadline and is not closed.
    assert region.opened == 3
    assert (region.closure, region.on_time_closure) == (Rate(2, 3), Rate(2, 3))
    san = ind.department_figures(w.departments["sanitation"].id, may, as_of=AS_OF.replace(month=6))
    assert san.on_time_handling == Rate(2, 2)  # P (parked 48 h) and R's first round
    dist = ind.department_figures(w.departments["district"].id, may, as_of=AS_OF.replace(month=6))
    assert dist.on_time_handling == Rate(1, 1)
    disp = ind.dispatcher_figures(w.user("dispatcher").id, may, as_of=AS_OF.replace(month=6))
    # P, R (first), X's escalation and X's dispatch; R's new round has not ended.
    assert disp.on_time == Rate(4, 4)
    assert disp.accurate == Rate(3, 3)


def test_grouped_figures_equal_those_of_each_region(w: World) -> None:
    from grids.models import Level

    by_grid = ind.region_figures_by(Level.GRID, MARCH, within=w.street, as_of=AS_OF)
    assert set(by_grid) == {w.grid.id, w.other_grid.id}
    for grid in (w.grid, w.other_grid):
        assert by_grid[grid.id] == ind.region_figures(grid, MARCH, as_of=AS_OF)
    by_street = ind.region_figures_by(Level.STREET, MARCH, as_of=AS_OF)
    assert by_street == {w.street.id: ind.region_figures(w.street, MARCH, as_of=AS_OF)}
    hotline = ind.hotline_figures_by_street(MARCH, as_of=AS_OF)
    assert hotline == {w.street.id: ind.hotline_figures(w.street, MARCH, as_of=AS_OF)}
    assert ind.hotline_figures_by_street(month(2026, 1), as_of=AS_OF) == {}  # nothing then
