"""Export the hybrid as a SavedModel laid out for TF Serving: ``<base>/<version>/``.

Signatures (all take batches and return the same four outputs: ``probabilities``
[B,10] float32, ``digit`` [B] int64, ``confidence`` [B] float32 and ``sr_image``
[B,28,28,1] float32):

``serving_default``
    ``image``: float32 [B,H,W,1] in [0,1], white ink on black, any H and W.
    NaN pixels count as background, +-inf is clipped to [0,1]; since version 2,
    other values outside [0, 1] are refused with an InvalidArgumentError that
    names the fix (version 1 clipped them too).
``predict_image_bytes``
    ``image_bytes``: string [B], encoded PNG, JPEG, BMP, GIF (first frame) or WEBP.
    Decoded, made gray, then *automatically*: inverted when the image border is
    bright (dark ink on light paper), and MNIST-normalized (cropped to the ink,
    fitted into 20x20, centred by centre of mass) when the image is larger
    than 28 px on a side, i.e. a photo or scan rather than a low-res digit.
``predict_image_bytes_options``
    The same, with the client choosing per image: ``invert`` and ``normalize``
    int32 [B], each -1 (automatic, as above), 0 (no) or 1 (yes).

Size routing (versions exported since version 2): an input whose long side has
at least 28 pixels already has full resolution, so it goes straight to the
hybrid's recognizer (``sr_image`` is then the 28x28 image it read) instead of
being shrunk to the generator's LR size and super-resolved; smaller inputs take
the super-resolution path as before. ``serving_default`` routes the whole batch
(one size), the bytes signatures route each image.

Hostile and broken items (bytes signatures, versions exported since version 3):
before anything is decoded, each item's format, width and height are read from
its header (hdsr_tf/data/headers.py). An empty item, an unknown format (TIFF,
say) or an image over the pixel limit set at export (default 25 megapixels) is
not decoded: it gets digit -1, confidence 0, zero probabilities and a one-line
``error`` output (a string per item, empty when the item was read), and the
other items are answered. Damage only the decoder can see (a truncated JPEG
body) still fails the whole request with TensorFlow's decode error; the Python
clients then retry item by item and name the bad one.

"No digit" (versions exported with a detector, since version 4): every signature adds
``no_digit`` [B] float32, the detector's probability that the image holds no digit
(blank, noise, a line, a smudge, a letter, a fragment), and ``digit`` is -1 where it
is above the threshold fitted on validation data. ``probabilities`` and ``confidence``
stay the readers' own, so a version-1 client keeps working and can ignore both.

Reading without drawing (versions exported with size routing, since version 5): ``read``,
``read_image_bytes`` and ``read_image_bytes_options`` take the same inputs as the three
signatures above and return the same outputs less ``sr_image``. A direct reader's generator
then never runs (it only draws the picture), so they answer several times faster; a client
that shows no picture should call them. The three signatures above keep their outputs, so
older clients work unchanged.

The write is atomic: everything goes to a hidden temporary folder beside the
target, which is renamed to ``<version>`` only when complete.
"""
from hdsr_tf.export.servables import export_hybrid, export_line_reader
from hdsr_tf.export.versions import latest_version, load_version, next_version

__all__ = ["export_hybrid", "export_line_reader", "latest_version", "load_version", "next_version"]
