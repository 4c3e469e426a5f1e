"""The periodic jobs, sent by `celery beat` on `CELERY_BEAT_SCHEDULE`.

Each takes the lock its staff command takes (`allmine.core.commands.single_run`:
a PostgreSQL advisory lock, across machines), so a run that overlaps another (a
slow run, a second beat, the staff command by hand) does nothing; and the work
itself is idempotent. The sweeps enqueue each due kick or recording as its own
task, so a slow call to Agora holds up nothing else.
"""

import logging
from typing import Any

from celery import shared_task

from allmine.core.commands import single_run
from livestreams.services import (
    agora_kicks,
    agora_notices,
    jobs,
    presence,
    recording,
    rtm_messages,
    viewers,
)
from livestreams.tasks.agora import agora_kick_run, recording_run
from livestreams.tasks.chat import rtm_message_run

logger = logging.getLogger("allmine.jobs")
BUSY = "another run in progress"
SWEEP_BATCH = 500


def _locked(name: str, work: Any) -> Any:
    with single_run(name) as acquired:
        if not acquired:
            logger.info("%s: %s; nothing done.", name, BUSY)
            return BUSY
        result = work()
    logger.info("%s: %s", name, result)
    return result


@shared_task(name="livestreams.expire_streams")
def expire_streams() -> Any:
    return _locked("expire_streams", lambda: {"expired": jobs.livestreams_expire_due()})


@shared_task(name="livestreams.end_overdue_streams")
def end_overdue_streams() -> Any:
    return _locked("end_overdue_streams", lambda: {"ended": jobs.livestreams_end_overdue_due()})


@shared_task(name="livestreams.settle_replay_revenue")
def settle_replay_revenue() -> Any:
    def work() -> dict[str, Any]:
        paid, total = jobs.replay_revenue_settle_due()
        return {"paid": paid, "credits": str(total)}

    return _locked("settle_replay_revenue", work)


@shared_task(name="livestreams.retry_agora_kicks")
def retry_agora_kicks() -> Any:
    def work() -> dict[str, int]:
        due = list(agora_kicks.kicks_due().values_list("pk", flat=True)[:SWEEP_BATCH])
        for kick_id in due:
            agora_kick_run.delay(kick_id)
        return {"enqueued": len(due)}

    return _locked("retry_agora_kicks", work)


@shared_task(name="livestreams.retry_agora_recordings")
def retry_agora_recordings() -> Any:
    def work() -> dict[str, int]:
        due = list(recording.recordings_due().values_list("pk", flat=True)[:SWEEP_BATCH])
        for recording_id in due:
            recording_run.delay(recording_id)
        return {"enqueued": len(due)}

    return _locked("retry_agora_recordings", work)


@shared_task(name="livestreams.retry_rtm_messages")
def retry_rtm_messages() -> Any:
    def work() -> dict[str, int]:
        due = list(rtm_messages.rtm_messages_due().values_list("pk", flat=True)[:SWEEP_BATCH])
        for message_id in due:
            rtm_message_run.delay(message_id)
        return {"enqueued": len(due)}

    return _locked("retry_rtm_messages", work)


@shared_task(name="livestreams.reconcile_presence")
def reconcile_presence() -> Any:
    def work() -> dict[str, int]:
        expired = presence.presence_expire()
        summary = presence.presence_reconcile()
        return {"expired": expired, **vars(summary)}

    return _locked("reconcile_presence", work)


@shared_task(name="livestreams.prune_agora_notices")
def prune_agora_notices() -> Any:
    def work() -> dict[str, int]:
        notices, sequences = agora_notices.agora_notices_prune()
        return {"notices": notices, "sequences": sequences}

    return _locked("prune_agora_notices", work)


@shared_task(name="livestreams.recount_viewers")
def recount_viewers() -> Any:
    return _locked("recount_viewers", lambda: vars(viewers.viewer_counts_repair()))
