"""Product images (issue 17, ADR 0068): an upload is checked by its content (JPEG, PNG or
WebP, whatever its name or Content-Type says), turned the right way up (EXIF
orientation), and made into small WebP thumbnails without any metadata (no EXIF: no
camera, no GPS position). Only the thumbnails are kept: the original is not stored."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# The formats accepted, as Pillow names them after reading the file's first bytes.
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
# Thumbnail sizes: the longest side in pixels. 96: the till's tiles and search results;
# 320: the back office's preview (and a big tile on a high-density screen).
SIZES = (96, 320)
# A bigger picture is refused before it is decoded (a small file can unpack to gigabytes).
MAX_PIXELS = 50_000_000
WEBP_QUALITY = 80
CONTENT_TYPE = "image/webp"


class ImageRefused(ValueError):
    """An upload that cannot be a product image; the message says why, for a person."""


@dataclass(frozen=True)
class Thumbnails:
    # First 16 hex digits of the SHA-256 of the thumbnails: part of their URL.
    key: str
    by_size: dict[int, bytes]
    width: int
    height: int
    source_format: str


def _describe(data: bytes) -> str:
    head = data[:512]
    if head.startswith(b"%PDF"):
        return "it is a PDF"
    if head.startswith(b"GIF8"):
        return "it is a GIF"
    if b"<svg" in head.lower():
        return "it is an SVG drawing"
    try:
        head.decode("utf-8")
        return "it looks like text"
    except UnicodeDecodeError:
        return "its content is not an image Pillow can read"


def make_thumbnails(data: bytes) -> Thumbnails:
    """The thumbnails of an uploaded file, or ImageRefused."""
    if not data:
        raise ImageRefused("the file is empty: choose a JPEG, PNG or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
            source_format = probe.format or ""
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise ImageRefused(
                    f"the picture is {width} x {height} pixels, more than {MAX_PIXELS // 1_000_000} million:"
                    " save a smaller copy and upload that"
                )
            probe.verify()  # a truncated or damaged file fails here, before decoding
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
            if image.format == "JPEG":
                # Decode a big photo at a fraction of its size (DCT scaling): 8x less work.
                image.draft(None, (2 * max(SIZES), 2 * max(SIZES)))
            image.load()
    except ImageRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ImageRefused(
                f"the file is not a JPEG, PNG or WebP image ({_describe(data)}): choose a photo in one of those formats"
            ) from None
        raise ImageRefused(
            f"the picture has too many pixels (over {MAX_PIXELS // 1_000_000} million): save a smaller copy"
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused(
            "the image file is damaged or cut short: save it again (or export it from the photo app) and upload that"
        ) from None
    image = ImageOps.exif_transpose(image)  # the camera's "rotate" flag applied to the pixels
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    by_size: dict[int, bytes] = {}
    for size in SIZES:
        copy = image.copy()
        copy.thumbnail((size, size), Image.Resampling.LANCZOS)  # never enlarged
        out = io.BytesIO()
        # No exif= or icc_profile=: the thumbnail carries no metadata at all.
        copy.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
        by_size[size] = out.getvalue()
    digest = hashlib.sha256()
    for size in SIZES:
        digest.update(by_size[size])
    return Thumbnails(
        key=digest.hexdigest()[:16],
        by_size=by_size,
        width=image.width,
        height=image.height,
        source_format=ACCEPTED_FORMATS[source_format],
    )


def image_url(product_id: str, key: str | None, size: int) -> str | None:
    """Where a product's thumbnail is served; a new image gets a new URL (its key)."""
    if not key:
        return None
    return f"/api/catalog/products/{product_id}/image/{key}/{size}.webp"
