"""Settings shared by every environment. Everything that differs is read from the environment."""

import base64
import hashlib
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "chaoyang",
    "grids",
    "cases",
    "dispatch",
    "population",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "chaoyang.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chaoyang.urls"
CSRF_FAILURE_VIEW = "chaoyang.api.problems.csrf_failure"
WSGI_APPLICATION = "chaoyang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "chaoyang.context_processors.nav",
            ],
        },
    },
]

# PostGIS everywhere, tests included. postgis:// selects the GeoDjango backend.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgis://postgres@127.0.0.1:5432/chaoyang"),
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# Server-side binding (Django's supported option): parameters travel apart from the SQL, and
# psycopg prepares a statement after `prepare_threshold` runs on a connection, so hot fixed
# queries (point → grid, the actor, the token) skip parsing and planning; point → grid is
# twice as fast prepared (bench/locate.py). A prepared statement may keep a generic plan
# made when a table was small until the table is analysed (autovacuum does) or the
# connection ends (CONN_MAX_AGE). Set DB_PREPARE_THRESHOLD=none behind a transaction-pooling
# proxy (PgBouncer in transaction mode cannot keep prepared statements).
_prepare = env("DB_PREPARE_THRESHOLD", default="5")
DATABASES["default"].setdefault("OPTIONS", {}).update(
    {
        "server_side_binding": True,
        "prepare_threshold": None if _prepare.lower() == "none" else int(_prepare),
    }
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env("CACHE_PREFIX", default="cy"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: every API answer, errors included, is JSON (people use /api/docs/).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "chaoyang.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "chaoyang.api.schema.ProblemAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chaoyang Grid API",
    "DESCRIPTION": "朝阳网格 — grid-based social service management. Coordinates are WGS 84 "
    "unless a `crs` parameter says otherwise.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Requests and responses get their own components: uploads are binary in requests.
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets share the name "level": the territory's (1–4) and departments'.
    "ENUM_NAME_OVERRIDES": {
        "RegionLevelEnum": "grids.models.Level",
        "DepartmentLevelEnum": "dispatch.models.Department.Level",
    },
    # Swagger UI served from our own static files: sites may be offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE

# The SLA clock (dispatch.services.sla). Working periods per working day; the share of a
# stage's limit after which the light turns yellow; what an overdue case triggers.
SLA_SWEEP_SECONDS = env.float("SLA_SWEEP_SECONDS", default=30.0)
SLA_WORK_PERIODS = env("SLA_WORK_PERIODS", default="08:30-12:00,13:30-17:30")
# How often each process checks whether calendar overrides changed elsewhere (seconds).
SLA_CALENDAR_REFRESH_SECONDS = env.float("SLA_CALENDAR_REFRESH_SECONDS", default=5.0)
SLA_WARNING_SHARE = env.float("SLA_WARNING_SHARE", default=0.8)
SLA_RED_ACTION = env("SLA_RED_ACTION", default="supervise")  # "supervise" or "" (none)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# External notification channels (in-app rows are always written).
NOTIFY_SENDERS: list[str] = env.list(
    "NOTIFY_SENDERS", default=["dispatch.services.notify.EmailSender"]
)
# Evaluation (evaluation/): how often the rollups catch up with the event log, and the
# fewest cases a rate needs before it is ranked (one quick fix must not top a ranking).
EVALUATION_SWEEP_SECONDS = env.float("EVALUATION_SWEEP_SECONDS", default=60.0)
EVALUATION_MIN_CASES = env.int("EVALUATION_MIN_CASES", default=10)

CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sla-sweep": {"task": "dispatch.tasks.sla_sweep", "schedule": SLA_SWEEP_SECONDS},
    "evaluation-sweep": {
        "task": "evaluation.tasks.evaluation_sweep",
        "schedule": EVALUATION_SWEEP_SECONDS,
    },
}

# How long a map tile of the territory trusts its cached version of the boundaries (seconds).
MAP_TERRITORY_VERSION_TTL = env.float("MAP_TERRITORY_VERSION_TTL", default=5.0)
# Processes that read and check a large population import in parallel (0: up to 4, by CPUs).
POPULATION_IMPORT_WORKERS = env.int("POPULATION_IMPORT_WORKERS", default=0)

# Maps draw our own boundaries; a basemap is optional (no internet by default).
MAP_TILE_URL = env("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env("MAP_TILE_ATTRIBUTION", default="")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (39.95, 116.48),
    "DEFAULT_ZOOM": 10,
    "MIN_ZOOM": 8,
    "MAX_ZOOM": 18,
    "TILES": [(_("底图"), MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION})]
    if MAP_TILE_URL
    else [],
    "RESET_VIEW": False,
}

# Password of the demo accounts that seed_demo creates (never use seed_demo in production).
DEMO_PASSWORD = env("DEMO_PASSWORD", default="chaoyang2026")

# Personal data at rest (core.crypto): "kid:base64key" list, the first encrypts; and a
# separate key for the blind index. Development and test derive throwaway keys; production
# must set both.
FIELD_ENCRYPTION_KEYS = env("FIELD_ENCRYPTION_KEYS", default="")
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", default="")


def insecure_key(label: str) -> str:
    """A 256-bit key anyone can recompute from its label: for development and tests only."""
    return base64.urlsafe_b64encode(hashlib.sha256(label.encode()).digest()).decode()


# Searches by identity number, fragment or phone a user may run per day (population search):
# each is an "is this number here?" question, and enough of them rebuild a number.
POPULATION_IDENTIFIER_SEARCHES_PER_DAY = env.int(
    "POPULATION_IDENTIFIER_SEARCHES_PER_DAY", default=100
)

# The home district: its code prefixes every grid code (DB11/T 2157).
HOME_DISTRICT_CODE = env("HOME_DISTRICT_CODE", default="110105")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# Debian 12 ships GDAL 3.6; GDAL only reads files an administrator passes to import_boundaries,
# never user-uploaded spatial references, so the GDAL ≥ 3.9 hardening warning is silenced.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
