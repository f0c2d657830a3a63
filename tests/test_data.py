"""Data sets: digits (offline, fixed split), synthetic (unlabelled), image folders; the loader."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from mlel.experiment.data import (DataError, DigitsDataset, SYNTHETIC_BATCHES, _prefetched, _resize_matrix,
                       default_dataset, load_dataset)


def test_defaults_follow_the_task_and_data_path():
    assert default_dataset(None, "infer") == "synthetic"
    assert default_dataset(None, "train") == "digits"
    assert default_dataset("/data", "infer") == default_dataset("/data", "train") == "imagenet"


def test_digits_split_is_fixed_stratified_and_complete():
    train, val = DigitsDataset("train", 32), DigitsDataset("validation", 32)
    assert train.n_samples + val.n_samples == 1797 and val.n_samples == 360
    assert train.num_classes == val.num_classes == 10
    assert np.bincount(val.labels).min() >= 35                 # stratified: every digit present
    assert np.array_equal(DigitsDataset("validation", 32).labels, val.labels)  # same split every time


def test_digits_batches_are_upscaled_rgb_in_0_255():
    val = load_dataset("digits", "validation", 40)
    x, y = next(iter(val.batches(16)))
    assert x.shape == (16, 40, 40, 3) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0 <= x.min() and x.max() <= 255 and x.max() > 200
    assert np.array_equal(x[..., 0], x[..., 2])
    batches = list(val.batches(100))
    assert [len(b[1]) for b in batches] == [100, 100, 100, 60]
    assert len(list(val.batches(100, n_batches=2))) == 2


def test_bilinear_resize_weights_preserve_constants_and_identity():
    r = _resize_matrix(8, 32)
    np.testing.assert_allclose(r.sum(axis=1), 1)
    np.testing.assert_allclose(_resize_matrix(8, 8), np.eye(8))


def test_shuffled_epochs_differ_by_seed_but_cover_the_same_samples():
    train = load_dataset("digits", "train", 8)
    a = np.concatenate([y for _, y in train.batches(64, shuffle=True, seed=1)])
    b = np.concatenate([y for _, y in train.batches(64, shuffle=True, seed=2)])
    assert not np.array_equal(a, b) and np.array_equal(np.sort(a), np.sort(b))


def test_synthetic_is_unlabelled_with_a_small_default_size():
    syn = load_dataset("synthetic", "validation", 24, batch_size=4)
    assert syn.num_classes is None and syn.n_samples == 4 * SYNTHETIC_BATCHES
    batches = list(syn.batches(4))
    assert len(batches) == SYNTHETIC_BATCHES and all(y is None for _, y in batches)
    assert batches[0][0].shape == (4, 24, 24, 3)
    assert load_dataset("synthetic", "validation", 8, batch_size=2, n_batches=7).n_batches(2) == 7


def test_synthetic_materialize_prepares_each_distinct_batch_once():
    syn = load_dataset("synthetic", "validation", 8, batch_size=2, n_batches=10)
    calls = []
    feed = syn.materialize(2, None, lambda x: calls.append(1) or x.copy())
    assert len(feed) == 10 and len(calls) == 4              # a pool of 4, cycled
    with pytest.raises(DataError, match="no labels"):
        load_dataset("synthetic", "train", 8)


def test_imagenet_needs_a_data_path_and_names_it(tmp_path):
    with pytest.raises(DataError, match="--data-path"):
        load_dataset("imagenet", "validation", 32)
    with pytest.raises(DataError, match=str(tmp_path / "missing")):
        load_dataset("imagenet", "validation", 32, data_path=str(tmp_path / "missing"))
    with pytest.raises(DataError, match="no images"):
        load_dataset("imagenet", "validation", 32, data_path=str(tmp_path))
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar", "validation", 32)


@pytest.fixture
def image_folder(tmp_path):
    from PIL import Image
    for split in ("train", "val"):
        for cls, colour in (("n01", (255, 0, 0)), ("n02", (0, 0, 255))):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (60 + 10 * i, 40), colour).save(folder / f"{i}.jpg")
            (folder / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_folder_classes_sorted_resized_and_centre_cropped(image_folder):
    val = load_dataset("imagenet", "validation", 32, data_path=str(image_folder), resize_size=36)
    assert val.n_samples == 6 and val.num_classes == 2 and val.info["folder"].endswith("val")
    x, y = next(iter(val.batches(6)))
    assert x.shape == (6, 32, 32, 3) and list(y) == [0, 0, 0, 1, 1, 1]
    assert x[0, 16, 16, 0] > 200 and x[5, 16, 16, 2] > 200      # red class 0, blue class 1
    train = load_dataset("imagenet", "train", 32, data_path=str(image_folder))
    assert train.info["folder"].endswith("train")
    # a folder of class folders is itself the validation set
    direct = load_dataset("imagenet", "validation", 32, data_path=str(image_folder / "val"))
    assert direct.n_samples == 6
    with pytest.raises(DataError, match="train"):
        load_dataset("imagenet", "train", 32, data_path=str(image_folder / "val"))


def test_prefetch_keeps_order_raises_errors_and_stops_when_abandoned():
    assert list(_prefetched(lambda i: i * 2, list(range(10)), 2)) == [2 * i for i in range(10)]

    def broken(i):
        if i == 3:
            raise ValueError("bad image")
        return i
    with pytest.raises(ValueError, match="bad image"):
        list(_prefetched(broken, list(range(10)), 2))
    produced = []
    gen = _prefetched(lambda i: produced.append(i) or i, list(range(1000)), 2)
    next(gen)
    gen.close()
    time.sleep(0.3)
    assert len(produced) < 10
    assert not [t for t in threading.enumerate() if t.name == "mlel-data"]


# training recipe options (issue 14): --auto-augment, --random-erase, --interpolation ------------------
def _images(n=6, size=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype(np.float32)


def test_random_erase_fills_one_rectangle_with_the_mean_colour():
    from mlel.experiment.augment import IMAGENET_MEAN_RGB, random_erase
    x = _images()
    out = random_erase(x, 1.0, np.random.default_rng(1))
    assert out.shape == x.shape and not np.shares_memory(out, x)
    for before, after in zip(x, out):
        changed = np.argwhere((before != after).any(axis=2))
        assert len(changed)                                            # every image (p = 1)
        (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
        box = after[top:bottom + 1, left:right + 1]
        assert np.allclose(box, IMAGENET_MEAN_RGB)                      # one rectangle, the mean colour
        assert 0.02 * 24 * 24 * 0.5 <= box.shape[0] * box.shape[1] <= 0.33 * 24 * 24 * 1.2
    assert np.array_equal(random_erase(x, 0.0, np.random.default_rng(1)), x)


@pytest.mark.parametrize("policy", ["ta_wide", "ra"])
def test_auto_augment_alters_images_reproducibly(policy):
    from mlel.experiment.augment import make_augment
    x = _images(n=12)
    augment = make_augment(policy)
    a = augment(x, np.random.default_rng(3))
    assert a.shape == x.shape and a.dtype == np.float32 and a.min() >= 0 and a.max() <= 255
    assert np.array_equal(a, augment(x, np.random.default_rng(3)))     # the seed decides
    assert sum(not np.array_equal(i, j) for i, j in zip(a, x)) >= 6     # most images changed
    assert make_augment("none", 0.0) is None


def test_augmentation_applies_to_training_batches_only_and_follows_the_seed():
    from mlel.experiment.augment import make_augment
    train = load_dataset("digits", "train", 32, augment=make_augment("none", 1.0))
    plain = load_dataset("digits", "train", 32)
    (xa, _), = list(train.batches(8, 1, seed=5))
    (xb, _), = list(train.batches(8, 1, seed=5))
    (xp, _), = list(plain.batches(8, 1, seed=5))
    assert np.array_equal(xa, xb) and not np.array_equal(xa, xp)


@pytest.mark.parametrize("interpolation", ["nearest", "bicubic"])
def test_interpolation_chooses_the_resampling_filter(interpolation):
    bilinear = load_dataset("digits", "validation", 32)
    other = load_dataset("digits", "validation", 32, interpolation=interpolation)
    (xb, yb), = list(bilinear.batches(4, 1))
    (xo, yo), = list(other.batches(4, 1))
    assert xo.shape == xb.shape and np.array_equal(yo, yb) and not np.allclose(xo, xb)
    if interpolation == "nearest":  # only the source's own pixel values
        assert set(np.unique(xo)) <= set(np.unique(other.images))


def test_train_setup_wires_the_recipe_options(tmp_path):
    from mlel.experiment import TrainOptions, UsageError, setup_training
    setup = setup_training(TrainOptions(model="resnet18", backend="torch", auto_augment="ra", random_erase=0.25,
                                        interpolation="nearest", output_dir=str(tmp_path)))
    assert setup.data.augment is not None and setup.val_data.augment is None
    assert setup.data.interpolation == setup.val_data.interpolation == "nearest"
    for bad in (dict(random_erase=1.5), dict(auto_augment="imagenet"), dict(interpolation="lanczos")):
        with pytest.raises(UsageError):
            setup_training(TrainOptions(model="resnet18", backend="torch", output_dir=str(tmp_path), **bad))
