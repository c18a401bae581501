"""The partner network at play time: loads a partner artifact with torch and torchvision alone.

Three kinds of partner are understood:
- "exported": a self-contained `torch.export` program saved with `torch.export.save`, carrying its
  category list and preprocessing in the extra file `clickme.json` (the training app writes these);
- any torchvision classification architecture ("resnet50", ...) plus a state-dict file;
- a pretrained ImageNet network built from an installed package (game/pretrained.py, timm).
No Django here: the game's services pass the partner's fields in and cache the runtime per process.
"""

import json
import logging
import os
import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import torch
import torchvision

from . import pretrained

ARTIFACT_META = "clickme.json"
ARTIFACT_FORMAT = "clickme-partner/1"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# A frozen graph must give the eager network's logits to within this (relative to their scale).
FROZEN_TOLERANCE = 1e-3

log = logging.getLogger(__name__)


class PartnerLoadError(ValueError):
    """The weights or artifact file cannot be used as a partner."""


@dataclass(frozen=True)
class PartnerSpec:
    architecture: str
    weights_path: str
    n_outputs: int
    input_size: int
    mean: tuple
    std: tuple

    @classmethod
    def of(cls, partner, n_outputs=None):
        """The spec of a registered partner (a game.models.Partner row, or anything with its fields);
        `n_outputs` given when the row was loaded without its category mapping."""
        return cls(
            architecture=partner.architecture,
            weights_path=partner.weights_file,
            n_outputs=len(partner.category_mapping) if n_outputs is None else n_outputs,
            input_size=partner.input_size,
            mean=tuple(partner.mean),
            std=tuple(partner.std),
        )


def read_artifact_meta(path):
    """The metadata of an exported artifact, or PartnerLoadError when it is not one."""
    extra = {ARTIFACT_META: ""}
    try:
        program = torch.export.load(str(path), extra_files=extra)
        meta = json.loads(extra[ARTIFACT_META] or "{}")
    except Exception as error:  # torch raises many kinds for a foreign file
        raise PartnerLoadError(f"{path} is not an exported ClickMe partner: {error}") from error
    if meta.get("format") != ARTIFACT_FORMAT:
        raise PartnerLoadError(f"{path} has no {ARTIFACT_FORMAT} metadata")
    return program, meta


