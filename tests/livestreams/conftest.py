"""Fixtures of the live-stream tests: a moderator and their browser (the
Moderators group comes from tests/conftest.py), and the stand-in for Agora's REST
APIs (tests/agora_standin.py) on a free local port, with the settings pointing at it."""

import base64

import pytest
from django.test import Client
from django.utils import translation

from tests.agora_standin import AgoraStandIn


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """A request in Turkish leaves Turkish active in the thread (LocaleMiddleware
    does not reset it): what tests render outside a request is in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def mod_client(moderator):
    client = Client()
    client.force_login(moderator)
    return client


KEY, SECRET = "customer-key-for-tests", "customer-secret-for-tests"
APP_ID = "0123456789abcdef0123456789abcdef"
BASIC = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
# Short timeouts, so that the stand-in's slow answers time out quickly.
REST_TIMEOUT = 0.5
KICK_TIMEOUT = 0.5
BUCKET = "allmine-recordings"


@pytest.fixture
def agora(settings, tmp_path):
    """The stand-in (refusing other credentials and app ids), with the REST API,
    Cloud Recording and its storage configured against it."""
    stand_in = AgoraStandIn(customer_key=KEY, customer_secret=SECRET, app_id=APP_ID).start()
    settings.AGORA_CUSTOMER_KEY = KEY
    settings.AGORA_CUSTOMER_SECRET = SECRET
    settings.AGORA_APP_ID = APP_ID
    settings.AGORA_REST_BASE_URL = stand_in.url
    settings.AGORA_REST_TIMEOUT = REST_TIMEOUT
    settings.AGORA_KICK_TIMEOUT = KICK_TIMEOUT
    settings.AGORA_RECORDING_TIMEOUT = REST_TIMEOUT
    settings.AGORA_KICK_MINUTES = 60
    settings.AGORA_RECORDING_STORAGE_BUCKET = BUCKET
    settings.AGORA_RECORDING_STORAGE_ACCESS_KEY = "storage-access-key"
    settings.AGORA_RECORDING_STORAGE_SECRET_KEY = "storage-secret-key"
    settings.AGORA_RECORDING_STORAGE_VENDOR = 11
    settings.AGORA_RECORDING_STORAGE_REGION = 0
    settings.AGORA_RECORDING_STORAGE_ENDPOINT = "https://s3.example.com"
    settings.AGORA_RECORDING_BUCKET_LOCATION = []
    settings.AGORA_RECORDING_FILE_PREFIX = ["recordings"]
    settings.AGORA_RECORDING_PUBLIC_BASE_URL = ""
    settings.AGORA_RECORDING_FORMAT = "hls"
    settings.VAR_DIR = tmp_path  # the staff commands' file locks (SQLite), this test's own
    yield stand_in
    stand_in.stop()
