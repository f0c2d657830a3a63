"""Import order: triton (loaded by torchvision) after TensorFlow segfaults the process, so these
tests, which use both frameworks in one process, load it first (as mlel.backends.tensorflow does)."""
import contextlib

with contextlib.suppress(ImportError):
    import triton  # noqa: F401
