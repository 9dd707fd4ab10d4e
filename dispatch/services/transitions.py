"""case_act: the one way a case changes after intake.

Lock the row, check role and jurisdiction against the transition table, check the state,
validate the input, run the transition's effect, set its status and clock, write its event,
store its photos, tell its recipients after commit. Everything an action means is read from
its row of the table (dispatch/workflow.py); nothing here names an action but the merge's
second lock. Photos are decoded before the lock is taken so the lock is held for
milliseconds.
"""

from dataclasses import replace

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import events
from cases.models import Attachment, Case, Status
from cases.services.photos import Photo, PhotoError, photo_ingest
from cases.services.records import attachment_add
from dispatch import effects
from dispatch.actors import Actor, actor_for
from dispatch.effects import ActionContext, ActionInput
from dispatch.errors import Conflict, Forbidden, Invalid, InvalidState, NotFound
from dispatch.models import Assignment
from dispatch.selectors import with_places
from dispatch.services import notify, sla
from dispatch.workflow import (
    BY_ACTION,
    FIELD_CHOICES,
    Clock,
    Field,
    Transition,
    may_act,
)

__all__ = [
    "ActionInput",
    "case_act",
]  # ActionInput, the service's input, lives beside the effects that read it


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
    for f, choices in FIELD_CHOICES.items():
        value = getattr(data, f.value)
        if f in t.inputs and value and value not in {v for v, _label in choices}:
            message = _("“%(v)s”不是允许的取值") % {"v": value}
            raise Invalid(message, fields={f.value: [message]})


def _clock(c: ActionContext, clock: Clock, from_status: str) -> None:
    if clock is Clock.PAUSE:
        sla.pause(c.case, c.now)
    elif clock is Clock.RESUME:
        sla.resume(c.case, c.now)
    elif clock is Clock.EXTEND and c.extend_to is not None:
        sla.move_deadline(c.case, c.now, c.extend_to)
    elif clock is Clock.STAGE and c.case.status != from_status:
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
        # The places without their boundaries: a street's outline is thousands of vertices,
        # not something to read under a row lock.
        case = with_places(Case.objects.select_for_update(of=("self",))).filter(id=case_id).first()
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
        ctx = ActionContext(case, actor, data, now, assignment)
        from_status = case.status
        payload = transition.effect(ctx)
        target = transition.target_for(data.result)
        if target is not None:
            case.status = target
        _clock(ctx, transition.clock, from_status)
        case.version += 1
        case.save()
        if ctx.assignment is not None and ctx.assignment.pk:
            ctx.assignment.save()
        role = next((r for r in transition.roles if r in actor.roles), "")
        step = events.Step(
            case_id=case.id,
            actor=user,
            role=role,
            unit=actor.unit_label(role),
            from_status=from_status,
            to_status=case.status,
            note=data.note.strip(),
            deadline=case.deadline,
            at=now,
        )
        event = events.WRITERS[transition.event](step, **payload)
        event.save()
        for photo in photos:
            kind = transition.photo_kind or Attachment.Kind.OTHER
            attachment_add(case=case, photo=photo, kind=kind, event=event, user=user)
        if ctx.target is not None:
            merged_into = ctx.target
            events.merged_from(
                replace(step, case_id=merged_into.id, from_status=merged_into.status,
                        to_status=merged_into.status, note=case.number, deadline=None),
                case_id=case.id,
            ).save()  # fmt: skip
        _notify(ctx, transition)
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
    target = effects.target_of(actor, ref).values_list("id", flat=True).first()
    if target is None:
        return  # the merge effect reports the missing target under the lock
    ids = sorted({case_id, target})
    list(Case.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id"))


def _notify(c: ActionContext, t: Transition) -> None:
    dept_id = c.assignment.department_id if c.assignment else None
    users = notify.recipients(t.notify, c.case, dept_id) - {c.actor.user.id}
    if users:
        notify.notify_users(
            case=c.case, user_ids=users, kind=t.action, message=f"案件 {c.case.number}:{t.label}"
        )
    for user_ids, kind, message in c.notify_extra:
        notify.notify_users(case=c.case, user_ids=user_ids, kind=kind, message=message)
