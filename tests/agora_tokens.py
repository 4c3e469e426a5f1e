"""A decoder and verifier for Agora AccessToken version 006, written for the tests.

It is deliberately independent of agora_token_builder's own parsing code, so a
misuse of the builder (a wrong uid, channel, role or expiry) shows up here.

A token is `"006" + appId (32 characters) + base64(content)` where, all integers
little-endian:

    content = uint16 len + signature   HMAC-SHA256(certificate, appId + channel + uid + message)
              uint32 crc32(channel)
              uint32 crc32(uid string)
              uint16 len + message
    message = uint32 salt
              uint32 ts                 when the token itself expires (the builder: now + 24 h)
              uint16 count, then count times: uint16 privilege id, uint32 expiry (epoch seconds)

For an RTC token the uid string is `str(uid)`; for an RTM token the builder puts
the user account in the channel's place and uses "" as the uid.
"""

import base64
import binascii
import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass

VERSION = "006"
APP_ID_LENGTH = 32

JOIN_CHANNEL = 1
PUBLISH_AUDIO = 2
PUBLISH_VIDEO = 3
PUBLISH_DATA = 4
RTM_LOGIN = 1000

PUBLISHER_PRIVILEGES = {JOIN_CHANNEL, PUBLISH_AUDIO, PUBLISH_VIDEO, PUBLISH_DATA}
SUBSCRIBER_PRIVILEGES = {JOIN_CHANNEL}


class InvalidAgoraToken(Exception):
    """The token is malformed or not bound to what it was checked against."""


@dataclass(frozen=True)
class DecodedToken:
    app_id: str
    signature: bytes
    channel_crc: int
    uid_crc: int
    message: bytes
    salt: int
    ts: int
    privileges: dict[int, int]


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise InvalidAgoraToken("truncated token")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint16(self) -> int:
        return struct.unpack("<H", self.take(2))[0]

    def uint32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def prefixed(self) -> bytes:
        return self.take(self.uint16())

    def done(self) -> None:
        if self.pos != len(self.data):
            raise InvalidAgoraToken(f"{len(self.data) - self.pos} trailing bytes")


