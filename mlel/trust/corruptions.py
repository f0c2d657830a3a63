"""Common corruptions of an image batch (ImageNet-C style, Hendrycks & Dietterich 2019), in NumPy
and Pillow, so that every backend is fed the same corrupted images.

Each transform is defined on images in [0, 1] (channels last); ``corrupt`` maps the backend's
input range in and out, and NCHW batches are transposed in and back, so the same picture gives the
same corrupted picture whatever layout or backend asks. Random draws come from a
``Generator(PCG64(seed))`` of their own, never the global RNG state; only ``gaussian_noise``
draws (the others are deterministic and ignore the seed). A caller corrupting batch after batch
passes a different seed per batch (e.g. ``seed + batch index``) so no two batches share noise.
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

CORRUPTIONS: tuple[str, ...] = ("gaussian_noise", "gaussian_blur", "brightness", "contrast", "jpeg")
SEVERITIES: tuple[int, ...] = (1, 2, 3)

# The parameter of each corruption at our severities 1, 2, 3. ImageNet-C's values are made for
# 224-px images; the authors' own CIFAR-10-C (32 px, the size of our digits data) scales them down,
# and we take its severities 1, 3 and 5 so that our three span its whole range:
#   gaussian_noise: standard deviation of the added noise (on [0, 1] images)
#   gaussian_blur:  sigma in pixels at a 32-px image side; scaled with the side (x7 at 224 px gives
#                   2.8..7, ImageNet-C's own range of 1..6), so a blur hides the same share of a picture
#   brightness:     added to the HSV value channel (hue and saturation kept)
#   contrast:       factor on each image's distance from its per-channel mean (lower = flatter)
#   jpeg:           Pillow JPEG quality (lower = more compression)
PARAMETERS: dict[str, tuple[float, float, float]] = {
    "gaussian_noise": (0.04, 0.08, 0.10),
    "gaussian_blur": (0.4, 0.7, 1.0),
    "brightness": (0.05, 0.15, 0.30),
    "contrast": (0.75, 0.40, 0.15),
    "jpeg": (80, 58, 40),
}
BLUR_REFERENCE_SIDE_PX = 32
BLUR_TRUNCATE = 4.0  # kernel radius in sigmas (as scikit-image's gaussian, which ImageNet-C used)
RANGE_TOLERANCE = 1e-3  # share of the value range an input may stray outside it (rounding)


def corrupt(images: np.ndarray, corruption: str, severity: int, seed: int, *, channels_last: bool = False,
            value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """``images`` (a float batch, NCHW or with ``channels_last`` NHWC, 1 or 3 channels, values in
    ``value_range``) with ``corruption`` at ``severity`` (1..3) applied; same shape and dtype, values
    kept in ``value_range``. Deterministic for a ``seed``."""
    x, low, high = _checked(images, corruption, severity, seed, value_range, channels_last)
    nhwc = x if channels_last else x.transpose(0, 2, 3, 1)
    unit = (np.ascontiguousarray(nhwc, dtype=np.float64) - low) / (high - low)  # one memory order for both layouts
    level = PARAMETERS[corruption][severity - 1]
    if corruption == "gaussian_noise":
        out = _gaussian_noise(np.clip(unit, 0.0, 1.0), level, seed)
    elif corruption == "gaussian_blur":
        out = _gaussian_blur(unit, level * min(unit.shape[1:3]) / BLUR_REFERENCE_SIDE_PX)
    elif corruption == "brightness":
        out = _brightness(np.clip(unit, 0.0, 1.0), level)
    elif corruption == "contrast":
        out = _contrast(unit, level)
    else:
        out = _jpeg(unit, int(level))
    out = np.clip(out, 0.0, 1.0) * (high - low) + low
    if not channels_last:
        out = out.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out, dtype=x.dtype)


def _gaussian_noise(x: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(seed))
    # drawn in NHWC order whatever the caller's layout, so NCHW and NHWC get the same noise per pixel
    return x + sigma * rng.standard_normal(x.shape)


def _gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian filter over height and width, edges extended ("nearest"): one (side, side)
    matrix per axis whose rows are the kernel folded at the borders, applied by matrix product."""
    radius = max(1, int(math.ceil(BLUR_TRUNCATE * sigma)))
    taps = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()

    def along(side: int) -> np.ndarray:
        matrix = np.zeros((side, side))
        rows = np.arange(side)
        for offset, weight in zip(taps, kernel):
            np.add.at(matrix, (rows, np.clip(rows + offset, 0, side - 1)), weight)
        return matrix

    return np.einsum("ih,nhwc,jw->nijc", along(x.shape[1]), x, along(x.shape[2]), optimize=True)


def _brightness(x: np.ndarray, shift: float) -> np.ndarray:
    """HSV value + ``shift`` with hue and saturation kept: each channel is V * (1 - S * f(H)), so
    scaling the pixel by V'/V does it (a black pixel, V = 0 and S = 0, becomes grey V')."""
    value = x.max(axis=3, keepdims=True)
    lifted = np.minimum(value + shift, 1.0)
    scale = np.divide(lifted, value, out=np.zeros_like(value), where=value > 0)
    return np.where(value > 0, x * scale, lifted)


def _contrast(x: np.ndarray, factor: float) -> np.ndarray:
    means = x.mean(axis=(1, 2), keepdims=True)
    return (x - means) * factor + means


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    """Each image through a Pillow JPEG encode/decode at ``quality`` (8-bit, 4:2:0 chroma as Pillow's
    default, fixed here so a Pillow default change cannot change our numbers)."""
    pixels = np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    grey = pixels.shape[3] == 1
    out = np.empty(pixels.shape, dtype=np.float64)
    for i, image in enumerate(pixels):
        buffer = io.BytesIO()
        picture = Image.fromarray(image[..., 0] if grey else image)  # uint8: "L" or "RGB"
        picture.save(buffer, format="JPEG", quality=quality, subsampling=2, optimize=False)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L" if grey else "RGB"))
        out[i] = decoded.reshape(out.shape[1:])
    return out / 255.0


def _checked(images, corruption, severity, seed, value_range, channels_last) -> tuple[np.ndarray, float, float]:
    if corruption not in CORRUPTIONS:
        raise ValueError(f"corruption: unknown {corruption!r}; valid: {', '.join(CORRUPTIONS)}")
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or severity not in SEVERITIES:
        raise ValueError(f"severity: must be one of {SEVERITIES}, got {severity!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a non-negative integer, got {seed!r}")
    x = np.asarray(images)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"images: expected a float array, got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"images: expected a 4-D batch (NCHW, or NHWC with channels_last=True), "
                         f"got shape {x.shape}")
    channels = x.shape[3] if channels_last else x.shape[1]
    if channels not in (1, 3):
        other = "False" if channels_last else "True"
        raise ValueError(f"images: {channels} channels in shape {x.shape} (expected 1 or 3); "
                         f"is the layout channels_last={other}?")
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range: expected (low, high), got {value_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        raise ValueError(f"value_range: needs finite low < high, got {value_range!r}")
    if x.size:
        if not np.isfinite(x).all():
            raise ValueError("images: contain NaN or infinite values")
        slack = RANGE_TOLERANCE * (high - low)
        if x.min() < low - slack or x.max() > high + slack:
            raise ValueError(f"images: values {float(x.min()):.6g}..{float(x.max()):.6g} lie outside "
                             f"value_range ({low:g}, {high:g}); pass the backend's input range")
    return x, low, high
