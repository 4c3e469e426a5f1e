"""`manage.py regenerate_image_variants`: brings every profile photo's square WebP
variants to PROFILE_PHOTO_VARIANT_SIZES, on the local file system and on S3."""

import io
import os
import sys
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from accounts.models import ProfilePhoto
from accounts.services.photos import profile_photo_regenerate_variants
from tests.api import assert_envelope
from tests.factories import UserFactory
from tests.s3.conftest import BUCKET, moto_s3, s3_storage  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

PHOTO_URL = "/api/v1/users/profile/photo"
ME_URL = "/api/v1/auth/me"
COMMAND = "regenerate_image_variants"


# --- The two storages, seen from outside the app -------------------------------------


class LocalMedia:
    def __init__(self, root, base_url):
        self.root = root
        self.base_url = base_url

    def names(self) -> set[str]:
        return {
            os.path.relpath(os.path.join(folder, name), self.root)
            for folder, _dirs, names in os.walk(self.root)
            for name in names
        }

    def read(self, name) -> bytes:
        with open(os.path.join(self.root, name), "rb") as handle:
            return handle.read()

    def write(self, name, data: bytes) -> None:
        with open(os.path.join(self.root, name), "wb") as handle:
            handle.write(data)

    def remove(self, name) -> None:
        os.remove(os.path.join(self.root, name))

    def url(self, name) -> str:
        return f"{self.base_url}/media/{name}"


class S3Objects:
    def __init__(self, s3):
        self.s3 = s3

    def names(self) -> set[str]:
        return self.s3.keys()

    def read(self, name) -> bytes:
        return self.s3.body(name)

    def write(self, name, data: bytes) -> None:
        self.s3.moto.client.put_object(Bucket=BUCKET, Key=name, Body=data)

    def remove(self, name) -> None:
        self.s3.moto.client.delete_object(Bucket=BUCKET, Key=name)

    def url(self, name) -> str:
        return self.s3.url(name)


@pytest.fixture(params=["local", "s3"])
def media(request, settings):
    if request.param == "local":
        return LocalMedia(request.getfixturevalue("media_root"), settings.PUBLIC_BASE_URL)
    return S3Objects(request.getfixturevalue("s3_storage"))


# --- Helpers -----------------------------------------------------------------------


