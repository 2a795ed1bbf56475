"""The one place where unlearnkit decodes an image file it did not make.

Scraped images (LAION shards, surrogate folders, img2dataset output) are untrusted: a corrupt file must be
skipped and counted, not crash a two-hour run, and a "decompression bomb" (a small PNG whose header claims
20,000 x 20,000 pixels) must be refused before it allocates gigabytes. Every reader in the core and the
packages goes through :func:`decode_image`, so the limit is set once.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

from ..errors import UnlearnkitError

__all__ = ["MAX_IMAGE_PIXELS", "ImageDecodeError", "decode_image", "check_image", "IMAGE_EXTENSIONS"]

# Pillow's own default (~ 89.5 megapixels, a 9459 x 9459 image): far above any training image, far below
# what it takes to exhaust memory.
MAX_IMAGE_PIXELS = 89_478_485

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class ImageDecodeError(UnlearnkitError):
    """An image that cannot be decoded safely: corrupt, truncated, not an image, or over the pixel limit."""


def decode_image(source: bytes | str | os.PathLike, *, mode: str | None = "RGB",
                 max_pixels: int = MAX_IMAGE_PIXELS, name: str | None = None):
    """Decode ``source`` (encoded bytes or a file path) into a loaded PIL image converted to ``mode``.

    The size is read from the header and checked against ``max_pixels`` BEFORE any pixel is decoded; Pillow's
    own bomb warning and error are failures too. Raises :class:`ImageDecodeError` (one line) for every way a
    hostile or broken file can fail.
    """
    from PIL import Image

    label = name or (str(source) if not isinstance(source, bytes) else "image")
    try:
        fh = io.BytesIO(source) if isinstance(source, bytes) else open(Path(source), "rb")  # noqa: SIM115
    except OSError as err:
        raise ImageDecodeError(f"{label}: cannot open ({err.strerror or err})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                with Image.open(fh) as img:
                    w, h = img.size
                    if w * h > max_pixels:
                        raise ImageDecodeError(f"{label}: {w}x{h} pixels is over the pixel limit of {max_pixels} "
                                               "(possible decompression bomb)")
                    img.load()
                    out = img.convert(mode) if mode else img.copy()
            except ImageDecodeError:
                raise
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
                raise ImageDecodeError(f"{label}: over the pixel limit (decompression bomb): {err}") from None
            except MemoryError:
                raise ImageDecodeError(f"{label}: out of memory while decoding") from None
            except Exception as err:  # decoders raise OSError, SyntaxError, ValueError, struct.error, ...
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                first = re.sub(r"\s*<[^>]*>", "", first)  # "cannot identify image file <_io.BytesIO ...>"
                raise ImageDecodeError(f"{label}: not a readable image ({first})") from None
    finally:
        fh.close()
    return out


def check_image(source: bytes | str | os.PathLike, *, max_pixels: int = MAX_IMAGE_PIXELS) -> bool:
    """True when :func:`decode_image` would succeed (the image is fully decoded, then dropped)."""
    try:
        decode_image(source, mode=None, max_pixels=max_pixels)
    except ImageDecodeError:
        return False
    return True
