"""/healthz with a real worker, and with each dependency taken away."""

import pytest
from django.test import Client, override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.celery]


def test_healthz_green_with_worker(client: Client, celery_worker_process: object) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {"database": "ok", "redis": "ok", "celery": "ok"}


def test_healthz_names_celery_when_no_worker_listens(client: Client) -> None:
    # Redis database 13 is reachable but no worker consumes from it.
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/13"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["celery"].startswith("error")


def test_healthz_names_redis_when_unreachable(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["redis"].startswith("error")
    assert body["celery"].startswith("error")
    assert body["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_worker_reads_committed_rows(celery_worker_process: object, territory: None) -> None:
    """The worker runs a real task against the test database and finds the rows committed
    here (the notifications it is asked to deliver), and none that are not there."""
    from django.contrib.auth.models import User

    from dispatch.models import Notification
    from dispatch.tasks import deliver_notifications

    user = User.objects.create_user("wk", email="wk@example.org")
    rows = [Notification.objects.create(user=user, kind="test", message=f"第{i}条") for i in (1, 2)]
    found = deliver_notifications.delay([r.id for r in rows] + [10**9]).get(timeout=120)
    assert found == 2
