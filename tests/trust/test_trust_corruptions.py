"""Corruptions (mlel/trust/corruptions.py) on the project's own digits images (32 px, NHWC, 0..255):
deterministic for a seed, the same picture in either layout, shape/dtype/range kept, and each
corruption distorts more at each higher severity."""
from __future__ import annotations

import numpy as np
import pytest

from mlel.experiment.data import load_dataset
from mlel.trust.corruptions import CORRUPTIONS, PARAMETERS, SEVERITIES, corrupt

RANGE = (0.0, 255.0)


@pytest.fixture(scope="module")
def digits():
    images, _ = next(iter(load_dataset("digits", "validation", 32).batches(12, 1)))
    assert images.dtype == np.float32 and images.shape == (12, 32, 32, 3)
    return images


def distortion(images, corruption, severity, seed=0):
    out = corrupt(images, corruption, severity, seed, channels_last=True, value_range=RANGE)
    return float(np.abs(out.astype(np.float64) - images).mean())


def test_the_table_covers_every_corruption_and_severity():
    assert set(PARAMETERS) == set(CORRUPTIONS)
    assert all(len(levels) == len(SEVERITIES) for levels in PARAMETERS.values())


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_deterministic_for_a_seed_and_shape_dtype_range_kept(digits, corruption):
    for severity in SEVERITIES:
        first = corrupt(digits, corruption, severity, 5, channels_last=True, value_range=RANGE)
        again = corrupt(digits.copy(), corruption, severity, 5, channels_last=True, value_range=RANGE)
        assert first.tobytes() == again.tobytes()
        assert first.shape == digits.shape and first.dtype == np.float32
        assert first.min() >= 0.0 and first.max() <= 255.0
        assert not np.array_equal(first, digits)


def test_only_noise_depends_on_the_seed(digits):
    for corruption in CORRUPTIONS:
        a = corrupt(digits, corruption, 2, 1, channels_last=True, value_range=RANGE)
        b = corrupt(digits, corruption, 2, 2, channels_last=True, value_range=RANGE)
        assert np.array_equal(a, b) == (corruption != "gaussian_noise"), corruption


def test_the_global_random_state_is_neither_used_nor_touched(digits):
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    a = corrupt(digits, "gaussian_noise", 3, 9, channels_last=True, value_range=RANGE)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(123)
    assert np.array_equal(corrupt(digits, "gaussian_noise", 3, 9, channels_last=True, value_range=RANGE), a)


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_nchw_and_nhwc_give_the_same_picture_transposed(digits, corruption):
    nchw = np.ascontiguousarray(digits.transpose(0, 3, 1, 2))
    out_nchw = corrupt(nchw, corruption, 3, 4, value_range=RANGE)
    out_nhwc = corrupt(digits, corruption, 3, 4, channels_last=True, value_range=RANGE)
    assert out_nchw.shape == nchw.shape
    assert np.array_equal(out_nchw, out_nhwc.transpose(0, 3, 1, 2))


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_severity_increases_the_distortion(digits, corruption):
    levels = [distortion(digits, corruption, severity) for severity in SEVERITIES]
    assert 0 < levels[0] < levels[1] < levels[2], levels


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_the_value_range_is_mapped_in_and_out(digits, corruption):
    # the same pictures scaled to [-1, 1] corrupt to the same pictures scaled to [-1, 1]
    unit = corrupt(digits, corruption, 2, 3, channels_last=True, value_range=RANGE) / 255.0
    signed = corrupt(digits / 127.5 - 1.0, corruption, 2, 3, channels_last=True, value_range=(-1.0, 1.0))
    assert signed.dtype == np.float32 and signed.min() >= -1.0 and signed.max() <= 1.0
    assert np.allclose(signed, unit * 2.0 - 1.0, atol=1e-5)


def test_grey_images_and_float64_work(digits):
    grey = digits[..., :1].astype(np.float64) / 255.0
    for corruption in CORRUPTIONS:
        out = corrupt(grey, corruption, 3, 0, channels_last=True)
        assert out.shape == grey.shape and out.dtype == np.float64
        assert 0.0 <= out.min() and out.max() <= 1.0


def test_brightness_keeps_the_hue():
    pixel = np.array([[[[0.4, 0.2, 0.1]]]], dtype=np.float32)  # one orange pixel, NHWC
    out = corrupt(pixel, "brightness", 1, 0, channels_last=True)[0, 0, 0]
    assert out.max() == pytest.approx(0.4 + PARAMETERS["brightness"][0])
    assert out / out.max() == pytest.approx(pixel[0, 0, 0] / 0.4, rel=1e-6)


@pytest.mark.parametrize("kwargs, words", [
    ({"corruption": "fog"}, "unknown 'fog'"),
    ({"severity": 4}, "severity: must be one of (1, 2, 3)"),
    ({"severity": 0}, "severity"),
    ({"channels_last": False}, "32 channels"),
    ({"value_range": (0.0, 1.0)}, "outside value_range (0, 1)"),
    ({"value_range": (1.0, 1.0)}, "low < high"),
    ({"seed": -1}, "seed: must be a non-negative integer"),
])
def test_bad_input_is_named(digits, kwargs, words):
    call = {"corruption": "contrast", "severity": 1, "seed": 0, "channels_last": True, "value_range": RANGE, **kwargs}
    with pytest.raises(ValueError) as caught:
        corrupt(digits, call.pop("corruption"), call.pop("severity"), call.pop("seed"), **call)
    assert words in str(caught.value)


def test_non_float_or_non_batch_images_are_refused(digits):
    with pytest.raises(ValueError, match="float"):
        corrupt(digits.astype(np.uint8), "jpeg", 1, 0, channels_last=True, value_range=RANGE)
    with pytest.raises(ValueError, match="4-D"):
        corrupt(digits[0], "jpeg", 1, 0, channels_last=True, value_range=RANGE)
    with pytest.raises(ValueError, match="NaN"):
        bad = digits.copy()
        bad[0, 0, 0, 0] = np.nan
        corrupt(bad, "jpeg", 1, 0, channels_last=True, value_range=RANGE)
