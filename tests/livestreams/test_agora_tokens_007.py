"""AccessToken2 (007) as an option (issue 11): AGORA_TOKEN_VERSION=007 issues RTC
and RTM tokens with agoraiotools (pinned), whose output is Agora's own: it
reproduces the test vector of Agora's AccessToken2 code (AgoraIO/Tools), which
the tests' independent decoder (tests/agora_tokens.py) verifies too. With 007
the RTM token's expiry is the credentials' expiry."""

import warnings
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from livestreams.agora.tokens import AUDIENCE, HOST, issue_credentials
from livestreams.api.serializers import CredentialsSerializer
from livestreams.lifecycle import LiveStreamStatus
from tests import agora_tokens
from tests.agora_tokens import RTM2_LOGIN, SERVICE_RTC, SERVICE_RTM, InvalidAgoraToken
from tests.api import assert_envelope
from tests.factories import LiveStreamFactory, UserFactory

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from agoraiotools.AccessToken2 import AccessToken, ServiceRtc

APP_ID = "0123456789abcdef0123456789abcdef"
CERTIFICATE = "fedcba9876543210fedcba9876543210"
CHANNEL = "yeni-urun-tanitimi-1a2b"
NOW = datetime(2026, 5, 22, 16, 11, 27, 623456, tzinfo=UTC)
JOIN, AUDIO, VIDEO, DATA = 1, 2, 3, 4

# Agora's own test vector for AccessToken2 (AgoraIO/Tools,
# DynamicKey/AgoraDynamicKey/python3/test/AccessToken2Test.py, test_service_rtc):
# an RTC token with the join privilege, issued at 1111111 with salt 1.
VECTOR = {
    "app_id": "970CA35de60c44645bbae8a215061b33",
    "certificate": "5CFd2fd1755d40ecb72977518be15d3b",
    "channel": "7d72365eb983485397e3e3f9d460bdda",
    "uid": 2882341273,
    "issued_at": 1111111,
    "salt": 1,
    "expire": 600,
    "token": (
        "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0"
        "SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYW"
        "RsYmhkbmxgDCaiTj"
    ),
}


@pytest.fixture
def version_007(settings):
    settings.AGORA_TOKEN_VERSION = "007"
    settings.AGORA_APP_ID = APP_ID
    settings.AGORA_APP_CERTIFICATE = CERTIFICATE
    settings.AGORA_TOKEN_TTL = 120
    return settings


def issue(user, role=HOST, *, now=NOW) -> dict:
    credentials = issue_credentials(channel_name=CHANNEL, user=user, role=role, now=now)
    return CredentialsSerializer(credentials).data


def epoch(timestamp: str) -> int:
    return int(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp())


# --- Agora's own logic ----------------------------------------------------------------------


def test_the_independent_decoder_verifies_agoras_own_test_vector():
    decoded = agora_tokens.verify_007(
        VECTOR["token"], app_id=VECTOR["app_id"], certificate=VECTOR["certificate"]
    )

    assert (decoded.issued_at, decoded.salt, decoded.expire) == (1111111, 1, 600)
    rtc = decoded.services[SERVICE_RTC]
    assert (rtc.channel, rtc.uid, rtc.privileges) == (
        VECTOR["channel"],
        str(VECTOR["uid"]),
        {JOIN: 600},
    )
    with pytest.raises(InvalidAgoraToken, match="bad signature"):
        agora_tokens.verify_007(VECTOR["token"], app_id=VECTOR["app_id"], certificate="0" * 32)


def test_the_pinned_agoraiotools_builds_exactly_agoras_test_vector():
    token = AccessToken(
        VECTOR["app_id"], VECTOR["certificate"], issue_ts=VECTOR["issued_at"], expire=600
    )
    token._AccessToken__salt = VECTOR["salt"]  # as Agora's own test fixes it
    service = ServiceRtc(VECTOR["channel"], VECTOR["uid"])
    service.add_privilege(ServiceRtc.kPrivilegeJoinChannel, 600)
    token.add_service(service)

    assert token.build() == VECTOR["token"]


