"""Agora credentials (spec §5): tokens decoded and verified with tests/agora_tokens.py."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from accounts import models as account_models
from accounts.models import AGORA_UID_MAX, User, new_agora_uid
from livestreams.agora.tokens import AUDIENCE, HOST, issue_credentials
from livestreams.api.serializers import CredentialsSerializer
from tests import agora_tokens
from tests.agora_tokens import (
    PUBLISHER_PRIVILEGES,
    RTM_LOGIN,
    SUBSCRIBER_PRIVILEGES,
    InvalidAgoraToken,
)
from tests.api import TIMESTAMP_RE
from tests.factories import UserFactory

CHANNEL = "yeni-urun-tanitimi-1a2b"
OTHER_APP_ID = "0123456789abcdef0123456789abcdef"
OTHER_CERTIFICATE = "fedcba9876543210fedcba9876543210"
# A fixed moment with milliseconds, so the truncation to whole seconds shows.
NOW = datetime(2026, 5, 22, 16, 11, 27, 623456, tzinfo=UTC)


def epoch(timestamp: str) -> int:
    assert TIMESTAMP_RE.match(timestamp), timestamp
    return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp())


def issue(user, role=HOST, *, channel=CHANNEL, now=NOW) -> dict:
    """The credentials as the API renders them."""
    credentials = issue_credentials(channel_name=channel, user=user, role=role, now=now)
    return CredentialsSerializer(credentials).data


def verify_rtc(token, user, *, channel=CHANNEL, certificate=None, app_id=None):
    return agora_tokens.verify(
        token,
        app_id=app_id or settings.AGORA_APP_ID,
        certificate=certificate or settings.AGORA_APP_CERTIFICATE,
        channel=channel,
        uid_or_account=user.agora_uid,
    )


def verify_rtm(token, user):
    # RtmTokenBuilder signs the account in the channel's place, with "" as the uid.
    return agora_tokens.verify(
        token,
        app_id=settings.AGORA_APP_ID,
        certificate=settings.AGORA_APP_CERTIFICATE,
        channel=str(user.pk),
        uid_or_account="",
    )


@pytest.fixture
def agora_settings(settings):
    settings.AGORA_APP_ID = OTHER_APP_ID
    settings.AGORA_APP_CERTIFICATE = OTHER_CERTIFICATE
    settings.AGORA_TOKEN_TTL = 120
    return settings


# --- Roles and privileges ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "privileges"),
    [(HOST, PUBLISHER_PRIVILEGES), (AUDIENCE, SUBSCRIBER_PRIVILEGES)],
)
def test_rtc_privileges_follow_the_role(agora_settings, role, privileges):
    user = UserFactory()
    creds = issue(user, role)

    granted = verify_rtc(creds["agora"]["token"], user)

    assert set(granted) == privileges
    assert creds["agora"]["role"] == role
    expires = epoch(creds["agora"]["expiresAt"])
    assert all(value == expires for value in granted.values()), granted


@pytest.mark.django_db
def test_expiry_is_now_plus_ttl_in_whole_seconds(agora_settings):
    user = UserFactory()
    creds = issue(user)

    expected = NOW.replace(microsecond=0) + timedelta(seconds=120)
    assert creds["agora"]["expiresAt"] == "2026-05-22T16:13:27.000Z"
    assert creds["rtm"]["expiresAt"] == creds["agora"]["expiresAt"]
    assert epoch(creds["agora"]["expiresAt"]) == int(expected.timestamp())
    assert set(verify_rtc(creds["agora"]["token"], user).values()) == {int(expected.timestamp())}
    assert verify_rtm(creds["rtm"]["token"], user) == {RTM_LOGIN: int(expected.timestamp())}


@pytest.mark.django_db
@pytest.mark.parametrize("ttl", [60, 3600, 86400])
def test_expiry_follows_the_ttl_setting(settings, ttl):
    settings.AGORA_TOKEN_TTL = ttl
    user = UserFactory()
    creds = issue(user)

    expires = epoch(creds["agora"]["expiresAt"])
    assert expires == int(NOW.timestamp()) + ttl
    assert set(verify_rtc(creds["agora"]["token"], user).values()) == {expires}
    assert set(verify_rtm(creds["rtm"]["token"], user).values()) == {expires}


# --- What the tokens are bound to -------------------------------------------------


@pytest.mark.django_db
def test_rtc_token_is_bound_to_app_certificate_channel_and_uid(agora_settings):
    user, other = UserFactory(), UserFactory()
    token = issue(user)["agora"]["token"]

    assert token.startswith("006" + OTHER_APP_ID)
    assert verify_rtc(token, user)
    # The uid is signed as the decimal string of the integer uid.
    assert agora_tokens.verify(
        token,
        app_id=OTHER_APP_ID,
        certificate=OTHER_CERTIFICATE,
        channel=CHANNEL,
        uid_or_account=str(user.agora_uid),
    )

    with pytest.raises(InvalidAgoraToken, match="uid"):
        verify_rtc(token, other)
    with pytest.raises(InvalidAgoraToken, match="uid"):
        agora_tokens.verify(
            token,
            app_id=OTHER_APP_ID,
            certificate=OTHER_CERTIFICATE,
            channel=CHANNEL,
            uid_or_account=0,
        )
    with pytest.raises(InvalidAgoraToken, match="channel"):
        verify_rtc(token, user, channel=CHANNEL + "x")
    with pytest.raises(InvalidAgoraToken, match="signature"):
        verify_rtc(token, user, certificate="0" * 32)
    with pytest.raises(InvalidAgoraToken, match="app"):
        verify_rtc(token, user, app_id="1" * 32)


@pytest.mark.django_db
def test_rtm_token_is_bound_to_the_user_id_as_account(agora_settings):
    user, other = UserFactory(), UserFactory()
    creds = issue(user)
    token = creds["rtm"]["token"]

    assert set(verify_rtm(token, user)) == {RTM_LOGIN}
    assert creds["rtm"]["userId"] == user.pk
    assert creds["rtm"]["channelName"] == CHANNEL
    assert creds["rtm"]["appId"] == OTHER_APP_ID

    with pytest.raises(InvalidAgoraToken):
        verify_rtm(token, other)
    # The account is signed in the channel's place, not as the uid.
    with pytest.raises(InvalidAgoraToken):
        agora_tokens.verify(
            token,
            app_id=OTHER_APP_ID,
            certificate=OTHER_CERTIFICATE,
            channel=CHANNEL,
            uid_or_account=user.pk,
        )
    with pytest.raises(InvalidAgoraToken, match="signature"):
        agora_tokens.verify(
            token,
            app_id=OTHER_APP_ID,
            certificate="0" * 32,
            channel=user.pk,
            uid_or_account="",
        )


@pytest.mark.django_db
def test_response_shape_carries_the_settings_app_id_and_the_int_uid(agora_settings):
    user = UserFactory()
    creds = issue(user, AUDIENCE, channel="other-chan-0f0f")

    assert creds["agora"] == {
        "appId": OTHER_APP_ID,
        "channelName": "other-chan-0f0f",
        "token": creds["agora"]["token"],
        "uid": user.agora_uid,
        "role": "audience",
        "expiresAt": "2026-05-22T16:13:27.000Z",
    }
    assert type(creds["agora"]["uid"]) is int
    assert creds["rtm"] == {
        "appId": OTHER_APP_ID,
        "channelName": "other-chan-0f0f",
        "userId": user.pk,
        "token": creds["rtm"]["token"],
        "expiresAt": "2026-05-22T16:13:27.000Z",
    }
    verify_rtc(creds["agora"]["token"], user, channel="other-chan-0f0f")


@pytest.mark.django_db
def test_no_token_for_a_deactivated_user():
    user = UserFactory(is_active=False)
    with pytest.raises(PermissionError):
        issue(user)


# --- The verifier itself catches builder misuse -----------------------------------


def test_verifier_catches_a_role_passed_as_a_string():
    from agora_token_builder.RtcTokenBuilder import RtcTokenBuilder

    app_id, cert = OTHER_APP_ID, OTHER_CERTIFICATE
    as_int = RtcTokenBuilder.buildTokenWithUid(app_id, cert, CHANNEL, 7, 1, 2_000_000_000)
    as_str = RtcTokenBuilder.buildTokenWithUid(app_id, cert, CHANNEL, 7, "1", 2_000_000_000)
    check = {"app_id": app_id, "certificate": cert, "channel": CHANNEL, "uid_or_account": 7}

    assert set(agora_tokens.verify(as_int, **check)) == PUBLISHER_PRIVILEGES
    assert set(agora_tokens.verify(as_str, **check)) == SUBSCRIBER_PRIVILEGES


def test_verifier_rejects_a_tampered_or_malformed_token():
    from agora_token_builder.RtcTokenBuilder import RtcTokenBuilder

    token = RtcTokenBuilder.buildTokenWithUid(
        OTHER_APP_ID, OTHER_CERTIFICATE, CHANNEL, 7, 1, 2_000_000_000
    )
    check = {
        "app_id": OTHER_APP_ID,
        "certificate": OTHER_CERTIFICATE,
        "channel": CHANNEL,
        "uid_or_account": 7,
    }
    decoded = agora_tokens.decode(token)
    assert decoded.app_id == OTHER_APP_ID
    assert len(decoded.signature) == 32

    # The last privilege's expiry changed, the signature left as it was.
    body = bytearray(base64.b64decode(token[35:]))
    body[-1] ^= 0x01
    forged = token[:35] + base64.b64encode(bytes(body)).decode()
    assert agora_tokens.decode(forged).privileges[4] != 2_000_000_000
    with pytest.raises(InvalidAgoraToken, match="signature"):
        agora_tokens.verify(forged, **check)

    for bad in ("", "005" + token[3:], token[:20], token + "AAAA", token[:-8]):
        with pytest.raises(InvalidAgoraToken):
            agora_tokens.verify(bad, **check)


# --- The Agora uid ----------------------------------------------------------------


@pytest.mark.django_db
def test_every_user_has_a_distinct_uid_in_range():
    users = UserFactory.create_batch(20)
    uids = [u.agora_uid for u in User.objects.filter(pk__in=[u.pk for u in users])]
    assert all(type(uid) is int and 1 <= uid <= 2**32 - 1 for uid in uids), uids
    assert len(set(uids)) == len(uids)
    assert AGORA_UID_MAX == 2**32 - 1


def test_new_agora_uid_covers_exactly_one_to_max(monkeypatch):
    draws = iter([0, AGORA_UID_MAX - 1])
    monkeypatch.setattr(account_models.secrets, "randbelow", lambda n: next(draws))
    assert new_agora_uid() == 1
    assert new_agora_uid() == AGORA_UID_MAX


@pytest.mark.django_db
def test_the_uid_does_not_change_when_the_user_is_saved():
    user = UserFactory()
    uid = user.agora_uid
    user.name = "Changed"
    user.save()
    user.refresh_from_db()
    assert user.agora_uid == uid


@pytest.mark.django_db
def test_a_taken_uid_is_refused_by_the_database():
    taken = UserFactory().agora_uid
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(agora_uid=taken)
    assert User.objects.filter(agora_uid=taken).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("uid", [0, 2**32])
def test_an_out_of_range_uid_is_refused_by_the_database(uid):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(agora_uid=uid)
    assert not User.objects.filter(agora_uid=uid).exists()
