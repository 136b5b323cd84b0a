"""The page itself (Gradio Blocks): three tabs over :class:`~hdsr_tf.demo.readers.DemoModels`.

Every handler answers; a bad file fills the tab's error line with the CLI's one-line message and
clears the other outputs, so the page keeps working. Element ids (``elem_id``) are stable names the
browser test reads.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import gradio as gr
import numpy as np

from hdsr_tf.demo.examples import HERE as EXAMPLES
from hdsr_tf.demo.readers import DemoModels, drawing_to_png

TITLE = "hdsr_tf: handwritten digits, small or degraded, read and super-resolved"
ABOUT = ("Drop an image, draw a digit or pick an example. Everything runs here, on this machine, from the "
         "shipped models (`saved_models/`).")
PICTURE = 180  # px: room for a 112-px view and the component's label
ERRORS = (ValueError, OSError, cv2.error)  # what a bad input raises: one line each, never a traceback


def _rgb(image: np.ndarray | None) -> np.ndarray | None:
    """OpenCV's BGR (or gray) -> what Gradio shows (RGB)."""
    if image is None or image.ndim == 2:
        return image
    return np.ascontiguousarray(image[..., ::-1])


def build(models: DemoModels) -> gr.Blocks:
    """The page, with ``models`` answering every request."""
    def digit(path):
        if not path:
            return "", None, "", None, None, None, None
        try:
            v = models.digit_file(path)
        except ERRORS as e:
            return "", None, str(e), None, None, None, None
        return v.answer, v.probabilities, "", _rgb(v.received), v.view, v.sr, v.bicubic

    def drawing(value):
        canvas = (value or {}).get("composite")
        if canvas is None or not np.asarray(canvas).size:
            return "", None, "draw a digit first", None, None, None, None
        try:
            v = models.digit(drawing_to_png(canvas))
        except ERRORS as e:
            return "", None, str(e), None, None, None, None
        return v.answer, v.probabilities, "", _rgb(v.received), v.view, v.sr, v.bicubic

    def number(path):
        if not path:
            return "", "", None, []
        try:
            v = models.number(path)
        except ERRORS as e:
            return "", str(e), None, []
        return v.answer, "", _rgb(v.boxes), [[d["digit"], f"{d['confidence']:.4f}", str(d["box"])] for d in v.digits]

    def upscale(path, scale):
        if not path:
            return "", None, None, None
        try:
            sr, bicubic = models.upscale(path, int(scale))
        except ERRORS as e:
            return str(e), None, None, None
        out = Path(tempfile.mkdtemp(prefix="hdsr_upscale_")) / f"{Path(path).stem}.x{int(scale)}.png"
        cv2.imwrite(str(out), sr)
        return "", _rgb(sr), _rgb(bicubic), str(out)

    with gr.Blocks(title="hdsr_tf") as page:
        gr.Markdown(f"## {TITLE}\n{ABOUT}")
        with gr.Tab("Digit"):
            with gr.Row():
                file = gr.File(label="Drop an image (PNG, JPEG, BMP, GIF, WebP)", type="filepath",
                               elem_id="digit-file")
                sketch = gr.Sketchpad(label="or draw a digit", type="numpy", canvas_size=(280, 280),
                                      brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                                      elem_id="digit-draw")
            read_drawing = gr.Button("Read the drawing", elem_id="read-drawing")
            gr.Examples([str(EXAMPLES / n) for n in ("digit_clean.png", "digit_7x7.png", "digit_noisy.png",
                                                     "blank.png")], inputs=file, label="Examples (MNIST test digits)")
            with gr.Row():
                answer = gr.Textbox(label="Answer", elem_id="digit-answer", interactive=False)
                error = gr.Textbox(label="Error", elem_id="digit-error", interactive=False)
            with gr.Row():
                received = gr.Image(label="As received", height=PICTURE, elem_id="digit-received")
                view = gr.Image(label="The 28x28 view the reader read", height=PICTURE, elem_id="digit-view")
                sr = gr.Image(label="Super-resolved (served sr_image)", height=PICTURE, elem_id="digit-sr")
                bicubic = gr.Image(label="Bicubic, for comparison", height=PICTURE, elem_id="digit-bicubic")
            probabilities = gr.Label(label="Probabilities", num_top_classes=10, elem_id="digit-probs")
            outputs = [answer, probabilities, error, received, view, sr, bicubic]
            file.change(digit, file, outputs)
            read_drawing.click(drawing, sketch, outputs)
        with gr.Tab("Number or form field"):
            number_file = gr.File(label="Drop an image of a number or a form field", type="filepath",
                                  elem_id="number-file")
            gr.Examples([str(EXAMPLES / n) for n in ("number.png", "comb_field.png")], inputs=number_file,
                        label="Examples (MNIST test digits)")
            with gr.Row():
                number_answer = gr.Textbox(label="Number", elem_id="number-answer", interactive=False)
                number_error = gr.Textbox(label="Error", elem_id="number-error", interactive=False)
            boxes = gr.Image(label="Digits found (printed structure that was removed: tinted)", height=260,
                             elem_id="number-boxes")
            digits = gr.Dataframe(headers=["digit", "confidence", "box (x, y, w, h)"], elem_id="number-digits",
                                  interactive=False)
            number_file.change(number, number_file, [number_answer, number_error, boxes, digits])
        with gr.Tab("Upscale"):
            with gr.Row():
                upscale_file = gr.File(label="Drop any image: a digit, a number, a form field, a line",
                                       type="filepath", elem_id="upscale-file")
                scale = gr.Radio([2, 4], value=4, label="Scale", elem_id="upscale-scale")
            go = gr.Button("Upscale", elem_id="upscale-go")
            upscale_error = gr.Textbox(label="Error", elem_id="upscale-error", interactive=False)
            with gr.Row():
                upscaled = gr.Image(label="Super-resolved", elem_id="upscale-sr")
                enlarged = gr.Image(label="Bicubic", elem_id="upscale-bicubic")
            download = gr.File(label="Download the super-resolved PNG", elem_id="upscale-download")
            go.click(upscale, [upscale_file, scale], [upscale_error, upscaled, enlarged, download])
    return page
