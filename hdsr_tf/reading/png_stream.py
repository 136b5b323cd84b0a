"""A PNG written a band of rows at a time, so that an image larger than memory never has to be whole.

``scripts/upscale.py`` makes a 4000x3000 photo 16000x12000 at 4x: 576 MB as one uint8 array, which
``cv2.imwrite`` needs whole. A PNG is a zlib stream of rows, each prefixed by its filter type, so
the rows can be filtered, compressed and written as they come. Filter "Sub" (each byte minus the
one a pixel to its left) is applied to every row; zlib level 1, as OpenCV writes by default. The
file is written beside its target and renamed over it at the end: a killed run leaves no half PNG.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _filtered(rows: np.ndarray, channels: int) -> bytes:
    """uint8 rows [h, width * channels] -> each row as filter byte 1 (Sub) then its differences."""
    out = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    out[:, 0] = 1
    out[:, 1:] = rows
    out[:, 1 + channels:] -= rows[:, :-channels]  # uint8 arithmetic wraps modulo 256, as PNG specifies
    return out.tobytes()


def write_png(path: str | Path, width: int, height: int, bands: Iterable[np.ndarray], level: int = 1) -> None:
    """Writes uint8 row bands (gray [h, width] or BGR [h, width, 3], top to bottom, ``height`` rows in
    all) as one 8-bit PNG at ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    compressor, rows, colour = zlib.compressobj(level), 0, None
    try:
        with open(tmp, "wb") as f:
            for band in bands:
                if colour is None:
                    colour = band.ndim == 3
                    f.write(SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2 if colour else 0,
                                                                   0, 0, 0)))
                if band.shape[1] != width or (band.ndim == 3) != colour or band.dtype != np.uint8:
                    raise ValueError(f"a band of shape {band.shape} ({band.dtype}) in a {width}-wide PNG")
                rgb = np.ascontiguousarray(band[..., ::-1] if colour else band)
                data = compressor.compress(_filtered(rgb.reshape(len(band), -1), 3 if colour else 1))
                if data:
                    f.write(_chunk(b"IDAT", data))
                rows += len(band)
            if rows != height:
                raise ValueError(f"{rows} rows written to a PNG {height} rows high")
            f.write(_chunk(b"IDAT", compressor.flush()) + _chunk(b"IEND", b""))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
