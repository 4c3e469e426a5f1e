"""PATCH /api/v1/users/profile/photo: decoded, oriented, stripped, re-encoded,
with square WebP variants; anything that is not a sound image stores nothing."""

import io
import os
import struct
import time
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from accounts.models import ProfilePhoto
from tests.api import OBJECT_ID_RE, TIMESTAMP_RE, assert_envelope, assert_error
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/users/profile/photo"
ME = "/api/v1/auth/me"
RED = (255, 0, 0)
BLUE = (0, 0, 255)


# --- Building uploads ---------------------------------------------------------


def _two_tone(size=(60, 40), mode="RGB") -> Image.Image:
    """Left half red, right half blue: where the red lands shows the orientation."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return image.convert(mode) if mode != "RGB" else image


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored sideways: display rotated 90° clockwise
    exif[ExifTags.Base.Make] = "SpyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 0.0, 36.0)
    data = _encode(_two_tone(), "JPEG", exif=exif, quality=95)
    # The upload really carries what must be stripped.
    uploaded = Image.open(io.BytesIO(data)).getexif()
    assert uploaded[ExifTags.Base.Orientation] == 6
    assert uploaded.get_ifd(ExifTags.IFD.GPSInfo)
    assert b"SpyCam" in data
    return data


def _png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height pixels: tiny on disk, huge decoded."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _patch(client, data: bytes, **kwargs):
    return client.patch(URL, {"file": _upload(data, **kwargs)}, format="multipart")


def _files(root: str) -> set[str]:
    return {
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _dirs, names in os.walk(root)
        for name in names
    }


def _path(media_root: str, name: str) -> str:
    return os.path.join(media_root, name)


def _red_ish(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 180 and g < 80 and b < 80


def _blue_ish(pixel) -> bool:
    r, g, b = pixel[:3]
    return b > 180 and r < 80 and g < 80


# --- A good upload ------------------------------------------------------------


def test_jpeg_with_exif_is_oriented_stripped_and_reencoded(user, client_for, media_root, settings):
    settings.PUBLIC_BASE_URL = "https://cdn.allmine.example"
    upload = _jpeg_with_exif()

    response = _patch(client_for(user), upload)

    data = assert_envelope(response, 200)
    photo = ProfilePhoto.objects.get()
    assert photo.user_id == user.pk
    assert set(data) == {"_id", "url", "type", "variants", "createdAt", "updatedAt"}
    assert data["_id"] == photo.id
    assert OBJECT_ID_RE.fullmatch(data["_id"])
    assert data["type"] == "image"
    assert TIMESTAMP_RE.match(data["createdAt"])
    assert TIMESTAMP_RE.match(data["updatedAt"])
    assert data["url"] == f"https://cdn.allmine.example/media/{photo.original}"
    assert set(data["variants"]) == {"40", "76"}
    for edge, url in data["variants"].items():
        assert url == f"https://cdn.allmine.example/media/{photo.variants[edge]}"

    # The stored original: re-encoded, rotated per the orientation, no metadata.
    with open(_path(media_root, photo.original), "rb") as handle:
        stored_bytes = handle.read()
    assert stored_bytes != upload
    assert b"SpyCam" not in stored_bytes
    assert b"Exif" not in stored_bytes
    stored = Image.open(io.BytesIO(stored_bytes))
    assert stored.format == "JPEG"
    assert stored.size == (40, 60)  # 60x40 turned a quarter
    assert not stored.getexif()
    assert "exif" not in stored.info
    stored = stored.convert("RGB")
    # Turned clockwise, the red left half is now the top half.
    assert _red_ish(stored.getpixel((20, 5)))
    assert _blue_ish(stored.getpixel((20, 54)))

    # The variants: square WebP of the stated edge, no metadata either.
    for edge in ("40", "76"):
        variant = Image.open(_path(media_root, photo.variants[edge]))
        assert variant.format == "WEBP"
        assert variant.size == (int(edge), int(edge))
        assert not variant.getexif()

    assert _files(media_root) == {photo.original, *photo.variants.values()}


def test_me_shows_the_new_photo(user, client_for, media_root):
    client = client_for(user)
    photo = assert_envelope(_patch(client, _jpeg_with_exif()), 200)
    me = assert_envelope(client.get(ME), 200)
    assert me["profilePhoto"] == photo


def test_urls_start_with_the_public_base_url(user, client_for, media_root, settings):
    data = assert_envelope(_patch(client_for(user), _jpeg_with_exif()), 200)
    for url in (data["url"], *data["variants"].values()):
        assert url.startswith(f"{settings.PUBLIC_BASE_URL}/media/")


@pytest.mark.parametrize(
    ("fmt", "mode", "extension"),
    [("PNG", "RGB", "png"), ("PNG", "RGBA", "png"), ("PNG", "P", "png"), ("WEBP", "RGB", "webp")],
)
def test_png_and_webp_are_accepted(user, client_for, media_root, fmt, mode, extension):
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    upload = _encode(_two_tone(mode=mode), fmt, exif=exif)
    assert b"SpyCam" in upload
    response = _patch(
        client_for(user), upload, name=f"me.{extension}", content_type=f"image/{extension}"
    )
    assert_envelope(response, 200)
    photo = ProfilePhoto.objects.get()
    assert photo.original.endswith(f".{extension}")
    with open(_path(media_root, photo.original), "rb") as handle:
        stored_bytes = handle.read()
    assert b"SpyCam" not in stored_bytes
    stored = Image.open(io.BytesIO(stored_bytes))
    assert stored.format == fmt
    assert stored.size == (60, 40)  # no orientation tag: left as it is
    assert not stored.getexif()
    for edge in ("40", "76"):
        variant = Image.open(_path(media_root, photo.variants[edge]))
        assert (variant.format, variant.size) == ("WEBP", (int(edge), int(edge)))


def test_cmyk_and_grey_jpegs_are_accepted(user, client_for, media_root):
    client = client_for(user)
    for mode in ("CMYK", "L"):
        assert_envelope(_patch(client, _encode(_two_tone(mode=mode), "JPEG")), 200)
    stored = Image.open(_path(media_root, ProfilePhoto.objects.get().original))
    assert stored.format == "JPEG"


def test_judged_by_content_not_by_name(user, client_for, media_root):
    """A JPEG sent as `photo.png` with a PNG content type is stored as the JPEG it is."""
    upload = _encode(_two_tone(), "JPEG")
    response = _patch(client_for(user), upload, name="photo.png", content_type="image/png")
    assert_envelope(response, 200)
    photo = ProfilePhoto.objects.get()
    assert photo.original.endswith(".jpg")
    assert Image.open(_path(media_root, photo.original)).format == "JPEG"


def test_large_photo_is_scaled_down(user, client_for, media_root, settings):
    settings.IMAGE_MAX_EDGE = 64
    upload = _encode(_two_tone(size=(300, 150)), "PNG")
    assert_envelope(_patch(client_for(user), upload, name="big.png"), 200)
    stored = Image.open(_path(media_root, ProfilePhoto.objects.get().original))
    assert stored.size == (64, 32)


# --- Replacing ----------------------------------------------------------------


def test_replacing_deletes_the_old_files_after_commit(
    user, client_for, media_root, django_capture_on_commit_callbacks
):
    client = client_for(user)
    first = assert_envelope(_patch(client, _jpeg_with_exif()), 200)
    old = ProfilePhoto.objects.get()
    old_files = {old.original, *old.variants.values()}
    assert _files(media_root) == old_files

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = assert_envelope(_patch(client, _encode(_two_tone(), "PNG"), name="n.png"), 200)
    # Until the transaction commits, the old files stay (a rollback still needs them).
    assert callbacks
    assert old_files <= _files(media_root)
    for callback in callbacks:
        callback()

    new = ProfilePhoto.objects.get()
    assert new.id == second["_id"] != first["_id"]
    assert _files(media_root) == {new.original, *new.variants.values()}
    assert not old_files & _files(media_root)
    assert assert_envelope(client.get(ME), 200)["profilePhoto"]["_id"] == new.id


def test_replacing_with_execute_on_commit(
    user, client_for, media_root, django_capture_on_commit_callbacks
):
    client = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(_patch(client, _jpeg_with_exif()), 200)
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(_patch(client, _jpeg_with_exif()), 200)
    assert ProfilePhoto.objects.count() == 1
    photo = ProfilePhoto.objects.get()
    assert _files(media_root) == {photo.original, *photo.variants.values()}


def test_failed_replacement_keeps_the_old_photo(user, client_for, media_root):
    client = client_for(user)
    first = assert_envelope(_patch(client, _jpeg_with_exif()), 200)
    before = _files(media_root)
    assert_error(_patch(client, b"not an image at all"), 400, contains="file: ")
    assert ProfilePhoto.objects.get().id == first["_id"]
    assert _files(media_root) == before
    assert assert_envelope(client.get(ME), 200)["profilePhoto"] == first


def test_photos_of_two_users_are_separate(client_for, media_root):
    alice, bob = UserFactory(), UserFactory()
    assert_envelope(_patch(client_for(alice), _jpeg_with_exif()), 200)
    assert_envelope(_patch(client_for(bob), _jpeg_with_exif()), 200)
    assert ProfilePhoto.objects.count() == 2
    assert len(_files(media_root)) == 6


# --- Bad uploads: 400 and nothing stored --------------------------------------


def _noise_jpeg() -> bytes:
    return _encode(Image.frombytes("RGB", (128, 128), os.urandom(128 * 128 * 3)), "JPEG")


def _gif() -> bytes:
    return _encode(_two_tone(), "GIF")


def _animated_webp() -> bytes:
    frames = [_two_tone(), _two_tone().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10" fill="red"/></svg>'
)

NOT_AN_IMAGE = "file: The file is not a JPEG, PNG or WebP image."
DAMAGED = "file: The image is damaged or incomplete."
TOO_MANY_PIXELS = "file: The image has "

# case: (bytes, file name, content type, the error that says what was wrong)
BAD_UPLOADS = {
    "text named .jpg": (
        lambda: b"Hello, I am plain text.\n" * 20,
        "photo.jpg",
        "image/jpeg",
        NOT_AN_IMAGE,
    ),
    "truncated jpeg": (
        lambda: _noise_jpeg()[: len(_noise_jpeg()) // 2],
        "photo.jpg",
        "image/jpeg",
        DAMAGED,
    ),
    "jpeg header only": (lambda: _noise_jpeg()[:200], "photo.jpg", "image/jpeg", DAMAGED),
    "svg": (lambda: SVG, "photo.svg", "image/svg+xml", NOT_AN_IMAGE),
    "svg named .jpg": (lambda: SVG, "photo.jpg", "image/jpeg", NOT_AN_IMAGE),
    "gif": (_gif, "photo.gif", "image/gif", NOT_AN_IMAGE),
    "gif named .png": (_gif, "photo.png", "image/png", NOT_AN_IMAGE),
    "animated webp": (
        _animated_webp,
        "photo.webp",
        "image/webp",
        "file: Animated images are not accepted.",
    ),
    "bomb 20000x20000": (
        lambda: _png_bomb(20000, 20000),
        "photo.png",
        "image/png",
        TOO_MANY_PIXELS,
    ),
    "above the pixel limit": (
        lambda: _png_bomb(8000, 6000),
        "photo.png",
        "image/png",
        TOO_MANY_PIXELS,
    ),
    "empty": (lambda: b"", "photo.jpg", "image/jpeg", "file: The file is empty."),
    "html named .jpg": (
        lambda: b"<html><script>alert(1)</script></html>",
        "x.jpg",
        "image/jpeg",
        NOT_AN_IMAGE,
    ),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_is_400_and_stores_nothing(user, client_for, media_root, case):
    make, name, content_type, message = BAD_UPLOADS[case]
    before = _files(media_root)

    response = _patch(client_for(user), make(), name=name, content_type=content_type)

    errors = assert_error(response, 400)
    assert len(errors) == 2
    assert errors[1].startswith(message), errors
    assert not ProfilePhoto.objects.exists()
    assert _files(media_root) == before
    assert os.path.join("profiles", user.pk) not in {os.path.dirname(f) for f in _files(media_root)}


def test_file_above_image_max_bytes_is_400(user, client_for, media_root, settings):
    upload = _noise_jpeg()
    settings.IMAGE_MAX_BYTES = len(upload) - 1
    response = _patch(client_for(user), upload)
    assert_error(response, 400, contains="file: The image must be at most")
    assert not ProfilePhoto.objects.exists()
    assert _files(media_root) == set()


def test_file_at_image_max_bytes_is_accepted(user, client_for, media_root, settings):
    upload = _noise_jpeg()
    settings.IMAGE_MAX_BYTES = len(upload)
    assert_envelope(_patch(client_for(user), upload), 200)


def test_decompression_bomb_is_refused_quickly(user, client_for, media_root):
    """Refused from its header: the 400 million pixels are never decoded."""
    upload = _png_bomb(20000, 20000)
    assert len(upload) < 100_000
    started = time.monotonic()
    response = _patch(client_for(user), upload, name="photo.png", content_type="image/png")
    assert time.monotonic() - started < 2
    assert_error(response, 400, contains=TOO_MANY_PIXELS)
    assert _files(media_root) == set()


def test_no_file_field_is_400(user, client_for, media_root):
    response = client_for(user).patch(URL, {"other": "x"}, format="multipart")
    assert_error(response, 400, contains="file: No file was submitted.")
    assert not ProfilePhoto.objects.exists()
    assert _files(media_root) == set()


def test_file_field_as_text_is_400(user, client_for, media_root):
    response = client_for(user).patch(URL, {"file": "not a file"}, format="multipart")
    assert_error(response, 400, contains="file: ")
    assert not ProfilePhoto.objects.exists()


def test_json_body_is_415(user, client_for, media_root):
    response = client_for(user).patch(URL, {"file": "x"}, format="json")
    assert_error(response, 415)
    assert not ProfilePhoto.objects.exists()


def test_unauthenticated_is_401(api_client, media_root):
    response = _patch(api_client, _jpeg_with_exif())
    assert_error(response, 401)
    assert response.has_header("WWW-Authenticate")
    assert not ProfilePhoto.objects.exists()
    assert _files(media_root) == set()


def test_deactivated_user_is_401(user, client_for, media_root):
    client = client_for(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_error(_patch(client, _jpeg_with_exif()), 401)
    assert not ProfilePhoto.objects.exists()
