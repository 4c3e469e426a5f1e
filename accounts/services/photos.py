"""Profile photos: replacing one, and rebuilding its square WebP variants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from accounts.models import ProfilePhoto, User, profile_photo_path
from allmine.core.ids import new_object_id
from allmine.core.images import PROFILE_PHOTO, process_uploaded_image
from allmine.core.media import StoredFiles, delete_files_on_commit


def profile_photo_set(*, user: User, upload: UploadedFile[bytes]) -> ProfilePhoto:
    """Replace the user's profile photo with `upload` and its square WebP variants.

    Uploads of one user at the same time queue on the user's row: each replaces the
    photo before it, so the last one wins and none fails (a first photo has no row
    of its own to lock, so two first uploads would both insert one). The files of a
    replaced photo go after the commit; a failed upload leaves none behind."""
    image = process_uploaded_image(upload, "file", PROFILE_PHOTO)
    photo = ProfilePhoto(id=new_object_id(), user=user)
    # Encoding is CPU work: done before any lock is taken.
    original = image.encode()
    variants = {edge: image.square_webp(edge) for edge in settings.PROFILE_PHOTO_VARIANT_SIZES}
    with StoredFiles() as files, transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        old = ProfilePhoto.objects.filter(user=user).first()
        photo.original = files.save(
            f"profiles/{user.pk}/{photo.id}/original.{image.extension}", original
        )
        photo.variants = {
            str(edge): files.save(f"profiles/{user.pk}/{photo.id}/{edge}.webp", content)
            for edge, content in variants.items()
        }
        if old is not None:
            old.delete()
            delete_files_on_commit(old.stored_names())
        photo.save(force_insert=True)
    user.profile_photo = photo
    return photo


# --- Variants ------------------------------------------------------------------------
# Rebuilt from the stored original when PROFILE_PHOTO_VARIANT_SIZES changes (the
# `regenerate_image_variants` command).


@dataclass(frozen=True)
class VariantPlan:
    """What bringing a photo's variants to the configured sizes takes."""

    build: tuple[int, ...]  # edges to (re)encode from the original
    remove: tuple[str, ...]  # variant keys no longer configured

    def __bool__(self) -> bool:
        return bool(self.build or self.remove)


def profile_photo_variant_plan(
    *, photo: ProfilePhoto, sizes: Iterable[int | str], force: bool = False
) -> VariantPlan:
    """Which variants of `photo` are missing (not recorded, or recorded but not in
    the storage), and which are no longer wanted. With `force`, every configured
    size is rebuilt."""
    wanted = [int(edge) for edge in dict.fromkeys(sizes)]
    build = tuple(
        edge
        for edge in wanted
        if force
        or str(edge) not in photo.variants
        or not default_storage.exists(photo.variants[str(edge)])
    )
    keys = {str(edge) for edge in wanted}
    return VariantPlan(build=build, remove=tuple(k for k in photo.variants if k not in keys))


def profile_photo_regenerate_variants(
    *, photo: ProfilePhoto, sizes: Iterable[int | str], force: bool = False
) -> bool:
    """Bring the square WebP variants of `photo` to `sizes`: encode the missing ones
    from the stored original, drop the ones no longer configured. Returns whether
    anything changed. New files are written under fresh names and the replaced ones
    deleted after commit, so a failure leaves the photo as it was.

    Raises FileNotFoundError if the original is gone, ValidationFailed if it no
    longer decodes, and the storage's own errors if the storage fails."""
    plan = profile_photo_variant_plan(photo=photo, sizes=sizes, force=force)
    if not plan:
        return False
    image = None
    if plan.build:  # decoding and encoding before any lock is taken
        with default_storage.open(photo.original, "rb") as original:
            image = process_uploaded_image(original, "original", PROFILE_PHOTO)
    with StoredFiles() as files, transaction.atomic():
        locked = ProfilePhoto.objects.select_for_update().filter(pk=photo.pk).first()
        if locked is None or locked.original != photo.original:
            return False  # replaced meanwhile: the new photo has its own variants
        variants = dict(locked.variants)
        obsolete = [variants.pop(key) for key in plan.remove if key in variants]
        for edge in plan.build:
            assert image is not None  # decoded above, since plan.build is not empty
            old = variants.get(str(edge))
            new = files.save(profile_photo_path(locked, f"{edge}.webp"), image.square_webp(edge))
            variants[str(edge)] = new
            if old and old != new:
                obsolete.append(old)
        locked.variants = dict(sorted(variants.items(), key=lambda item: int(item[0])))
        locked.save(update_fields=["variants", "updated_at"])
        delete_files_on_commit(obsolete)
    photo.variants = locked.variants
    photo.updated_at = locked.updated_at
    return True
