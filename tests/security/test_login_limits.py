"""Issue 10, finding 8: sign-in was limited per client address only, so a guess at
one account spread over many addresses was not slowed. Failed sign-ins are now also
limited per account, in the API and the admin's login form alike (one counter),
without letting an attacker lock the owner out for good: the lock ends with its
window, and an address the account signed in from before is never locked out."""

import time
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.api import assert_envelope, assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

LOGIN_URL = "/api/v1/auth/login"
ADMIN_LOGIN_URL = "/admin/login/?next=/admin/"
LIMIT = 4


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.LOGIN_ACCOUNT_MAX_FAILURES = LIMIT
    settings.LOGIN_ACCOUNT_FAILURE_WINDOW = 900


def api_login(login: str, password: str, address: str):
    return APIClient().post(
        LOGIN_URL, {"login": login, "password": password}, format="json", REMOTE_ADDR=address
    )


def admin_login(username: str, password: str, address: str):
    client = Client(REMOTE_ADDR=address)
    response = client.post(ADMIN_LOGIN_URL, {"username": username, "password": password})
    return client, response


def addresses(count: int, prefix: str = "198.51.100") -> list[str]:
    """Distinct client addresses: a guess spread out, each under the per-address limit."""
    return [f"{prefix}.{n}" for n in range(1, count + 1)]


def fail_from_many_addresses(login: str, count: int = LIMIT) -> None:
    """`count` wrong passwords from as many addresses: 401s, then 429s once the
    account's limit is reached."""
    for n, address in enumerate(addresses(count)):
        assert_error(api_login(login, "not-the-password", address), 401 if n < LIMIT else 429)


@pytest.mark.django_db
def test_a_guess_spread_over_many_addresses_is_stopped_per_account():
    owner = UserFactory()
    fail_from_many_addresses(owner.username)

    refused = api_login(owner.username, DEFAULT_PASSWORD, "203.0.113.77")

    errors = assert_error(refused, 429, contains="Too many failed sign-ins to this account")
    assert int(refused["Retry-After"]) > 0
    assert not any("password" in e.lower() for e in errors)  # the password was not checked
    # The e-mail names the same account: the same counter.
    assert_error(api_login(owner.email.upper(), DEFAULT_PASSWORD, "203.0.113.78"), 429)


@pytest.mark.django_db
def test_under_the_limit_the_owner_signs_in():
    owner = UserFactory()
    fail_from_many_addresses(owner.username, LIMIT - 1)
    assert_envelope(api_login(owner.username, DEFAULT_PASSWORD, "203.0.113.5"), 200)


@pytest.mark.django_db
def test_the_owner_is_not_locked_out_from_an_address_they_used_before():
    owner = UserFactory()
    home = "192.0.2.10"
    assert_envelope(api_login(owner.username, DEFAULT_PASSWORD, home), 200)
    fail_from_many_addresses(owner.username, LIMIT + 3)

    assert_error(api_login(owner.username, DEFAULT_PASSWORD, "203.0.113.9"), 429)
    assert_envelope(api_login(owner.username, DEFAULT_PASSWORD, home), 200)
    # A wrong password from home is still refused as wrong (and counted).
    assert_error(api_login(owner.username, "wrong-again", home), 401)


@pytest.mark.django_db
def test_the_lock_ends_with_its_window(settings):
    settings.LOGIN_ACCOUNT_FAILURE_WINDOW = 1
    owner = UserFactory()
    # Start at the beginning of a window, so that the failures share it.
    time.sleep(1 - time.time() % 1 + 0.01)
    fail_from_many_addresses(owner.username)
    refused = api_login(owner.username, DEFAULT_PASSWORD, "203.0.113.20")
    if refused.status_code == 429:
        time.sleep(1.1)
    assert_envelope(api_login(owner.username, DEFAULT_PASSWORD, "203.0.113.20"), 200)


@pytest.mark.django_db
def test_a_login_naming_no_account_is_limited_the_same_way():
    """No difference tells which accounts exist."""
    nobody = f"nobody-{uuid.uuid4().hex[:8]}"
    fail_from_many_addresses(nobody)
    assert_error(api_login(nobody, "anything", "203.0.113.30"), 429)


@pytest.mark.django_db
def test_the_admin_login_is_under_the_same_limit():
    staff = UserFactory(is_staff=True, is_superuser=True)
    for address in addresses(LIMIT - 1):
        _client, response = admin_login(staff.username, "not-the-password", address)
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()
    # One more failure through the API: one counter for both doors.
    assert_error(api_login(staff.username, "not-the-password", "198.51.100.200"), 401)

    client, response = admin_login(staff.username, DEFAULT_PASSWORD, "203.0.113.40")

    assert response.status_code == 200  # the form again, not the admin index
    assert "Too many failed sign-ins to this account" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert_error(api_login(staff.username, DEFAULT_PASSWORD, "203.0.113.41"), 429)


@pytest.mark.django_db
def test_the_admin_remembers_the_address_of_a_successful_sign_in():
    staff = UserFactory(is_staff=True, is_superuser=True)
    office = "192.0.2.44"
    client, response = admin_login(staff.username, DEFAULT_PASSWORD, office)
    assert response.status_code == 302 and "_auth_user_id" in client.session
    fail_from_many_addresses(staff.username, LIMIT + 1)

    client, response = admin_login(staff.username, DEFAULT_PASSWORD, office)
    assert response.status_code == 302 and "_auth_user_id" in client.session
    _client, elsewhere = admin_login(staff.username, DEFAULT_PASSWORD, "203.0.113.45")
    assert "Too many failed sign-ins" in elsewhere.content.decode()


@pytest.mark.django_db
def test_without_the_cache_the_limit_fails_open(settings):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "allmine.core.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }
    owner = UserFactory()
    for address in addresses(LIMIT + 2):  # nothing counted, nothing refused
        assert_error(api_login(owner.username, "not-the-password", address), 401)
    assert_envelope(api_login(owner.username, DEFAULT_PASSWORD, "203.0.113.50"), 200)
