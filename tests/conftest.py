"""Shared fixtures. Tests run against SQLite by default and PostgreSQL when
DATABASE_URL names one; REQUIRE_POSTGRES=1 (CI) turns a missing PostgreSQL into
a failure instead of a skip."""

import os
import shutil
import tempfile
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.models import User
from allmine.celery import app as celery_app
from tests.factories import UserFactory
from tests.helpers import browser_for, run_later_moderator_grants, run_moderators_migration

# Background tasks run eagerly in the tests, in the test's own thread and
# transaction (after the commit: `django_capture_on_commit_callbacks`), whatever
# broker REDIS_URL names. tests/livestreams/test_celery_worker.py runs a real worker.
settings.CELERY_TASK_ALWAYS_EAGER = True
celery_app.conf.task_always_eager = True
# Hashing speed is not what these tests measure.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Media go to a throw-away folder, never into the project's var/.
_MEDIA_ROOT = tempfile.mkdtemp(prefix="allmine-media-")
settings.MEDIA_ROOT = _MEDIA_ROOT
# Counters kept in a shared cache (a Redis named by REDIS_URL) start empty in every
# run: a key prefix of this run's own, so that runs never see each other's counts.
settings.CACHES["default"]["KEY_PREFIX"] = f"allmine-test-{uuid.uuid4().hex[:12]}"

REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_sessionstart(session):
    if REQUIRE_POSTGRES and not _on_postgres():
        raise pytest.UsageError(
            "REQUIRE_POSTGRES=1 but DATABASE_URL does not name a PostgreSQL database."
        )


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_MEDIA_ROOT, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if _on_postgres():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run it")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def media_root():
    """The folder local media are written to (emptied after each test)."""
    yield _MEDIA_ROOT
    for entry in os.listdir(_MEDIA_ROOT):
        shutil.rmtree(os.path.join(_MEDIA_ROOT, entry), ignore_errors=True)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", superuser=True)


@pytest.fixture
def admin_client(superuser):
    """A browser signed in to the admin as `superuser` (in place of pytest-django's
    own `admin_client`, so that both fixtures are the same person)."""
    return browser_for(superuser)


@pytest.fixture
def moderators_group(db):
    """The Moderators group made by the data migration. A test database reused
    (--reuse-db) after transactional tests has been emptied of migration data; the
    migration is then run again."""
    if not Group.objects.filter(name="Moderators").exists():
        run_moderators_migration()
        run_later_moderator_grants()
    return Group.objects.get(name="Moderators")


@pytest.fixture
def moderator(moderators_group):
    """A staff user in the Moderators group."""
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(moderators_group)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def client_for(db):
    """`client_for(user)`: an API client sending that user's access token."""
    from rest_framework_simplejwt.tokens import AccessToken

    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
        return client

    return make


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    """Tests make many requests from one address; the throttling tests set their own rates."""
    settings.API_THROTTLE_RATES = {scope: "100000/minute" for scope in settings.API_THROTTLE_RATES}
