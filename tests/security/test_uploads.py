"""Issue 10, findings 2 and 4: image uploads.

- A 154 KB PNG declaring 6000x6600 cost 3.4 s of CPU and 250 MB a request, and one
  account could send them back to back. Each image now has a pixel budget sized to
  what it is for, nothing is decoded to more than IMAGE_MAX_DECODE_PIXELS (a JPEG
  decodes at a reduced scale, a PNG or WebP must fit whole), all checked from the
  header before a pixel is decoded, and uploads are rate-limited per user.
- Two profile-photo uploads of one user at the same time answered 500 (both
  inserted a first photo); now the second waits and wins, with no orphaned file.
"""

import contextlib
import io
import os
import struct
import threading
import time
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image, ImageFile

from accounts.models import ProfilePhoto
from livestreams.models import LiveStream
from tests.api import assert_envelope, assert_error
from tests.factories import UserFactory
from tests.security.test_hostile_input import client_of, media_files

CREATE_URL = "/api/v1/live-stream/create"
PHOTO_URL = "/api/v1/users/profile/photo"


def png_declaring(width: int, height: int, *, colour_type: int = 2) -> bytes:
    """A valid, all-black PNG (8-bit RGB by default) of width x height: a few hundred
    KB on disk whatever its size, hundreds of MB once decoded."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    row = b"\x00" * (1 + width * channels)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def encoded(fmt: str, size: tuple[int, int], colour=(200, 30, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def thumbnail(content: bytes, name: str = "t.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


@pytest.fixture
def decoded_sizes(monkeypatch):
    """The sizes images are decoded at (recorded when Pillow loads their pixels)."""
    sizes: list[tuple[str, int, int]] = []
    original = ImageFile.ImageFile.load

    def recording_load(self):
        if self._im is None:
            sizes.append((self.format, *self.size))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return sizes


# --- The attack's PNG: refused from its header -----------------------------------------


@pytest.fixture(scope="module")
def attack_png() -> bytes:
    return png_declaring(6000, 6600)


def test_the_attack_png_is_small_and_declares_40_megapixels(attack_png):
    assert len(attack_png) < 200_000
    with Image.open(io.BytesIO(attack_png)) as image:
        assert image.size == (6000, 6600)


def test_the_attack_png_as_a_thumbnail_is_refused_before_decoding(
    world, media_root, attack_png, decoded_sizes
):
    started = time.process_time()
    response = client_of(world.newcomer).post(
        CREATE_URL, {"title": "Bomb", "thumbnail": thumbnail(attack_png)}, format="multipart"
    )
    assert time.process_time() - started < 1.0  # it used to cost 3.4 s of CPU
    assert_error(response, 400, contains="thumbnail: A PNG image is decoded whole")
    assert decoded_sizes == []  # not one pixel decoded
    assert not LiveStream.objects.filter(creator=world.newcomer).exists()
    assert media_files(media_root) == []


def test_the_attack_png_as_a_profile_photo_is_refused_before_decoding(
    world, media_root, attack_png, decoded_sizes
):
    response = client_of(world.newcomer).patch(
        PHOTO_URL, {"file": thumbnail(attack_png)}, format="multipart"
    )
    assert_error(response, 400, contains="a profile photo may have at most 16000000")
    assert decoded_sizes == []
    assert not ProfilePhoto.objects.exists()
    assert media_files(media_root) == []


# --- Budgets per purpose and a bounded decode -------------------------------------------


def test_a_profile_photo_has_a_smaller_budget_than_a_thumbnail(world, media_root, settings):
    """20 MP: within a thumbnail's 40 MP, over a profile photo's 16 MP (from the
    header: a JPEG of that size is made small here by lying about nothing but its
    size, so the test stays cheap)."""
    settings.IMAGE_MAX_PIXELS, settings.PROFILE_PHOTO_MAX_PIXELS = 400, 100
    content = encoded("JPEG", (20, 10))
    response = client_of(world.newcomer).patch(
        PHOTO_URL, {"file": thumbnail(content, "p.jpg")}, format="multipart"
    )
    assert_error(response, 400, contains="file: The image has 200 pixels (20x10)")
    created = client_of(world.newcomer).post(
        CREATE_URL, {"title": "Ok", "thumbnail": thumbnail(content, "t.jpg")}, format="multipart"
    )
    assert_envelope(created, 201)


def test_a_jpeg_larger_than_the_decode_budget_is_decoded_at_a_reduced_scale(
    world, media_root, settings, decoded_sizes
):
    settings.IMAGE_MAX_EDGE = 64
    settings.IMAGE_MAX_DECODE_PIXELS = 128 * 128
    response = client_of(world.newcomer).post(
        CREATE_URL,
        {"title": "Big JPEG", "thumbnail": thumbnail(encoded("JPEG", (1000, 800)), "t.jpg")},
        format="multipart",
    )
    assert_envelope(response, 201)
    [(fmt, width, height)] = decoded_sizes
    assert fmt == "JPEG" and width * height <= 128 * 128 and width >= 64
    (stored,) = media_files(media_root)
    with Image.open(stored) as image:
        assert image.size == (64, 51)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_a_png_or_webp_over_the_decode_budget_is_refused_from_its_header(
    world, media_root, settings, decoded_sizes, fmt
):
    settings.IMAGE_MAX_DECODE_PIXELS = 128 * 128
    settings.IMAGE_MAX_EDGE = 64
    response = client_of(world.newcomer).post(
        CREATE_URL,
        {"title": "Big", "thumbnail": thumbnail(encoded(fmt, (200, 100)), "t.img")},
        format="multipart",
    )
    assert_error(response, 400, contains=f"thumbnail: A {fmt} image is decoded whole")
    assert decoded_sizes == []
    assert media_files(media_root) == []


def test_a_png_within_the_decode_budget_is_accepted(world, media_root, settings):
    settings.IMAGE_MAX_DECODE_PIXELS = 128 * 128
    settings.IMAGE_MAX_EDGE = 64
    response = client_of(world.newcomer).post(
        CREATE_URL,
        {"title": "Fits", "thumbnail": thumbnail(encoded("PNG", (128, 128)))},
        format="multipart",
    )
    assert_envelope(response, 201)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: png_declaring(4097, 4096, colour_type=0), id="grey-png"),
        pytest.param(lambda: png_declaring(5000, 5000, colour_type=6), id="rgba-png"),
    ],
)
def test_real_sized_pngs_over_the_default_decode_budget_are_refused(world, media_root, make):
    response = client_of(world.newcomer).post(
        CREATE_URL, {"title": "Big", "thumbnail": thumbnail(make())}, format="multipart"
    )
    assert_error(response, 400, contains="is decoded whole")
    assert media_files(media_root) == []


def test_a_png_with_a_huge_compressed_text_chunk_is_refused(world, media_root):
    """A zTXt chunk inflating to 10 MB (metadata is dropped anyway)."""
    base = encoded("PNG", (8, 8))
    text = zlib.compress(b"A" * 10_000_000, 9)
    payload = b"Comment\x00\x00" + text
    chunk = (
        struct.pack(">I", len(payload))
        + b"zTXt"
        + payload
        + struct.pack(">I", zlib.crc32(b"zTXt" + payload) & 0xFFFFFFFF)
    )
    bomb = base[:33] + chunk + base[33:]  # after the IHDR chunk
    response = client_of(world.newcomer).post(
        CREATE_URL, {"title": "Text bomb", "thumbnail": thumbnail(bomb)}, format="multipart"
    )
    assert_error(response, 400, contains="thumbnail:")
    assert media_files(media_root) == []


# --- Rate limits on uploads ---------------------------------------------------------------


@pytest.fixture
def upload_rates(settings):
    settings.API_THROTTLE_RATES = {
        **settings.API_THROTTLE_RATES,
        "upload_burst": "2/minute",
        "upload": "3/hour",
    }


def test_profile_photos_are_rate_limited_per_user(world, media_root, upload_rates):
    client = client_of(world.me)
    photo = encoded("JPEG", (16, 16))
    for _ in range(2):
        response = client.patch(PHOTO_URL, {"file": thumbnail(photo, "p.jpg")}, format="multipart")
        assert_envelope(response, 200)
    refused = client.patch(PHOTO_URL, {"file": thumbnail(photo, "p.jpg")}, format="multipart")
    assert_error(refused, 429)
    assert int(refused["Retry-After"]) >= 1
    assert ProfilePhoto.objects.filter(user=world.me).count() == 1
    # Another user is not limited by it.
    other = client_of(world.other).patch(
        PHOTO_URL, {"file": thumbnail(photo, "p.jpg")}, format="multipart"
    )
    assert_envelope(other, 200)


def test_thumbnails_and_photos_share_the_upload_budget(world, media_root, upload_rates):
    client = client_of(world.newcomer)
    photo = encoded("JPEG", (16, 16))
    assert_envelope(
        client.patch(PHOTO_URL, {"file": thumbnail(photo, "p.jpg")}, format="multipart"), 200
    )
    created = client.post(
        CREATE_URL, {"title": "One", "thumbnail": thumbnail(photo, "t.jpg")}, format="multipart"
    )
    LiveStream.objects.filter(pk=assert_envelope(created, 201)["id"]).update(status="ended")
    refused = client.post(
        CREATE_URL, {"title": "Two", "thumbnail": thumbnail(photo, "t.jpg")}, format="multipart"
    )
    assert_error(refused, 429)
    # A create without a thumbnail uploads nothing and is not counted.
    assert_envelope(client.post(CREATE_URL, {"title": "Three"}, format="json"), 201)


# --- Concurrent profile photos (finding 2) -------------------------------------------------


def _run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first_photo", [True, False], ids=["first-photo", "replacing"])
def test_two_photo_uploads_at_once_both_succeed_and_the_last_one_wins(
    media_root, monkeypatch, first_photo
):
    """Both requests reach the point where the old photo is looked up before either
    has inserted its own (held there together): the second waits for the first and
    replaces it; no 500, one photo, and only its files on disk."""
    user = UserFactory()
    client_a, client_b = client_of(user), client_of(user)
    if first_photo is False:
        assert_envelope(
            client_a.patch(
                PHOTO_URL, {"file": thumbnail(encoded("JPEG", (8, 8)), "p.jpg")}, "multipart"
            ),
            200,
        )
    meeting = threading.Barrier(2)
    original_save = ProfilePhoto.save

    def save_together(self, *args, **kwargs):
        # After the fix the other request waits on the lock: the meeting times out.
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait(timeout=3)
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(ProfilePhoto, "save", save_together)

    def upload(client, colour):
        content = encoded("JPEG", (32, 32), colour)
        return client.patch(PHOTO_URL, {"file": thumbnail(content, "p.jpg")}, format="multipart")

    responses = _run_together(
        lambda: upload(client_a, (255, 0, 0)), lambda: upload(client_b, (0, 0, 255))
    )

    photos = [assert_envelope(r, 200) for r in responses]
    kept = ProfilePhoto.objects.get(user=user)
    assert kept.pk in {p["_id"] for p in photos}
    stored = {os.path.relpath(f, media_root) for f in media_files(media_root)}
    mine = {name for name in stored if name.startswith(f"profiles/{user.pk}/")}
    assert mine == set(kept.stored_names())  # the loser's files are gone
