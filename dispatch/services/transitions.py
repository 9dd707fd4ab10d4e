"""case_act: the one way a case changes after intake.

Lock the row, check role and jurisdiction against the transition table, check the state,
validate the input, apply, write the event, schedule notifications after commit. Photos
are decoded before the lock is taken so the lock is held for milliseconds.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Attachment, Case, Satisfaction, Status
from cases.services.photos import Photo, PhotoError, photo_ingest
from cases.services.records import attachment_add, event_record
from dispatch.actors import Actor, actor_for, may_act
from dispatch.errors import Conflict, Forbidden, Invalid, InvalidState, NotFound
from dispatch.models import Assignment, Department
from dispatch.selectors import scope_q
from dispatch.services import notify, sla
from dispatch.workflow import BY_ACTION, Field, Transition, VerifyResult

VERIFY_RESULTS = tuple(VerifyResult.values)


@dataclass
class ActionInput:
    note: str = ""
    photos: list[UploadedFile | bytes] = field(default_factory=list)
    department_id: int | None = None
    deadline: datetime | None = None
    target_case: str = ""  # id or number of the case to merge into
    satisfaction: str = ""
    result: str = ""
    expected_version: int | None = None


@dataclass
class _Ctx:
    case: Case
    actor: Actor
    data: ActionInput
    now: datetime
    assignment: Assignment | None
    transition: Transition
    department: Department | None = None
    target: Case | None = None
    notify_extra: list[tuple[set[int], str, str]] = field(default_factory=list)


def _present(data: ActionInput, f: Field, photos: list[Photo]) -> bool:
    return {
        Field.NOTE: bool(data.note.strip()),
        Field.PHOTOS: bool(photos),
        Field.DEPARTMENT: data.department_id is not None,
        Field.DEADLINE: data.deadline is not None,
        Field.TARGET_CASE: bool(str(data.target_case).strip()),
        Field.SATISFACTION: bool(data.satisfaction),
        Field.RESULT: bool(data.result),
    }[f]


REQUIRED_MESSAGES = {
    Field.NOTE: gettext_lazy("请填写意见或原因"),
    Field.PHOTOS: gettext_lazy("请上传照片"),
    Field.DEPARTMENT: gettext_lazy("请选择责任部门"),
    Field.DEADLINE: gettext_lazy("请填写申请的新时限"),
    Field.TARGET_CASE: gettext_lazy("请指定合并到的案件"),
    Field.SATISFACTION: gettext_lazy("请选择满意度"),
    Field.RESULT: gettext_lazy("请选择核实结果"),
}


def _check_inputs(t: Transition, data: ActionInput, photos: list[Photo]) -> None:
    missing = {
        f.value: [str(REQUIRED_MESSAGES[f])] for f in t.required if not _present(data, f, photos)
    }
    if missing:
        raise Invalid(_("缺少必填内容"), fields=missing)
    if data.result and data.result not in VERIFY_RESULTS:
        raise Invalid(
            _("核实结果无效"),
            fields={"result": [_("应为 confirmed 或 not_found")]},
        )
    if data.satisfaction and data.satisfaction not in Satisfaction.values:
        raise Invalid(
            _("满意度无效"),
            fields={"satisfaction": [_("应为 satisfied、basically 或 unsatisfied")]},
        )


# --- per-action effects ---------------------------------------------------------------


def _dispatch(c: _Ctx) -> None:
    assert c.data.department_id is not None  # required by the table, checked before
    dept = (
        Department.objects.filter(id=c.data.department_id, active=True)
        .select_related("region")
        .first()
    )
    if dept is None:
        raise Invalid(
            _("部门不存在或已停用"),
            fields={"department": [_("部门不存在或已停用")]},
        )
    case = c.case
    if case.handling_level == "street":
        ok = dept.level == Department.Level.STREET and case.street_id == dept.region_id
    else:
        ok = dept.level == Department.Level.DISTRICT
    if not ok:
        raise Invalid(
            _("只能派遣给本级的部门"),
            fields={"department": [_("只能派遣给本级的部门")]},
        )
    Assignment.objects.filter(case=case, active=True).update(active=False)
    c.assignment = Assignment.objects.create(case=case, department=dept, dispatched_by=c.actor.user)
    c.department = dept


def _merge(c: _Ctx) -> None:
    ref = str(c.data.target_case).strip()
    # Only into a case the actor may see: another street's case "does not exist" here.
    qs = Case.objects.filter(scope_q(c.actor)).select_for_update()
    target = (qs.filter(id=int(ref)) if ref.isdigit() else qs.filter(number=ref)).first()
    if target is not None and target.id == c.case.id:
        raise Invalid(
            _("不能把案件合并到它自己"),
            fields={"target_case": [_("不能把案件合并到它自己")]},
        )
    if target is None:
        raise Invalid(_("合并目标不存在"), fields={"target_case": [_("合并目标不存在")]})
    if target.is_final:
        raise Invalid(
            _("不能合并到已结束的案件"),
            fields={"target_case": [_("目标案件已结束")]},
        )
    c.case.merged_into = target
    c.target = target
    reporters = {r for r in (c.case.reporter_id, target.reporter_id) if r}
    c.notify_extra.append((reporters, "merged", f"案件 {c.case.number} 已合并至 {target.number}"))


def _escalate(c: _Ctx) -> None:
    c.case.handling_level = "district"


def _accept(c: _Ctx) -> None:
    assert c.assignment is not None
    c.assignment.accepted_at = c.now


def _return(c: _Ctx) -> None:
    assert c.assignment is not None
    c.assignment.active = False
    c.assignment.returned_at = c.now
    c.case.return_count += 1


def _report_done(c: _Ctx) -> None:
    assert c.assignment is not None
    c.assignment.done_at = c.now


def _check_fail(c: _Ctx) -> None:
    c.case.rework_count += 1
    if c.assignment is not None:
        c.assignment.done_at = None


def _close(c: _Ctx) -> None:
    c.case.closed_at = c.now
    Assignment.objects.filter(case=c.case, active=True).update(active=False)
    c.assignment = None


def _request(kind: str) -> Callable[[_Ctx], None]:
    def apply(c: _Ctx) -> None:
        assert c.assignment is not None
        if kind == Assignment.Request.EXTENSION:
            deadline = c.data.deadline
            assert deadline is not None
            if deadline <= c.now or (c.case.deadline and deadline <= c.case.deadline):
                raise Invalid(
                    _("申请的时限必须晚于当前时限"),
                    fields={"deadline": [_("申请的时限必须晚于当前时限")]},
                )
            c.assignment.requested_deadline = deadline
        c.assignment.pending_request = kind
        c.assignment.request_note = c.data.note

    return apply


def _decide(approve: bool) -> Callable[[_Ctx], None]:
    def apply(c: _Ctx) -> None:
        assert c.assignment is not None
        kind = c.assignment.pending_request
        if approve and kind == Assignment.Request.EXTENSION:
            assert c.assignment.requested_deadline is not None
            sla.move_deadline(c.case, c.now, c.assignment.requested_deadline)
            c.case.extension_count += 1
        c.assignment.pending_request = Assignment.Request.NONE
        c.assignment.requested_deadline = None

    return apply


def _flag(value: bool) -> Callable[[_Ctx], None]:
    def apply(c: _Ctx) -> None:
        c.case.supervised = value

    return apply


def _reopen(c: _Ctx) -> None:
    c.case.closed_at = None


def _callback(c: _Ctx) -> None:
    c.case.satisfaction = c.data.satisfaction


def _open(c: _Ctx) -> None:
    c.case.opened_at = c.now


EFFECTS: dict[str, Callable[[_Ctx], None]] = {
    "open": _open,
    "dispatch": _dispatch,
    "merge": _merge,
    "escalate": _escalate,
    "accept": _accept,
    "return": _return,
    "report_done": _report_done,
    "check_fail": _check_fail,
    "close": _close,
    "request_extension": _request(Assignment.Request.EXTENSION),
    "request_park": _request(Assignment.Request.PARK),
    "approve_extension": _decide(True),
    "reject_extension": _decide(False),
    "approve_park": _decide(True),
    "reject_park": _decide(False),
    "supervise": _flag(True),
    "unsupervise": _flag(False),
    "reopen": _reopen,
    "callback": _callback,
}

PHOTO_KIND = {
    "report_done": Attachment.Kind.AFTER,
    "check_pass": Attachment.Kind.CHECK,
    "check_fail": Attachment.Kind.CHECK,
    "verify": Attachment.Kind.BEFORE,
}


def _clock(c: _Ctx, from_status: str) -> None:
    """Status changed: start the new stage's clock, except parking (stop) and unparking
    (resume with the time that was left)."""
    action = c.transition.action
    if action == "approve_park":
        sla.pause(c.case, c.now)
    elif action == "unpark":
        sla.resume(c.case, c.now)
    elif c.case.status != from_status:
        sla.start_stage(c.case, c.now)


def case_act(
    *, case_id: int, user: User, action: str, data: ActionInput, actor: Actor | None = None
) -> Case:
    """Run one transition; `actor` may be passed when the caller has already loaded it."""
    transition = BY_ACTION.get(action)
    if transition is None:
        raise Invalid(
            _("未知的操作"),
            fields={"action": [_("未知的操作: %(a)s") % {"a": action}]},
        )
    actor = actor if actor is not None and actor.user.pk == user.pk else actor_for(user)
    try:
        photos = [photo_ingest(p) for p in data.photos]
    except PhotoError as exc:
        raise Invalid(str(exc), fields={"photos": [str(exc)]}) from exc
    _check_inputs(transition, data, photos)

    with transaction.atomic():
        _lock_merge_pair(action, case_id, actor, data)
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("grid", "street")
            .filter(id=case_id)
            .first()
        )
        if case is None:
            raise NotFound(_("案件不存在"))
        assignment = Assignment.objects.filter(case=case, active=True).first()
        pending = assignment.pending_request if assignment else ""
        # A stale version first: the actor decided on a case that has changed since (it
        # may even have moved out of their hands, e.g. escalated), so "changed" is the truth.
        if data.expected_version is not None and data.expected_version != case.version:
            raise Conflict(
                _("案件已被他人更新,请刷新后重试"),
                case_status=case.status,
                version=case.version,
            )
        if not may_act(actor, transition, case, assignment.department_id if assignment else None):
            raise Forbidden(_("您无权对该案件执行“%(label)s”") % {"label": transition.label})
        if not transition.allows_state(case, pending):
            why = transition.when_label if case.status in transition.sources else None
            raise InvalidState(
                str(why)
                if why
                else _("案件当前状态为“%(s)s”,不能执行“%(a)s”")
                % {"s": Status(case.status).label, "a": transition.label},
                case_status=case.status,
                version=case.version,
            )
        now = timezone.now()
        ctx = _Ctx(case, actor, data, now, assignment, transition)
        from_status = case.status
        if (effect := EFFECTS.get(action)) is not None:
            effect(ctx)
        if transition.target is not None:
            case.status = transition.target
        _clock(ctx, from_status)
        case.version += 1
        case.save()
        if ctx.assignment is not None and ctx.assignment.pk:
            ctx.assignment.save()
        role = next((r for r in transition.roles if r in actor.roles), "")
        event = event_record(
            case=case,
            action=action,
            from_status=from_status,
            to_status=case.status,
            actor=user,
            actor_role=role,
            unit=actor.unit_label(role),
            note=data.note.strip(),
            data=_event_data(ctx),
        )
        for photo in photos:
            attachment_add(
                case=case, photo=photo, kind=PHOTO_KIND.get(action, "other"), event=event, user=user
            )
        if ctx.target is not None:
            event_record(
                case=ctx.target,
                action="merged_from",
                from_status=ctx.target.status,
                to_status=ctx.target.status,
                actor=user,
                actor_role=role,
                note=f"{case.number}",
                data={"case_id": case.id},
            )
        _notify(ctx)
    return case


def _lock_merge_pair(action: str, case_id: int, actor: Actor, data: ActionInput) -> None:
    """A merge locks two cases. Taking both in id order before anything else means two
    crossed merges (A into B, B into A) queue on the same first row instead of deadlocking;
    the second then finds its target already merged and is refused clearly."""
    if action != "merge":
        return
    ref = str(data.target_case).strip()
    if not ref:
        return
    target = (
        Case.objects.filter(scope_q(actor))
        .filter(**({"id": int(ref)} if ref.isdigit() else {"number": ref}))
        .values_list("id", flat=True)
        .first()
    )
    if target is None:
        return  # _merge reports the missing target under the lock
    ids = sorted({case_id, target})
    list(Case.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id"))


def _event_data(c: _Ctx) -> dict[str, object]:
    data: dict[str, object] = {}
    if c.department is not None:
        data["department_id"] = c.department.id
        data["department"] = c.department.name
    if c.target is not None:
        data["merged_into"] = c.target.number
    if c.data.result:
        data["result"] = c.data.result
    if c.data.satisfaction:
        data["satisfaction"] = c.data.satisfaction
    if c.data.deadline is not None:
        data["requested_deadline"] = timezone.localtime(c.data.deadline).isoformat()
    if c.case.deadline is not None:
        data["deadline"] = timezone.localtime(c.case.deadline).isoformat()
    return data


def _notify(c: _Ctx) -> None:
    dept_id = c.assignment.department_id if c.assignment else None
    users = notify.recipients_for(c.case, c.transition.action, dept_id) - {c.actor.user.id}
    if users:
        notify.notify_users(
            case=c.case,
            user_ids=users,
            kind=c.transition.action,
            message=f"案件 {c.case.number}:{c.transition.label}",
        )
    for user_ids, kind, message in c.notify_extra:
        notify.notify_users(case=c.case, user_ids=user_ids, kind=kind, message=message)
