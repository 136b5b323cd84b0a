"""Super-resolution of any image, a tile at a time: what ``scripts/upscale.py`` and the demo run.

The generators were trained on white ink on black, one channel. A page is dark ink on light paper,
often in colour: the ink is judged from the border (as everywhere in hdsr_tf) and inverted around
the generator, and a colour image has only its luminance super-resolved, its chroma enlarged
bicubically (colour carries little detail; the usual practice for one-channel SR models).

Tiles bound the memory: each tile is super-resolved with ``overlap`` pixels of its neighbours around
it, of which only the centre is kept, so the seams fall where the generator saw context on both
sides. Nothing of full output size is ever held in float; ``bands`` yields the uint8 result a row of
tiles at a time, so that ``scripts/upscale.py`` writes it out without holding it whole (``png_stream``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from hdsr_tf.data.framing import dark_ink
from hdsr_tf.errors import HdsrError

MAX_OUTPUT_PIXELS = 200_000_000  # a 4000x3000 photo at 4x is 192 megapixels (576 MB as colour)
INKS = ("auto", "dark", "light")


class UpscaleError(HdsrError, ValueError):
    """An image or a setting the upscaler cannot serve."""


def levels(plane: np.ndarray) -> tuple[float, float]:
    """(paper, ink) levels of a white-on-black plane: the border's median and the brightest ink (99.5th
    percentile). The generators learned digits on a black ground with full-white ink; a scan's grey paper
    and grey ink are stretched to that before super-resolution and back after it (a uniform image: as is)."""
    border = np.concatenate([plane[0], plane[-1], plane[:, 0], plane[:, -1]])
    paper, ink = float(np.median(border)), float(np.percentile(plane, 99.5))
    return (paper, ink) if ink - paper > 0.1 else (0.0, 1.0)


def _as_unit(image: np.ndarray) -> np.ndarray:
    """uint8 (or float in [0,1], as 16-bit files decode) -> float32 in [0,1]."""
    return image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else np.clip(image, 0, 1).astype(np.float32)


def _spans(length: int, tile: int, overlap: int):
    """(start, stop, padded start, padded stop) of each tile along one axis."""
    for start in range(0, length, tile):
        stop = min(start + tile, length)
        yield start, stop, max(0, start - overlap), min(length, stop + overlap)


class Upscaler:
    """A generator (``.keras``) applied to whole images of any size, gray or colour: a 2x or 4x one, or the
    any-size one (scale 1: it restores an image already enlarged by bicubic, so it serves any ``scale``)."""

    def __init__(self, generator_path: str | Path, scale: int | None = None):
        from hdsr_tf.models import load_model
        from hdsr_tf.models.rrdb import generator_scale

        self.generator = load_model(generator_path)
        self.own_scale = generator_scale(self.generator)
        self.scale = scale or self.own_scale
        if self.own_scale not in (1, self.scale) or self.scale not in (2, 4):
            raise UpscaleError(f"{generator_path} enlarges by {self.own_scale}: it cannot upscale by {self.scale}")

    def _tile(self, x: np.ndarray) -> np.ndarray:
        """The generator's output for one tile (white on black, [0,1]), ``scale`` times larger, as float32.
        Called eagerly: tiles differ in shape, and a traced function would be traced again for each (its
        bicubic skip needs static sizes); per-op overhead is small beside a tile's convolutions."""
        x = np.ascontiguousarray(x, np.float32)
        if self.own_scale == 1:  # enlarge first; the any-size generator needs sides that are multiples of 4
            h, w = x.shape[0] * self.scale, x.shape[1] * self.scale
            x = np.clip(cv2.resize(x, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
            x = np.pad(x, ((0, -h % 4), (0, -w % 4)), mode="edge")
            return np.clip(np.asarray(self.generator(x[None, ..., None], training=False))[0, :h, :w, 0], 0, 1)
        return np.clip(np.asarray(self.generator(x[None, ..., None], training=False))[0, ..., 0], 0.0, 1.0)

    def upscale(self, image: np.ndarray, ink: str = "auto", tile: int = 128, overlap: int = 16,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """uint8 (or [0,1] float) gray [H,W] or BGR [H,W,3] -> uint8 of the same kind, ``scale`` times larger.

        ``ink``: dark (on light paper), light (on dark), or auto (from the border). ``tile`` is the input
        side of a tile (0: the whole image at once); ``progress(done, total)`` is called after each tile.
        """
        return np.concatenate(list(self.bands(image, ink, tile, overlap, progress)))

    def bands(self, image: np.ndarray, ink: str = "auto", tile: int = 128, overlap: int = 16,
              progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
        """:meth:`upscale`'s result one row of tiles at a time (uint8 bands, top to bottom), so that it can be
        written out (``png_stream.write_png``) without ever being whole in memory."""
        if ink not in INKS:
            raise UpscaleError(f"ink must be one of {', '.join(INKS)}, not {ink!r}")
        if tile < 0 or overlap < 0:
            raise UpscaleError(f"tile and overlap must not be negative (tile {tile}, overlap {overlap})")
        h, w = image.shape[:2]
        s = self.scale
        if h * w * s * s > MAX_OUTPUT_PIXELS:
            raise UpscaleError(f"{w}x{h} at {s}x would be {w * s}x{h * s} = {w * h * s * s} pixels, over the limit of "
                               f"{MAX_OUTPUT_PIXELS}: crop the image or use --scale 2")
        colour = image.ndim == 3
        luma = _as_unit(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if colour else image)  # for the levels only
        invert = dark_ink(luma) if ink == "auto" else ink == "dark"
        paper, ink_level = levels(1.0 - luma if invert else luma)
        del luma
        side = tile or max(h, w)
        rows, cols = list(_spans(h, side, overlap)), list(_spans(w, side, overlap))
        done = 0
        for y0, y1, py0, py1 in rows:
            band = np.empty(((y1 - y0) * s, w * s) + ((3,) if colour else ()), np.uint8)
            for x0, x1, px0, px1 in cols:  # each tile converted on its own: no full-size float copy
                part = _as_unit(image[py0:py1, px0:px1])
                ycc = cv2.cvtColor(part, cv2.COLOR_BGR2YCrCb) if colour else part[..., None]
                plane = 1.0 - ycc[..., 0] if invert else ycc[..., 0]
                plane = np.clip((plane - paper) / (ink_level - paper), 0.0, 1.0)
                sr = paper + (ink_level - paper) * self._tile(plane)
                keep = (slice((y0 - py0) * s, (y1 - py0) * s), slice((x0 - px0) * s, (x1 - px0) * s))
                y = 1.0 - sr[keep] if invert else sr[keep]
                if colour:  # chroma: bicubic over the same padded tile, so seams agree with the whole image
                    chroma = cv2.resize(ycc[..., 1:], ((px1 - px0) * s, (py1 - py0) * s),
                                        interpolation=cv2.INTER_CUBIC)[keep]
                    y = cv2.cvtColor(np.dstack([y, chroma]).astype(np.float32), cv2.COLOR_YCrCb2BGR)
                band[:, x0 * s:x1 * s] = np.clip(y * 255 + 0.5, 0, 255).astype(np.uint8)
                done += 1
                if progress:
                    progress(done, len(rows) * len(cols))
            yield band

    def bicubic(self, image: np.ndarray) -> np.ndarray:
        """The same image enlarged by bicubic interpolation alone: what the generator is measured against."""
        return bicubic(image, self.scale)


def bicubic(image: np.ndarray, scale: int) -> np.ndarray:
    """uint8 (or [0,1] float) image -> uint8, ``scale`` times larger by bicubic interpolation alone."""
    h, w = image.shape[:2]
    unit = cv2.resize(_as_unit(image), (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
    return np.clip(unit * 255 + 0.5, 0, 255).astype(np.uint8)
