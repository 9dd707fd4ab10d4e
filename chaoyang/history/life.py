"""The closed loop of docs/domain.md §4 as a generator's choices: which turn a case takes at
each point (verification, void, merge, escalation, return, extension, parking, rework,
callback, reopening), drawn from the walk's own random stream so one seed gives one history.
Every step goes through Walk.act, which refuses what the transition table does not allow.
"""

from datetime import timedelta

from cases.models import Satisfaction, Status
from core.roles import Role
from dispatch import calendar
from dispatch.workflow import CITIZEN_SOURCES, VerifyResult

from .paths import Stop, Walk

S = Status
OP, LEAD, DISP, LEADER = Role.INTAKE_OPERATOR, Role.SHIFT_LEAD, Role.DISPATCHER, Role.LEADER
SATISFACTION = [
    (Satisfaction.SATISFIED, 0.74),
    (Satisfaction.BASICALLY, 0.18),
    (Satisfaction.UNSATISFIED, 0.08),
]


def live(w: Walk) -> None:
    """Walk the case from its report to wherever it is at the end of the history."""
    try:
        if _before_open(w):
            _handle(w)
            while _after_close(w):
                _handle(w)
    except Stop:
        pass


def _u(w: Walk, role: Role) -> int:
    return w.places.centre_user(w.centre(), role)


def _before_open(w: Walk) -> bool:
    """Verification, then void, merge or opening; False when the case ended here."""
    c, r, rng = w.case, w.rates, w.rng
    gw = w.places.grid_worker
    while c.status in (S.VERIFYING, S.UNCONFIRMED):
        if c.status == S.UNCONFIRMED:
            if rng.random() < 0.7:
                w.act("void", LEAD, _u(w, LEAD), w.stage_end(), note="核实未发现问题")
                return False
            w.act("request_verify", OP, _u(w, OP), w.stage_end(), note="请再次核实")
        found = rng.random() >= r.not_found
        result = VerifyResult.CONFIRMED if found else VerifyResult.NOT_FOUND
        w.act("verify", Role.GRID_WORKER, gw, w.stage_end(), result=result)
    roll = rng.random()
    if roll < r.void:
        w.act("void", LEAD, _u(w, LEAD), w.stage_end(), note="不属于受理范围")
        return False
    if roll < r.void + r.merge:
        at = w.stage_end()
        target = w.places.merge_target(c, at)
        if target is not None:
            w.act("merge", OP, _u(w, OP), at, merged_into=target[1])
            c.merged_into_id = target[0]
            w.places.merged_from(target[0], w.events[-1])
            return False
    w.act("open", LEAD, _u(w, LEAD), w.stage_end())
    return True


def _handle(w: Walk) -> None:
    """From 已立案 (or a reopening) through dispatch and handling to 结案."""
    c, r, rng = w.case, w.rates, w.rng
    attempt = 0
    while True:
        dept = w.places.route(c, attempt)
        if (dept[2] == "district" and c.handling_level == "street") or (
            c.handling_level == "street" and rng.random() < r.escalate
        ):
            w.act("escalate", DISP, _u(w, DISP), w.stage_end(), note="需区级部门处置")
            dept = w.places.route(c, attempt)
        w.dept = dept
        w.act(
            "dispatch", DISP, _u(w, DISP), w.stage_end(), department_id=dept[0], department=dept[1]
        )
        handler = w.places.handler(dept[0])
        if rng.random() < r.extension:
            _extension(w, handler)
        if rng.random() < r.ret:
            w.act("return", Role.HANDLER, handler, w.stage_end(), note="不属于本部门职责")
            attempt += 1
            continue
        w.act("accept", Role.HANDLER, handler, w.stage_end())
        break
    if rng.random() < r.park:
        _park(w, handler)
    while True:
        w.act("report_done", Role.HANDLER, handler, w.stage_end(), note="已处置完毕")
        if rng.random() >= r.check_fail:
            break
        w.act(
            "check_fail", Role.GRID_WORKER, w.places.grid_worker, w.stage_end(), note="现场仍有问题"
        )
    w.act("check_pass", Role.GRID_WORKER, w.places.grid_worker, w.stage_end())
    if c.supervised and rng.random() < r.unsupervise:
        w.act("unsupervise", LEADER, _u(w, LEADER), w.soon(30, 600))
    w.act("close", LEAD, _u(w, LEAD), w.stage_end())


def _extension(w: Walk, handler: int) -> None:
    c, rng = w.case, w.rng
    assert c.deadline is not None
    at = w.soon(30, 240)
    asked = calendar.add_duration(max(c.deadline, at), rng.randint(1, 3), "work_days")
    w.act(
        "request_extension",
        Role.HANDLER,
        handler,
        at,
        note="需协调产权单位",
        requested_deadline=asked,
    )
    if rng.random() < w.rates.extension_rejected:
        w.act("reject_extension", DISP, _u(w, DISP), w.soon(20, 180), note="时限内可以完成")
    else:
        w.act("approve_extension", DISP, _u(w, DISP), w.soon(20, 180))


def _park(w: Walk, handler: int) -> None:
    rng = w.rng
    w.act("request_park", Role.HANDLER, handler, w.soon(60, 600), note="需纳入年度计划解决")
    if rng.random() < w.rates.park_rejected:
        w.act("reject_park", DISP, _u(w, DISP), w.soon(30, 300), note="应在时限内处置")
        return
    w.act("approve_park", DISP, _u(w, DISP), w.soon(30, 300))
    w.act("unpark", DISP, _u(w, DISP), w.now + timedelta(days=rng.uniform(3, 45)))


def _after_close(w: Walk) -> bool:
    """The callback of a citizen's case, and a reopening now and then; True: handle again."""
    c, r, rng = w.case, w.rates, w.rng
    unsatisfied = False
    if c.source in CITIZEN_SOURCES and not c.satisfaction and rng.random() < r.callback:
        pick = rng.choices([s for s, _ in SATISFACTION], [p for _, p in SATISFACTION])[0]
        unsatisfied = pick == Satisfaction.UNSATISFIED
        w.act(
            "callback",
            OP,
            _u(w, OP),
            w.now + timedelta(hours=rng.uniform(2, 72)),
            satisfaction=pick,
        )
    if rng.random() < (r.reopen_unsatisfied if unsatisfied else r.reopen):
        w.act(
            "reopen",
            LEAD,
            _u(w, LEAD),
            w.now + timedelta(hours=rng.uniform(4, 96)),
            note="问题复发",
        )
        return True
    return False
