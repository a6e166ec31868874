"""Model zoo: offline default model, weights handling, registry errors, user models."""

from __future__ import annotations

import textwrap
import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision

from vislrp.zoo import (
    DEFAULT_MODEL,
    UnknownModelError,
    WeightsError,
    ZooModel,
    imagenet_labels,
    list_models,
    load_model,
    load_sample,
)
from vislrp.zoo.preprocessing import DIGITS, IMAGENET, TF_LITE

CAT_CLASSES = set(range(281, 288))  # tabby, tiger cat, Persian, Siamese, Egyptian cat, cougar, lynx


@pytest.fixture(scope="module")
def lite0() -> ZooModel:
    return load_model(DEFAULT_MODEL)


def test_default_model_is_frozen_eval_lite0(lite0: ZooModel) -> None:
    assert lite0.name == "efficientnet_lite0"
    assert lite0.preprocess is TF_LITE
    assert lite0.input_size == 224
    assert not lite0.module.training
    assert all(not p.requires_grad for p in lite0.module.parameters())
    assert lite0.labels == imagenet_labels()
    assert len(lite0.labels) == 1000


def test_lite0_recognises_the_cat(lite0: ZooModel) -> None:
    top5 = lite0.predict(load_sample("chelsea"), k=5)
    assert CAT_CLASSES & {p.index for p in top5}, top5
    assert top5[0].index in CAT_CLASSES


def test_lite0_recognises_espresso(lite0: ZooModel) -> None:
    top5 = lite0.predict(load_sample("coffee"), k=5)
    assert "espresso" in [p.label for p in top5], top5


def test_registry_lists_default_first() -> None:
    names = [info.name for info in list_models()]
    assert names[0] == DEFAULT_MODEL
    imagenet = ["vgg16", "alexnet", "resnet18", "resnet34", "resnet50", "vit_b_16", "vit_b_32"]
    assert names == [DEFAULT_MODEL, *imagenet, "digits_cnn", "digits_vit"]
    infos = {info.name: info for info in list_models()}
    assert {infos[name].preprocess for name in imagenet} == {IMAGENET}
    assert {infos[name].preprocess for name in ("digits_cnn", "digits_vit")} == {DIGITS}
    assert all(infos[name].test_accuracy is None for name in [DEFAULT_MODEL, *imagenet])


def test_vit_b_16_with_random_weights() -> None:
    zoo = load_model("vit_b_16", "none")
    assert type(zoo.module) is torchvision.models.VisionTransformer
    assert zoo.preprocess is IMAGENET and zoo.input_size == 224 and zoo.labels == imagenet_labels()
    with torch.no_grad():
        logits = zoo.module(torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    assert logits.shape == (1, 1000) and bool(torch.isfinite(logits).all())


def test_random_weights_are_deterministic_per_seed() -> None:
    x = torch.randn(1, 3, 224, 224)
    a = load_model("resnet18", "none", seed=3).module(x)
    b = load_model("resnet18", "none", seed=3).module(x)
    c = load_model("resnet18", "none", seed=4).module(x)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_random_init_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_model("resnet18", "none", seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_state_dict_path_round_trips(tmp_path: Path) -> None:
    source = load_model("resnet18", "none", seed=7)
    path = tmp_path / "resnet18.pt"
    torch.save(source.module.state_dict(), path)
    loaded = load_model("resnet18", str(path), seed=0)
    x = torch.randn(1, 3, 224, 224)
    assert torch.equal(source.module(x), loaded.module(x))
    assert loaded.weights == str(path)


def test_missing_weights_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        load_model("resnet18", str(tmp_path / "nope.pt"))


def test_weights_of_another_architecture(tmp_path: Path) -> None:
    path = tmp_path / "wrong.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(WeightsError, match=r"wrong\.pt.*do not fit"):
        load_model("resnet18", str(path))


def test_weights_file_that_is_not_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match=r"junk\.pt"):
        load_model("resnet18", str(path))


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(UnknownModelError, match="efficientnet_lite0"):
        load_model("no_such_net")


def test_torchvision_default_weights_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("torchvision.models._api.load_state_dict_from_url", offline)
    with pytest.raises(WeightsError, match="--weights") as info:
        load_model("resnet18")
    assert "could not download" in str(info.value)


def _write_user_module(directory: Path, name: str, classes: int) -> None:
    (directory / f"{name}.py").write_text(
        textwrap.dedent(
            f"""
            import torch

            def factory():
                return torch.nn.Sequential(
                    torch.nn.Conv2d(3, 4, 3, padding=1),
                    torch.nn.ReLU(),
                    torch.nn.AdaptiveAvgPool2d(1),
                    torch.nn.Flatten(),
                    torch.nn.Linear(4, {classes}),
                )

            not_a_model = 3
            """
        )
    )


def test_user_model_import_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_user_module(tmp_path, "vislrp_user_net10", classes=10)
    monkeypatch.syspath_prepend(str(tmp_path))
    model = load_model("vislrp_user_net10:factory", "none", seed=1)
    assert model.labels == [f"class {i}" for i in range(10)]
    assert model.preprocess is IMAGENET
    assert not model.module.training
    assert all(not p.requires_grad for p in model.module.parameters())
    again = load_model("vislrp_user_net10:factory", "none", seed=1)
    x = torch.randn(2, 3, 224, 224)
    assert torch.equal(model.module(x), again.module(x))


def test_user_model_with_1000_classes_gets_imagenet_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_user_module(tmp_path, "vislrp_user_net1000", classes=1000)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_model("vislrp_user_net1000:factory").labels == imagenet_labels()


def test_user_model_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_user_module(tmp_path, "vislrp_user_bad", classes=3)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnknownModelError, match="cannot import"):
        load_model("vislrp_no_such_module:factory")
    with pytest.raises(UnknownModelError, match="no attribute"):
        load_model("vislrp_user_bad:missing")
    with pytest.raises(UnknownModelError, match=r"not a torch\.nn\.Module|not callable"):
        load_model("vislrp_user_bad:not_a_model")


def test_random_vit_has_a_random_head_so_relevance_is_not_all_zero() -> None:
    """torchvision zero-initialises a ViT's head; the zoo's random weights draw it (seeded) instead."""
    import torch

    from vislrp.zoo import load_model

    zoo = load_model("vit_b_32", "none")
    with torch.no_grad():
        logits = zoo.module(torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    assert float(logits.std()) > 0
    again = load_model("vit_b_32", "none")
    assert torch.equal(zoo.module.heads.head.weight, again.module.heads.head.weight)
