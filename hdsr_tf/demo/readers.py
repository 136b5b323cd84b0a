"""What the page shows, computed in-process from the shipped models (no TF Serving, no Gradio here).

Each function takes what a person gave the page (a file's bytes or path, a drawing) and returns plain
arrays and strings; a bad input raises the same one-line error the command line prints.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hdsr_tf.errors import UsageError
from hdsr_tf.reading.files import check_header, load_image, read_image_bytes

VIEW = 112  # side at which 28x28 pictures are shown (nearest neighbour: the pixels stay visible)


@dataclass
class DigitView:
    answer: str  # "7 (99.8%)" or "no digit"
    probabilities: dict[str, float]  # "0".."9" -> probability
    no_digit: float | None
    received: np.ndarray  # the image as decoded, gray or BGR
    view: np.ndarray  # the 28x28 image the reader read, shown enlarged (white on black)
    sr: np.ndarray  # the served sr_image, enlarged
    bicubic: np.ndarray  # the received image brought to 28x28 by bicubic alone, enlarged


@dataclass
class NumberView:
    answer: str  # "12345 (97.1%)" or "no digits found"
    boxes: np.ndarray  # BGR: the image with the removed structure tinted and each digit's box and reading
    digits: list[dict]


def _show(image28: np.ndarray) -> np.ndarray:
    gray = np.clip(np.asarray(image28, np.float32).reshape(28, 28) * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(gray, (VIEW, VIEW), interpolation=cv2.INTER_NEAREST)


def drawing_to_png(rgba: np.ndarray) -> bytes:
    """A canvas drawing (RGBA, transparent where nothing was drawn) -> PNG bytes of dark ink on white."""
    rgba = np.asarray(rgba)
    if rgba.ndim == 2:
        gray = rgba.astype(np.float32)
    else:
        rgb = rgba[..., :3].astype(np.float32)
        alpha = rgba[..., 3:4].astype(np.float32) / 255 if rgba.shape[-1] == 4 else 1.0
        gray = (rgb * alpha + 255 * (1 - alpha)).mean(axis=-1)
    return cv2.imencode(".png", np.clip(gray + 0.5, 0, 255).astype(np.uint8))[1].tobytes()


class DemoModels:
    """The served hybrid (drawing signatures, for the pictures), the line reader and the upscalers."""

    def __init__(self, models: str | Path = "saved_models"):
        import tensorflow as tf

        from hdsr_tf.export.graph import decode_for_model, to_size
        from hdsr_tf.reading import line_reading
        from hdsr_tf.reading.predictor import Predictor

        root = Path(models)
        self.drawing = Predictor(root / "hybrid", draw=True)
        self.reading = Predictor(root / "hybrid")
        self.line_reader = line_reading.load(root / "line_reader" / "line_reader.keras")
        self.generators = {2: root / "esrgan_x2" / "generator_psnr.keras",
                           4: root / "esrgan_x4_blind" / "generator_psnr.keras"}
        self._upscalers = {}
        auto = tf.constant(-1)
        self._views = tf.function(lambda data: (to_size(decode_for_model(data, auto, auto), 28),
                                                to_size(decode_for_model(data, auto, tf.constant(0)), 28)))

    def digit(self, data: bytes) -> DigitView:
        """One encoded image, read as the served model reads it."""
        check_header(data)
        out = self.drawing.outputs(data)
        view, unframed = (t.numpy() for t in self._views(data))  # the framed view; the image only inverted
        digit, confidence = int(out["digit"]), float(out["confidence"])
        answer = "no digit" if digit < 0 else f"{digit} ({confidence:.1%})"
        return DigitView(answer, {str(d): float(p) for d, p in enumerate(out["probabilities"])},
                         float(out["no_digit"]) if "no_digit" in out else None, load_image_bytes(data),
                         _show(view), _show(out["sr_image"]), _show(unframed))

    def digit_file(self, path: str | Path) -> DigitView:
        return self.digit(read_image_bytes(path))

    def number(self, path: str | Path) -> NumberView:
        """A number or a form field, read as ``predict.py --number`` reads it."""
        from hdsr_tf.reading.fields import draw_boxes, read_fields

        image = load_image(path)
        (read,), (field,) = read_fields([image], self.reading.read, self.line_reader)
        with tempfile.TemporaryDirectory() as tmp:
            draw_boxes(image, read, Path(tmp) / "boxes.png", field)
            boxes = cv2.imread(str(Path(tmp) / "boxes.png"))
        answer = f"{read.number} ({read.confidence:.1%})" if read.number else "no digits found"
        return NumberView(answer, boxes, [{"digit": d.digit, "confidence": round(d.confidence, 4), "box": d.box}
                                          for d in read.digits])

    def upscale(self, path: str | Path, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """(super-resolved, bicubic) images of a file, ``scale`` times larger, as ``upscale.py`` makes them."""
        from hdsr_tf.reading.upscaling import Upscaler

        if scale not in self.generators:
            raise UsageError(f"scale must be 2 or 4, not {scale}")
        if scale not in self._upscalers:
            self._upscalers[scale] = Upscaler(self.generators[scale])
        image = load_image(path)
        upscaler = self._upscalers[scale]
        return upscaler.upscale(image), upscaler.bicubic(image)


def load_image_bytes(data: bytes) -> np.ndarray:
    """Encoded bytes -> the decoded image for display (header checked by the one loader); a small one is
    enlarged by whole pixels (nearest neighbour) to about VIEW pixels, so that its pixels can be seen."""
    from hdsr_tf.reading.files import decode

    image = decode(data)
    image = image if image.dtype == np.uint8 else np.round(image * 255).astype(np.uint8)
    times = VIEW // max(image.shape[:2])
    return cv2.resize(image, None, fx=times, fy=times, interpolation=cv2.INTER_NEAREST) if times > 1 else image