# --- The service's 007 credentials -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "privileges"),
    [(HOST, {JOIN, AUDIO, VIDEO, DATA}), (AUDIENCE, {JOIN})],
)
def test_rtc_tokens_of_version_007_are_bound_and_expire_with_the_credentials(
    version_007, role, privileges
):
    user = UserFactory()
    creds = issue(user, role)

    token = creds["agora"]["token"]
    assert token.startswith("007")
    decoded = agora_tokens.verify_007(token, app_id=APP_ID, certificate=CERTIFICATE)
    assert decoded.issued_at == int(NOW.replace(microsecond=0).timestamp())
    assert decoded.expires_at == epoch(creds["agora"]["expiresAt"])
    assert decoded.expire == 120
    (rtc,) = decoded.services.values()
    assert (rtc.type, rtc.channel, rtc.uid) == (SERVICE_RTC, CHANNEL, str(user.agora_uid))
    assert rtc.privileges == dict.fromkeys(privileges, 120)


@pytest.mark.django_db
def test_the_rtm_token_of_version_007_honours_its_expiry(version_007):
    user = UserFactory()
    creds = issue(user)

    decoded = agora_tokens.verify_007(creds["rtm"]["token"], app_id=APP_ID, certificate=CERTIFICATE)
    (rtm,) = decoded.services.values()
    assert (rtm.type, rtm.user_id) == (SERVICE_RTM, str(user.pk))
    # The login privilege ends with the credentials (a 006 RTM token lasts 24 h).
    assert rtm.privileges == {RTM2_LOGIN: 120}
    assert decoded.issued_at + rtm.privileges[RTM2_LOGIN] == epoch(creds["rtm"]["expiresAt"])
    assert creds["rtm"]["expiresAt"] == "2026-05-22T16:13:27.000Z"


@pytest.mark.django_db
def test_a_token_for_one_user_or_app_does_not_verify_for_another(version_007):
    token = issue(UserFactory())["agora"]["token"]
    with pytest.raises(InvalidAgoraToken):
        agora_tokens.verify_007(token, app_id="f" * 32, certificate=CERTIFICATE)
    with pytest.raises(InvalidAgoraToken):
        agora_tokens.verify_007(token, app_id=APP_ID, certificate="0" * 32)
    with pytest.raises(InvalidAgoraToken):
        agora_tokens.verify_007(token[:-4] + "AAAA", app_id=APP_ID, certificate=CERTIFICATE)


@pytest.mark.django_db
def test_the_default_stays_version_006(settings):
    assert settings.AGORA_TOKEN_VERSION == "006"
    creds = issue(UserFactory())
    assert creds["agora"]["token"].startswith("006")
    assert creds["rtm"]["token"].startswith("006")


@pytest.mark.django_db
def test_joining_through_the_api_hands_out_007_tokens(version_007, client_for):
    now = timezone.now()
    stream = LiveStreamFactory(
        status=LiveStreamStatus.ACTIVE, started_at=now, host_joined_at=now, host_present=True
    )
    viewer = UserFactory()

    data = assert_envelope(
        client_for(viewer).post(
            "/api/v1/live-stream/join", {"liveStreamId": stream.pk}, format="json"
        ),
        200,
    )

    rtc = agora_tokens.verify_007(data["agora"]["token"], app_id=APP_ID, certificate=CERTIFICATE)
    assert rtc.services[SERVICE_RTC].channel == stream.channel_name
    assert rtc.services[SERVICE_RTC].privileges == {JOIN: 120}
    assert rtc.expires_at == epoch(data["agora"]["expiresAt"])
    assert abs(rtc.issued_at - int(now.timestamp())) <= 2
    rtm = agora_tokens.verify_007(data["rtm"]["token"], app_id=APP_ID, certificate=CERTIFICATE)
    assert rtm.services[SERVICE_RTM].user_id == str(viewer.pk)
    assert rtm.expires_at == epoch(data["rtm"]["expiresAt"])
    assert timedelta(seconds=rtm.expire) == timedelta(seconds=120)
