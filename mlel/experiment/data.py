"""Data sets for the experiments, framework-free: batches of raw images, float32 NHWC RGB in
[0, 255] (backends apply each model's own preprocessing), with int64 labels or None.

- ``imagenet``: an ImageFolder-style tree (one sub-folder per class, sorted = class index, the
  standard ImageNet order for both torchvision and Keras); resized and centre-cropped.
- ``digits``: scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes; offline),
  upscaled to the model input; a fixed train/validation split (80/20, stratified, seed 0).
- ``synthetic``: random ImageNet-shaped images without labels (accuracy is not measured).

Batches are produced in a background thread (``prefetch``) so loading overlaps the model's work.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from mlel.base.errors import UsageError

DATASETS = ("imagenet", "digits", "synthetic")
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}
SYNTHETIC_POOL = 4      # distinct random batches, cycled (random data need not be fresh)
SYNTHETIC_BATCHES = 5   # synthetic batches when --n-batches is not given
DIGITS_SPLIT_SEED = 0


class DataError(UsageError):
    """A data set that cannot be used as asked (the CLIs exit with code 2)."""


@dataclass
class Dataset:
    """A sized source of ``(x, y)`` batches. Subclasses implement ``_batch(indices)``."""
    name: str
    split: str
    n_samples: int
    num_classes: int | None       # None: unlabelled
    input_size: int
    in_memory: bool = False       # cheap to hold prepared in memory (inference pre-converts it)
    info: dict = field(default_factory=dict)
    augment: Callable | None = None  # f(raw batch, rng) -> batch: training augmentation (mlel.experiment.augment)

    def n_batches(self, batch_size: int, n_batches: int | None = None) -> int:
        full = -(-self.n_samples // batch_size)
        return full if n_batches is None or n_batches < 0 else min(full, n_batches)

    def _batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _order(self, shuffle: bool, seed: int) -> np.ndarray:
        order = np.arange(self.n_samples)
        if shuffle:
            np.random.default_rng(seed).shuffle(order)
        return order

    def batches(self, batch_size: int, n_batches: int | None = None, *, shuffle: bool = False,
                seed: int = 0, transform: Callable[[np.ndarray], Any] | None = None,
                prefetch: int = 2, shard: tuple[int, int] = (0, 1)) -> Iterator[tuple[Any, np.ndarray | None]]:
        """Batches in order (or shuffled with seed); ``transform`` (a backend's ``prepare``) runs
        in the loader thread too. The last batch may be smaller. ``shard`` (rank, world): every
        world-th batch from rank on, so the ranks of a data-parallel run see disjoint batches."""
        order = self._order(shuffle, seed)
        chunks = [order[i * batch_size:(i + 1) * batch_size]
                  for i in range(self.n_batches(batch_size, n_batches))][shard[0]::shard[1]]

        def produce(indices):
            x, y = self._batch(indices)
            if self.augment is not None:  # seeded by the epoch's seed and the batch's first sample
                x = self.augment(x, np.random.default_rng((seed, int(indices[0]))))
            return (transform(x) if transform else x), y

        return _prefetched(produce, chunks, prefetch)

    def materialize(self, batch_size: int, n_batches: int | None, transform: Callable,
                    shard: tuple[int, int] = (0, 1)) -> list:
        """All batches (of the shard), transformed, in a list: for measuring a model without its loader."""
        return list(self.batches(batch_size, n_batches, transform=transform, shard=shard))


def _prefetched(produce: Callable, items: list, depth: int) -> Iterator:
    """produce(item) for each item, computed ahead in a daemon thread; stops when abandoned."""
    if depth <= 0:
        for item in items:
            yield produce(item)
        return
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                result = produce(item)
                while not stop.is_set():
                    try:
                        out.put((None, result), timeout=0.1)
                        break
                    except queue.Full:
                        pass
        except BaseException as exc:  # handed to the consumer, raised there
            out.put((exc, None))
            return
        out.put((None, done))

    thread = threading.Thread(target=work, name="mlel-data", daemon=True)
    thread.start()
    try:
        while True:
            exc, result = out.get()
            if exc is not None:
                raise exc
            if result is done:
                return
            yield result
    finally:
        stop.set()


# synthetic --------------------------------------------------------------------------------------
class SyntheticDataset(Dataset):
    """Random images, no labels; a pool of distinct batches is cycled."""

    def __init__(self, n_samples: int, input_size: int, seed: int = 0):
        super().__init__("synthetic", "validation", n_samples, None, input_size, in_memory=True)
        self.seed = seed
        self._pool: dict[int, np.ndarray] = {}

    def _image_batch(self, slot: int, size: int) -> np.ndarray:
        key = (slot, size)
        if key not in self._pool:
            rng = np.random.default_rng((self.seed, slot))
            shape = (size, self.input_size, self.input_size, 3)
            self._pool[key] = rng.integers(0, 256, shape, dtype=np.uint8).astype(np.float32)
        return self._pool[key]

    def batches(self, batch_size, n_batches=None, *, shuffle=False, seed=0, transform=None,
                prefetch=2, shard=(0, 1)):
        total = self.n_batches(batch_size, n_batches)
        for i in range(shard[0], total, shard[1]):
            size = min(batch_size, self.n_samples - i * batch_size)
            x = self._image_batch(i % SYNTHETIC_POOL, size)
            yield (transform(x) if transform else x), None

    def materialize(self, batch_size, n_batches, transform, shard=(0, 1)):
        # prepare each distinct batch once; the list repeats them
        prepared: dict[int, Any] = {}
        out = []
        for x, _ in self.batches(batch_size, n_batches, shard=shard):
            if id(x) not in prepared:
                prepared[id(x)] = transform(x)
            out.append((prepared[id(x)], None))
        return out


# digits -----------------------------------------------------------------------------------------
def _resize_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) bilinear interpolation weights, pixel centres aligned (as PIL / OpenCV)."""
    pos = (np.arange(dst) + 0.5) * src / dst - 0.5
    pos = np.clip(pos, 0, src - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, src - 1)
    frac = pos - lo
    m = np.zeros((dst, src))
    m[np.arange(dst), lo] += 1 - frac
    m[np.arange(dst), hi] += frac
    return m


class DigitsDataset(Dataset):
    def __init__(self, split: str, input_size: int, interpolation: str = "bilinear"):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        x_train, x_val, y_train, y_val = train_test_split(
            digits.images, digits.target, test_size=0.2, random_state=DIGITS_SPLIT_SEED,
            stratify=digits.target)
        images, labels = (x_train, y_train) if split == "train" else (x_val, y_val)
        super().__init__("digits", split, len(labels), 10, input_size, in_memory=True,
                         info={"source": "sklearn.datasets.load_digits", "original_size": 8})
        self.images = (images / 16.0 * 255.0).astype(np.float32)  # 0..16 -> 0..255
        self.labels = labels.astype(np.int64)
        self._resize = _resize_matrix(8, input_size).astype(np.float32)
        self.interpolation = interpolation

    def _batch(self, indices):
        if self.interpolation != "bilinear":
            return self._pil_batch(indices)
        r = self._resize
        up = np.einsum("ij,njk,lk->nil", r, self.images[indices], r, optimize=True)
        # grey -> RGB, light digits on a dark background as in the source data
        return np.repeat(up[..., None], 3, axis=3), self.labels[indices]


    def _pil_batch(self, indices):
        from PIL import Image

        from mlel.experiment.augment import pil_filter
        size, resample = self.input_size, pil_filter(self.interpolation)
        up = np.stack([np.asarray(Image.fromarray(img).resize((size, size), resample), dtype=np.float32)
                       for img in self.images[indices]])
        return np.repeat(np.clip(up, 0, 255)[..., None], 3, axis=3), self.labels[indices]


# image folders ----------------------------------------------------------------------------------
def find_split_folder(root: Path, split: str) -> Path:
    """``root/<split>`` (``val``/``validation`` for validation) if present, else root itself."""
    names = ("train",) if split == "train" else ("val", "validation", "valid")
    for name in names:
        if (root / name).is_dir():
            return root / name
    if split == "train":
        raise DataError(f"--data-path {root}: no 'train' sub-folder (train.py needs "
                        f"{root}/train and {root}/val, each with one folder per class)")
    return root


class ImageFolderDataset(Dataset):
    def __init__(self, root: Path, split: str, input_size: int, resize_size: int, workers: int = 4,
                 interpolation: str = "bilinear"):
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataError(f"--data-path {root}: no such folder (expected an ImageFolder-style "
                            "tree: one sub-folder per class with the images)")
        folder = find_split_folder(root, split)
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
        samples = [(p, label) for label, cls in enumerate(classes)
                   for p in sorted((folder / cls).iterdir())
                   if p.suffix.lower() in IMAGE_EXTENSIONS]
        if not samples:
            raise DataError(f"--data-path {root}: no images found in class folders under {folder}")
        super().__init__("imagenet", split, len(samples), len(classes), input_size,
                         info={"folder": str(folder), "resize_size": resize_size})
        self.samples = samples
        self.classes = classes
        self.resize_size = resize_size
        self.workers = workers
        self.interpolation = interpolation
        self._pool: ThreadPoolExecutor | None = None

    def load_image(self, path: Path) -> np.ndarray:
        """Resize the shorter side to resize_size (bilinear), centre-crop input_size."""
        from PIL import Image
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            scale = self.resize_size / min(w, h)
            from mlel.experiment.augment import pil_filter
            img = img.resize((max(self.input_size, round(w * scale)), max(self.input_size, round(h * scale))),
                             pil_filter(self.interpolation))
            w, h = img.size
            left, top = (w - self.input_size) // 2, (h - self.input_size) // 2
            img = img.crop((left, top, left + self.input_size, top + self.input_size))
            return np.asarray(img, dtype=np.float32)

    def _batch(self, indices):
        if self._pool is None:  # PIL releases the GIL while decoding: threads scale
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="mlel-decode")
        images = list(self._pool.map(self.load_image, [self.samples[i][0] for i in indices]))
        labels = np.asarray([self.samples[i][1] for i in indices], dtype=np.int64)
        return np.stack(images), labels


