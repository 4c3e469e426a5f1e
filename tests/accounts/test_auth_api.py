"""Sign-up, sign-in, token refresh, sign-out and /auth/me."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import AGORA_UID_MAX, User
from tests.api import OBJECT_ID_RE, assert_envelope, assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"

SESSION_KEYS = {"accessToken", "refreshToken", "expiresIn", "refreshExpiresIn", "user"}
ME_KEYS = {
    "_id",
    "username",
    "name",
    "surname",
    "profilePhoto",
    "availabilityStatus",
    "email",
    "creditBalance",
}


def _registration(**overrides):
    body = {
        "username": "ayse.yilmaz",
        "email": "ayse@example.com",
        "password": "kirmizi-elma-agaci-42",
        "name": "Ayşe",
        "surname": "Yılmaz",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def _me(access_token: str) -> dict:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return assert_envelope(client.get(ME), 200)


def _decode(token: str) -> dict:
    return jwt.decode(
        token,
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithms=["HS256"],
        options={"verify_aud": False},
    )


def _assert_session(data: dict, user: User):
    assert set(data) == SESSION_KEYS
    assert data["expiresIn"] == 3600
    assert data["refreshExpiresIn"] == 2592000
    assert isinstance(data["accessToken"], str)
    assert isinstance(data["refreshToken"], str)
    assert data["accessToken"] != data["refreshToken"]
    assert data["user"]["_id"] == user.pk
    # `user` is exactly what /auth/me shows.
    assert data["user"] == _me(data["accessToken"])


def _refresh(api_client, token: str):
    return api_client.post(REFRESH, {"refreshToken": token}, format="json")


# --- Register -----------------------------------------------------------------


def test_register_creates_the_user_and_signs_in(api_client):
    response = api_client.post(REGISTER, _registration(), format="json")
    data = assert_envelope(response, 201)

    user = User.objects.get()
    _assert_session(data, user)
    assert data["user"] == {
        "_id": user.pk,
        "username": "ayse.yilmaz",
        "name": "Ayşe",
        "surname": "Yılmaz",
        "profilePhoto": None,
        "availabilityStatus": "available",
        "email": "ayse@example.com",
        "creditBalance": 0,
    }
    assert OBJECT_ID_RE.fullmatch(user.pk)
    assert user.check_password("kirmizi-elma-agaci-42")
    assert user.password != "kirmizi-elma-agaci-42"
    assert 1 <= user.agora_uid <= AGORA_UID_MAX
    assert user.is_active and not user.is_staff and not user.is_superuser


def test_register_ignores_server_owned_fields(api_client):
    body = _registration(creditBalance=1000, is_staff=True, _id="64d1f0a2b3c4d5e6f7a8b9c0")
    data = assert_envelope(api_client.post(REGISTER, body, format="json"), 201)
    user = User.objects.get()
    assert data["user"]["creditBalance"] == 0
    assert user.credit_balance == 0
    assert not user.is_staff
    assert user.pk != "64d1f0a2b3c4d5e6f7a8b9c0"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "password: This password is too short."),
        ("password123", "password: This password is too common."),
        ("73918264501937", "password: This password is entirely numeric."),
        ("ayse.yilmaz1", "password: The password is too similar to the username."),
    ],
)
def test_register_applies_password_validators(api_client, password, message):
    response = api_client.post(REGISTER, _registration(password=password), format="json")
    errors = assert_error(response, 400, contains=message)
    assert all(e.startswith("password: ") for e in errors[1:])
    assert not User.objects.exists()


@pytest.mark.parametrize("taken", ["AYSE.yilmaz", "ayse.yilmaz", "Ayse.Yilmaz"])
def test_register_duplicate_username_in_any_case_is_409(api_client, taken):
    UserFactory(username=taken, email="first@example.com")
    response = api_client.post(REGISTER, _registration(), format="json")
    assert_error(response, 409, contains="username: ")
    assert User.objects.count() == 1
    assert User.objects.get().email == "first@example.com"


@pytest.mark.parametrize("taken", ["ayse@example.com", "AYSE@Example.COM"])
def test_register_duplicate_email_in_any_case_is_409(api_client, taken):
    UserFactory(username="someone", email=taken)
    response = api_client.post(REGISTER, _registration(), format="json")
    assert_error(response, 409, contains="email: ")
    assert User.objects.count() == 1


@pytest.mark.parametrize("field", ["username", "email", "password", "name", "surname"])
def test_register_missing_field_is_400_naming_it(api_client, field):
    response = api_client.post(REGISTER, _registration(**{field: None}), format="json")
    errors = assert_error(response, 400)
    assert errors[1:] == [f"{field}: This field is required."]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "a b"),
        ("username", "ab"),
        ("username", "x" * 31),
        ("username", "ayse@home"),
        ("email", "not-an-email"),
        ("name", ""),
        ("surname", "x" * 101),
    ],
)
def test_register_invalid_field_is_400(api_client, field, value):
    response = api_client.post(REGISTER, _registration(**{field: value}), format="json")
    assert_error(response, 400, contains=f"{field}: ")
    assert not User.objects.exists()


# --- Login --------------------------------------------------------------------


@pytest.mark.parametrize(
    "login", ["ayse.yilmaz", "AYSE.Yilmaz", "ayse@example.com", "Ayse@EXAMPLE.com"]
)
def test_login_with_username_or_email_in_any_case(api_client, login):
    user = UserFactory(username="ayse.yilmaz", email="ayse@example.com")
    response = api_client.post(LOGIN, {"login": login, "password": DEFAULT_PASSWORD}, format="json")
    data = assert_envelope(response, 200)
    _assert_session(data, user)


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("ayse.yilmaz", "wrong-password"),
        ("ayse.yilmaz", DEFAULT_PASSWORD.upper()),
        ("nobody", DEFAULT_PASSWORD),
        ("nobody@example.com", DEFAULT_PASSWORD),
    ],
)
def test_login_wrong_credentials_is_401(api_client, login, password):
    UserFactory(username="ayse.yilmaz", email="ayse@example.com")
    response = api_client.post(LOGIN, {"login": login, "password": password}, format="json")
    errors = assert_error(response, 401)
    assert "accessToken" not in response.content.decode()
    assert errors[1:] == ["Invalid login or password."]


def test_login_deactivated_user_is_401(api_client):
    UserFactory(username="gone", is_active=False)
    response = api_client.post(
        LOGIN, {"login": "gone", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert_error(response, 401)
    assert "accessToken" not in response.content.decode()


@pytest.mark.parametrize("field", ["login", "password"])
def test_login_missing_field_is_400(api_client, field):
    body = {"login": "ayse", "password": DEFAULT_PASSWORD}
    del body[field]
    response = api_client.post(LOGIN, body, format="json")
    assert assert_error(response, 400)[1:] == [f"{field}: This field is required."]


# --- Tokens -------------------------------------------------------------------


def test_access_token_is_a_jwt_for_the_user_living_an_hour(api_client, user):
    response = api_client.post(
        LOGIN, {"login": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    data = assert_envelope(response, 200)
    claims = _decode(data["accessToken"])
    assert claims["sub"] == user.pk
    assert OBJECT_ID_RE.fullmatch(claims["sub"])
    assert claims["token_type"] == "access"
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["exp"] - (timezone.now().timestamp() + 3600)) < 10

    refresh_claims = _decode(data["refreshToken"])
    assert refresh_claims["sub"] == user.pk
    assert refresh_claims["token_type"] == "refresh"
    assert refresh_claims["exp"] - refresh_claims["iat"] == 30 * 24 * 3600


# --- Refresh ------------------------------------------------------------------


def _login(api_client, user) -> dict:
    response = api_client.post(
        LOGIN, {"login": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    return assert_envelope(response, 200)


def test_refresh_gives_a_new_pair(api_client, user):
    old = _login(api_client, user)
    data = assert_envelope(_refresh(api_client, old["refreshToken"]), 200)
    _assert_session(data, user)
    assert data["refreshToken"] != old["refreshToken"]
    assert data["accessToken"] != old["accessToken"]
    # The new refresh token works in its turn.
    assert_envelope(_refresh(api_client, data["refreshToken"]), 200)


def test_reusing_a_refresh_token_is_401(api_client, user):
    old = _login(api_client, user)
    assert_envelope(_refresh(api_client, old["refreshToken"]), 200)
    assert_error(_refresh(api_client, old["refreshToken"]), 401)


def test_access_token_given_as_refresh_is_401(api_client, user):
    tokens = _login(api_client, user)
    assert_error(_refresh(api_client, tokens["accessToken"]), 401)


def test_refresh_for_a_user_deactivated_since_is_401(api_client, user):
    tokens = _login(api_client, user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = _refresh(api_client, tokens["refreshToken"])
    assert_error(response, 401)
    assert "accessToken" not in response.content.decode()


def test_refresh_for_a_deleted_user_is_401(api_client, user):
    tokens = _login(api_client, user)
    User.objects.filter(pk=user.pk).delete()
    assert_error(_refresh(api_client, tokens["refreshToken"]), 401)


def test_expired_refresh_token_is_401(api_client, user):
    token = RefreshToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=31))
    assert_error(_refresh(api_client, str(token)), 401)


def test_refresh_token_signed_with_another_key_is_401(api_client, user):
    payload = dict(RefreshToken.for_user(user).payload)
    forged = jwt.encode(payload, "another-signing-key-entirely-32b!", algorithm="HS256")
    assert_error(_refresh(api_client, forged), 401)


@pytest.mark.parametrize("body", [{}, {"refreshToken": ""}, {"refresh": "x"}])
def test_refresh_without_a_token_is_400(api_client, body):
    response = api_client.post(REFRESH, body, format="json")
    assert_error(response, 400, contains="refreshToken: ")


def test_refresh_with_garbage_is_401(api_client):
    assert_error(_refresh(api_client, "garbage"), 401)


# --- Logout -------------------------------------------------------------------


def test_logout_kills_the_refresh_token(api_client, user):
    tokens = _login(api_client, user)
    response = api_client.post(LOGOUT, {"refreshToken": tokens["refreshToken"]}, format="json")
    assert_envelope(response, 200)
    assert_error(_refresh(api_client, tokens["refreshToken"]), 401)


def test_logout_leaves_other_sessions_alone(api_client, user):
    phone = _login(api_client, user)
    tablet = _login(api_client, user)
    api_client.post(LOGOUT, {"refreshToken": phone["refreshToken"]}, format="json")
    assert_envelope(_refresh(api_client, tablet["refreshToken"]), 200)


def test_logout_with_a_dead_token_is_401(api_client, user):
    tokens = _login(api_client, user)
    api_client.post(LOGOUT, {"refreshToken": tokens["refreshToken"]}, format="json")
    response = api_client.post(LOGOUT, {"refreshToken": tokens["refreshToken"]}, format="json")
    assert_error(response, 401)


def test_logout_with_an_access_token_is_401(api_client, user):
    tokens = _login(api_client, user)
    response = api_client.post(LOGOUT, {"refreshToken": tokens["accessToken"]}, format="json")
    assert_error(response, 401)
    assert_envelope(_refresh(api_client, tokens["refreshToken"]), 200)


# --- Me -----------------------------------------------------------------------


def test_me_shows_the_caller(client_for, django_assert_num_queries):
    user = UserFactory(username="mehmet", name="Mehmet", surname="Öz", email="m@example.com")
    User.objects.filter(pk=user.pk).update(credit_balance="12.50", availability_status="busy")
    client = client_for(user)
    with django_assert_num_queries(1):
        response = client.get(ME)
    data = assert_envelope(response, 200)
    assert data == {
        "_id": user.pk,
        "username": "mehmet",
        "name": "Mehmet",
        "surname": "Öz",
        "profilePhoto": None,
        "availabilityStatus": "busy",
        "email": "m@example.com",
        "creditBalance": 12.5,
    }
    assert set(data) == ME_KEYS


def test_me_without_a_token_is_401(api_client):
    assert_error(api_client.get(ME), 401)


def test_me_with_a_token_from_an_hour_ago_is_401(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(seconds=3601))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(api_client.get(ME), 401)
