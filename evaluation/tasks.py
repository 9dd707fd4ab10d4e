"""Thin Celery entry points: each calls a service and is safe to run twice."""

from celery import shared_task

from evaluation.services import rollup


@shared_task(acks_late=True)
def evaluation_sweep() -> dict[str, int]:
    """Beat calls it every EVALUATION_SWEEP_SECONDS: the rollups catch up with the log."""
    result = rollup.sweep()
    return {"events": result.events, "cases": result.cases, "watermark": result.watermark}