# entry point ------------------------------------------------------------------------------------
def default_dataset(data_path: str | None, task: str) -> str:
    """imagenet with a --data-path, else synthetic (inference) or digits (training)."""
    if data_path:
        return "imagenet"
    return "digits" if task == "train" else "synthetic"


def load_dataset(name: str, split: str, input_size: int, *, data_path: str | None = None,
                 resize_size: int | None = None, batch_size: int = 32, n_batches: int | None = None,
                 seed: int = 0, interpolation: str = "bilinear", augment: Callable | None = None) -> Dataset:
    """The data set ``name`` (see module doc) for split 'train' or 'validation'; ``interpolation``
    resamples the images, ``augment`` (mlel.experiment.augment.make_augment) alters each batch it yields."""
    data = _load(name, split, input_size, data_path, resize_size, batch_size, n_batches, seed, interpolation)
    data.augment = augment
    return data


def _load(name, split, input_size, data_path, resize_size, batch_size, n_batches, seed, interpolation):
    if name == "imagenet":
        if not data_path:
            raise DataError("--dataset imagenet needs --data-path DIR (an ImageFolder-style "
                            "validation set: one folder per class); without one, use --dataset "
                            "digits or synthetic")
        return ImageFolderDataset(Path(data_path), split, input_size,
                                  resize_size or round(input_size / 0.875), interpolation=interpolation)
    if name == "digits":
        return DigitsDataset(split, input_size, interpolation)
    if name == "synthetic":
        if split == "train":
            raise DataError("synthetic data has no labels to train on; use --dataset digits "
                            "or imagenet")
        if n_batches is None or n_batches < 0:
            n_batches = SYNTHETIC_BATCHES
        return SyntheticDataset(n_batches * batch_size, input_size, seed)
    raise DataError(f"unknown dataset {name!r}; valid choices: {', '.join(DATASETS)}")
