"""Handing work to the background workers once the current transaction commits."""

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger("allmine.tasks")


class Send:
    """`task.apply_async(args, countdown=...)`, run by the commit: a failure to
    reach the broker is logged, never raised (the change it follows has committed)."""

    def __init__(self, task: Task, args: tuple[Any, ...], countdown: float | None = None):
        self.task, self.args, self.countdown = task, args, countdown

    def __call__(self) -> None:
        try:
            self.task.apply_async(self.args, countdown=self.countdown)  # type: ignore[arg-type]  # None is Celery's default; the stubs say float
        except Exception:  # the broker is unreachable: the sweep will send it
            logger.warning(
                "Could not enqueue %s%r; the sweep will pick it up.", self.task.name, self.args
            )


def enqueue_on_commit(task: Task, *args: Any, countdown: float | None = None) -> None:
    """Send `task` with `args` once the current transaction commits (to run
    `countdown` seconds later, if given).

    Celery's own `delay_on_commit` is not used: it registers a non-robust
    `on_commit` callback, so a broker that is down at that moment turns a change
    that has just been committed into a 500, and the client retries what was
    done. Here the failure is logged and the request answers; the job is a row in
    our own tables, which the periodic sweeps pick up."""
    transaction.on_commit(Send(task, args, countdown), robust=True)
