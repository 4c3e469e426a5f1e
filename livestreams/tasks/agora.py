"""Work on one Agora job: a kick (create or lift its rule) or a recording
(start, check, stop). Enqueued after the commit of the action that asked for it,
and again by the sweeps of `tasks.periodic` until the job is done."""

from typing import TypeVar, cast

from celery import Task, shared_task
from celery.contrib.django.task import DjangoTask
from typing_extensions import ParamSpec

from livestreams.services import agora_kicks, recording

_P = ParamSpec("_P")
_R = TypeVar("_R")


def django_task(task: Task[_P, _R]) -> DjangoTask[_P, _R]:
    """Celery's Django fixup makes every task a DjangoTask (with `delay_on_commit`);
    its type stubs do not say so for `shared_task`."""
    return cast(DjangoTask[_P, _R], task)


@django_task
@shared_task(name="livestreams.agora_kick_run")
def agora_kick_run(kick_id: int) -> str:
    outcome = agora_kicks.kick_run(kick_id=kick_id)
    if outcome == agora_kicks.AGAIN:  # the ban was lifted meanwhile: lift the rule now
        agora_kick_run.delay(kick_id)
    return outcome


@django_task
@shared_task(name="livestreams.recording_run")
def recording_run(recording_id: int) -> str:
    outcome = recording.recording_run(recording_id=recording_id)
    if outcome.follow_up is not None:  # a new recording to start, or a stop right away
        recording_run.delay(outcome.follow_up)
    return outcome.name
