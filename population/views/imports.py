"""Import pages: upload → preview with column mapping → Celery task with progress → report.

Only data administrators import (the 数据管理员 group or role, population permissions, or a
superuser): an import writes the whole district's base data. Views stay thin; reading,
mapping and merging live in population.imports.
"""

import secrets
from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe
from openpyxl.utils import get_column_letter

from core.roles import Role
from grids.crs import CRS
from population.imports.columns import (
    KIND_LABELS,
    TEMPLATES,
    ImportRefused,
    auto_mapping,
    check_mapping,
    clean_mapping,
    fields_of,
    header_signature,
)
from population.imports.formats import open_table
from population.imports.workbook import report_workbook, template_workbook
from population.models import ImportJob, ImportTemplate
from population.protect import scrub
from population.tasks import run_import

DATA_ADMIN_GROUP = "数据管理员"
PREVIEW_ROWS = 8
UPLOAD_LIMIT = 200 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CRS_CHOICES = [
    (CRS.WGS84.value, gettext_lazy("WGS84(GPS、天地图)")),
    (CRS.GCJ02.value, gettext_lazy("GCJ-02(高德、腾讯地图)")),
    (CRS.CGCS2000.value, gettext_lazy("CGCS2000")),
]


def can_import(user: User | AnonymousUser) -> bool:
    if not isinstance(user, User) or not user.is_active:
        return False
    if user.is_superuser or user.has_perm("population.add_importjob"):
        return True
    if user.groups.filter(name=DATA_ADMIN_GROUP).exists():
        return True
    return user.memberships.filter(role=Role.DATA_ADMIN).exists()


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required and can_import come first
    return request.user


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "population/imports/forbidden.html",
        {"message": _("只有数据管理员可以导入基础数据。")},
        status=403,
    )


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("数据类型"), choices=list(KIND_LABELS.items()))
    file = forms.FileField(
        label=gettext_lazy("文件"),
        help_text=gettext_lazy(".xlsx 或 .csv(UTF-8 或 GBK 编码),第一行为表头"),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".xlsm", ".csv", ".txt", ".tsv")):
            raise forms.ValidationError(
                _("请上传 .xlsx 或 .csv 文件(旧版 .xls 请先另存为 .xlsx)。")
            )
        if upload.size > UPLOAD_LIMIT:
            raise forms.ValidationError(_("文件超过 200 MB,请分批导入或使用命令行导入。"))
        return upload