def _state_dict_from(obj):
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise PartnerLoadError("the file holds no state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_torchvision_classifier(architecture, weights_path, n_outputs):
    """A torchvision classifier with the given weights, or PartnerLoadError saying why not."""
    if architecture not in torchvision.models.list_models(module=torchvision.models):
        raise PartnerLoadError(f"unknown torchvision classification architecture {architecture!r}")
    try:
        obj = torch.load(str(weights_path), map_location="cpu", weights_only=True)
    except Exception as error:
        raise PartnerLoadError(f"{weights_path} is not a torch weights file: {error}") from error
    state = _state_dict_from(obj)
    model = torchvision.models.get_model(architecture, weights=None, num_classes=n_outputs)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise PartnerLoadError(f"weights do not fit {architecture} with {n_outputs} outputs: {error}") from error
    return model.eval()


class PartnerRuntime:
    """A loaded partner: turns (N, H, W, 3) float images in [0, 1] into class probabilities."""

    def __init__(self, spec, freeze=True):
        self.spec = spec
        if spec.architecture == "exported":
            program, _meta = read_artifact_meta(spec.weights_path)
            self.model = program.module()
        elif spec.architecture in pretrained.PRETRAINED:
            self.model = pretrained.build(spec.architecture, spec.weights_path)
        else:
            self.model = load_torchvision_classifier(spec.architecture, spec.weights_path, spec.n_outputs)
        self.mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1)
        self.frozen = False
        if freeze:
            self.model, self.frozen = frozen_for_inference(self.model, spec.input_size)
        self.lock = threading.Lock()
        self.batcher = ForwardBatcher(lambda views: self.predict(views))

    def submit(self, view):
        """Queue one (H, W, 3) view for the process's forward thread; a Future of its probabilities.
        Views queued while a forward runs go together in the next one (see ForwardBatcher)."""
        return self.batcher.submit(view)

    def close(self):
        self.batcher.close()

    @torch.inference_mode()
    def predict(self, views):
        batch = torch.from_numpy(np.ascontiguousarray(views, dtype=np.float32)).permute(0, 3, 1, 2).contiguous()
        if batch.shape[-1] != self.spec.input_size or batch.shape[-2] != self.spec.input_size:
            size = (self.spec.input_size, self.spec.input_size)
            batch = torch.nn.functional.interpolate(batch, size=size, mode="bilinear", antialias=True)
        # channels_last is the faster layout for convolutions on the CPU
        batch = ((batch - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        with self.lock:  # exported programs are not guaranteed thread-safe
            logits = self.model(batch)
        return torch.softmax(logits.float(), dim=1).numpy()


def frozen_for_inference(model, input_size):
    """(module, frozen): the network as a frozen TorchScript graph when it traces to one that gives its
    answers, else the network itself (frozen False, logged).

    Why: the forward runs on a thread of a web process beside the request threads. Eager PyTorch takes
    the GIL back between every operator, so while request threads run Python the forward waits for the
    GIL at each of its ~200 operators (on 2 cores with 16 players its thread got 60% of a core); a
    TorchScript graph runs whole without the GIL. Freezing also folds the batch norms into the convs
    (EfficientNet-Lite0, one thread: 19.5 -> 14.4 ms at batch 1). torch.jit is deprecated in favour
    of torch.compile, which needs a C compiler on the serving machine; the traced graph is checked
    against the eager network on batches of 1 and 3 before it is used.
    """
    example = torch.rand(2, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit's deprecation notice and the tracer's warnings
            with torch.no_grad():
                graph = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False).eval())
            with torch.inference_mode():
                for batch in (1, 3, 1):  # the executor specialises on its first calls: these warm it up
                    views = torch.rand(batch, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
                    expected, got = model(views).float(), graph(views).float()
                    scale = 1.0 + float(expected.abs().max())
                    if got.shape != expected.shape or float((got - expected).abs().max()) > FROZEN_TOLERANCE * scale:
                        raise ValueError("the traced graph does not give the network's answers")
    except Exception as error:  # an untraceable network still plays, eagerly
        log.warning("partner not frozen for inference (%s): it runs eagerly", error)
        return model, False
    return graph, True


class ForwardBatcher:
    """One forward thread per process that runs every queued view, batching those that wait together.

    A click post queues its view before committing its clicks, so at one player the forward runs
    while the database commits; under load the views of concurrent posts (gunicorn's threads) share
    one forward, which costs less per image than batch-1 forwards on the same core. At most
    `max_batch` views go in one forward; a failed forward fails the Futures of its views only.
    """

    def __init__(self, forward, max_batch=8):
        self.forward = forward
        self.max_batch = max_batch
        self.closed = False
        self._start_fresh()

    def _start_fresh(self):
        self.pid = os.getpid()
        self.pending: list[tuple[np.ndarray, Future]] = []
        self.condition = threading.Condition()
        self.thread: threading.Thread | None = None

    def submit(self, view):
        future: Future = Future()
        if self.pid != os.getpid():  # a forked child: the parent's thread, queue and lock stay behind
            self._start_fresh()
        with self.condition:
            if self.closed:
                raise RuntimeError("this partner runtime was replaced")
            self.pending.append((view, future))
            if self.thread is None:  # started lazily, at the first view
                self.thread = threading.Thread(target=self._run, name="partner-forward", daemon=True)
                self.thread.start()
            self.condition.notify()
        return future

    def close(self):
        with self.condition:
            self.closed = True
            self.condition.notify_all()

    def _run(self):
        while True:
            with self.condition:
                while not self.pending and not self.closed:
                    self.condition.wait()
                if not self.pending:  # closed and drained
                    return
                batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            live = [(view, future) for view, future in batch if future.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                probabilities = self.forward(np.stack([view for view, _future in live]))
                answers = list(zip((future for _view, future in live), probabilities, strict=True))
            except BaseException as error:  # every waiting post learns that its forward failed
                for _view, future in live:
                    future.set_exception(error)
                continue
            for future, row in answers:
                future.set_result(row)


_cache: dict[object, "PartnerRuntime"] = {}
_cache_lock = threading.Lock()


def runtime_for(key, spec, torch_threads=None):
    """The process-wide runtime of a partner, loaded once per (key, spec). `torch_threads` sets the
    process's intra-op threads at first load (web processes use one each and scale by processes)."""
    with _cache_lock:
        runtime = _cache.get(key)
        if runtime is None or runtime.spec != spec:
            if torch_threads:
                torch.set_num_threads(torch_threads)
            runtime = PartnerRuntime(spec)
            for replaced in _cache.values():
                replaced.close()
            _cache.clear()  # one partner at a time per process: the promoted one
            _cache[key] = runtime
        return runtime


def runtime_loaded(key, spec):
    """Whether this process holds the runtime of (key, spec) already (runtime_for would not load)."""
    with _cache_lock:
        runtime = _cache.get(key)
        return runtime is not None and runtime.spec == spec


def top_k(probabilities, k=5):
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(int(i), float(probabilities[i])) for i in order]
