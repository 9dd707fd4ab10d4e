"""Grid worker pages (phone): report a problem, the grids' cases to verify and to check.

The report form carries an Idempotency-Key made once per form in the browser, so a double
tap or a resubmission after a dropped connection returns the case already registered.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from cases.models import Attachment, Case, Status
from core.roles import Role
from dispatch import selectors
from dispatch.actors import Actor, request_actor
from dispatch.errors import ActionError
from dispatch.services.intake import case_intake
from dispatch.views.field_common import (
    category_tree,
    grid_codes,
    in_my_grids,
    urgency_choices,
    visible_case,
    visible_cases,
)
from dispatch.views.field_forms import (
    LOCATION_FIELDS,
    ReportForm,
    new_key,
    photo_count_error,
)
from dispatch.views.labels import form_errors, page_status, service_errors

CODE_SLOT = "__code__"


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "dispatch/field/forbidden.html",
        {"message": message},
        status=403,
    )


def outline_url() -> str:
    return reverse("grids:region-outline", args=[CODE_SLOT])


def _report_context(
    request: HttpRequest, form: ReportForm, errors: dict[str, list[str]]
) -> dict[str, object]:
    actor = request_actor(request)
    return {
        "form": form,
        "values": form.data if form.is_bound else {},
        "errors": errors,
        "location_errors": [m for f in LOCATION_FIELDS for m in errors.get(f, [])],
        "categories": category_tree(),
        "urgencies": urgency_choices(),
        "nojs_key": new_key(),
        # A page re-shown after an error cannot keep the files the browser sent.
        "photos_lost": bool(request.FILES),
        "map_config": {
            "outlineUrl": outline_url(),
            "codeSlot": CODE_SLOT,
            "codes": grid_codes(actor)[:5],
        },
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if Role.GRID_WORKER not in actor.roles:
        return forbidden(request, _("仅网格员可以在此上报问题。"))
    if request.method != "POST":
        return render(
            request, "dispatch/field/report.html", _report_context(request, ReportForm(), {})
        )
    form = ReportForm(request.POST)
    errors = photo_count_error(request)
    if not form.is_valid() or errors:
        errors.update(form_errors(form.errors))
        return render(
            request,
            "dispatch/field/report.html",
            _report_context(request, form, errors),
            status=400,
        )
    try:
        result = case_intake(user=actor.user, data=form.intake_input(request), actor=actor)
    except ActionError as exc:
        ctx = _report_context(request, form, service_errors(exc))
        return render(request, "dispatch/field/report.html", ctx, status=page_status(exc))
    url = reverse("dispatch:field-report-done", args=[result.case.id])
    return redirect(url if result.created else f"{url}?repeat=1")


def used_key(actor: Actor, case: Case) -> str:
    """The form's own Idempotency-Key, so the success page can tell the browser it is
    spent (the service stores it prefixed with the reporter's id)."""
    if case.reporter_id != actor.user.id or not case.idempotency_key:
        return ""
    return case.idempotency_key.split(":", 1)[-1]


def duplicate_rows(actor: Actor, case: Case) -> list[Case]:
    """Duplicate suggestions; each marked whether this user may open it."""
    rows = list(
        selectors.duplicate_candidates(case)
        .select_related("category", "grid")
        .defer("grid__boundary")
    )
    seen = set(
        visible_cases(actor).filter(id__in=[r.id for r in rows]).values_list("id", flat=True)
    )
    for row in rows:
        row.visible = row.id in seen  # type: ignore[attr-defined]
    return rows


@login_required
@require_safe
def report_done(request: HttpRequest, case_id: int) -> HttpResponse:
    actor = request_actor(request)
    case = visible_case(actor, case_id)
    if case is None:
        raise Http404(_("案件不存在或不在您的辖区"))
    return render(
        request,
        "dispatch/field/report_done.html",
        {
            "case": case,
            "duplicates": duplicate_rows(actor, case),
            "repeat": request.GET.get("repeat") == "1",
            "used_key": used_key(actor, case),
        },
    )


def _with_thumbs(qs: QuerySet[Case]) -> QuerySet[Case]:
    return (
        qs.select_related("category__parent", "grid")
        .defer("grid__boundary")
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.order_by("created_at", "id"),
                to_attr="photo_list",
            )
        )
    )


TASK_LIMIT = 200  # per section; a grid rarely has more, and the count says if it does


@login_required
@require_safe
def tasks(request: HttpRequest) -> HttpResponse:
    actor = request_actor(request)
    if Role.GRID_WORKER not in actor.roles:
        return forbidden(request, _("仅网格员有核实和核查任务。"))
    mine = selectors.live(selectors.cases_visible(actor)).filter(in_my_grids(actor))
    verify = _with_thumbs(mine.filter(status=Status.VERIFYING)).order_by("deadline", "id")
    check = _with_thumbs(mine.filter(status=Status.DONE)).order_by("deadline", "id")
    reported = _with_thumbs(Case.objects.filter(reporter=actor.user)).order_by("-created_at")[:10]
    return render(
        request,
        "dispatch/field/tasks.html",
        {
            "sections": [
                ("verify", _("待核实"), list(verify[:TASK_LIMIT]), verify.count()),
                ("check", _("待核查"), list(check[:TASK_LIMIT]), check.count()),
            ],
            "reported": list(reported),
            "limit": TASK_LIMIT,
        },
    )
