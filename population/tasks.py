"""Celery tasks of the base databases. Thin: the work is in population.imports.service."""

import logging

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext as _

from population.imports.columns import ImportRefused
from population.imports.service import population_import
from population.models import ImportJob
from population.protect import scrub

log = logging.getLogger(__name__)


@shared_task(acks_late=False)
def run_import(job_id: int) -> dict[str, int] | None:
    """Run a pending import job and store its report on the job row.

    acks_late is off: a worker lost mid-import must not start the same file again by
    itself (the merge would make no duplicates, but the job row would be counted twice).
    """
    if not ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.RUNNING
    ):
        return None  # already running, done, or gone
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    columns = job.mapping.get("columns")
    try:
        report = population_import(
            path=job.file.path,
            name=job.original_name,
            kind=job.kind,
            mapping=columns if isinstance(columns, dict) else None,
            crs=str(job.mapping.get("crs") or "wgs84"),
            user=job.created_by,
            job=job,
        )
    except ImportRefused as exc:
        _finish(job, ImportJob.Status.FAILED, error=str(exc))
        return None
    except Exception:
        log.exception("import job %s failed", job_id)
        _finish(job, ImportJob.Status.FAILED, error=_("导入失败,请联系管理员"))
        raise
    _finish(
        job,
        ImportJob.Status.DONE,
        counts=report.counts(),
        rejected=[{"row": r.row, "reason": scrub(r.reason)} for r in report.rejections],
        processed=report.rows,
    )
    return report.counts()


def _finish(
    job: ImportJob,
    status: str,
    *,
    error: str = "",
    counts: dict[str, int] | None = None,
    rejected: list[dict[str, object]] | None = None,
    processed: int | None = None,
) -> None:
    # The upload holds identity numbers and phones in clear: it goes once the job is over.
    if job.file:
        job.file.delete(save=False)
    # Reasons and errors never quote a row's values; scrub keeps it so if one ever does.
    fields = {"status": status, "error": scrub(error), "finished_at": timezone.now(), "file": ""}
    if counts is not None:
        fields["counts"] = counts
    if rejected is not None:
        fields["rejected"] = rejected
    if processed is not None:
        fields["processed_rows"] = processed
        fields["total_rows"] = processed
    ImportJob.objects.filter(pk=job.pk).update(**fields)
