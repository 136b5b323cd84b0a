"""One loader for every entry point: a file's bytes, its header checked, then decoded (or not).

``predict.py``, ``predict.py --number``, ``serving_client.py``, the demo and
the evaluations all read a user's file here, so a hostile file gets the same
one-line error everywhere. The header is read before anything is decoded: a
193 KB PNG can claim 13000 x 13000 pixels, and decoding it first cost minutes
and gigabytes. The limit and the wording match the served model's bytes
signatures (``data/headers.py``), which check the same thing inside the graph.

Numpy, Pillow and OpenCV only: the serving client loads files without TensorFlow.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from hdsr_tf.errors import HdsrError
from hdsr_tf.io import MAX_PIXELS, read_input_file

FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "GIF": "GIF", "BMP": "BMP", "DIB": "BMP", "WEBP": "WebP"}


class ImageFileError(HdsrError, ValueError):
    """A file that is not an image we read, or one too large to decode."""


def check_header(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[str, int, int]:
    """(format, width, height) from the header alone; :class:`ImageFileError` for an empty, unknown,
    sizeless or oversized image. Nothing is decoded, so this takes microseconds whatever the file claims."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ImageFileError("empty image: no bytes")
    try:
        with warnings.catch_warnings():  # Pillow warns of bombs over 89 M pixels; we refuse them below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # lazy: reads the header only
                fmt, (width, height) = FORMATS.get(image.format or ""), image.size
    except UnidentifiedImageError:
        raise ImageFileError("unknown image format: PNG, JPEG, GIF, BMP and WebP are read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageFileError(f"not a decodable PNG/JPEG/BMP/GIF/WEBP image ({str(e)[:120]})") from None
    if fmt is None:
        raise ImageFileError("unknown image format: PNG, JPEG, GIF, BMP and WebP are read")
    if width <= 0 or height <= 0:
        raise ImageFileError(f"no image size in the {fmt} header: a damaged file?")
    if width * height > max_pixels:
        raise ImageFileError(f"{fmt} of {width}x{height} = {width * height} pixels is over this model's limit "
                             f"of {max_pixels} pixels")
    return fmt, width, height


def read_image_bytes(path: str | Path, max_pixels: int = MAX_PIXELS) -> bytes:
    """A file's bytes once its header passed :func:`check_header` (what is sent to a served model)."""
    data = read_input_file(path)
    check_header(data, max_pixels)
    return data


def decode(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Encoded bytes -> uint8 gray [H,W] or BGR [H,W,3] (colour kept: forms printed in a dropout colour
    are told from the ink by it), or float32 gray in [0,1] for 16-bit and float images. The header
    is checked first."""
    from PIL import Image

    check_header(data, max_pixels)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                gray = np.asarray(image, np.float32)
                return gray / max(float(gray.max()), 1.0)
            if image.mode in ("L", "1"):
                return np.asarray(image.convert("L"))
            rgb = np.asarray(image.convert("RGB"))  # alpha dropped, as every entry point always did
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageFileError(f"not a decodable PNG/JPEG/BMP/GIF/WEBP image ({str(e)[:120]})") from None
    if rgb.ndim == 3 and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return np.ascontiguousarray(rgb[..., 0])  # a gray image stored as colour
    return np.ascontiguousarray(rgb[..., ::-1])  # BGR, OpenCV's order


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A user's image file -> :func:`decode`'s array; one-line :class:`ValueError` for anything wrong."""
    return decode(read_input_file(path), max_pixels)