def decode(token: str) -> DecodedToken:
    """Split a 006 token into its parts, checking only its structure."""
    if not isinstance(token, str) or not token.startswith(VERSION):
        raise InvalidAgoraToken("not a version 006 token")
    app_id = token[len(VERSION) : len(VERSION) + APP_ID_LENGTH]
    if len(app_id) != APP_ID_LENGTH:
        raise InvalidAgoraToken("app id too short")
    try:
        content = base64.b64decode(token[len(VERSION) + APP_ID_LENGTH :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidAgoraToken(f"content is not base64: {exc}") from None

    reader = _Reader(content)
    signature = reader.prefixed()
    channel_crc = reader.uint32()
    uid_crc = reader.uint32()
    message = reader.prefixed()
    reader.done()

    reader = _Reader(message)
    salt = reader.uint32()
    ts = reader.uint32()
    privileges = {}
    for _ in range(reader.uint16()):
        key = reader.uint16()
        if key in privileges:
            raise InvalidAgoraToken(f"privilege {key} listed twice")
        privileges[key] = reader.uint32()
    reader.done()

    return DecodedToken(app_id, signature, channel_crc, uid_crc, message, salt, ts, privileges)


def verify(
    token: str, *, app_id: str, certificate: str, channel: str, uid_or_account: int | str
) -> dict[int, int]:
    """Check that `token` was signed with `certificate` for this app, channel and
    uid (or account), and return its privileges {privilege id: expiry epoch}.

    Raise InvalidAgoraToken otherwise. An RTM token is checked with
    `channel=<account>` and `uid_or_account=""`.
    """
    decoded = decode(token)
    uid = str(uid_or_account)
    if decoded.app_id != app_id:
        raise InvalidAgoraToken(f"issued for app {decoded.app_id!r}, not {app_id!r}")
    if decoded.channel_crc != zlib.crc32(channel.encode()):
        raise InvalidAgoraToken(f"not bound to channel {channel!r}")
    if decoded.uid_crc != zlib.crc32(uid.encode()):
        raise InvalidAgoraToken(f"not bound to uid {uid!r}")
    expected = hmac.new(
        certificate.encode(),
        app_id.encode() + channel.encode() + uid.encode() + decoded.message,
        hashlib.sha256,
    ).digest()
    if not hmac.compare_digest(decoded.signature, expected):
        raise InvalidAgoraToken("bad signature")
    return decoded.privileges


# --- AccessToken2 (version 007) ---------------------------------------------------------
#
# A token is `"007" + base64(zlib(content))` where, all integers little-endian:
#
#     content = uint16 len + signature        HMAC-SHA256(signing key, signing info)
#               signing info:
#                 uint16 len + appId
#                 uint32 issued at (epoch seconds)
#                 uint32 expire    (seconds after issue)
#                 uint32 salt
#                 uint16 count, then count times a service:
#                   uint16 type (1 RTC, 2 RTM, ...)
#                   uint16 count, then count times: uint16 privilege, uint32 expire (seconds
#                     after issue)
#                   RTC: uint16 len + channel name, uint16 len + uid ("" for uid 0)
#                   RTM: uint16 len + user id
#     signing key = HMAC-SHA256(key=uint32 salt, HMAC-SHA256(key=uint32 issued at, certificate))
#
# Written from that layout, independently of agoraiotools; it accepts Agora's own
# test vector (AgoraIO/Tools, python3/test/AccessToken2Test.py), see test_agora_tokens.py.

VERSION_2 = "007"
SERVICE_RTC = 1
SERVICE_RTM = 2
RTM2_LOGIN = 1  # ServiceRtm's login privilege in AccessToken2


@dataclass(frozen=True)
class Service2:
    type: int
    privileges: dict[int, int]  # privilege: seconds after issue
    channel: str = ""  # RTC
    uid: str = ""  # RTC: the decimal uid, "" for any uid
    user_id: str = ""  # RTM


@dataclass(frozen=True)
class DecodedToken2:
    signature: bytes
    signing_info: bytes
    app_id: str
    issued_at: int
    expire: int
    salt: int
    services: dict[int, Service2]

    @property
    def expires_at(self) -> int:
        return self.issued_at + self.expire


def decode_007(token: str) -> DecodedToken2:
    """Split a 007 token into its parts, checking only its structure."""
    if not isinstance(token, str) or not token.startswith(VERSION_2):
        raise InvalidAgoraToken("not a version 007 token")
    try:
        content = zlib.decompress(base64.b64decode(token[len(VERSION_2) :], validate=True))
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise InvalidAgoraToken(f"content is not base64 of zlib: {exc}") from None
    reader = _Reader(content)
    signature = reader.prefixed()
    start = reader.pos
    app_id = reader.prefixed().decode()
    issued_at, expire, salt = reader.uint32(), reader.uint32(), reader.uint32()
    services: dict[int, Service2] = {}
    for _ in range(reader.uint16()):
        kind = reader.uint16()
        privileges = {}
        for _ in range(reader.uint16()):
            key = reader.uint16()
            if key in privileges:
                raise InvalidAgoraToken(f"privilege {key} listed twice")
            privileges[key] = reader.uint32()
        if kind == SERVICE_RTC:
            channel, uid = reader.prefixed().decode(), reader.prefixed().decode()
            service = Service2(kind, privileges, channel=channel, uid=uid)
        elif kind == SERVICE_RTM:
            service = Service2(kind, privileges, user_id=reader.prefixed().decode())
        else:
            raise InvalidAgoraToken(f"service {kind} is not one these tests know")
        if kind in services:
            raise InvalidAgoraToken(f"service {kind} listed twice")
        services[kind] = service
    reader.done()
    return DecodedToken2(signature, content[start:], app_id, issued_at, expire, salt, services)


def verify_007(token: str, *, app_id: str, certificate: str) -> DecodedToken2:
    """The decoded token, once its signature is checked against `certificate` and
    it is for `app_id`; InvalidAgoraToken otherwise."""
    decoded = decode_007(token)
    if decoded.app_id != app_id:
        raise InvalidAgoraToken(f"issued for app {decoded.app_id!r}, not {app_id!r}")
    key = hmac.new(
        struct.pack("<I", decoded.issued_at), certificate.encode(), hashlib.sha256
    ).digest()
    key = hmac.new(struct.pack("<I", decoded.salt), key, hashlib.sha256).digest()
    expected = hmac.new(key, decoded.signing_info, hashlib.sha256).digest()
    if not hmac.compare_digest(decoded.signature, expected):
        raise InvalidAgoraToken("bad signature")
    return decoded
