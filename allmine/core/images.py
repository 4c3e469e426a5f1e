"""Uploaded images: checked by decoding them, then re-encoded without metadata.

A file is judged by what Pillow decodes, never by its name or content type. The
checks run before any pixel is decoded where they can (size in bytes, format,
dimensions), so a decompression bomb is refused without being expanded.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from allmine.core.errors import ValidationFailed

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


@dataclass(frozen=True)
class ProcessedImage:
    """A decoded, oriented, metadata-free image ready to be stored."""

    image: Image.Image
    source_format: str

    @property
    def extension(self) -> str:
        return ACCEPTED_FORMATS[self.source_format]

    def encode(self) -> ContentFile:
        """The image re-encoded in its own format, with no EXIF, XMP or ICC text."""
        buffer = io.BytesIO()
        image = self.image
        if self.source_format == "JPEG":
            image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
            image.save(buffer, "JPEG", quality=88, optimize=True)
        elif self.source_format == "PNG":
            image.save(buffer, "PNG", optimize=True)
        else:
            image.save(buffer, "WEBP", quality=85, method=4)
        return ContentFile(buffer.getvalue())

    def square_webp(self, edge: int) -> ContentFile:
        """A centred square crop of `edge` pixels, as WebP."""
        image = self.image
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        square = ImageOps.fit(image, (edge, edge), method=Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        square.save(buffer, "WEBP", quality=85, method=4)
        return ContentFile(buffer.getvalue())


def process_uploaded_image(upload, field: str) -> ProcessedImage:
    """Decode and check an upload; raise ValidationFailed for anything but a
    sound JPEG, PNG or WebP image within the size limits."""
    max_bytes = settings.IMAGE_MAX_BYTES
    if upload.size is None or upload.size > max_bytes:
        raise ValidationFailed.field(field, f"The image must be at most {max_bytes / 2**20:g} MB.")
    if upload.size == 0:
        raise ValidationFailed.field(field, "The file is empty.")

    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=list(ACCEPTED_FORMATS))
            source_format = image.format
            width, height = image.size
            if width * height > settings.IMAGE_MAX_PIXELS:
                raise ValidationFailed.field(
                    field,
                    f"The image has {width * height} pixels; at most "
                    f"{settings.IMAGE_MAX_PIXELS} are accepted.",
                )
            if getattr(image, "n_frames", 1) > 1:
                raise ValidationFailed.field(field, "Animated images are not accepted.")
            # Decode at most what the stored size needs (JPEG draft mode scales
            # while decoding, so a large photo never sits in memory whole). The
            # draft asks for the size stored below, not a max_edge square: draft
            # only reduces while both sides stay at least the size asked for.
            max_edge = settings.IMAGE_MAX_EDGE
            if source_format == "JPEG":
                ratio = min(1.0, max_edge / max(width, height))
                image.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no second full-size copy
            image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed.field(
            field, f"The image has more than {settings.IMAGE_MAX_PIXELS} pixels."
        ) from None
    except UnidentifiedImageError:
        raise ValidationFailed.field(field, "The file is not a JPEG, PNG or WebP image.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ValidationFailed.field(field, "The image is damaged or incomplete.") from None

    # Drop every piece of metadata the decoder kept (EXIF, XMP, ICC text, comments).
    image.info = {}
    return ProcessedImage(image=image, source_format=source_format)
