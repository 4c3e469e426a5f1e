"""Property tests (hypothesis): what the service accepts it can read back, and what
it refuses leaves nothing behind (issue 10, "close the class").

Each test draws values at and beyond the edges of every field of one write path
(dates, decimals, Unicode, lengths), sends them as a client or a moderator would,
and then checks, for each example on its own (rolled back after it): a refusal is a
4xx with nothing written (no row, no balance moved, no file), an acceptance is
readable through the stream's page, the lists and the admin's list with 200s.

`HYPOTHESIS_PROFILE=deep` draws many more examples, at random, for a local run;
the default `ci` profile draws a few, the same ones every run.
"""

import os
from contextlib import contextmanager

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings

_SUPPRESSED = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
]
# No "explain" phase: it traces every line Django runs while re-running a failing
# example, which turns one failure into many minutes; the shrunk example is enough.
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=_SUPPRESSED,
    phases=_PHASES,
)
settings.register_profile(
    "deep",
    max_examples=400,
    deadline=None,
    derandomize=False,
    suppress_health_check=_SUPPRESSED,
    phases=_PHASES,
)
# A decorator for each property test (not loaded globally: schemathesis has its own).
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class _RolledBack(Exception):
    pass


def media_files(root: str) -> set[str]:
    return {os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files}


@contextmanager
def one_example(media_root: str):
    """One example's work, undone afterwards (its rows and its files), so that the
    next example starts from the same world."""
    before = media_files(media_root)
    try:
        with transaction.atomic():
            yield
            raise _RolledBack
    except _RolledBack:
        pass
    finally:
        for path in media_files(media_root) - before:
            os.remove(path)


@pytest.fixture
def example(media_root):
    return lambda: one_example(media_root)


# The world of users, streams and bans the security tests use (its ids exist).
from tests.security.conftest import world  # noqa: E402, F401
