"""Train the zoo's digits networks (``digits_cnn``, ``digits_vit``) on scikit-learn's 8×8 digits.

    .venv/bin/python scripts/train_digits.py [--out DIR] [--cnn-epochs N] [--vit-epochs N]

Both networks see what ``vislrp`` feeds them: each 8×8 digit (values 0..16) as an 8-bit grey image, resized
to 32×32 (bilinear), replicated to RGB and normalised by ``DIGITS`` (zoo/preprocessing.py). The split is
``train_test_split(images, target, test_size=0.2, random_state=0, stratify=target)`` (``digits_split``):
1437 training and 360 test digits. Training augments the training digits with small random rotations,
scalings and shifts, drawn from a seeded generator, so a run is deterministic on one machine (fixed seeds,
``torch.use_deterministic_algorithms(True)``, two threads). About 3 minutes on 2 CPU cores.

Writes float32 state dicts to ``src/vislrp/zoo/weights/digits_cnn.pt`` and ``digits_vit.pt`` and
``digits.json`` (per network: seed, test accuracy on the 360 test digits, epochs, architecture arguments,
torch version), then prints the accuracies. The accuracy is measured as the tests recompute it: the saved
file loaded through ``load_model`` and fed the test digits through the model's ``Preprocess``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
import torch.nn.functional as F

from vislrp.zoo import load_model
from vislrp.zoo.images import digit_image, digits_split
from vislrp.zoo.models import DIGITS_CNN_ARGS, DIGITS_VIT_ARGS, WEIGHTS_DIR, make_digits_cnn, make_digits_vit
from vislrp.zoo.preprocessing import DIGITS

SEED = 0
THREADS = 2


def pixels(images: np.ndarray) -> torch.Tensor:
    """(N, 8, 8) digits as (N, 3, 32, 32) pixels in [0, 1], exactly as ``DIGITS`` crops them."""
    crops = [np.asarray(DIGITS.crop_image(digit_image(d)), dtype=np.float32) / 255.0 for d in images]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()


def normalise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(DIGITS.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(DIGITS.std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random rotation (±12°), scaling (0.9–1.1) and shift (±2 px of 32) per image; background stays 0."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(12)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 / 16)  # grid units: 2/16 of the half-width = 2 px
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def train(name: str, module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
          weight_decay: float, batch: int, warmup: int, seed: int) -> float:
    """AdamW with a linear warm-up and cosine decay, label smoothing 0.1; returns the wall time in seconds."""
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(x) / batch)
    total = epochs * steps_per_epoch
    decay, no_decay = [], []
    for pname, param in module.named_parameters():
        (decay if param.dim() >= 2 and "pos_embedding" not in pname else no_decay).append(param)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)

    def factor(step: int) -> float:
        if step < warmup * steps_per_epoch:
            return (step + 1) / (warmup * steps_per_epoch)
        done = (step - warmup * steps_per_epoch) / max(1, total - warmup * steps_per_epoch)
        return 0.5 * (1 + math.cos(math.pi * done))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    start = time.perf_counter()
    module.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        seen = correct = 0
        loss_sum = 0.0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            xb, yb = normalise(augment(x[idx], gen)), y[idx]
            logits = module(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
        if epoch % 10 == 9 or epoch == epochs - 1:
            print(f"  {name} epoch {epoch + 1:3d}/{epochs}: loss {loss_sum / seen:.4f}, "
                  f"train accuracy (augmented) {correct / seen:.4f}, {time.perf_counter() - start:.0f} s", flush=True)
    module.eval()
    return time.perf_counter() - start


def measure(name: str, weights: Path) -> tuple[float, float]:
    """Accuracy on the 360 test digits of the saved file loaded through the zoo, and the smallest top-2
    logit margin (how far the closest call is from flipping)."""
    _, x_test, _, y_test = digits_split()
    zoo = load_model(name, str(weights))
    batch = torch.stack([zoo.preprocess(digit_image(d)) for d in x_test])
    with torch.no_grad():
        logits = zoo.module(batch)
    top2 = logits.topk(2, dim=1).values
    correct = int((logits.argmax(1).numpy() == y_test).sum())
    return correct / len(y_test), float((top2[:, 0] - top2[:, 1]).min())


NETWORKS: dict[str, tuple[dict[str, Any], Callable[..., torch.nn.Module], dict[str, Any]]] = {
    "digits_cnn": (DIGITS_CNN_ARGS, make_digits_cnn,
                   {"epochs": 15, "lr": 2e-3, "weight_decay": 1e-4, "batch": 64, "warmup": 1}),
    "digits_vit": (DIGITS_VIT_ARGS, make_digits_vit,
                   {"epochs": 30, "lr": 2e-3, "weight_decay": 0.05, "batch": 64, "warmup": 3}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help=f"output folder (default {WEIGHTS_DIR})")
    parser.add_argument("--cnn-epochs", type=int, default=None, help="override digits_cnn's epochs (trials)")
    parser.add_argument("--vit-epochs", type=int, default=None, help="override digits_vit's epochs (trials)")
    parser.add_argument("--only", choices=sorted(NETWORKS), help="train one network (its record is replaced)")
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    x_train, _, y_train, _ = digits_split()
    x = pixels(x_train)
    y = torch.from_numpy(np.array(y_train, dtype=np.int64))
    args.out.mkdir(parents=True, exist_ok=True)
    record_path = args.out / "digits.json"
    records: dict[str, Any] = json.loads(record_path.read_text()) if args.only and record_path.is_file() else {}
    overrides = {"digits_cnn": args.cnn_epochs, "digits_vit": args.vit_epochs}
    t0 = time.perf_counter()
    for name, (arch, make, hyper) in NETWORKS.items():
        if args.only and name != args.only:
            continue
        hyper = {**hyper, "epochs": overrides[name] or hyper["epochs"]}
        torch.manual_seed(SEED)
        module = make(**arch)
        seconds = train(name, module, x, y, seed=SEED, **hyper)
        path = args.out / f"{name}.pt"
        torch.save({k: v.detach().to(torch.float32).contiguous() for k, v in module.state_dict().items()}, path)
        accuracy, margin = measure(name, path)
        records[name] = {
            "seed": SEED,
            "test_accuracy": accuracy,
            "n_test": len(digits_split()[3]),
            "n_train": len(y),
            "epochs": hyper["epochs"],
            "training": {k: v for k, v in hyper.items() if k != "epochs"}
                        | {"optimizer": "AdamW, warm-up then cosine", "label_smoothing": 0.1,
                           "augmentation": "rotation ±12°, scale 0.9–1.1, shift ±2 px"},
            "architecture": dict(arch),
            "parameters": sum(p.numel() for p in module.parameters()),
            "train_seconds": round(seconds, 1),
            "threads": THREADS,
            "torch": torch.__version__,
            "scikit_learn": sklearn.__version__,
            "cpu": platform.machine(),
            "split": "train_test_split(images, target, test_size=0.2, random_state=0, stratify=target)",
        }
        print(f"{name}: test accuracy {accuracy:.4f} ({round(accuracy * len(digits_split()[3]))}/"
              f"{len(digits_split()[3])}), smallest top-2 margin {margin:.3f}, trained in {seconds:.0f} s, "
              f"{path.stat().st_size / 1024:.0f} KiB", flush=True)
    record_path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"total {time.perf_counter() - t0:.0f} s; wrote {record_path}")


if __name__ == "__main__":
    main()
