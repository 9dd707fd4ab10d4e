"""Thin Celery entry points: each calls a service and is safe to run twice."""

from datetime import datetime

from celery import shared_task

from dispatch.services import notify, sla


@shared_task(acks_late=True)
def sla_sweep(now: str | None = None) -> dict[str, int]:
    """Beat calls it with no argument (the clock is the database's "now" as seen by the
    worker); an explicit ISO time replays a sweep as of that moment (tests, catch-up)."""
    at = datetime.fromisoformat(now) if now else None
    result = sla.sweep(now=at)
    return {"yellow": result.yellow, "red": result.red, "escalated": result.escalated}


@shared_task(autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def deliver_notifications(notification_ids: list[int]) -> int:
    return notify.deliver(notification_ids)
