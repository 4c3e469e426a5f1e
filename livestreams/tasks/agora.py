"""Work on one Agora job: a kick (create or lift its rule) or a recording
(start, check, stop). Enqueued after the commit of the action that asked for it,
and again by the sweeps of `tasks.periodic` until the job is done."""

from celery import shared_task

from livestreams.services import agora_kicks, recording


@shared_task(name="livestreams.agora_kick_run")
def agora_kick_run(kick_id: int) -> str:
    outcome = agora_kicks.kick_run(kick_id=kick_id)
    if outcome == agora_kicks.AGAIN:  # the ban was lifted meanwhile: lift the rule now
        agora_kick_run.delay(kick_id)
    return outcome


@shared_task(name="livestreams.recording_run")
def recording_run(recording_id: int) -> str:
    outcome = recording.recording_run(recording_id=recording_id)
    if outcome.follow_up is not None:  # a new recording to start, or a stop right away
        recording_run.delay(outcome.follow_up)
    return outcome.name
