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
import os
import struct
from pathlib import Path

import numpy as np

from hdsr_tf.errors import InputError
from hdsr_tf.io import MAX_PIXELS, read_input_file

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
MAX_JPEG_SEGMENTS = 512  # as data/headers.py: a JPEG whose frame header is further in is called sizeless


class ImageFileError(InputError):
    """A file that is not an image we read, or one too large to decode."""


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's first start-of-frame segment; (0, 0) when none is found."""
    pos, steps = 2, 0
    while pos + 9 <= len(data) and steps < MAX_JPEG_SEGMENTS:
        if data[pos] != 0xFF:
            return 0, 0
        marker = data[pos + 1]
        if marker == 0xFF:
            pos, steps = pos + 1, steps + 1
            continue
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:  # no length
            pos, steps = pos + 2, steps + 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return struct.unpack(">H", data[pos + 7:pos + 9])[0], struct.unpack(">H", data[pos + 5:pos + 7])[0]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if length < 2:
            return 0, 0
        pos, steps = pos + 2 + length, steps + 1
    return 0, 0


def inspect(data: bytes) -> tuple[str | None, int, int]:
    """(format, width, height) from the header bytes alone, as the served model's bytes signatures read
    them (``data/headers.py``): None for a format we do not read, a size of 0 when the header has none."""
    head = data[:32].ljust(32, b"\0")
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return "PNG", *struct.unpack(">II", head[16:24])
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG", *_jpeg_size(data)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", *struct.unpack("<HH", head[6:10])
    if head.startswith(b"BM"):
        width, height = struct.unpack("<ii", head[18:26])
        return "BMP", max(width, 0), abs(height)  # a negative height: rows stored top-down
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        kind = head[12:16]
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", head[26:30])
            return "WebP", w % 16384, h % 16384
        if kind == b"VP8L":
            bits = struct.unpack("<I", head[21:25])[0]
            return "WebP", bits % 16384 + 1, (bits // 16384) % 16384 + 1
        if kind == b"VP8X":
            return "WebP", int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
        return "WebP", 0, 0
    return None, 0, 0


def check_header(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[str, int, int]:
    """(format, width, height) from the header alone; :class:`ImageFileError` for an empty, unknown,
    sizeless or oversized image, with the served model's wording. Nothing is decoded, so this takes
    microseconds whatever the file claims."""
    if not data:
        raise ImageFileError("empty image: no bytes")
    fmt, width, height = inspect(data)
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
        with Image.open(io.BytesIO(data)) as image:  # under the pixel limit: no bomb gets this far
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                gray = np.asarray(image, np.float32)
                return gray / max(float(gray.max()), 1.0)
            if image.mode in ("L", "1"):
                return np.asarray(image.convert("L"))
            rgb = np.asarray(image.convert("RGB"))  # alpha dropped, as every entry point always did
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:  # UnidentifiedImageError too
        raise ImageFileError(f"not a decodable PNG/JPEG/BMP/GIF/WEBP image ({str(e)[:120]})") from None
    if rgb.ndim == 3 and (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return np.ascontiguousarray(rgb[..., 0])  # a gray image stored as colour
    return np.ascontiguousarray(rgb[..., ::-1])  # BGR, OpenCV's order


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A user's image file -> :func:`decode`'s array; one-line :class:`InputError` for anything wrong."""
    return decode(read_input_file(path), max_pixels)


def find_images(paths) -> tuple[list[Path], list[dict]]:
    """(image files, problems) for the paths a user named: folders searched recursively for EXTENSIONS;
    a folder that cannot be searched or a dangling link becomes a problem of its own instead of silently
    disappearing."""
    files, problems = [], []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)  # a missing or unreadable file gets its own error line when read
            continue
        found = []

        def unsearchable(error):
            problems.append({"path": error.filename, "error": f"cannot search folder: {error.strerror or error}"})

        for folder, _, names in os.walk(p, onerror=unsearchable):
            for name in names:
                f = Path(folder) / name
                if f.suffix.lower() not in EXTENSIONS:
                    continue
                if f.is_symlink() and not f.exists():
                    problems.append({"path": str(f), "error": "dangling link"})
                else:
                    found.append(f)
        files += sorted(found)
    return files, problems


def passing_headers(files: list[Path]) -> tuple[list[Path], list[dict]]:
    """(files whose header the one loader accepts, a problem for each other one): read before any
    model is loaded, so that a file that is not an image, or claims 169 million pixels, is refused at once."""
    passing, problems = [], []
    for f in files:
        try:
            read_image_bytes(f)
            passing.append(f)
        except ValueError as e:
            problems.append({"path": str(f), "error": str(e)})
    return passing, problems
