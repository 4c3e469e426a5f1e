"""The Celery application: background work off the request path.

`celery -A allmine worker` runs the tasks (`livestreams.tasks`), `celery -A
allmine beat` (exactly one in a deployment) sends the periodic ones on the
schedule of `CELERY_BEAT_SCHEDULE`. Configuration comes from Django's settings
(`CELERY_*`); with no broker the tasks run eagerly in the web process.
"""

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "allmine.settings")

app = Celery("allmine")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _refuse_without_broker(**_kwargs: Any) -> None:
    """A worker or beat without a broker would wait for nothing (Celery's
    default broker is an AMQP server on localhost): say so and stop."""
    from django.conf import settings

    if not settings.CELERY_BROKER_URL:
        raise SystemExit(
            "No Celery broker: set CELERY_BROKER_URL (or REDIS_URL), e.g. "
            "redis://127.0.0.1:6379/1. Without one the web process runs every task itself."
        )


worker_init.connect(_refuse_without_broker, weak=False)
beat_init.connect(_refuse_without_broker, weak=False)
