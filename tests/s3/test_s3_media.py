"""Media on S3 through django-storages, against moto's S3 server over HTTP:
uploads land in the bucket, the API's URLs point at the bucket (or the CDN) and
serve the image, replaced and removed files are deleted after commit, and a
storage that fails is a 503 that leaves nothing behind."""

import io
import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.conf import settings as django_settings
from django.contrib import admin
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from PIL import Image
from storages.backends.s3 import S3Storage

from accounts.models import ProfilePhoto
from livestreams.lifecycle import LiveStreamStatus
from livestreams.models import LiveStream
from livestreams.services import creation, moderation
from tests.api import assert_envelope, assert_error
from tests.factories import UserFactory
from tests.s3.conftest import BUCKET, CDN_DOMAIN, REGION, S3Media

pytestmark = pytest.mark.django_db

CREATE_URL = "/api/v1/live-stream/create"
PHOTO_URL = "/api/v1/users/profile/photo"
ME_URL = "/api/v1/auth/me"
DEFAULT_THUMBNAIL = "livestreams/default-thumbnail.png"
STORAGE_DOWN = "The file storage is unavailable; try again shortly."
BASE_DIR = Path(django_settings.BASE_DIR)

# Only loopback: never through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- Helpers ----------------------------------------------------------------------


def image_bytes(fmt: str = "JPEG", size=(60, 40), color=(200, 30, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def jpeg_upload(name: str = "pic.jpg", size=(60, 40)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes("JPEG", size), content_type="image/jpeg")


def fetch(url: str) -> tuple[int, bytes, str]:
    """GET a media URL over HTTP, as an app would: status, body, content type."""
    assert url.startswith("http://127.0.0.1:"), url
    try:
        with _opener.open(url, timeout=5) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, b"", ""


def fetch_image(url: str) -> tuple[Image.Image, str]:
    status, body, content_type = fetch(url)
    assert status == 200, url
    image = Image.open(io.BytesIO(body))
    image.load()
    return image, content_type


def via_cdn(s3, url: str) -> str:
    """A CDN URL mapped onto the bucket the CDN serves (cdn.test is not reachable)."""
    prefix = f"https://{CDN_DOMAIN}/"
    assert url.startswith(prefix), url
    return s3.url(url[len(prefix) :])


def create_stream(client, **fields):
    return client.post(CREATE_URL, {"title": "On S3", **fields}, format="multipart")


def patch_photo(client, upload=None):
    return client.patch(PHOTO_URL, {"file": upload or jpeg_upload()}, format="multipart")


def local_files(root) -> set[str]:
    return {
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _dirs, names in os.walk(root)
        for name in names
    }


def failing_save(exc, *, after: int = 0):
    """An S3Storage._save that stores `after` files, then raises `exc`."""
    real_save = S3Storage._save
    calls = []

    def save(self, name, content):
        calls.append(name)
        if len(calls) > after:
            raise exc
        return real_save(self, name, content)

    return save


def connection_error():
    return EndpointConnectionError(endpoint_url="http://127.0.0.1:1/")


def access_denied():
    return ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")


# --- The storage setting ----------------------------------------------------------


def test_default_storage_follows_the_setting(settings, moto_s3, media_root):
    original = settings.STORAGES
    assert default_storage.url("a/b.jpg") == "/media/a/b.jpg"
    assert type(default_storage._wrapped) is FileSystemStorage

    S3Media(settings, moto_s3).configure()
    assert isinstance(default_storage._wrapped, S3Storage)
    assert default_storage.url("a/b.jpg") == f"{moto_s3.endpoint}/{BUCKET}/a/b.jpg"

    settings.STORAGES = original
    assert default_storage.url("a/b.jpg") == "/media/a/b.jpg"
    assert type(default_storage._wrapped) is FileSystemStorage


ENV_SCRIPT = """
import json
import django
django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from allmine.core.media import media_url
name = default_storage.save("env-check/hello.txt", ContentFile(b"hello from the env"))
backend = type(default_storage._wrapped).__name__
print(json.dumps({"name": name, "url": media_url(name), "backend": backend}))
"""


@pytest.mark.parametrize("custom_domain", [None, CDN_DOMAIN])
def test_storage_backend_s3_is_configured_from_the_environment(s3_storage, custom_domain):
    """settings.py builds the S3 storage from STORAGE_BACKEND=s3 and AWS_* alone."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "STORAGE_", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="allmine.settings",
        DJANGO_ENV="test",
        STORAGE_BACKEND="s3",
        AWS_STORAGE_BUCKET_NAME=BUCKET,
        AWS_S3_ENDPOINT_URL=s3_storage.endpoint,
        AWS_S3_REGION_NAME=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    if custom_domain:
        env["AWS_S3_CUSTOM_DOMAIN"] = custom_domain
    result = subprocess.run(
        [sys.executable, "-c", ENV_SCRIPT],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["backend"] == "S3Storage"
    assert out["name"] == "env-check/hello.txt"
    assert s3_storage.keys() == {"env-check/hello.txt"}
    assert s3_storage.body("env-check/hello.txt") == b"hello from the env"
    if custom_domain:
        assert out["url"] == f"https://{CDN_DOMAIN}/env-check/hello.txt"
    else:
        assert out["url"] == s3_storage.url("env-check/hello.txt")
        assert fetch(out["url"])[:2] == (200, b"hello from the env")


# --- Stream thumbnails --------------------------------------------------------------


def test_a_thumbnail_lands_in_the_bucket_and_is_served_from_it(
    s3_storage, user, client_for, media_root
):
    client = client_for(user)
    data = assert_envelope(create_stream(client, thumbnail=jpeg_upload(size=(24, 16))), 201)

    stream = LiveStream.objects.get()
    key = f"thumbnails/{stream.id}.jpg"
    assert stream.thumbnail == key
    assert s3_storage.keys() == {key}
    assert local_files(media_root) == set()  # nothing on the local disk
    assert data["thumbnailUrl"] == s3_storage.url(key)

    image, content_type = fetch_image(data["thumbnailUrl"])
    assert (image.format, image.size) == ("JPEG", (24, 16))
    assert content_type == "image/jpeg"

    detail = assert_envelope(client.get(f"/api/v1/live-stream/{stream.id}"), 200)
    assert detail["thumbnailUrl"] == data["thumbnailUrl"]


def test_thumbnail_urls_use_the_cdn_domain(s3_cdn_storage, user, client_for):
    s3 = s3_cdn_storage
    client = client_for(user)
    data = assert_envelope(create_stream(client, thumbnail=jpeg_upload()), 201)
    stream = LiveStream.objects.get()
    key = f"thumbnails/{stream.id}.jpg"
    assert data["thumbnailUrl"] == f"https://{CDN_DOMAIN}/{key}"
    assert s3.keys() == {key}
    image, _ = fetch_image(via_cdn(s3, data["thumbnailUrl"]))
    assert image.size == (60, 40)


def test_the_default_thumbnail_is_a_static_file_not_a_bucket_object(
    s3_cdn_storage, user, client_for, settings
):
    data = assert_envelope(create_stream(client_for(user)), 201)
    assert data["thumbnailUrl"].startswith(settings.PUBLIC_BASE_URL)
    assert data["thumbnailUrl"].endswith(DEFAULT_THUMBNAIL)
    assert s3_cdn_storage.keys() == set()


# --- Profile photos -----------------------------------------------------------------


def test_a_profile_photo_and_its_variants_land_in_the_bucket(s3_storage, user, client_for):
    client = client_for(user)
    data = assert_envelope(patch_photo(client), 200)

    photo = ProfilePhoto.objects.get()
    prefix = f"profiles/{user.pk}/{photo.id}"
    assert photo.original == f"{prefix}/original.jpg"
    assert photo.variants == {"40": f"{prefix}/40.webp", "76": f"{prefix}/76.webp"}
    assert s3_storage.keys() == {photo.original, f"{prefix}/40.webp", f"{prefix}/76.webp"}

    assert data["url"] == s3_storage.url(photo.original)
    assert data["variants"] == {
        edge: s3_storage.url(f"{prefix}/{edge}.webp") for edge in ("40", "76")
    }
    original, content_type = fetch_image(data["url"])
    assert (original.format, original.size, content_type) == ("JPEG", (60, 40), "image/jpeg")
    for edge in ("40", "76"):
        variant, content_type = fetch_image(data["variants"][edge])
        assert (variant.format, variant.size) == ("WEBP", (int(edge), int(edge)))
        assert content_type == "image/webp"

    assert assert_envelope(client.get(ME_URL), 200)["profilePhoto"] == data


def test_profile_photo_urls_use_the_cdn_domain(s3_cdn_storage, user, client_for):
    s3 = s3_cdn_storage
    data = assert_envelope(patch_photo(client_for(user)), 200)
    photo = ProfilePhoto.objects.get()
    assert data["url"] == f"https://{CDN_DOMAIN}/{photo.original}"
    for edge, name in photo.variants.items():
        assert data["variants"][edge] == f"https://{CDN_DOMAIN}/{name}"
        variant, _ = fetch_image(via_cdn(s3, data["variants"][edge]))
        assert variant.size == (int(edge), int(edge))


def test_replacing_a_photo_deletes_the_old_objects_after_commit(
    s3_storage, user, client_for, django_capture_on_commit_callbacks
):
    client = client_for(user)
    first = assert_envelope(patch_photo(client), 200)
    old_keys = s3_storage.keys()
    assert len(old_keys) == 3

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = assert_envelope(patch_photo(client, jpeg_upload(size=(30, 30))), 200)
    # Not before the commit: a rollback would still need them.
    assert old_keys < s3_storage.keys()
    assert callbacks
    for callback in callbacks:
        callback()

    new = ProfilePhoto.objects.get()
    assert new.id == second["_id"] != first["_id"]
    assert s3_storage.keys() == {new.original, *new.variants.values()}
    assert not old_keys & s3_storage.keys()
    assert fetch(first["url"])[0] == 404
    assert fetch(first["variants"]["40"])[0] == 404
    assert fetch_image(second["variants"]["40"])[0].size == (40, 40)


@pytest.mark.django_db(transaction=True)
def test_a_failed_deletion_after_commit_does_not_fail_the_request(
    s3_storage, client_for, monkeypatch, caplog
):
    """The replacement has committed: the old objects are left over (and logged),
    the request still succeeds."""
    user = UserFactory()
    client = client_for(user)
    first = assert_envelope(patch_photo(client), 200)
    old_keys = s3_storage.keys()

    def broken_delete(self, name):
        raise connection_error()

    monkeypatch.setattr(S3Storage, "delete", broken_delete)
    django_logger = logging.getLogger("django")  # does not propagate to caplog's root handler
    django_logger.addHandler(caplog.handler)
    try:
        second = assert_envelope(patch_photo(client), 200)
    finally:
        django_logger.removeHandler(caplog.handler)

    assert ProfilePhoto.objects.get().id == second["_id"] != first["_id"]
    new = ProfilePhoto.objects.get()
    assert s3_storage.keys() == old_keys | {new.original, *new.variants.values()}
    assert any(
        record.levelno == logging.ERROR and "on_commit" in record.getMessage()
        for record in caplog.records
    )


def test_a_failure_while_storing_the_variants_keeps_the_old_photo_and_leaves_no_object(
    s3_storage, user, client_for, monkeypatch
):
    client = client_for(user)
    first = assert_envelope(patch_photo(client), 200)
    old_keys = s3_storage.keys()

    # The original and the 40 variant are stored, then the storage goes away.
    monkeypatch.setattr(S3Storage, "_save", failing_save(connection_error(), after=2))
    errors = assert_error(patch_photo(client), 503, contains=STORAGE_DOWN)
    assert errors == ["Service unavailable", STORAGE_DOWN]

    assert ProfilePhoto.objects.get().id == first["_id"]
    assert s3_storage.keys() == old_keys
    assert assert_envelope(client.get(ME_URL), 200)["profilePhoto"] == first


# --- Removing a stream ----------------------------------------------------------------


def test_removing_a_stream_deletes_its_thumbnail_from_the_bucket(
    s3_storage, user, client_for, django_capture_on_commit_callbacks
):
    """A removal is a soft delete: the row stays for the moderators, the uploaded
    thumbnail is deleted once the removal has committed."""
    client = client_for(user)
    data = assert_envelope(create_stream(client, thumbnail=jpeg_upload()), 201)
    key = f"thumbnails/{data['id']}.jpg"
    assert s3_storage.keys() == {key}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        removed = assert_envelope(client.delete(f"/api/v1/live-stream/{data['id']}"), 200)
    assert removed == {"id": data["id"], "deleted": True}
    assert s3_storage.keys() == {key}  # not before the commit
    for callback in callbacks:
        callback()

    assert s3_storage.keys() == set()
    assert fetch(data["thumbnailUrl"])[0] == 404
    stream = LiveStream.objects.get(pk=data["id"])
    assert stream.deleted_at is not None
    assert stream.thumbnail == ""
    model_admin = admin.site._registry[LiveStream]
    assert model_admin.thumbnail_preview(stream) == "(default thumbnail)"
    assert_error(client.get(f"/api/v1/live-stream/{data['id']}"), 404)


def test_removing_a_stream_deletes_its_thumbnail_from_the_file_system(
    user, client_for, media_root, django_capture_on_commit_callbacks
):
    client = client_for(user)
    data = assert_envelope(create_stream(client, thumbnail=jpeg_upload()), 201)
    key = f"thumbnails/{data['id']}.jpg"
    assert local_files(media_root) == {key}

    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(client.delete(f"/api/v1/live-stream/{data['id']}"), 200)

    assert local_files(media_root) == set()
    stream = LiveStream.objects.get(pk=data["id"])
    assert (stream.deleted_at is not None, stream.thumbnail) == (True, "")


def test_a_refused_removal_keeps_the_thumbnail(
    s3_storage, user, client_for, django_capture_on_commit_callbacks
):
    client = client_for(user)
    data = assert_envelope(create_stream(client, thumbnail=jpeg_upload()), 201)
    LiveStream.objects.filter(pk=data["id"]).update(status=LiveStreamStatus.ACTIVE)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert_error(client.delete(f"/api/v1/live-stream/{data['id']}"), 409)
    assert callbacks == []
    stream = LiveStream.objects.get(pk=data["id"])
    assert (stream.deleted_at, stream.thumbnail) == (None, f"thumbnails/{data['id']}.jpg")
    assert s3_storage.keys() == {stream.thumbnail}


def test_a_restored_stream_shows_the_default_thumbnail(
    s3_storage, user, client_for, django_capture_on_commit_callbacks
):
    moderator = UserFactory(is_superuser=True, is_staff=True)
    client = client_for(user)
    data = assert_envelope(create_stream(client, thumbnail=jpeg_upload()), 201)
    with django_capture_on_commit_callbacks(execute=True):
        assert_envelope(client_for(moderator).delete(f"/api/v1/live-stream/{data['id']}"), 200)
    moderation.livestream_restore(actor=moderator, live_stream_id=data["id"], reason="ok")

    detail = assert_envelope(client.get(f"/api/v1/live-stream/{data['id']}"), 200)
    assert detail["thumbnailUrl"].endswith(DEFAULT_THUMBNAIL)
    assert s3_storage.keys() == set()


# --- A storage that fails: 503, nothing left behind --------------------------------


def test_a_missing_bucket_is_503_and_creates_nothing(s3_storage, user, client_for):
    s3_storage.configure(bucket_name="allmine-no-such-bucket")
    response = create_stream(client_for(user), thumbnail=jpeg_upload())
    assert assert_error(response, 503) == ["Service unavailable", STORAGE_DOWN]
    assert not LiveStream.objects.exists()
    buckets = {b["Name"] for b in s3_storage.moto.client.list_buckets()["Buckets"]}
    assert "allmine-no-such-bucket" not in buckets
    assert s3_storage.keys() == set()


@pytest.mark.parametrize("make_error", [connection_error, access_denied], ids=["down", "denied"])
def test_a_failing_upload_is_503_and_creates_nothing(
    s3_storage, user, client_for, monkeypatch, make_error
):
    monkeypatch.setattr(S3Storage, "_save", failing_save(make_error()))
    response = create_stream(client_for(user), thumbnail=jpeg_upload())
    assert assert_error(response, 503) == ["Service unavailable", STORAGE_DOWN]
    body = response.content.decode()
    assert "127.0.0.1" not in body and "thumbnails/" not in body and "Access Denied" not in body
    assert not LiveStream.objects.exists()
    assert s3_storage.keys() == set()


def test_a_failure_after_the_upload_leaves_no_object(s3_storage, user, client_for, monkeypatch):
    """The thumbnail was stored, then the insert failed: the object is deleted again."""

    def database_down(stream):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(creation, "_insert_with_unique_channel_name", database_down)
    response = create_stream(client_for(user), thumbnail=jpeg_upload())
    assert_error(response, 503)
    assert not LiveStream.objects.exists()
    assert s3_storage.keys() == set()


def test_a_failing_file_system_is_503_and_creates_nothing(
    user, client_for, media_root, monkeypatch
):
    def no_space(self, name, content):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", no_space)
    response = create_stream(client_for(user), thumbnail=jpeg_upload())
    assert assert_error(response, 503) == ["Service unavailable", STORAGE_DOWN]
    assert "No space" not in response.content.decode()
    assert not LiveStream.objects.exists()
    assert local_files(media_root) == set()
