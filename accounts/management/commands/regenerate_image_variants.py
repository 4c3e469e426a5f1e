from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import CommandError

from accounts.models import ProfilePhoto
from accounts.services.photos import profile_photo_regenerate_variants, profile_photo_variant_plan
from allmine.core.commands import StaffCommand
from allmine.core.errors import ValidationFailed

STORAGE_ERRORS = (BotoCoreError, ClientError, OSError)


class Command(StaffCommand):
    help = (
        "Bring every profile photo's square WebP variants to PROFILE_PHOTO_VARIANT_SIZES: "
        "build the missing sizes from the stored original, delete the sizes no longer "
        "configured. Photos already up to date are left alone (unless --force)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--force",
            action="store_true",
            help="Rebuild every configured variant, even those that exist.",
        )

    def run(self, *, dry_run: bool, force: bool = False, **options) -> str:
        sizes = self._sizes()
        photos = ProfilePhoto.objects.order_by("pk")
        total = photos.count()
        rebuilt = current = skipped = 0
        for photo in self.progress(photos.iterator(chunk_size=200), total=total, what="photos"):
            try:
                if dry_run:
                    changed = self._preview(photo, sizes, force)
                else:
                    changed = profile_photo_regenerate_variants(
                        photo=photo, sizes=sizes, force=force
                    )
            except FileNotFoundError:
                skipped += 1
                self._skip(photo, "its original is missing")
            except ValidationFailed:
                skipped += 1
                self._skip(photo, "its original does not decode as an image")
            except STORAGE_ERRORS as exc:
                skipped += 1
                self._skip(photo, f"the storage failed ({type(exc).__name__})")
            else:
                rebuilt += changed
                current += not changed
        sizes_text = ", ".join(str(edge) for edge in sizes)
        verb = "would be rebuilt" if dry_run else "rebuilt"
        return (
            f"Variants {sizes_text}: {rebuilt} photo(s) {verb}, {current} already up to date, "
            f"{skipped} skipped."
        )

    def _sizes(self) -> list[int]:
        sizes = list(dict.fromkeys(settings.PROFILE_PHOTO_VARIANT_SIZES))
        if not sizes:
            raise CommandError("PROFILE_PHOTO_VARIANT_SIZES is empty.")
        for edge in sizes:
            if not isinstance(edge, int) or not 1 <= edge <= settings.IMAGE_MAX_EDGE:
                raise CommandError(
                    f"PROFILE_PHOTO_VARIANT_SIZES: {edge!r} is not an edge from 1 to "
                    f"{settings.IMAGE_MAX_EDGE} pixels."
                )
        return sizes

    def _preview(self, photo: ProfilePhoto, sizes: list[int], force: bool) -> bool:
        plan = profile_photo_variant_plan(photo=photo, sizes=sizes, force=force)
        if not plan:
            return False
        if plan.build and not default_storage.exists(photo.original):
            raise FileNotFoundError(photo.original)
        parts = []
        if plan.build:
            parts.append("build " + ", ".join(str(edge) for edge in plan.build))
        if plan.remove:
            parts.append("remove " + ", ".join(plan.remove))
        self.stdout.write(f"would {' and '.join(parts)} for {self._name(photo)}")
        return True

    def _skip(self, photo: ProfilePhoto, why: str) -> None:
        self.stderr.write(self.style.WARNING(f"skipped {self._name(photo)}: {why}"))

    @staticmethod
    def _name(photo: ProfilePhoto) -> str:
        return f"photo {photo.pk} of user {photo.user_id}"
