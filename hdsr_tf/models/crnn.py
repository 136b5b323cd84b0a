"""The line reader: a whole number read at once, a convnet over the line and a recurrent layer over its columns (CTC).

Cutting a line into digits fails where digits touch or overlap: the cut
lattice in ``numbers.py`` holds the right reading for only 82.5% of touching
numbers (benchmarks/NOTES.md, session 9). A CTC reader (Graves et al. 2006)
needs no cut. The convnet turns the line (``HEIGHT`` px high, any width) into
one feature vector per 4 columns; a bidirectional GRU reads them in context;
each of these frames says "digit 0-9" or "blank", and CTC sums over every
alignment of the number's digits to the frames, so training needs only the
digit string, never a box.

Output ``frames`` holds logits [B, width/4, 11] (class 10 is the blank), for
``keras.ops.ctc_loss``; ``models/ctc.py`` turns them into digits.
"""

from __future__ import annotations

import keras
from keras import layers

from hdsr_tf.models.ctc import BLANK


def build_line_reader(filters: tuple[int, int, int] = (16, 32, 64), units: int = 64,
                      height: int = 24, name: str = "line_reader") -> keras.Model:
    """input ``line`` float32 [B, height, W, 1] in [0,1] (light ink on black), W a multiple of 4 ->
    output ``frames`` [B, W/4, 11]: logits of digits 0-9 and the blank, one frame per 4 columns."""
    inputs = keras.Input((height, None, 1), name="line")
    x = inputs
    for stage, width in enumerate(filters, start=1):
        for part in "ab":
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{stage}{part}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{stage}{part}")(x)
            x = layers.ReLU(name=f"relu{stage}{part}")(x)
        # halve height and width twice (stride 4 along the line), then only the height
        x = layers.MaxPooling2D((2, 2) if stage <= 2 else (2, 1), name=f"pool{stage}")(x)
    rows = height // 8
    # one vector per column: the remaining rows folded into the channels
    x = layers.Conv2D(filters[-1], (rows, 1), padding="valid", use_bias=False, name="fold_rows")(x)
    x = layers.BatchNormalization(momentum=0.9, name="bn_fold")(x)
    x = layers.ReLU(name="relu_fold")(x)
    x = layers.Reshape((-1, filters[-1]), name="columns")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Bidirectional(layers.GRU(units, return_sequences=True), name="context")(x)
    outputs = layers.Dense(BLANK + 1, name="frames")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="hdsr_tf")
def ctc_loss(y_true, y_pred):
    """CTC loss for label rows (length, digit 1, ..., digit L) and frame logits [B, T, 11]."""
    y_true = keras.ops.cast(y_true, "int32")
    frames = keras.ops.shape(y_pred)[1]
    batch = keras.ops.shape(y_pred)[0]
    return keras.ops.ctc_loss(y_true[:, 1:], y_pred, y_true[:, 0], keras.ops.full((batch,), frames, "int32"),
                              mask_index=BLANK)
