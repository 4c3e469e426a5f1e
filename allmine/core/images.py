"""Uploaded images: checked by decoding them, then re-encoded without metadata.

A file is judged by what Pillow decodes, never by its name or content type. Every
check that can runs before a single pixel is decoded, from the header alone: the
size in bytes, the format, the frame count, the dimensions against the budget of
what the image is for (`ImagePurpose`), and the number of pixels the decoder will
really produce. That last one is what bounds a worker's memory whatever is sent:

- a JPEG is decoded at a reduced scale (draft mode: 1/2, 1/4 or 1/8 while
  decoding) down to about the size that is stored, so any JPEG within its purpose's
  budget decodes to at most IMAGE_MAX_DECODE_PIXELS;
- PNG and WebP have no reduced decoding: they are decoded whole, so they must fit
  IMAGE_MAX_DECODE_PIXELS themselves (a 154 KB PNG declaring 6000x6600 is refused
  from its header instead of costing 250 MB and seconds of CPU).

With the default 4096 x 4096, the decoded image takes at most 64 MiB (Pillow keeps
RGB and RGBA in 4 bytes a pixel), plus the much smaller resized copies.
"""

import io
import warnings
from dataclasses import dataclass
from typing import cast

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from allmine.core.errors import ValidationFailed

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# Formats the decoder can scale while decoding (Pillow's draft mode).
REDUCIBLE_FORMATS = frozenset({"JPEG"})

# Metadata is dropped anyway: a PNG's compressed text chunks (zTXt, iTXt, iCCP) are
# not allowed to inflate to Pillow's defaults (1 MB each, 64 MB in all).
PngImagePlugin.MAX_TEXT_CHUNK = 256 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 1024 * 1024


@dataclass(frozen=True)
class ImagePurpose:
    """What an uploaded image is for, and so how large it may be: `max_pixels`
    (width x height in the header) and the edge it is stored at."""

    name: str
    max_pixels_setting: str
    max_edge_settings: tuple[str, ...]

    @property
    def max_pixels(self) -> int:
        return int(getattr(settings, self.max_pixels_setting))

    @property
    def max_edge(self) -> int:
        return min(int(getattr(settings, name)) for name in self.max_edge_settings)


# A stream's thumbnail: the contract's 40 megapixels (IMAGE_MAX_PIXELS), stored at
# IMAGE_MAX_EDGE. A profile photo is shown at 40 and 76 pixels: it needs far less.
THUMBNAIL = ImagePurpose("thumbnail", "IMAGE_MAX_PIXELS", ("IMAGE_MAX_EDGE",))
PROFILE_PHOTO = ImagePurpose(
    "profile photo", "PROFILE_PHOTO_MAX_PIXELS", ("IMAGE_MAX_EDGE", "PROFILE_PHOTO_MAX_EDGE")
)


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


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f} MP"


def _fitted(width: int, height: int, edge: int) -> tuple[int, int]:
    """The size of a `width` x `height` image scaled down to fit `edge` x `edge`."""
    ratio = min(1.0, edge / max(width, height))
    return max(1, int(width * ratio)), max(1, int(height * ratio))


def _check_budgets(image: Image.Image, field: str, purpose: ImagePurpose) -> None:
    """From the header alone: refuse what is over the purpose's pixel budget or would
    decode to more than IMAGE_MAX_DECODE_PIXELS (a JPEG is first set to decode at
    about the size stored)."""
    width, height = image.size
    if width * height > purpose.max_pixels:
        raise ValidationFailed.field(
            field,
            f"The image has {width * height} pixels ({width}x{height}); a {purpose.name} "
            f"may have at most {purpose.max_pixels} ({_megapixels(purpose.max_pixels)}).",
        )
    if getattr(image, "n_frames", 1) > 1:
        raise ValidationFailed.field(field, "Animated images are not accepted.")
    stored = _fitted(width, height, purpose.max_edge)
    if image.format in REDUCIBLE_FORMATS:
        # Decode at most what is stored: the draft asks for the stored size (not an
        # edge x edge square: draft only reduces while both sides stay at least the
        # size asked for), and the decoder scales while decoding.
        image.draft("RGB", stored)
    decoded = image.size[0] * image.size[1]
    if decoded > settings.IMAGE_MAX_DECODE_PIXELS:
        raise ValidationFailed.field(
            field,
            f"A {image.format} image is decoded whole: it may have at most "
            f"{settings.IMAGE_MAX_DECODE_PIXELS} pixels "
            f"({_megapixels(settings.IMAGE_MAX_DECODE_PIXELS)}), and this one has "
            f"{width * height} ({width}x{height}). Send it smaller, or as a JPEG.",
        )


def process_uploaded_image(upload, field: str, purpose: ImagePurpose = THUMBNAIL) -> ProcessedImage:
    """Decode and check an upload; raise ValidationFailed for anything but a
    sound JPEG, PNG or WebP image within the limits of its `purpose`."""
    max_bytes = settings.IMAGE_MAX_BYTES
    if upload.size is None or upload.size > max_bytes:
        raise ValidationFailed.field(field, f"The image must be at most {max_bytes / 2**20:g} MB.")
    if upload.size == 0:
        raise ValidationFailed.field(field, "The file is empty.")

    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check (Image.MAX_IMAGE_PIXELS, 89 MP) is a second net
            # behind the budgets, which are smaller: refused, never only warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=list(ACCEPTED_FORMATS))
            source_format = cast(str, image.format)  # set by Image.open: one of `formats`
            _check_budgets(image, field, purpose)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no second full-size copy
            edge = purpose.max_edge
            image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed.field(
            field, f"The image has more than {purpose.max_pixels} pixels."
        ) from None
    except UnidentifiedImageError:
        raise ValidationFailed.field(field, "The file is not a JPEG, PNG or WebP image.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ValidationFailed.field(field, "The image is damaged or incomplete.") from None

    # Drop every piece of metadata the decoder kept (EXIF, XMP, ICC text, comments).
    image.info = {}
    return ProcessedImage(image=image, source_format=source_format)
