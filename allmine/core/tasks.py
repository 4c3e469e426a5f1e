"""Handing work to the background workers once the current transaction commits."""

import logging
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger("allmine.tasks")


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Send `task` with `args` once the current transaction commits.

    Celery's own `delay_on_commit` is not used: it registers a non-robust
    `on_commit` callback, so a broker that is down at that moment turns a change
    that has just been committed into a 500, and the client retries what was
    done. Here the failure is logged and the request answers; the job is a row in
    our own tables, which the periodic sweeps pick up."""

    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # the broker is unreachable: the sweep will send it
            logger.warning("Could not enqueue %s%r; the sweep will pick it up.", task.name, args)

    transaction.on_commit(partial(send), robust=True)
