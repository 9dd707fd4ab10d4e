"""Thin Celery entry points: each calls a service and is safe to run twice."""

from celery import shared_task

from dispatch.services import notify, sla


@shared_task(acks_late=True)
def sla_sweep() -> dict[str, int]:
    result = sla.sweep()
    return {"yellow": result.yellow, "red": result.red, "escalated": result.escalated}


@shared_task(autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def deliver_notifications(notification_ids: list[int]) -> int:
    return notify.deliver(notification_ids)
