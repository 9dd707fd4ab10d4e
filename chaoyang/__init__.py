"""chaoyang/ — the project's top: settings, URLs, the Celery app, the API's error handling,
health, the demo and the grid profile page that joins population and cases. It may import
every app; no app imports it (shared helpers live in core/; docs/architecture.md)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
