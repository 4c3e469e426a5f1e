"""Agora channel names made from stream titles (spec §5), alone and through create."""

import re

import pytest

from livestreams.agora.channels import MAX_CHANNEL_BYTES, channel_base, new_channel_name
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream
from livestreams.services import creation
from livestreams.services.creation import CHANNEL_NAME_ATTEMPTS
from tests.api import assert_envelope, assert_error
from tests.factories import LiveStreamFactory, UserFactory

CREATE_URL = "/api/v1/live-stream/create"
# A slug of ASCII words joined by single dashes, then "-" and 4 hex digits.
CHANNEL_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*-[0-9a-f]{4}$")


def assert_channel_name(name: str, base: str | None = None) -> None:
    assert CHANNEL_RE.match(name), name
    assert len(name.encode("utf-8")) <= MAX_CHANNEL_BYTES, (len(name.encode()), name)
    if base is not None:
        assert name[:-5] == base, name


def test_spec_example():
    name = new_channel_name("Yeni ürün tanıtımı")
    assert re.fullmatch(r"yeni-urun-tanitimi-[0-9a-f]{4}", name), name


@pytest.mark.parametrize(
    ("letter", "ascii_letter"),
    [
        ("ç", "c"),
        ("Ç", "c"),
        ("ğ", "g"),
        ("Ğ", "g"),
        ("ı", "i"),
        ("I", "i"),
        ("i", "i"),
        ("İ", "i"),
        ("ö", "o"),
        ("Ö", "o"),
        ("ş", "s"),
        ("Ş", "s"),
        ("ü", "u"),
        ("Ü", "u"),
    ],
)
def test_every_turkish_letter_in_both_cases(letter, ascii_letter):
    # Between two other letters, so a dropped or doubled letter shows.
    name = new_channel_name(f"a{letter}b")
    assert_channel_name(name, base=f"a{ascii_letter}b")


def test_turkish_words_in_both_cases():
    assert channel_base("ÇĞIİÖŞÜ çğıiöşü") == "cgiiosu-cgiiosu"
    assert channel_base("İSTANBUL'da Şölen") == "istanbulda-solen"


@pytest.mark.parametrize(
    "title", ["🎉🎉🎉", "直播时间", "Прямой эфир", "البث المباشر", "!!! ???", "—"]
)
def test_no_ascii_left_gives_the_fallback(title):
    name = new_channel_name(title)
    assert re.fullmatch(r"stream-[0-9a-f]{4}", name), name


def test_emoji_and_other_scripts_are_dropped_from_a_mixed_title():
    assert channel_base("Canlı 🎉 yayın Прямой") == "canli-yayin"


@pytest.mark.parametrize(
    "title",
    [
        "a" * 200,
        "ş" * 200,  # two bytes in UTF-8, one after transliteration
        "ab " * 40,
        "abc-" * 30,
        # The cut falls right after a separator: no dash may stay before the suffix.
        "a" * 58 + " b" * 10,
        "a" * 57 + " b" * 10,
        "ü" * 58 + " ç" * 10,
        "Yeni ürün tanıtımı " * 10,
    ],
)
def test_long_titles_fit_in_64_bytes_without_a_trailing_dash(title):
    name = new_channel_name(title)
    assert_channel_name(name)
    base = name[:-5]
    assert not base.endswith(("-", "_")), name
    assert "--" not in name, name


def test_a_long_title_uses_the_whole_room():
    name = new_channel_name("a" * 200)
    assert len(name) == MAX_CHANNEL_BYTES
    assert name.startswith("a" * (MAX_CHANNEL_BYTES - 5) + "-")


def test_the_suffix_is_random():
    names = {new_channel_name("same title") for _ in range(20)}
    assert len(names) > 1


# --- Through the create endpoint ------------------------------------------------


def test_created_stream_channel_name_follows_the_rules(client_for, user):
    data = assert_envelope(
        client_for(user).post(CREATE_URL, {"title": "Yeni ürün tanıtımı"}, format="json"), 201
    )
    assert re.fullmatch(r"yeni-urun-tanitimi-[0-9a-f]{4}", data["channelName"])
    assert LiveStream.objects.get(pk=data["id"]).channel_name == data["channelName"]


def test_created_stream_with_an_emoji_title_gets_the_fallback_name(client_for, user):
    data = assert_envelope(client_for(user).post(CREATE_URL, {"title": "🎉🎉"}, format="json"), 201)
    assert re.fullmatch(r"stream-[0-9a-f]{4}", data["channelName"])
    assert data["title"] == "🎉🎉"


def test_created_stream_with_a_100_character_title_fits(client_for, user):
    title = "Çok uzun bir başlık " * 5
    data = assert_envelope(client_for(user).post(CREATE_URL, {"title": title}, format="json"), 201)
    assert_channel_name(data["channelName"])


