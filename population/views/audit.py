"""The reveal audit for data administrators: who saw whose identifiers, when and why."""

import csv
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from ..audit_export import AUDIT_HEADER, audit_row, audit_xlsx
from ..forms import AuditFilterForm
from ..models import RevealAudit

AUDIT_PERMISSION = "population.view_revealaudit"
PAGE_SIZE = 50


def audit_filtered(data: Any) -> tuple[AuditFilterForm, QuerySet[RevealAudit]]:
    form = AuditFilterForm(data)
    qs = RevealAudit.objects.select_related("user", "person", "organisation").order_by("-at")
    if form.is_valid():
        cd = form.cleaned_data
        if cd["user"]:
            qs = qs.filter(user__username__icontains=cd["user"])
        tz = timezone.get_current_timezone()
        if cd["since"]:
            qs = qs.filter(at__gte=datetime.combine(cd["since"], time.min, tz))
        if cd["until"]:
            qs = qs.filter(at__lt=datetime.combine(cd["until"] + timedelta(days=1), time.min, tz))
    return form, qs


@login_required
@permission_required(AUDIT_PERMISSION, raise_exception=True)
@require_safe
def audit_list(request: HttpRequest) -> HttpResponseBase:
    form, qs = audit_filtered(request.GET)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "population/pages/audit.html",
        {"form": form, "page": page, "querystring": params.urlencode()},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@permission_required(AUDIT_PERMISSION, raise_exception=True)
@require_safe
def audit_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    _form, qs = audit_filtered(request.GET)
    stamp = f"{timezone.localtime():%Y%m%d-%H%M%S}"
    if fmt == "xlsx":
        return FileResponse(
            audit_xlsx(qs.iterator(chunk_size=2000)),
            as_attachment=True,
            filename=f"reveal-audit-{stamp}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    writer = csv.writer(_Echo())

    def lines() -> Any:
        # A BOM so Excel opens the UTF-8 file with its Chinese intact.
        yield "\ufeff" + writer.writerow([str(h) for h in AUDIT_HEADER])
        for audit in qs.iterator(chunk_size=2000):
            yield writer.writerow(audit_row(audit))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reveal-audit-{stamp}.csv"'
    return response
