"""A blind degradation family as data: what a recipe file (``recipes/*.json``) may say.

Kept apart from the TensorFlow ops that draw from it (``data/blind.py``): the
settings are validated, listed as the families a model has seen, and read
from JSON without building any graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hdsr_tf.errors import UsageError

HR = 28
MIN_SIZE = 4
RESIZE_METHODS = ("area", "bilinear", "bicubic", "nearest")
KERNEL = 9  # largest blur kernel, pixels (radius 4)

@dataclass(frozen=True)
class Pass:
    """One round of blur -> resize -> noise -> JPEG (Real-ESRGAN has two)."""

    blur_prob: float = 0.0
    blur_sigma: tuple[float, float] = (0.2, 1.5)  # pixels of the image the pass starts from
    anisotropic_prob: float = 0.5  # else isotropic
    kernel_sizes: tuple[int, int] = (3, 9)  # odd sizes drawn in this range (truncation)
    gaussian_noise_prob: float = 0.0
    gaussian_noise: tuple[float, float] = (0.0, 0.1)  # sigma, [0,1] units
    poisson_prob: float = 0.0
    poisson_photons: tuple[float, float] = (5.0, 1000.0)  # log-uniform; x' = Poisson(x n) / n
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (30, 95)


@dataclass(frozen=True)
class Recipe:
    """A blind degradation family, read from a JSON recipe file (``recipes/*.json``).

    The LR size is drawn uniformly from ``lr_sizes`` (inclusive) unless the image
    keeps full resolution (``full_resolution_prob``); with ``second_pass_prob``
    the first pass shrinks to an intermediate size between the final one and 28.
    """

    name: str = "clean"
    lr_sizes: tuple[int, int] = (7, 7)
    full_resolution_prob: float = 0.0
    resize_methods: tuple[str, ...] = ("area",)
    stroke_prob: float = 0.0  # thin or thicken the strokes (grey-level erosion/dilation, blended)
    stroke_range: tuple[float, float] = (-0.5, 1.0)  # <0 erodes, >0 dilates; 1 = one full 3x3 dilation
    affine_prob: float = 0.0
    rotation_deg: float = 0.0
    shear: float = 0.0  # radians
    zoom: tuple[float, float] = (1.0, 1.0)
    shift: float = 0.0  # pixels
    first: Pass = Pass()
    second_pass_prob: float = 0.0
    second: Pass = Pass()
    photometric_prob: float = 0.0  # background level, ink level and gamma
    background: tuple[float, float] = (0.0, 0.0)
    ink: tuple[float, float] = (1.0, 1.0)
    gamma: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self):
        lo, hi = self.lr_sizes
        if not MIN_SIZE <= lo <= hi <= HR:
            raise UsageError(f"{self.name}: lr_sizes must satisfy {MIN_SIZE} <= low <= high <= {HR}, "
                             f"not {self.lr_sizes}")
        bad = set(self.resize_methods) - set(RESIZE_METHODS)
        if bad or not self.resize_methods:
            raise UsageError(f"{self.name}: resize_methods must be among {RESIZE_METHODS}, not {self.resize_methods}")
        for p in (self.first, self.second):
            k_lo, k_hi = p.kernel_sizes
            if not 1 <= k_lo <= k_hi <= KERNEL:
                raise UsageError(f"{self.name}: kernel_sizes must lie in [1, {KERNEL}], not {p.kernel_sizes}")
            if not 1 <= p.jpeg_quality[0] <= p.jpeg_quality[1] <= 100:
                raise UsageError(f"{self.name}: jpeg_quality must lie in [1, 100], not {p.jpeg_quality}")

    def families(self) -> list[str]:
        """The degradation families this recipe can draw: what a model trained on it has seen."""
        seen = []
        if self.lr_sizes != (HR, HR):
            seen.append("resize(" + "/".join(self.resize_methods) + f", {self.lr_sizes[0]}-{self.lr_sizes[1]} px)")
        checks = [(self.stroke_prob, "stroke width"), (self.affine_prob, "affine (rotate/shear/zoom/shift)"),
                  (max(self.first.blur_prob, self.second.blur_prob * self.second_pass_prob), "Gaussian blur"),
                  (max(self.first.gaussian_noise_prob, self.second.gaussian_noise_prob * self.second_pass_prob),
                   "Gaussian noise"),
                  (max(self.first.poisson_prob, self.second.poisson_prob * self.second_pass_prob), "Poisson noise"),
                  (max(self.first.jpeg_prob, self.second.jpeg_prob * self.second_pass_prob), "JPEG"),
                  (self.photometric_prob, "brightness/contrast/gamma")]
        return seen + [name for prob, name in checks if prob > 0]

    @classmethod
    def from_dict(cls, values: dict) -> "Recipe":
        values = {k: v for k, v in values.items() if not k.startswith("_")}  # "_about" is a comment
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise UsageError(f"unknown recipe settings {sorted(unknown)}")
        for key in ("first", "second"):
            if key in values:
                sub = values[key]
                bad = set(sub) - set(Pass.__dataclass_fields__)
                if bad:
                    raise UsageError(f"unknown settings in {key!r}: {sorted(bad)}")
                values[key] = Pass(**{k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()})
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


RECIPE_DIR = Path(__file__).with_name("recipes")


def load_recipe(name_or_path: str) -> Recipe:
    """A recipe by name (``hdsr_tf/data/recipes/<name>.json``) or by path to a JSON file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPE_DIR / f"{name_or_path}.json"
    try:
        values = json.loads(path.read_text())
    except OSError as e:
        known = ", ".join(sorted(p.stem for p in RECIPE_DIR.glob("*.json")))
        raise UsageError(f"cannot read recipe {name_or_path!r} ({e.strerror or e}); shipped recipes: {known}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"recipe {path} is not valid JSON: {e}") from None
    values.setdefault("name", path.stem)
    return Recipe.from_dict(values)