def jpeg(size=(60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def set_photo(client) -> dict:
    upload = SimpleUploadedFile("me.jpg", jpeg(), content_type="image/jpeg")
    return assert_envelope(client.patch(PHOTO_URL, {"file": upload}, format="multipart"), 200)


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(COMMAND, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def webp_size(media, name) -> tuple[int, int]:
    with Image.open(io.BytesIO(media.read(name))) as image:
        assert image.format == "WEBP"
        return image.size


@pytest.fixture
def photo_user(user, client_for):
    """A user whose photo was uploaded with the default sizes (40 and 76)."""
    client = client_for(user)
    set_photo(client)
    user.client = client
    return user


# --- Sizes change -------------------------------------------------------------------


def test_a_new_size_is_built_and_shown_by_the_api(
    media, photo_user, settings, django_capture_on_commit_callbacks
):
    before = ProfilePhoto.objects.get()
    files_before = media.names()
    settings.PROFILE_PHOTO_VARIANT_SIZES = [40, 76, 128]

    with django_capture_on_commit_callbacks(execute=True):
        out, err = run()

    assert "Variants 40, 76, 128: 1 photo(s) rebuilt, 0 already up to date, 0 skipped." in out
    assert err == ""
    photo = ProfilePhoto.objects.get()
    assert set(photo.variants) == {"40", "76", "128"}
    # The sizes that were there are kept as they were; only 128 is new.
    assert photo.variants["40"] == before.variants["40"]
    assert photo.variants["76"] == before.variants["76"]
    assert photo.variants["128"] == f"profiles/{photo_user.pk}/{photo.id}/128.webp"
    assert media.names() == files_before | {photo.variants["128"]}
    assert webp_size(media, photo.variants["128"]) == (128, 128)
    assert photo.updated_at > before.updated_at

    shown = assert_envelope(photo_user.client.get(ME_URL), 200)["profilePhoto"]
    assert shown["variants"] == {edge: media.url(name) for edge, name in photo.variants.items()}
    assert shown["variants"]["128"] == media.url(photo.variants["128"])


def test_running_again_does_nothing(
    media, photo_user, settings, django_capture_on_commit_callbacks
):
    settings.PROFILE_PHOTO_VARIANT_SIZES = [40, 76, 128]
    with django_capture_on_commit_callbacks(execute=True):
        run()
    photo = ProfilePhoto.objects.get()
    files = {name: media.read(name) for name in media.names()}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, _err = run()

    assert "0 photo(s) rebuilt, 1 already up to date, 0 skipped." in out
    assert callbacks == []
    again = ProfilePhoto.objects.get()
    assert (again.variants, again.updated_at) == (photo.variants, photo.updated_at)
    assert {name: media.read(name) for name in media.names()} == files


def test_sizes_no_longer_configured_are_removed(
    media, photo_user, settings, django_capture_on_commit_callbacks
):
    settings.PROFILE_PHOTO_VARIANT_SIZES = [40, 76, 128]
    with django_capture_on_commit_callbacks(execute=True):
        run()
    grown = ProfilePhoto.objects.get()

    settings.PROFILE_PHOTO_VARIANT_SIZES = [76]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out, _err = run()
    # The files go only once the change has committed.
    assert {grown.variants["40"], grown.variants["128"]} <= media.names()
    for callback in callbacks:
        callback()

    assert "Variants 76: 1 photo(s) rebuilt" in out
    photo = ProfilePhoto.objects.get()
    assert photo.variants == {"76": grown.variants["76"]}
    assert media.names() == {photo.original, grown.variants["76"]}
    shown = assert_envelope(photo_user.client.get(ME_URL), 200)["profilePhoto"]
    assert shown["variants"] == {"76": media.url(grown.variants["76"])}


def test_dry_run_changes_nothing(media, photo_user, settings, django_capture_on_commit_callbacks):
    photo = ProfilePhoto.objects.get()
    files = media.names()
    settings.PROFILE_PHOTO_VARIANT_SIZES = [76, 128]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, err = run("--dry-run")

    assert f"would build 128 and remove 40 for photo {photo.pk} of user {photo_user.pk}" in out
    assert "[dry run] Variants 76, 128: 1 photo(s) would be rebuilt, 0 already up to date" in out
    assert err == ""
    assert callbacks == []
    unchanged = ProfilePhoto.objects.get()
    assert (unchanged.variants, unchanged.updated_at) == (photo.variants, photo.updated_at)
    assert media.names() == files


def test_a_missing_original_is_reported_and_skipped(
    media, photo_user, client_for, settings, django_capture_on_commit_callbacks
):
    broken = ProfilePhoto.objects.get()
    media.remove(broken.original)
    other = UserFactory()
    set_photo(client_for(other))
    settings.PROFILE_PHOTO_VARIANT_SIZES = [40, 76, 128]

    _out, err = run("--dry-run")
    assert f"skipped photo {broken.pk} of user {photo_user.pk}: its original is missing" in err

    with django_capture_on_commit_callbacks(execute=True):
        out, err = run()

    assert f"skipped photo {broken.pk} of user {photo_user.pk}: its original is missing" in err
    assert "1 photo(s) rebuilt, 0 already up to date, 1 skipped." in out
    assert ProfilePhoto.objects.get(pk=broken.pk).variants == broken.variants
    assert set(ProfilePhoto.objects.get(user=other).variants) == {"40", "76", "128"}


def test_a_damaged_original_is_reported_and_skipped(
    media, photo_user, settings, django_capture_on_commit_callbacks
):
    photo = ProfilePhoto.objects.get()
    media.write(photo.original, b"\xff\xd8\xff\xe0 this is not a JPEG any more")
    files = media.names()
    settings.PROFILE_PHOTO_VARIANT_SIZES = [40, 76, 128]

    with django_capture_on_commit_callbacks(execute=True):
        out, err = run()

    assert f"skipped photo {photo.pk} of user {photo_user.pk}: its original does not decode" in err
    assert "0 photo(s) rebuilt, 0 already up to date, 1 skipped." in out
    assert ProfilePhoto.objects.get().variants == photo.variants
    assert media.names() == files


def test_a_variant_missing_from_the_storage_is_built_again(
    media, photo_user, django_capture_on_commit_callbacks
):
    photo = ProfilePhoto.objects.get()
    media.remove(photo.variants["40"])

    with django_capture_on_commit_callbacks(execute=True):
        out, _err = run()

    assert "Variants 40, 76: 1 photo(s) rebuilt" in out
    assert ProfilePhoto.objects.get().variants == photo.variants
    assert webp_size(media, photo.variants["40"]) == (40, 40)
    assert media.names() == set(photo.stored_names())


def test_force_rebuilds_every_variant_under_new_names(
    media, photo_user, django_capture_on_commit_callbacks
):
    before = ProfilePhoto.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        out, _err = run("--force")

    assert "1 photo(s) rebuilt" in out
    photo = ProfilePhoto.objects.get()
    assert set(photo.variants) == {"40", "76"}
    assert not set(photo.variants.values()) & set(before.variants.values())
    assert media.names() == {photo.original, *photo.variants.values()}
    for edge, name in photo.variants.items():
        assert webp_size(media, name) == (int(edge), int(edge))


# --- Bad configuration and no photos --------------------------------------------------


@pytest.mark.parametrize("sizes", [[], [0], [-40], [100_000]])
def test_bad_sizes_are_a_command_error(db, settings, sizes):
    settings.PROFILE_PHOTO_VARIANT_SIZES = sizes
    with pytest.raises(CommandError, match="PROFILE_PHOTO_VARIANT_SIZES"):
        run()


def test_no_photos_is_a_quiet_run(db, media_root):
    out, err = run()
    assert "0 photo(s) rebuilt, 0 already up to date, 0 skipped." in out
    assert err == ""


def test_the_progress_bar_shows_on_a_terminal(photo_user, media_root, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run("--dry-run")
    bar = capsys.readouterr().err
    assert "1/1" in bar and "photos" in bar


def test_a_photo_replaced_meanwhile_is_left_to_its_successor(photo_user, media_root):
    stale = ProfilePhoto.objects.get()
    set_photo(photo_user.client)  # the old row is gone, its files go after commit
    current = ProfilePhoto.objects.get()

    assert profile_photo_regenerate_variants(photo=stale, sizes=[40, 76, 128], force=False) is False
    assert not any(name.endswith("128.webp") for name in LocalMedia(media_root, "").names())
    assert ProfilePhoto.objects.get().variants == current.variants
