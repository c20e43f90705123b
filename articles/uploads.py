"""Uploaded images are decoded and encoded again before they are stored (#15).

The bytes decide, never the name: a GIF named `.jpg` is stored as a GIF, a
file Pillow cannot read as PNG, JPEG, GIF or WebP is refused. Encoding the
decoded pixels again keeps only the picture: bytes appended after it (a PNG
followed by HTML), comments and extensions (a GIF that is also JavaScript),
EXIF (camera, GPS) and XMP are gone, and EXIF orientation is applied to the
pixels. The colour profile is kept, as it changes how the picture looks.

Images above IMAGE_UPLOAD_MAX_PIXELS are refused before any pixel is decoded:
a 266-byte file can claim 12,000 x 12,000 pixels (576 MB of memory once
decoded). Pillow's own DecompressionBombWarning/Error is turned into the same
message, never a warning on stderr or a 500.
"""

import io
import re
import warnings

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

# Pillow's format name -> the extension and Content-Type the stored file gets.
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
# What a re-encoded image keeps of the original's info: what changes how it looks or plays, nothing else.
_KEPT_INFO = {"icc_profile", "transparency", "duration", "loop", "background", "disposal"}
_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, EOFError, IndexError)

INVALID = "Upload a valid image: a PNG, JPEG, GIF or WebP file. This file is not one, or it is damaged."


def _too_many_pixels(size=None, frames=1, bomb=None) -> ValidationError:
    limit = settings.IMAGE_UPLOAD_MAX_PIXELS
    if size is None:
        # Pillow's message is all that says how large: "Image size (144000000 pixels) exceeds limit of ...".
        found = re.search(r"\((\d+) pixels\)", str(bomb))
        if found:
            what = f"{int(found[1]) / 1e6:,.0f} megapixels"
        else:
            what = f"more than {Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels"
    elif frames > 1:
        total = size[0] * size[1] * frames / 1e6
        what = f"{frames} frames of {size[0]:,} × {size[1]:,} pixels ({total:.0f} megapixels)"
    else:
        what = f"{size[0]:,} × {size[1]:,} pixels ({size[0] * size[1] / 1e6:.0f} megapixels)"
    return ValidationError(
        "The image is %(what)s; the limit is %(limit)s megapixels. Scale it down and upload it again.",
        code="too_many_pixels",
        params={"what": what, "limit": f"{limit / 1e6:g}"},
    )


def reencode(data: bytes) -> SimpleUploadedFile:
    """The image in `data`, decoded and encoded again in its own format, or ValidationError saying why not."""
    limit = settings.IMAGE_UPLOAD_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS (89 MP) and refuses above twice that: both are our refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as bomb:
        raise _too_many_pixels(bomb=bomb) from None
    except _UNREADABLE:
        raise ValidationError(INVALID, code="invalid_image") from None
    fmt = image.format
    frames = getattr(image, "n_frames", 1)
    width, height = image.size
    if width * height > limit:
        raise _too_many_pixels(image.size)
    if width * height * frames > limit:
        raise _too_many_pixels(image.size, frames)
    extension, content_type = FORMATS[fmt]
    out = io.BytesIO()
    try:
        if frames > 1 and fmt in ("GIF", "WEBP"):
            _save_animation(image, fmt, out)
        else:
            picture = ImageOps.exif_transpose(image)  # a copy, upright, or the image itself
            picture.load()
            _save_still(picture, fmt, out, icc_profile=image.info.get("icc_profile"))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as bomb:
        raise _too_many_pixels(bomb=bomb) from None
    except _UNREADABLE:
        raise ValidationError(INVALID, code="invalid_image") from None
    return SimpleUploadedFile(f"image.{extension}", out.getvalue(), content_type=content_type)


def _save_still(picture, fmt, out, icc_profile=None):
    picture.info = {key: value for key, value in picture.info.items() if key in _KEPT_INFO}
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if fmt == "JPEG":
        if picture.mode not in ("L", "RGB"):
            picture = picture.convert("RGB")
        picture.save(out, format="JPEG", quality=90, **options)
    elif fmt == "WEBP":
        picture.save(out, format="WEBP", quality=90, **options)
    else:
        picture.save(out, format=fmt, **options)


def _save_animation(image, fmt, out):
    frames = []
    durations = []
    for frame in ImageSequence.Iterator(image):
        durations.append(frame.info.get("duration", 100))
        frames.append(frame.copy())
    for frame in frames:
        frame.info = {key: value for key, value in frame.info.items() if key in _KEPT_INFO}
    first, rest = frames[0], frames[1:]
    options = {"loop": image.info.get("loop", 0), "duration": durations}
    if fmt == "WEBP":
        options["quality"] = 90
    first.save(out, format=fmt, save_all=True, append_images=rest, **options)


def upload_help_text() -> str:
    from django.template.defaultfilters import filesizeformat

    return (
        f"PNG, JPEG, GIF or WebP, at most {filesizeformat(settings.IMAGE_UPLOAD_MAX_BYTES)} "
        f"and {settings.IMAGE_UPLOAD_MAX_PIXELS / 1e6:g} megapixels."
    )


class UploadedImageField(forms.ImageField):
    """An image upload, re-encoded by `reencode`; replaces forms.ImageField's own Pillow pass."""

    def to_python(self, data):
        upload = forms.FileField.to_python(self, data)
        if upload is None:
            return None
        from articles.models import validate_image_size

        validate_image_size(upload)  # before decoding anything: the byte size is the first bound
        if hasattr(upload, "temporary_file_path"):
            with open(upload.temporary_file_path(), "rb") as file:
                data = file.read()
        else:
            upload.seek(0)
            data = upload.read()
        return reencode(data)
