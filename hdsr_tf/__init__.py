"""hdsr_tf: handwritten digit recognition, with ESRGAN super-resolution for low-resolution digits."""

__version__ = "0.1.0"
