"""PyTorch backend: torchvision classification models, eager mode, on CPU or one CUDA GPU."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from mlel.base.names import normalise_model_name

from .base import (PRETRAINED, RANDOM, Backend, BackendError, EvalMetrics, ModelSpec,
                   check_weights_file, metrics_from_sums)

MEAN = (0.485, 0.456, 0.406)  # torchvision's ImageNet normalisation, for every classification model
STD = (0.229, 0.224, 0.225)


def pretrained_file(builder: str) -> tuple[Path, str]:
    """Where torch.hub caches the default ImageNet weights of a torchvision model, and their URL."""
    weights = torchvision.models.get_model_weights(builder).DEFAULT
    name = os.path.basename(urlparse(weights.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / name, weights.url


def _logits(out):
    # Inception and GoogLeNet return (logits, aux) named tuples in training mode
    return out.logits if hasattr(out, "logits") else out


def read_state_dict(path: str) -> dict:
    """The state dict in a .pth file (or a checkpoint's "model" entry); BackendError (exit 2) for
    a file that is not one: garbage, a pickle of something else, a truncated download."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError, …)
        raise BackendError(f"--weights {path}: not a PyTorch weights file "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    state = state.get("model", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BackendError(f"--weights {path}: holds no state dict of tensors (a {type(state).__name__})")
    return state


def _uneven_inputs(model):
    """DDP's Join: ranks with one batch fewer keep answering the others' all-reduces."""
    import contextlib
    from torch.nn.parallel import DistributedDataParallel
    if isinstance(model, DistributedDataParallel):
        from torch.distributed.algorithms.join import Join
        return Join([model])
    return contextlib.nullcontext()


class TorchBackend(Backend):
    name = "pytorch"
    framework = "torch"
    model_suffix = "model.pth"

    def __init__(self, device: str = "auto"):
        super().__init__(device)
        self.model: torch.nn.Module | None = None
        self.optimizer = None
        self._mean = torch.tensor(MEAN, device=self.device).view(1, 3, 1, 1) * 255
        self._std = torch.tensor(STD, device=self.device).view(1, 3, 1, 1) * 255

    def resolve_device(self, device: str) -> str:
        if device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError("--device cuda: PyTorch sees no CUDA GPU here; use --device cpu")
        return device

    def seed(self, seed: int) -> None:
        torch.manual_seed(seed)  # seeds CUDA too

    # data parallel (DistributedDataParallel, one process per device) -------------------------------
    def distribute(self, rank, world, address):
        import torch.distributed as dist
        from datetime import timedelta
        if self.device.startswith("cuda"):
            self.device = f"cuda:{rank}"
            torch.cuda.set_device(rank)
            if self.model is not None:
                self.model.to(self.device)
            self._mean, self._std = self._mean.to(self.device), self._std.to(self.device)
        else:  # N processes share the cores: no oversubscription
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
        dist.init_process_group("nccl" if self.device.startswith("cuda") else "gloo", init_method=address,
                                rank=rank, world_size=world, timeout=timedelta(minutes=10))
        self.shard = (rank, world)

    def leave(self):
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()
        self.shard = (0, 1)

    def _group_sums(self, values: list[float]) -> list[float]:
        """values summed over the data-parallel group (the values themselves outside one)."""
        if self.shard[1] == 1:
            return values
        import torch.distributed as dist
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    @classmethod
    def framework_models(cls) -> dict[str, str]:
        return {normalise_model_name(n): n for n in torchvision.models.list_models(module=torchvision.models)}

    # models ---------------------------------------------------------------------------------------
    def native_sizes(self, spec: ModelSpec) -> tuple[int, int]:
        """torchvision's own evaluation sizes (its weights' transforms), e.g. 288/288 for
        EfficientNetB2 where Keras uses 260."""
        try:
            transforms = torchvision.models.get_model_weights(spec.torch).DEFAULT.transforms()
            return int(transforms.crop_size[0]), int(transforms.resize_size[0])
        except Exception:  # a model without published weights: the table's sizes
            return super().native_sizes(spec)

    def _create(self, spec: ModelSpec, num_classes: int) -> torch.nn.Module:
        kwargs = {"weights": None, "num_classes": num_classes}
        if spec.torch in ("inception_v3", "googlenet"):
            kwargs.update(aux_logits=False, init_weights=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torchvision.models.get_model(spec.torch, **kwargs)

    def build(self, spec, num_classes, input_size, weights=RANDOM):
        self._set_model(spec, num_classes, input_size)
        model = self._create(spec, num_classes)
        loaded = RANDOM
        if weights == PRETRAINED:
            path, url = pretrained_file(spec.torch)
            if not path.is_file():
                raise BackendError(
                    f"pretrained weights of {spec.name} are not in the local torch cache ({path}). "
                    f"MLEE never downloads: copy the file there (from {url}) or pass --weights FILE")
            loaded = str(path)
        elif weights != RANDOM:
            loaded = str(check_weights_file(weights))
        if loaded != RANDOM:
            state = read_state_dict(loaded)
            try:
                model.load_state_dict(state, strict=spec.torch not in ("inception_v3", "googlenet"))
            except RuntimeError as exc:
                raise BackendError(f"weights {loaded} do not fit {spec.name} with {num_classes} "
                                   f"classes: {str(exc).splitlines()[0]}") from None
        self.model = model.to(self.device).eval()
        return loaded

    def save(self, folder: Path) -> Path:
        path = Path(folder) / self.model_suffix
        torch.save(self.model.state_dict(), path)
        return path

    # data and work --------------------------------------------------------------------------------
    def prepare(self, x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(x).to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        return ((t - self._mean) / self._std).contiguous()

    def predict(self, x) -> np.ndarray:
        with torch.inference_mode():
            return self.model(x).float().cpu().numpy()

    def _labels(self, y):
        return torch.from_numpy(np.asarray(y, dtype=np.int64)).to(self.device, non_blocking=True)

    def _accumulate(self, sums, out, y):
        # on the device: no host round trip per batch
        out = out.float()
        yt = self._labels(y)
        top = out.topk(min(5, out.shape[1]), dim=1).indices == yt[:, None]
        sums[0] += F.cross_entropy(out, yt, reduction="sum")
        sums[1] += top[:, 0].sum()
        sums[2] += top.any(dim=1).sum()

    def evaluate(self, batches, progress=None) -> EvalMetrics:
        self.model.eval()
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        n = labelled = 0
        with torch.inference_mode():
            for x, y in batches:
                out = self.model(x)
                n += out.shape[0]
                if y is not None:
                    self._accumulate(sums, out, y)
                    labelled += len(y)
                if progress is not None:
                    progress(1)
            loss, top1, top5 = sums.tolist()  # waits for the device
        n, labelled, loss, top1, top5 = self._group_sums([n, labelled, loss, top1, top5])
        return metrics_from_sums(n, labelled, loss, top1, top5)

    # training -------------------------------------------------------------------------------------
    def configure_training(self, opt, lr, momentum, weight_decay, bn_momentum=None):
        if bn_momentum is not None:
            for module in self.model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.momentum = bn_momentum
        params = self.model.parameters()
        if opt == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        elif opt == "adam":
            self.optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
        elif opt == "rmsprop":  # the torchvision reference recipe's settings
            self.optimizer = torch.optim.RMSprop(params, lr=lr, momentum=momentum,
                                                 weight_decay=weight_decay, alpha=0.9, eps=0.0316)
        else:
            raise BackendError(f"unknown optimizer {opt!r}; valid: sgd, adam, rmsprop")
        self._trained = self.model
        if self.shard[1] > 1:  # gradients averaged over the group; rank 0's weights broadcast
            from torch.nn.parallel import DistributedDataParallel
            ids = [self.device] if self.device.startswith("cuda") else None
            self._trained = DistributedDataParallel(self.model, device_ids=ids)

    def set_lr(self, lr):
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_epoch(self, batches, progress=None) -> EvalMetrics:
        model = getattr(self, "_trained", None) or self.model
        model.train()
        sums = torch.zeros(3, dtype=torch.float64, device=self.device)
        n = 0
        with _uneven_inputs(model):
            for x, y in batches:
                yt = self._labels(y)
                out = _logits(model(x))
                loss = F.cross_entropy(out, yt)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                with torch.no_grad():
                    self._accumulate(sums, out.detach(), y)
                n += len(y)
                if progress is not None:
                    progress(1)
        self.model.eval()
        loss, top1, top5 = sums.tolist()
        n, loss, top1, top5 = self._group_sums([n, loss, top1, top5])
        return metrics_from_sums(n, n, loss, top1, top5)

    # statistics -----------------------------------------------------------------------------------
    def count_params(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    def count_flops(self) -> float | None:
        from torch.utils.flop_counter import FlopCounterMode
        x = torch.zeros(1, 3, self.input_size, self.input_size, device=self.device)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            self.model.eval()(x)
        return counter.get_total_flops() / 2  # multiply-accumulates (see ModelStats)
