"""What every settings module reads: the paths, the environment (django-environ),
DJANGO_ENV, the Redis address and the media storage.

`allmine.settings` and its modules per concern (agora.py, background.py) import
these from here, so none of them imports the half-built package."""

from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV: str = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise environ.ImproperlyConfigured(
        f"DJANGO_ENV must be development, production or test, not {DJANGO_ENV!r}"
    )
PRODUCTION = DJANGO_ENV == "production"

# Redis, when set: the shared cache (allmine.settings) and Celery's default broker
# (background.py).
REDIS_URL: str = env.str("REDIS_URL", default="")

# Media (thumbnails, profile photos and their variants) on the local file system by
# default, or on any S3-compatible store with STORAGE_BACKEND=s3.
STORAGE_BACKEND: str = env.str("STORAGE_BACKEND", default="local")
DEFAULT_STORAGE: dict[str, Any]
if STORAGE_BACKEND == "local":
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif STORAGE_BACKEND == "s3":
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            # The public or CDN host the media are served from, e.g. cdn.example.com.
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default=None),
            "url_protocol": env.str("AWS_S3_URL_PROTOCOL", default="https:"),
            "location": env.str("AWS_LOCATION", default=""),
            "querystring_auth": False,
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    raise environ.ImproperlyConfigured(
        f"STORAGE_BACKEND must be local or s3, not {STORAGE_BACKEND!r}"
    )
