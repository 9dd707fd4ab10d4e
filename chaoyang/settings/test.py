"""Test settings: real PostGIS and Redis (a separate Redis database), fast password hashing."""

import os

from .base import *  # noqa: F403
from .base import REDIS_URL, env, insecure_key

DEBUG = False
SECRET_KEY = "test-only-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Keep tests off the demo's Redis database so a running demo and a test run don't mix.
# The cache and the broker get separate databases: tests clear the cache between tests
# (throttles, tile caches) without touching the worker's queues.
_TEST_REDIS = env("TEST_REDIS_URL", default=REDIS_URL.rsplit("/", 1)[0] + "/15")
CACHES["default"]["LOCATION"] = REDIS_URL.rsplit("/", 1)[0] + "/14"  # noqa: F405
# Each pytest process (and the worker it starts) uses its own queue, so parallel runs
# never take each other's tasks; tests/conftest.py passes the name to the worker.
CELERY_TASK_DEFAULT_QUEUE = env("CHAOYANG_TEST_QUEUE", default=f"test-{os.getpid()}")
# ... and its own cache keys, which tests/conftest.py empties between tests without
# touching another run's (a FLUSHDB there emptied a parallel run's tile cache mid-test).
CACHES["default"]["KEY_PREFIX"] = f"cy{CELERY_TASK_DEFAULT_QUEUE}"  # noqa: F405
CELERY_BROKER_URL = _TEST_REDIS
CELERY_RESULT_BACKEND = _TEST_REDIS
LANGUAGE_CODE = "zh-hans"
# Serve static files from the finders (no collectstatic in tests).
STATIC_ROOT = None  # type: ignore[assignment]
WHITENOISE_USE_FINDERS = True

# Throwaway keys derived from a public label: fine for test, worthless anywhere else
# (production refuses to start without real ones).
FIELD_ENCRYPTION_KEYS = env(
    "FIELD_ENCRYPTION_KEYS", default="tes1:" + insecure_key("test-field-encryption")
)
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", default=insecure_key("test-blind-index"))

# The test database's name is chosen per run by tests/conftest.py (pytest-django's
# django_db_modify_db_settings_parallel_suffix fixture), not here.
