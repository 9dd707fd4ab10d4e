"""The field case page: a case's photos and timeline, and the actions this user may take
now, each a small form built from the transition table's required and optional inputs.

A form posts to `case_action`, which calls case_act with the version the page showed, so
two people acting at once get one success and one clear conflict (HTTP 409).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from cases.models import Attachment, Case, Satisfaction
from core.roles import Role
from dispatch import selectors
from dispatch.actors import CENTRE_ROLES, Actor, request_actor
from dispatch.errors import ActionError, Conflict, Forbidden, NotFound
from dispatch.models import Assignment
from dispatch.services.transitions import ActionInput, case_act
from dispatch.views.field_common import (
    centre_url,
    photo_groups,
    roles_nav,
    service_errors,
    timeline,
    visible_case,
    visible_cases,
)
from dispatch.views.labels import MAX_PHOTOS, VERIFY_RESULT_LABELS, page_status, short
from dispatch.workflow import BY_ACTION, Field

# The order inputs appear in on a form: choices first, free text, then photos.
FIELD_ORDER = [
    Field.RESULT,
    Field.DEPARTMENT,
    Field.TARGET_CASE,
    Field.DEADLINE,
    Field.SATISFACTION,
    Field.NOTE,
    Field.PHOTOS,
]
NOTE_LABELS = {
    "verify": gettext_lazy("核实说明"),
    "report_done": gettext_lazy("处置情况"),
    "check_fail": gettext_lazy("不通过原因"),
    "return": gettext_lazy("回退原因"),
    "request_extension": gettext_lazy("延期理由"),
    "request_park": gettext_lazy("挂账理由"),
    "void": gettext_lazy("作废原因"),
}
PHOTO_LABELS = {
    "verify": gettext_lazy("现场照片"),
    "report_done": gettext_lazy("处置后照片"),
    "check_pass": gettext_lazy("核查照片"),
    "check_fail": gettext_lazy("核查照片"),
}
# Actions that undo someone's work or count against a unit: asked for confirmation.
CONFIRM = {
    "return": gettext_lazy("确定回退该任务吗?回退后由派遣员重新派遣,并计入派遣准确率。"),
    "check_fail": gettext_lazy("确定核查不通过吗?案件将退回处置部门返工。"),
    "void": gettext_lazy("确定作废该案件吗?"),
}
CONFLICT_MESSAGE = gettext_lazy("案件已被他人处理,请刷新")
# What a form shows again after an error (files cannot be kept).
KEPT_INPUTS = ("note", "target_case", "deadline", "result", "satisfaction", "department")


@dataclass
class ActionForm:
    action: str
    label: str
    inputs: list[tuple[str, bool]]  # (field name, required)
    note_label: str
    photo_label: str
    confirm: str
    danger: bool
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)  # messages not about one input
    values: dict[str, str] = field(default_factory=dict)
    expanded: bool = False
    departments: list[dict[str, object]] = field(default_factory=list)


def action_forms(actor: Actor, case: Case) -> list[ActionForm]:
    forms = []
    for spec in selectors.available_actions(actor, case):
        wanted = set(spec.required) | set(spec.optional)
        inputs = [
            (str(f.value), f.value in spec.required) for f in FIELD_ORDER if f.value in wanted
        ]
        form = ActionForm(
            action=spec.action,
            label=spec.label,
            inputs=inputs,
            note_label=str(NOTE_LABELS.get(spec.action, _("意见"))),
            photo_label=str(PHOTO_LABELS.get(spec.action, _("照片"))),
            confirm=str(CONFIRM.get(spec.action, "")),
            danger=spec.action in CONFIRM,
        )
        if Field.DEPARTMENT.value in wanted:
            default = selectors.default_department(case)
            form.departments = [
                {"id": d.id, "name": d.name, "default": default is not None and d.id == default.id}
                for d in selectors.dispatch_targets(case)
            ]
        forms.append(form)
    # The way forward first; returning, failing and voiding last, away from the thumb.
    return sorted(forms, key=lambda f: f.danger)


def parse_action(request: HttpRequest) -> tuple[ActionInput, dict[str, list[str]]]:
    """The posted inputs as the service takes them; unparseable values as field errors."""
    post = request.POST
    errors: dict[str, list[str]] = {}
    data = ActionInput(
        note=post.get("note", "")[:2000],
        photos=list(request.FILES.getlist("photos")),
        target_case=post.get("target_case", "").strip(),
        satisfaction=post.get("satisfaction", ""),
        result=post.get("result", ""),
    )
    if len(data.photos) > MAX_PHOTOS:
        errors["photos"] = [_("最多上传 %(n)s 张照片") % {"n": MAX_PHOTOS}]
    if raw := post.get("department", "").strip():
        if raw.isdigit():
            data.department_id = int(raw)
        else:
            errors["department"] = [_("请选择责任部门")]
    if raw := post.get("deadline", "").strip():
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            errors["deadline"] = [_("时间格式不正确")]
        else:
            data.deadline = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
    if (raw := post.get("version", "").strip()).isdigit():
        data.expected_version = int(raw)
    return data, errors


def back_link(actor: Actor, case: Case) -> tuple[str, str]:
    roles = actor.roles
    if (
        Role.HANDLER in roles
        and case.assignments.filter(department_id__in=list(actor.departments)).exists()
    ):
        return reverse("dispatch:field-inbox"), _("部门待办")
    if Role.GRID_WORKER in roles:
        return reverse("dispatch:field-tasks"), _("我的任务")
    if roles & CENTRE_ROLES:
        return centre_url(), _("指挥中心")
    return reverse("home"), _("首页")


def render_case(
    request: HttpRequest,
    case: Case,
    *,
    failed: str = "",
    errors: dict[str, list[str]] | None = None,
    alert: str = "",
    alert_detail: str = "",
    status: int = 200,
) -> HttpResponse:
    actor = request_actor(request)
    forms = action_forms(actor, case)
    for form in forms:
        if form.action == failed:
            form.errors = errors or {}
            shown = {name for name, _required in form.inputs}
            form.general = [m for k, msgs in form.errors.items() if k not in shown for m in msgs]
            form.values = {k: request.POST.get(k, "") for k in KEPT_INPUTS}
            form.expanded = True
    if failed and errors and not any(f.action == failed for f in forms):
        alert = alert or ";".join(m for msgs in errors.values() for m in msgs)
    assignment = (
        Assignment.objects.filter(case=case, active=True).select_related("department").first()
    )
    back_url, back_label = back_link(actor, case)
    context = {
        "case": case,
        "forms": forms,
        "only_one": len(forms) == 1,
        "assignment": assignment,
        "photos": photo_groups(case),
        "timeline": timeline(case),
        "alert": alert,
        "alert_detail": alert_detail,
        "back_url": back_url,
        "back_label": back_label,
        "nav": roles_nav(actor),
        "result_choices": list(VERIFY_RESULT_LABELS.items()),
        "satisfaction_choices": Satisfaction.choices,
        "now_local": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "dispatch/field/case.html", context, status=status)


def _case_or_404(request: HttpRequest, case_id: int) -> Case:
    case = visible_case(request_actor(request), case_id)
    if case is None:
        raise Http404(_("案件不存在或不在您的辖区"))
    return case


@login_required
@require_safe
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    return render_case(request, _case_or_404(request, case_id))


@login_required
@require_POST
def case_action(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_or_404(request, case_id)
    action = request.POST.get("action", "")
    data, errors = parse_action(request)
    if errors:
        return render_case(request, case, failed=action, errors=errors, status=400)
    try:
        actor = request_actor(request)
        case = case_act(case_id=case.id, user=actor.user, action=action, data=data, actor=actor)
    except Conflict as exc:
        # The page shows the case as it is now, with the actions still open to this user.
        fresh = _case_or_404(request, case_id)
        detail = short(exc.message)
        return render_case(
            request, fresh, alert=str(CONFLICT_MESSAGE), alert_detail=detail, status=409
        )
    except (Forbidden, NotFound) as exc:
        return render_case(request, case, alert=short(exc.message), status=exc.status)
    except ActionError as exc:
        return render_case(
            request, case, failed=action, errors=service_errors(exc), status=page_status(exc)
        )
    messages.success(request, _("已完成“%(label)s”") % {"label": BY_ACTION[action].label})
    return redirect("dispatch:field-case", case_id=case.id)


@login_required
@require_safe
def photo(request: HttpRequest, pk: int, size: str = "full") -> HttpResponseBase:
    """A case photo, to someone who may see the case. Photos are re-encoded at intake and
    never change (named by their hash), so the browser may keep them."""
    att = Attachment.objects.filter(pk=pk).only("case_id", "image", "thumbnail").first()
    if att is None or not visible_cases(request_actor(request)).filter(id=att.case_id).exists():
        raise Http404(_("照片不存在"))
    file = att.thumbnail if size == "thumb" else att.image
    try:
        handle = file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("照片文件丢失")) from exc
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response
