"""An encoded image's format, width and height from its header alone, as TensorFlow ops.

A server must refuse a hostile image before it decodes it: a 484 KB PNG can
decode to 20000 x 20000 pixels (gigabytes of memory). These ops read a few
bytes of each item: the PNG IHDR chunk, GIF's logical screen, BMP's info
header, WebP's VP8/VP8L/VP8X chunk, and for JPEG a walk over the marker
segments to the first start-of-frame. They never fail: an item they cannot
make sense of gets format UNKNOWN or size 0, and the caller names the problem.
"""

from __future__ import annotations

import tensorflow as tf

UNKNOWN, PNG, JPEG, GIF, BMP, WEBP = range(6)
FORMAT_NAMES = ("unknown", "PNG", "JPEG", "GIF", "BMP", "WebP")
HEAD = 32  # bytes read for every format but JPEG
MAX_JPEG_SEGMENTS = 512


def _bytes(data: tf.Tensor, start, length: int) -> tf.Tensor:
    """``length`` bytes of a scalar string from ``start`` as int64, zero past the end."""
    part = tf.strings.substr(data, start, length)
    raw = tf.io.decode_raw(part + tf.constant(b"\0" * length), tf.uint8)[:length]
    return tf.cast(raw, tf.int64)


def _be(b, i: int, n: int) -> tf.Tensor:
    value = tf.constant(0, tf.int64)
    for k in range(n):
        value = value * 256 + b[i + k]
    return value


def _le(b, i: int, n: int) -> tf.Tensor:
    value = tf.constant(0, tf.int64)
    for k in reversed(range(n)):
        value = value * 256 + b[i + k]
    return value


def _starts(b, signature: bytes, at: int = 0) -> tf.Tensor:
    return tf.reduce_all(tf.equal(b[at:at + len(signature)], tf.constant(list(signature), tf.int64)))


def _jpeg_size(data: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Width and height from the first SOFn segment (0, 0 when none is found)."""
    length = tf.cast(tf.strings.length(data), tf.int64)

    def cond(pos, w, h, step):
        return (pos + 9 <= length) & tf.equal(w, 0) & (step < MAX_JPEG_SEGMENTS)

    def body(pos, w, h, step):
        b = _bytes(data, pos, 9)
        marker = b[1]
        is_sof = (marker >= 0xC0) & (marker <= 0xCF) & ~tf.reduce_any(tf.equal(marker, [0xC4, 0xC8, 0xCC]))
        standalone = ((marker >= 0xD0) & (marker <= 0xD9)) | tf.equal(marker, 0x01)
        bad = tf.not_equal(b[0], 0xFF)
        seg = b[2] * 256 + b[3]
        nxt = tf.where(tf.equal(marker, 0xFF), pos + 1, tf.where(standalone, pos + 2, pos + 2 + seg))
        nxt = tf.where(bad | (seg < 2) & ~standalone & tf.not_equal(marker, 0xFF), length, nxt)  # corrupt: stop
        w = tf.where(is_sof & ~bad, b[7] * 256 + b[8], w)
        h = tf.where(is_sof & ~bad, b[5] * 256 + b[6], h)
        return nxt, w, h, step + 1

    zero = tf.constant(0, tf.int64)
    _, w, h, _ = tf.while_loop(cond, body, (tf.constant(2, tf.int64), zero, zero, zero))
    return w, h


def inspect(data: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One encoded image (scalar string) -> (format code, width, height), all int64 scalars."""
    b = _bytes(data, 0, HEAD)
    png = _starts(b, b"\x89PNG\r\n\x1a\n") & _starts(b, b"IHDR", 12)
    jpeg = _starts(b, b"\xff\xd8\xff")
    gif = _starts(b, b"GIF87a") | _starts(b, b"GIF89a")
    bmp = _starts(b, b"BM")
    webp = _starts(b, b"RIFF") & _starts(b, b"WEBP", 8)
    vp8, vp8l, vp8x = _starts(b, b"VP8 ", 12), _starts(b, b"VP8L", 12), _starts(b, b"VP8X", 12)
    lossless_bits = _le(b, 21, 4)
    webp_w = tf.where(vp8, _le(b, 26, 2) % 16384,
                      tf.where(vp8l, lossless_bits % 16384 + 1, tf.where(vp8x, _le(b, 24, 3) + 1, 0)))
    webp_h = tf.where(vp8, _le(b, 28, 2) % 16384,
                      tf.where(vp8l, (lossless_bits // 16384) % 16384 + 1, tf.where(vp8x, _le(b, 27, 3) + 1, 0)))
    bmp_h = _le(b, 22, 4)
    bmp_h = tf.abs(tf.where(bmp_h >= 2**31, bmp_h - 2**32, bmp_h))  # negative height: top-down rows
    jw, jh = tf.cond(jpeg, lambda: _jpeg_size(data), lambda: (tf.constant(0, tf.int64), tf.constant(0, tf.int64)))
    fmt = tf.case([(png, lambda: tf.constant(PNG, tf.int64)), (jpeg, lambda: tf.constant(JPEG, tf.int64)),
                   (gif, lambda: tf.constant(GIF, tf.int64)), (bmp, lambda: tf.constant(BMP, tf.int64)),
                   (webp, lambda: tf.constant(WEBP, tf.int64))], default=lambda: tf.constant(UNKNOWN, tf.int64))
    width = tf.gather(tf.stack([tf.constant(0, tf.int64), _be(b, 16, 4), jw, _le(b, 6, 2), _le(b, 18, 4), webp_w]),
                      fmt)
    height = tf.gather(tf.stack([tf.constant(0, tf.int64), _be(b, 20, 4), jh, _le(b, 8, 2), bmp_h, webp_h]), fmt)
    return fmt, width, height


def problems(images: tf.Tensor, max_pixels: int) -> tuple[tf.Tensor, tf.Tensor]:
    """string [B] -> (error message [B], "" where the header looks fine; ok [B] bool)."""
    def one(data):
        fmt, w, h = inspect(data)
        empty = tf.equal(tf.strings.length(data), 0)
        pixels = w * h
        message = tf.case([
            (empty, lambda: tf.constant("empty image: no bytes")),
            (tf.equal(fmt, UNKNOWN), lambda: tf.constant(
                "unknown image format: PNG, JPEG, GIF, BMP and WebP are read")),
            ((w <= 0) | (h <= 0), lambda: tf.strings.join([
                "no image size in the ", tf.gather(tf.constant(FORMAT_NAMES), fmt), " header: a damaged file?"])),
            (pixels > max_pixels, lambda: tf.strings.join([
                tf.gather(tf.constant(FORMAT_NAMES), fmt), " of ", tf.strings.as_string(w), "x",
                tf.strings.as_string(h), " = ", tf.strings.as_string(pixels), " pixels is over this model's limit of ",
                str(max_pixels), " pixels"]))],
            default=lambda: tf.constant(""))
        return message

    errors = tf.map_fn(one, images, fn_output_signature=tf.TensorSpec([], tf.string))
    return errors, tf.equal(errors, "")


def blank_png(width: int, height: int, bit_depth: int = 8, channels: int = 1) -> bytes:
    """A valid all-black PNG of any size, written row by row without holding the image: how the
    tests and benchmarks build decompression bombs (20000 x 20000 in a few hundred KB)."""
    import struct
    import zlib

    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z, row, body = zlib.compressobj(9), b"\0" * (1 + width * channels * bit_depth // 8), []
    for _ in range(height):
        body.append(z.compress(row))
    body.append(z.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(body)) + chunk(b"IEND", b"")