def test_two_streams_with_the_same_title_get_different_names(client_for):
    names = set()
    for _ in range(2):
        response = client_for(UserFactory()).post(
            CREATE_URL, {"title": "Yeni ürün tanıtımı"}, format="json"
        )
        names.add(assert_envelope(response, 201)["channelName"])
    assert len(names) == 2
    assert set(LiveStream.objects.values_list("channel_name", flat=True)) == names


def _names_from(monkeypatch, *names):
    """Make the create service draw `names` first, then real random ones."""
    queue = list(names)
    drawn = []

    def fake(title):
        name = queue.pop(0) if queue else new_channel_name(title)
        drawn.append(name)
        return name

    monkeypatch.setattr(creation, "new_channel_name", fake)
    return drawn


def test_a_clash_with_an_existing_name_is_retried(client_for, user, monkeypatch):
    taken = LiveStreamFactory(
        channel_name="yeni-urun-tanitimi-aaaa", status=LiveStreamStatus.ENDED
    ).channel_name
    drawn = _names_from(monkeypatch, taken, taken, "yeni-urun-tanitimi-bbbb")

    response = client_for(user).post(CREATE_URL, {"title": "Yeni ürün tanıtımı"}, format="json")

    data = assert_envelope(response, 201)
    assert data["channelName"] == "yeni-urun-tanitimi-bbbb"
    assert drawn == [taken, taken, "yeni-urun-tanitimi-bbbb"]
    assert LiveStream.objects.filter(creator=user).count() == 1
    assert LiveStream.objects.get(creator=user).channel_name == "yeni-urun-tanitimi-bbbb"


def test_giving_up_after_every_attempt_clashes_writes_nothing(client_for, user, monkeypatch):
    taken = LiveStreamFactory(channel_name="busy-aaaa", status=LiveStreamStatus.ENDED).channel_name
    drawn = _names_from(monkeypatch, *[taken] * CHANNEL_NAME_ATTEMPTS)

    response = client_for(user).post(CREATE_URL, {"title": "busy"}, format="json")

    assert_error(response, 409)
    assert len(drawn) == CHANNEL_NAME_ATTEMPTS
    assert LiveStream.objects.count() == 1  # only the one that holds the name


# --- Agora's limit: fewer than 64 bytes (issue 11) ---------------------------------------


def test_the_limit_is_63_bytes():
    # Agora requires a channel name of fewer than 64 bytes.
    assert MAX_CHANNEL_BYTES == 63


@pytest.mark.parametrize(
    "title",
    [
        ("Çağrı Şölen İstanbul'da ürün tanıtımı yapıyor, öğrenciler soruyor " * 4)[:200],
        ("ğüşıöç" * 34)[:200],
        "İ" * 200,
    ],
)
def test_a_200_character_turkish_title_gives_a_name_under_64_bytes(title):
    assert len(title) == 200
    name = new_channel_name(title)
    assert len(name.encode("utf-8")) < 64
    assert CHANNEL_RE.match(name), name


def test_a_slug_of_59_characters_no_longer_makes_64_bytes():
    # 59 characters of slug plus "-" and 4 hex digits were exactly 64 bytes.
    name = new_channel_name("a" * 59)
    assert len(name) == 63
    assert name.startswith("a" * 58 + "-")


@pytest.mark.django_db
def test_an_existing_64_byte_channel_name_keeps_working(client_for, settings):
    from tests import agora_tokens

    old_name = "a" * 59 + "-1a2b"  # made before the limit was kept
    assert len(old_name.encode()) == 64
    stream = LiveStreamFactory(channel_name=old_name)
    creator = client_for(stream.creator)

    data = assert_envelope(
        creator.post(
            "/api/v1/live-stream/join-as-creator", {"liveStreamId": stream.pk}, format="json"
        ),
        200,
    )
    assert data["agora"]["channelName"] == old_name
    assert agora_tokens.verify(
        data["agora"]["token"],
        app_id=settings.AGORA_APP_ID,
        certificate=settings.AGORA_APP_CERTIFICATE,
        channel=old_name,
        uid_or_account=stream.creator.agora_uid,
    )
    viewer = UserFactory()
    joined = assert_envelope(
        client_for(viewer).post(
            "/api/v1/live-stream/join", {"liveStreamId": stream.pk}, format="json"
        ),
        200,
    )
    assert joined["liveStream"]["channelName"] == old_name
    renewed = assert_envelope(
        client_for(viewer).post(
            "/api/v1/live-stream/renew-token", {"liveStreamId": stream.pk}, format="json"
        ),
        200,
    )
    assert renewed["agora"]["channelName"] == old_name
    assert LiveStream.objects.get(pk=stream.pk).status == LiveStreamStatus.ACTIVE
