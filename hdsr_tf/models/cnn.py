"""The digit recognizer: a small VGG-style convnet with batch norm.

Design, for accuracy per minute of 2-core CPU training: three stages of two
3x3 convs (32, 64, 128 filters) with batch norm and ReLU, max-pooling between
stages, then global average pooling, dropout and a softmax. Batch norm lets Adam
run at a high learning rate with a one-cycle schedule; the affine augmentation
(rotation, shift, zoom) in the input pipeline supplies the rest of the
regularization. Measured on the 2-core CPU here: 289k parameters, about 1,400
training images/s, 99.62% test accuracy after 15 epochs (best epoch 12 by
val_loss) in 18 minutes of a shared machine. Head to head in one run
(benchmarks/RESULTS.md): it trains at 1,420 images/s against the keras.io
convnet's 9,668 (0.15x), but first reaches 99.2% test accuracy after 6 epochs
(228 s), while the keras.io recipe peaked at 99.16% in its 15 epochs.

Batch-norm momentum is 0.9, not Keras' 0.99: with 0.99 the moving statistics
still lagged the fast-moving early weights after a full epoch (test accuracy
10% in inference mode vs 97% in training mode, measured).

Conv layers are named ``conv{stage}{a|b}`` and feed a separate batch-norm and
ReLU, so the ESRGAN perceptual loss can tap their outputs before activation.
"""

from __future__ import annotations

import keras
from keras import layers

FEATURE_LAYERS = ("conv1b", "conv2b", "conv3b")  # pre-activation taps for the perceptual loss


def build_recognizer(filters: tuple[int, ...] = (32, 64, 128), dropout: float = 0.3,
                     name: str = "recognizer") -> keras.Model:
    """input ``image`` float32 [B,28,28,1] in [0,1] -> output ``probabilities`` [B,10]."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Dropout(dropout, name="dropout")(_vgg_trunk(inputs, filters))
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def build_detector(filters: tuple[int, ...] = (16, 32, 64), dropout: float = 0.2,
                   name: str = "no_digit_detector") -> keras.Model:
    """input ``image`` float32 [B,28,28,1] in [0,1] -> output ``no_digit`` [B,1]: the probability that the
    image holds no digit. The recognizer's design at half its widths (a quarter of its FLOPs): telling
    a digit from a blot or a letter is an easier question than telling a 4 from a 9."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Dropout(dropout, name="dropout")(_vgg_trunk(inputs, filters))
    outputs = layers.Dense(1, activation="sigmoid", name="no_digit")(x)
    return keras.Model(inputs, outputs, name=name)


HEAD_TAPS = ("relu1b", "relu2b", "relu3b")  # every stage's last activation: what the no-digit head reads


def with_no_digit_head(reader: keras.Model, units: int = 64, conv: int = 16, name: str | None = None) -> keras.Model:
    """``reader`` (a :func:`build_recognizer` model) -> one model with two outputs, ``probabilities`` and
    ``no_digit`` [B,1], the second read from the reader's own features: each stage's last activation and
    ``conv`` 3x3 filters of the head's own on the middle stage, average- and max-pooled, then one hidden
    layer. The reader's layers are shared, not copied: with 16 filters the head costs about 3.6 MFLOPs
    where the separate detector costs about 15 (a quarter of the reader). The filters are for shapes the
    reader's features, learned for digits, do not tell apart: on validation letters in a font held out of
    training, the head with 16 refused more than a separate detector trained the same way, and the head
    without any fewer (benchmarks/NOTES.md, sessions 18-19; so there is no head without them)."""
    if conv < 1:
        raise ValueError(f"a no-digit head needs filters of its own (conv >= 1), not {conv}")
    pooled = []
    taps = [(tap, reader.get_layer(tap).output) for tap in HEAD_TAPS]
    x = layers.Conv2D(conv, 3, padding="same", use_bias=False, name="head_conv")(taps[1][1])
    x = layers.BatchNormalization(momentum=0.9, name="head_conv_bn")(x)
    taps.append(("head_conv", layers.ReLU(name="head_conv_relu")(x)))
    for tap, x in taps:
        pooled += [layers.GlobalAveragePooling2D(name=f"head_mean_{tap}")(x),
                   layers.GlobalMaxPooling2D(name=f"head_max_{tap}")(x)]
    x = layers.Concatenate(name="head_features")(pooled)
    x = layers.BatchNormalization(momentum=0.9, name="head_bn")(x)  # the pooled features differ in scale
    x = layers.Dense(units, activation="relu", name="head_hidden")(x)
    no_digit = layers.Dense(1, activation="sigmoid", name="no_digit")(x)
    return keras.Model(reader.inputs, [reader.outputs[0], no_digit], name=name or f"{reader.name}_with_head")


def has_no_digit_head(model: keras.Model) -> bool:
    """Whether ``model`` is a reader made by :func:`with_no_digit_head` (it says "no digit" itself)."""
    return len(model.outputs) == 2 and model.outputs[1].shape[-1] == 1


def _vgg_trunk(inputs, filters: tuple[int, ...]):
    x = inputs
    for stage, width in enumerate(filters, start=1):
        for part in "ab":
            x = layers.Conv2D(width, 3, padding="same", use_bias=False,
                              name=f"conv{stage}{part}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{stage}{part}")(x)
            x = layers.ReLU(name=f"relu{stage}{part}")(x)
        if stage < len(filters):
            x = layers.MaxPooling2D(name=f"pool{stage}")(x)
    return layers.GlobalAveragePooling2D(name="gap")(x)


def build_lowres_recognizer(lr_size: int = 7, widths: tuple[int, ...] = (64, 64, 128, 128),
                            name: str = "lowres_recognizer") -> keras.Model:
    """The honest rival of the hybrid: a CNN that reads LR digits directly.

    Bilinear x2 inside the net, four 3x3 convs with batch norm and ReLU (a
    max-pool after the second), global average pooling, dropout, softmax;
    about 0.26M parameters, the size the hybrid's rival was measured at.
    """
    inputs = keras.Input((lr_size, lr_size, 1), name="image")
    x = layers.UpSampling2D(2, interpolation="bilinear", name="upsample")(inputs)
    for i, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        if i == 2:
            x = layers.MaxPooling2D(name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def build_keras_io_convnet(name: str = "keras_io_convnet") -> keras.Model:
    """The keras.io "Simple MNIST convnet": our baseline in benchmarks and comparisons."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)
