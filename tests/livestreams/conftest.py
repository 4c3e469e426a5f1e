"""Fixtures of the back office's tests: the Moderators group of the data
migration, a moderator and their browser (test_admin_streams.py keeps its own
copies, which take precedence there)."""

import importlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import translation

from accounts.models import User
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """A request in Turkish leaves Turkish active in the thread (LocaleMiddleware
    does not reset it): what tests render outside a request is in English."""
    with translation.override("en"):
        yield


MODERATORS_MIGRATION = importlib.import_module("livestreams.migrations.0003_moderators_group")


@pytest.fixture
def moderators_group(db):
    """The Moderators group made by the data migration (run again when a reused
    test database has been emptied of migration data)."""
    if not Group.objects.filter(name="Moderators").exists():
        state = MigrationExecutor(connection).loader.project_state(
            ("livestreams", "0003_moderators_group"), at_end=True
        )
        MODERATORS_MIGRATION.create_moderators(state.apps, None)
    return Group.objects.get(name="Moderators")


@pytest.fixture
def moderator(moderators_group):
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(moderators_group)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def mod_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client
