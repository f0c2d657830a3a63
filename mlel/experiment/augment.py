"""Training-time augmentation of raw image batches (the 2022 recipe options of train.py):
``--auto-augment ta_wide|ra``, ``--random-erase P``; and the resampling filter of
``--interpolation``. Framework-free: float32 NHWC RGB in [0, 255] in, the same out, so every backend
trains on the same images. Randomness comes from the generator passed in (seeded per epoch by the
data loader), so a run is reproducible from its seed.

Policies (as torchvision's reference recipes name them): ``ta_wide`` = TrivialAugment (one op per
image, uniform magnitude, the wide ranges); ``ra`` = RandAugment (2 ops per image, magnitude 9/31).
Random erasing follows Zhong et al.: with probability P one rectangle of 2–33% of the area, aspect
0.3–3.3, is filled with the ImageNet mean colour (what torchvision's value 0 is after normalising).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

AUTO_AUGMENT = ("none", "ta_wide", "ra")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic")
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)  # 255 x (0.485, 0.456, 0.406)
RA_OPS, RA_MAGNITUDE, RA_BINS = 2, 9, 31

# op -> (magnitude at full strength: wide (TrivialAugment), narrow (RandAugment)); signed ops flip
_RANGES = {"identity": (0, 0), "shear_x": (0.99, 0.3), "shear_y": (0.99, 0.3), "translate_x": (32, 0.45),
           "translate_y": (32, 0.45), "rotate": (135.0, 30.0), "brightness": (0.99, 0.9),
           "color": (0.99, 0.9), "contrast": (0.99, 0.9), "sharpness": (0.99, 0.9),
           "posterize": (6, 4), "solarize": (255.0, 255.0), "autocontrast": (0, 0), "equalize": (0, 0)}
_SIGNED = {"shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color",
           "contrast", "sharpness"}


def pil_filter(interpolation: str):
    from PIL import Image
    return {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST, "bicubic": Image.BICUBIC}[interpolation]


def _apply(img, op: str, m: float):
    """One PIL op at signed magnitude m (translate: pixels)."""
    from PIL import Image, ImageEnhance, ImageOps
    w, h = img.size
    if op == "shear_x":
        return img.transform(img.size, Image.AFFINE, (1, m, 0, 0, 1, 0))
    if op == "shear_y":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, m, 1, 0))
    if op == "translate_x":
        return img.transform(img.size, Image.AFFINE, (1, 0, m, 0, 1, 0))
    if op == "translate_y":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, m))
    if op == "rotate":
        return img.rotate(m)
    enhancers = {"brightness": ImageEnhance.Brightness, "color": ImageEnhance.Color,
                 "contrast": ImageEnhance.Contrast, "sharpness": ImageEnhance.Sharpness}
    if op in enhancers:
        return enhancers[op](img).enhance(1.0 + m)
    if op == "posterize":
        return ImageOps.posterize(img, 8 - int(m))
    if op == "solarize":
        return ImageOps.solarize(img, int(255 - m))
    if op == "autocontrast":
        return ImageOps.autocontrast(img)
    if op == "equalize":
        return ImageOps.equalize(img)
    return img


def _draw(policy: str, rng: np.random.Generator, size: int) -> list[tuple[str, float]]:
    """The ops and signed magnitudes for one image under a policy."""
    ops = list(_RANGES)
    wide = policy == "ta_wide"
    chosen = [ops[rng.integers(len(ops))]] if wide else [ops[i] for i in rng.integers(len(ops), size=RA_OPS)]
    drawn = []
    for op in chosen:
        full = _RANGES[op][0 if wide else 1]
        strength = rng.random() if wide else RA_MAGNITUDE / (RA_BINS - 1)
        m = full * strength
        if op.startswith("translate") and not wide:
            m *= size  # RandAugment's translate is a share of the image
        if op in _SIGNED and rng.random() < 0.5:
            m = -m
        drawn.append((op, m))
    return drawn


def auto_augment(x: np.ndarray, policy: str, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image
    out = np.empty_like(x)
    for i, image in enumerate(x):
        img = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
        for op, m in _draw(policy, rng, image.shape[0]):
            img = _apply(img, op, m)
        out[i] = np.asarray(img, dtype=np.float32)
    return out


def random_erase(x: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Erase one rectangle per image with probability p (a new array; x is left alone)."""
    out = x.copy()
    n, h, w, _ = x.shape
    for i in np.flatnonzero(rng.random(n) < p):
        for _ in range(10):  # torchvision's tries before giving up on an image
            area = h * w * rng.uniform(0.02, 0.33)
            ratio = math.exp(rng.uniform(math.log(0.3), math.log(3.3)))
            eh, ew = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
            if 0 < eh < h and 0 < ew < w:
                top, left = rng.integers(h - eh + 1), rng.integers(w - ew + 1)
                out[i, top:top + eh, left:left + ew] = IMAGENET_MEAN_RGB
                break
    return out


def make_augment(policy: str = "none", erase_p: float = 0.0) -> Callable | None:
    """f(batch, rng) -> augmented batch for the options, or None when they ask for nothing."""
    if policy == "none" and erase_p <= 0:
        return None

    def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if policy != "none":
            x = auto_augment(x, policy, rng)
        if erase_p > 0:
            x = random_erase(x, erase_p, rng)
        return x
    return augment
