"""The hybrid: any-size image -> LR size -> generator -> clip -> 28x28 -> recognizer.

Outputs ``probabilities`` [B,10], ``digit`` int64 [B], ``confidence`` [B] and
``sr_image`` [B,28,28,1]. The generator and recognizer are nested as they are,
so their weights stay shared with the models they came from (joint
fine-tuning trains them in place).
"""

from __future__ import annotations

import keras
from keras import layers

from hdsr_tf.models.cnn import has_no_digit_head
from hdsr_tf.models.layers import ArgMaxDigit, MaxConfidence, ResizeTo, SanitizeImage
from hdsr_tf.models.rrdb import generator_scale

HR_SIZE = 28


def _outputs(probs, sr) -> dict:
    """The four named outputs every served model has."""
    return {"probabilities": probs, "digit": ArgMaxDigit(name="digit")(probs),
            "confidence": MaxConfidence(name="confidence")(probs), "sr_image": sr}


def build_hybrid(generator: keras.Model, recognizer: keras.Model, name: str = "hybrid") -> keras.Model:
    scale = generator_scale(generator)
    inputs = keras.Input((None, None, 1), name="image")
    x = SanitizeImage(name="sanitize")(inputs)
    x = ResizeTo(HR_SIZE // scale, name="to_lr_size")(x)
    sr = generator(x)
    sr = layers.ReLU(max_value=1.0, name="sr_image")(sr)  # clip to [0, 1]
    x = ResizeTo(HR_SIZE, name="to_hr_size")(sr)
    probs = layers.Identity(name="probabilities")(recognizer(x))
    return keras.Model(inputs, _outputs(probs, sr), name=name)


def build_direct_reader(classifier: keras.Model, generator: keras.Model, name: str = "direct_reader") -> keras.Model:
    """The design measured to read low-resolution digits best: a classifier trained on them reads the
    LR digit itself (enlarged to 28x28 by bicubic), while the generator super-resolves it only for the
    ``sr_image`` output, the picture a person looks at. Same inputs and outputs as :func:`build_hybrid`.

    On validation digits of the blind recipe the direct classifier beat the jointly fine-tuned hybrid
    and the average of the two (benchmarks/NOTES.md, session 8).
    """
    scale = generator_scale(generator)
    head = has_no_digit_head(classifier)  # a classifier with a no-digit head keeps it: output ``no_digit`` [B,1]
    direct = keras.Model(classifier.inputs[0], classifier.outputs if head else classifier.outputs[0],
                         name="direct_classifier")  # a unique name
    inputs = keras.Input((None, None, 1), name="image")
    x = SanitizeImage(name="sanitize")(inputs)
    sr = generator(ResizeTo(HR_SIZE // scale, name="to_lr_size")(x))
    sr = layers.ReLU(max_value=1.0, name="sr_image")(sr)
    read = direct(ResizeTo(HR_SIZE, name="to_hr_size")(x))
    probs = layers.Identity(name="probabilities")(read[0] if head else read)
    outputs = _outputs(probs, sr)
    if head:  # the head's answer too, so a caller never runs the classifier a second time for it
        outputs["no_digit"] = layers.Identity(name="no_digit")(read[1])
    return keras.Model(inputs, outputs, name=name)
