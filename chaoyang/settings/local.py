"""Development settings: DEBUG on unless the environment says otherwise."""

from .base import *  # noqa: F403
from .base import env, insecure_key

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Throwaway keys derived from a public label: fine for local, worthless anywhere else
# (production refuses to start without real ones).
FIELD_ENCRYPTION_KEYS = env(
    "FIELD_ENCRYPTION_KEYS", default="loc1:" + insecure_key("local-field-encryption")
)
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", default=insecure_key("local-blind-index"))