@login_required
@require_http_methods(["GET", "POST"])
def imports_home(request: HttpRequest) -> HttpResponse:
    if not can_import(request.user):
        return _forbidden(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # A file may be named after a person: the stored path gets a neutral name, the
        # name shown keeps identity numbers and phones masked.
        original_name = scrub(upload.name)[:200]
        upload.name = f"{secrets.token_hex(8)}{Path(upload.name).suffix.lower()}"
        job = ImportJob.objects.create(
            kind=form.cleaned_data["kind"],
            file=upload,
            original_name=original_name,
            created_by=_user(request),
        )
        try:
            with open_table(job.file.path, name=job.original_name):
                pass
        except ImportRefused as exc:
            job.file.delete(save=False)
            job.delete()
            form.add_error("file", str(exc))
        else:
            return redirect("population:import-preview", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:20]
    kinds = [(k, KIND_LABELS[k], fields_of(k)) for k in TEMPLATES]
    return render(
        request,
        "population/imports/index.html",
        {"form": form, "jobs": jobs, "kinds": kinds, "kind_labels": KIND_LABELS},
        status=400 if form.errors else 200,
    )


def _preview(job: ImportJob) -> tuple[list[str], list[list[str]], int]:
    with open_table(job.file.path, name=job.original_name) as table:
        sample = []
        for _n, cells in table.rows:
            # Enough to match columns by: identity numbers and phones appear masked.
            sample.append([scrub(c) for c in cells])
            if len(sample) >= PREVIEW_ROWS:
                break
        return table.header, sample, table.estimated_rows


def _remembered(job: ImportJob, header: list[str]) -> dict[str, int]:
    template = ImportTemplate.objects.filter(
        kind=job.kind, header_signature=header_signature(header)
    ).first()
    if template is not None:
        return clean_mapping(job.kind, template.mapping, len(header))
    return auto_mapping(job.kind, header)


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    if not can_import(request.user):
        return _forbidden(request)
    job = _job(request, pk)
    if job.status != ImportJob.Status.PENDING or job.mapping:
        return redirect("population:import-progress", pk=job.pk)
    if request.method == "POST" and "cancel" in request.POST:  # before reading the file
        job.file.delete(save=False)
        job.delete()
        return redirect("population:imports")
    try:
        header, sample, estimated = _preview(job)
    except ImportRefused as exc:
        return render(
            request, "population/imports/forbidden.html", {"message": str(exc)}, status=400
        )
    error = ""
    crs = CRS.WGS84.value
    if request.method == "POST":
        submitted = {f.key: request.POST.get(f"map_{f.key}", "") for f in fields_of(job.kind)}
        mapping = clean_mapping(job.kind, submitted, len(header))
        crs = request.POST.get("crs", crs) if request.POST.get("crs") in dict(CRS_CHOICES) else crs
        try:
            check_mapping(job.kind, mapping)
        except ImportRefused as exc:
            error = str(exc)
        else:
            _start(request, job, header, mapping, crs, estimated)
            return redirect("population:import-progress", pk=job.pk)
    else:
        mapping = _remembered(job, header)
    columns = [
        (i, f"{get_column_letter(i + 1)} · {h or _('(无表头)')}") for i, h in enumerate(header)
    ]
    fields = [(f, mapping.get(f.key)) for f in fields_of(job.kind)]
    context = {
        "job": job,
        "kind_label": KIND_LABELS[job.kind],
        "header": header,
        "sample": [row + [""] * (len(header) - len(row)) for row in sample],
        "estimated": estimated,
        "columns": columns,
        "fields": fields,
        "crs": crs,
        "crs_choices": CRS_CHOICES,
        "has_points": any(f.key == "lng" for f in fields_of(job.kind)),
        "error": error,
    }
    return render(request, "population/imports/preview.html", context, status=400 if error else 200)


def _start(
    request: HttpRequest,
    job: ImportJob,
    header: list[str],
    mapping: dict[str, int],
    crs: str,
    estimated: int,
) -> None:
    with transaction.atomic():
        ImportTemplate.objects.update_or_create(
            kind=job.kind,
            header_signature=header_signature(header),
            defaults={"name": job.original_name[:100], "mapping": mapping},
            create_defaults={
                "name": job.original_name[:100],
                "mapping": mapping,
                "created_by": _user(request),
            },
        )
        job.mapping = {"columns": mapping, "crs": crs}
        job.total_rows = estimated
        job.save(update_fields=["mapping", "total_rows"])
        job_id = job.pk
        transaction.on_commit(lambda: run_import.delay(job_id))


@login_required
@require_safe
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    if not can_import(request.user):
        return _forbidden(request)
    job = _job(request, pk)
    if job.status == ImportJob.Status.PENDING and not job.mapping:
        return redirect("population:import-preview", pk=job.pk)
    return render(
        request,
        "population/imports/progress.html",
        {
            "job": job,
            "kind_label": KIND_LABELS.get(job.kind, job.kind),
            "status": _status(job),
            "strings": PROGRESS_STRINGS,
        },
    )


# Every string imports.js shows, translated here so the script carries no language of its own.
PROGRESS_STRINGS = {
    "queued": gettext_lazy("排队中,等待后台任务开始…"),
    "reading": gettext_lazy("正在读取并校验…"),
    "merging": gettext_lazy("正在合并入库…"),
    "done": gettext_lazy("导入完成"),
    "failed": gettext_lazy("导入失败"),
    "count": gettext_lazy("已处理 %(done)s / %(total)s 行"),
    "networkError": gettext_lazy("暂时无法获取进度,正在重试…"),
}


def _status(job: ImportJob) -> dict[str, Any]:
    done = job.status == ImportJob.Status.DONE
    if job.status == ImportJob.Status.RUNNING:
        merging = job.total_rows and job.processed_rows >= job.total_rows
        phase = "merging" if merging else "reading"
    else:
        phase = {"pending": "queued", "done": "done", "failed": "failed"}.get(job.status, "queued")
    return {
        "status": job.status,
        "phase": phase,
        "processed": job.processed_rows,
        "total": job.total_rows,
        "counts": job.counts if done else {},
        "error": job.error,
        "reportUrl": reverse("population:import-report", args=[job.pk]) if done else None,
    }


@login_required
@require_safe
def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    if not can_import(request.user):
        return JsonResponse({"error": _("无权访问")}, status=403)
    job = _job(request, pk)
    response = JsonResponse(_status(job))
    response["Cache-Control"] = "no-store"
    return response


REPORT_ROWS_SHOWN = 500


@login_required
@require_safe
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    if not can_import(request.user):
        return _forbidden(request)
    job = _job(request, pk)
    if job.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        return redirect("population:import-progress", pk=job.pk)
    counts = dict(job.counts)
    order = ("created", "updated", "merged", "unchanged", "rejected")
    main = [(k, counts.pop(k, 0)) for k in order]
    return render(
        request,
        "population/imports/report.html",
        {
            "job": job,
            "kind_label": KIND_LABELS.get(job.kind, job.kind),
            "rows": counts.pop("rows", job.processed_rows),
            "main": main,
            "extra": counts,
            "rejected": job.rejected[:REPORT_ROWS_SHOWN],
            "rejected_more": max(0, len(job.rejected) - REPORT_ROWS_SHOWN),
            "rejected_unlisted": max(0, int(job.counts.get("rejected", 0)) - len(job.rejected)),
        },
    )


@login_required
@require_safe
def import_report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    if not can_import(request.user):
        return _forbidden(request)
    job = _job(request, pk)
    if job.status != ImportJob.Status.DONE:
        raise Http404
    response = HttpResponse(report_workbook(job), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="import-report-{job.pk}.xlsx"'
    return response


@login_required
@require_safe
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    if not can_import(request.user):
        return _forbidden(request)
    if kind not in TEMPLATES:
        raise Http404
    response = HttpResponse(template_workbook(kind), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="template-{kind}.xlsx"'
    return response
