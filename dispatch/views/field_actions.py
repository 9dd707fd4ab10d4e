"""The field case page: a case's photos and timeline, and the actions this user may take
now, each a small form; the forms, timeline and photos are case_view's, as on the centre's
panel, so both pages read the same transition table the same way.

A form posts to `case_action`, which calls case_act with the version the page showed, so
two people acting at once get one success and one clear conflict (HTTP 409).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from cases.models import Case
from core.roles import Role
from dispatch.actors import CENTRE_ROLES, Actor, request_actor
from dispatch.errors import ActionError, Conflict, Forbidden, NotFound
from dispatch.models import Assignment
from dispatch.services.transitions import case_act
from dispatch.views.case_view import (
    UNKNOWN_ACTION,
    ActionForm,
    case_actions,
    case_photos,
    kept_values,
    photo_groups,
    timeline,
)
from dispatch.views.field_common import centre_url, visible_case
from dispatch.views.labels import form_errors, page_status, service_errors
from dispatch.workflow import BY_ACTION, FIELD_CHOICES, Field

CONFLICT_MESSAGE = gettext_lazy("案件已被他人处理,请刷新")


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
    values = kept_values(request) if failed else {}
    actions = case_actions(actor, case, open_action=failed, errors=errors, values=values)
    if actions.general:
        alert = alert or ";".join(actions.general)
    assignment = (
        Assignment.objects.filter(case=case, active=True).select_related("department").first()
    )
    back_url, back_label = back_link(actor, case)
    # The way forward first; returning, failing and voiding last, away from the thumb.
    forms = sorted(actions.views, key=lambda v: v.danger)
    context = {
        "case": case,
        "forms": forms,
        "only_one": len(forms) == 1,
        "assignment": assignment,
        "photos": photo_groups(case_photos(case, "field")),
        "timeline": timeline(case, "field"),
        "alert": alert,
        "alert_detail": alert_detail,
        "back_url": back_url,
        "back_label": back_label,
        "result_choices": FIELD_CHOICES[Field.RESULT],
        "satisfaction_choices": FIELD_CHOICES[Field.SATISFACTION],
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
    form = ActionForm.posted(request)
    if form is None or not form.is_valid():
        errors = form_errors(form.errors) if form else {"action": [str(UNKNOWN_ACTION)]}
        return render_case(request, case, failed=action, errors=errors, status=400)
    try:
        actor = request_actor(request)
        case = case_act(
            case_id=case.id, user=actor.user, action=action, data=form.to_input(), actor=actor
        )
    except Conflict as exc:
        # The page shows the case as it is now, with the actions still open to this user.
        fresh = _case_or_404(request, case_id)
        return render_case(
            request, fresh, alert=str(CONFLICT_MESSAGE), alert_detail=exc.message, status=409
        )
    except (Forbidden, NotFound) as exc:
        return render_case(request, case, alert=exc.message, status=exc.status)
    except ActionError as exc:
        return render_case(
            request, case, failed=action, errors=service_errors(exc), status=page_status(exc)
        )
    messages.success(request, _("已完成“%(label)s”") % {"label": BY_ACTION[action].label})
    return redirect("dispatch:field-case", case_id=case.id)
