"""The keys of what the API caches of a stream (in the shared cache: Redis in
production, so every node sees the same entries), and forgetting them.

A write that changes a stream's representation forgets it when it commits
(`forget_stream`): saving a stream, a guest or a mini crowdfunding does it
(their `save`), and the services call it after a queryset `update()` or when
they lock a stream to change it. Presence changes forget the viewer count
(`forget_viewer_counts`). The entries' lifetimes (STREAM_CACHE_SECONDS,
VIEWER_COUNT_CACHE_SECONDS) bound how stale a change made any other way (raw
SQL, a shell) leaves them. A cache that fails is never an error: the readers
fall back to the database and the forgetting is skipped (the lifetime bounds it).
"""

import logging
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from allmine.core.throttling import cache_skipped

logger = logging.getLogger("allmine.cache")

# Bump when what a snapshot holds changes shape: old entries are then never read.
SNAPSHOT_VERSION = 1


def stream_key(stream_id: str) -> str:
    return f"livestreams:stream:v{SNAPSHOT_VERSION}:{stream_id}"


def viewers_key(stream_id: str) -> str:
    return f"livestreams:viewers:{stream_id}"


class _Forget:
    """An on-commit callback deleting `keys`; `may_store` reads its keys."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys

    def __call__(self) -> None:
        if cache_skipped():  # the cache timed out a moment ago: the lifetimes bound it
            return
        try:
            cache.delete_many(self.keys)
        except Exception as exc:  # any cache failure: the entries expire by themselves
            logger.warning("Could not forget cached entries: %s", type(exc).__name__)


def forget_stream(stream_id: str) -> None:
    """Forget the stream's cached representation and viewer count when the
    current transaction commits (at once outside one)."""
    transaction.on_commit(_Forget([stream_key(stream_id), viewers_key(stream_id)]))


def forget_viewer_counts(stream_ids: Iterable[str]) -> None:
    """Forget the cached viewer counts of these streams when the current
    transaction commits."""
    keys = sorted({viewers_key(pk) for pk in stream_ids})
    if keys:
        transaction.on_commit(_Forget(keys))


def may_store(key: str) -> bool:
    """Whether what this transaction reads under `key` may be cached: not if the
    transaction changed it (a forget of `key` waits for its commit). What it read
    is not committed yet, and would outlive a rollback."""
    pending = transaction.get_connection().run_on_commit  # (savepoints, callback, robust)
    return not any(
        isinstance(callback, _Forget) and key in callback.keys for _s, callback, _r in pending
    )


def forgets(callback: object) -> bool:
    """Whether an on-commit callback is one of ours, forgetting cached entries."""
    return isinstance(callback, _Forget)
