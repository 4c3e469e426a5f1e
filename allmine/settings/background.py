"""Background work on Celery: the broker, how tasks run, and the one beat
schedule.

Part of `allmine.settings`, which imports everything this defines; what it reads
(env, REDIS_URL, VAR_DIR) comes from allmine/settings/base.py."""

from celery.schedules import crontab

from allmine.settings.base import REDIS_URL, VAR_DIR, env

# --- Background work (Celery) ------------------------------------------------
# Workers run what must not wait in a request (every call to Agora's REST APIs)
# and, with exactly one `celery beat`, the periodic jobs; Redis is the broker.
# With no broker (plain `make run`) every task runs in the web process, after
# the commit that asked for it, and a failing task never fails the request.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# The task modules (the package `livestreams.tasks` imports none of them itself).
CELERY_IMPORTS = (
    "livestreams.tasks.agora",
    "livestreams.tasks.chat",
    "livestreams.tasks.periodic",
)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True  # the jobs' state is in our own tables
CELERY_RESULT_BACKEND = None
# Acknowledged when done: a task of a worker that dies is run by another (the
# tasks are idempotent); one task at a time per worker process.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT = 300, 360
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# The kept viewer counts (database triggers) are compared with a recount, and any
# drift repaired, this often.
VIEWER_RECOUNT_SECONDS = env.float("VIEWER_RECOUNT_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# One schedule for any number of web and worker nodes (run one beat). Each job
# also takes a lock, so an overlap (a slow run, a second beat, the staff command
# by hand) only does nothing.
CELERY_BEAT_SCHEDULE = {
    "expire-streams": {"task": "livestreams.expire_streams", "schedule": 300.0},
    "end-overdue-streams": {"task": "livestreams.end_overdue_streams", "schedule": 300.0},
    "settle-replay-revenue": {
        "task": "livestreams.settle_replay_revenue",
        "schedule": crontab(minute=17),
    },
    "retry-agora-kicks": {"task": "livestreams.retry_agora_kicks", "schedule": 60.0},
    "retry-agora-recordings": {"task": "livestreams.retry_agora_recordings", "schedule": 60.0},
    "retry-rtm-messages": {"task": "livestreams.retry_rtm_messages", "schedule": 60.0},
    "reconcile-presence": {"task": "livestreams.reconcile_presence", "schedule": 60.0},
    "recount-viewers": {"task": "livestreams.recount_viewers", "schedule": VIEWER_RECOUNT_SECONDS},
    "prune-agora-notices": {
        "task": "livestreams.prune_agora_notices",
        "schedule": crontab(hour=3, minute=41),
    },
}
