"""The paper's architectures: exact parameter counts, reference structure and initialization,
forward/backward, a batch of one, channels_last, bf16 autocast and torch.compile."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torchvision
from conftest import run_in_process
from hydra import compose, initialize_config_dir
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from torch import nn

from augmix_bench.config.paths import config_dir, group_options
from augmix_bench.errors import UserError
from augmix_bench.models import MODELS, build_model
from augmix_bench.models.allconv import SigmoidGELU
from augmix_bench.report.paper import paper_value, table1_models

CIFAR_MODELS = ("wrn40_2", "allconv", "densenet", "densenet_bc", "resnext29")

#: REFERENCE.md section 4: (architecture, classes) -> parameters.
PARAMETER_COUNTS = {
    ("wrn40_2", 10): 2_243_546,
    ("wrn40_2", 100): 2_255_156,
    ("allconv", 10): 1_409_674,
    ("allconv", 100): 1_427_044,
    ("densenet", 10): 1_059_298,
    ("densenet", 100): 1_100_428,
    ("densenet_bc", 10): 769_162,
    ("densenet_bc", 100): 800_032,
    ("resnext29", 10): 6_807_882,
    ("resnext29", 100): 6_900_132,
    ("resnet50", 1000): 25_557_032,
}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_config(name: str) -> dict:
    """The constructor arguments of ``configs/model/<name>.yaml``."""
    options = OmegaConf.to_container(OmegaConf.load(config_dir() / "model" / f"{name}.yaml"), resolve=True)
    assert options.pop("name") == name
    assert options.pop("_target_") == f"augmix_bench.models.{name}"
    return options


def small_model(name: str) -> nn.Module:
    """The architecture at its config's size, in eval mode, with seeded weights."""
    torch.manual_seed(0)
    return build_model(name, 1000 if name == "resnet50" else 10, **model_config(name)).eval()


def small_input(name: str, batch: int = 2) -> torch.Tensor:
    """CIFAR-sized images, or small ImageNet-like ones for ResNet-50."""
    side = 64 if name == "resnet50" else 32
    return torch.randn(batch, 3, side, side, generator=torch.Generator().manual_seed(1))


def user_error(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The message of the ``UserError`` that ``call(*args, **kwargs)`` raises."""
    with pytest.raises(UserError) as error:
        call(*args, **kwargs)
    return str(error.value)


def assert_close_to_scale(actual: torch.Tensor, expected: torch.Tensor, fraction: float) -> None:
    """Every entry within ``fraction`` of the largest magnitude of ``expected``."""
    scale = expected.abs().max().item()
    assert (actual.float() - expected).abs().max().item() <= fraction * scale


def test_registry_holds_every_architecture_of_the_paper() -> None:
    assert set(MODELS) == {*CIFAR_MODELS, "resnet50"}
    configs = {p.stem: OmegaConf.load(p) for p in (config_dir() / "model").glob("*.yaml")}
    assert set(configs) == {*MODELS, "custom"}  # custom: any _target_ from the command line
    for name, builder in MODELS.items():
        assert configs[name].name == name
        assert configs[name]._target_ == f"augmix_bench.models.{name}"
        assert get_object(configs[name]._target_) is builder


@pytest.mark.parametrize(("name", "num_classes"), list(PARAMETER_COUNTS))
def test_parameter_count_of_the_config_equals_the_reference(name: str, num_classes: int) -> None:
    model = build_model(name, num_classes, **model_config(name))
    assert parameter_count(model) == PARAMETER_COUNTS[(name, num_classes)]


@pytest.mark.parametrize("name", list(MODELS))
def test_constructor_defaults_equal_the_config(name: str) -> None:
    num_classes = 1000 if name == "resnet50" else 10
    torch.manual_seed(0)
    from_defaults = build_model(name, num_classes)
    assert parameter_count(from_defaults) == PARAMETER_COUNTS[(name, num_classes)]
    shapes = {k: v.shape for k, v in from_defaults.state_dict().items()}
    assert shapes == {k: v.shape for k, v in small_model(name).state_dict().items()}


def test_resnet50_is_torchvisions_definition() -> None:
    ours = build_model("resnet50", 1000)
    theirs = torchvision.models.resnet50()
    assert type(ours) is type(theirs)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == [
        (k, v.shape) for k, v in theirs.state_dict().items()
    ]


def test_densenet_is_the_reference_code_and_densenet_bc_the_paper_text() -> None:
    plain = build_model("densenet", 10)
    assert [len(plain.dense1), len(plain.dense2), len(plain.dense3)] == [12, 12, 12]
    assert (plain.trans1.conv1.in_channels, plain.trans1.conv1.out_channels) == (168, 168)
    assert plain.fc.in_features == 456
    assert not hasattr(plain.dense1[0], "conv2")
    bc = build_model("densenet_bc", 10)
    assert [len(bc.dense1), len(bc.dense2), len(bc.dense3)] == [16, 16, 16]
    assert (bc.trans1.conv1.in_channels, bc.trans1.conv1.out_channels) == (216, 108)
    assert (bc.trans2.conv1.in_channels, bc.trans2.conv1.out_channels) == (300, 150)
    assert (bc.dense1[0].conv1.out_channels, bc.dense1[0].conv2.out_channels) == (48, 12)
    assert bc.fc.in_features == 342


def test_resnext29_is_4_groups_of_width_32() -> None:
    model = build_model("resnext29", 10)
    first = model.stage_1[0].conv_conv
    assert (first.groups, first.in_channels, first.out_channels) == (4, 128, 128)
    assert model.stage_3[0].conv_conv.out_channels == 512
    assert [len(model.stage_1), len(model.stage_2), len(model.stage_3)] == [3, 3, 3]
    assert model.classifier.in_features == 1024
    wider = build_model("resnext29", 10, cardinality=8, base_width=64)
    assert (wider.stage_1[0].conv_conv.groups, wider.stage_1[0].conv_conv.out_channels) == (8, 512)


@pytest.mark.parametrize("name", CIFAR_MODELS)
def test_reference_initialization(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 10)
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.weight.numel() >= 20_000:
            fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
            assert module.weight.std().item() == pytest.approx(math.sqrt(2.0 / fan_out), rel=0.05)
        elif isinstance(module, nn.BatchNorm2d):
            assert torch.equal(module.weight, torch.ones_like(module.weight))
            assert torch.equal(module.bias, torch.zeros_like(module.bias))
        elif isinstance(module, nn.Linear):
            assert torch.equal(module.bias, torch.zeros_like(module.bias))


def test_allconv_convs_keep_their_default_bias_and_resnext_a_kaiming_classifier() -> None:
    torch.manual_seed(0)
    allconv = build_model("allconv", 10)
    assert allconv.features[0].bias.abs().min().item() > 0.0
    torch.manual_seed(0)
    resnext = build_model("resnext29", 100)
    assert resnext.classifier.weight.std().item() == pytest.approx(math.sqrt(2.0 / 1024), rel=0.03)
    torch.manual_seed(0)
    wrn = build_model("wrn40_2", 100)
    assert wrn.fc.weight.abs().max().item() <= 1.0 / math.sqrt(128)


def test_allconv_activation_is_the_sigmoid_approximation_of_gelu() -> None:
    x = torch.linspace(-4, 4, 81)
    assert torch.equal(SigmoidGELU()(x), torch.sigmoid(1.702 * x) * x)
    assert SigmoidGELU()(torch.tensor(1.0)).item() == pytest.approx(0.845796, abs=1e-6)
    assert nn.functional.gelu(torch.tensor(1.0)).item() == pytest.approx(0.841345, abs=1e-6)


def test_allconv_pools_only_the_top_left_8x8_window_of_a_10x10_map() -> None:
    model = small_model("allconv")
    x = small_input("allconv")
    with torch.no_grad():
        last_map = model.features[:-1](x)
        assert last_map.shape == (2, 192, 10, 10)
        window = model.classifier(last_map[:, :, :8, :8].mean(dim=(2, 3)))
        everything = model.classifier(last_map.mean(dim=(2, 3)))
        logits = model(x)
    torch.testing.assert_close(logits, window)
    assert (logits - everything).abs().max().item() > 1e-3


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_and_backward(name: str) -> None:
    model = small_model(name).train()
    x = small_input(name)
    logits = model(x)
    assert logits.shape == (2, 1000 if name == "resnet50" else 10)
    nn.functional.cross_entropy(logits, torch.tensor([1, 2])).backward()
    for key, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), key
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", list(MODELS))
def test_a_batch_of_one_in_eval_mode_gives_the_same_logits_as_in_a_batch(name: str) -> None:
    model = small_model(name)
    x = small_input(name)
    with torch.no_grad():
        single = model(x[:1])
        batched = model(x)
    assert single.shape == (1, 1000 if name == "resnet50" else 10)
    torch.testing.assert_close(single, batched[:1], rtol=1e-4, atol=1e-4 * batched.abs().max().item())


@pytest.mark.parametrize("name", list(MODELS))
def test_channels_last_gives_the_same_logits(name: str) -> None:
    model = small_model(name)
    x = small_input(name)
    with torch.no_grad():
        expected = model(x)
        model.to(memory_format=torch.channels_last)
        actual = model(x.contiguous(memory_format=torch.channels_last))
    assert_close_to_scale(actual, expected, 1e-4)


@pytest.mark.parametrize("name", list(MODELS))
def test_bf16_autocast_on_cpu_stays_close_to_fp32(name: str) -> None:
    model = small_model(name)
    x = small_input(name)
    with torch.no_grad():
        expected = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            actual = model(x)
    assert actual.dtype == torch.bfloat16
    assert_close_to_scale(actual, expected, 0.05)


#: Shallower variants (the same classes and code) where tracing the full depth only costs time.
SHALLOW = {"wrn40_2": {"depth": 10}, "densenet": {"depth": 10}, "densenet_bc": {"depth": 16}}


@pytest.mark.parametrize("name", list(MODELS))
def test_torch_compile_traces_the_whole_model_without_graph_breaks(name: str) -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = build_model(name, 1000 if name == "resnet50" else 10, **SHALLOW.get(name, {})).eval()
    x = small_input(name)
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    with torch.no_grad():
        expected = model(x)
        actual = compiled(x)
    torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def test_unknown_model_and_options_are_refused_in_one_line() -> None:
    assert user_error(build_model, "vgg", 10) == (
        "unknown model 'vgg'; choose from: allconv, densenet, densenet_bc, resnet50, resnext29, wrn40_2"
    )
    assert user_error(build_model, "resnext29", 10, depth=38) == (
        "model 'resnext29' has no option 'depth'; accepted: cardinality, base_width"
    )
    assert user_error(build_model, "densenet", 10, depth=41) == (
        "model.depth=41 is invalid for a DenseNet with bottleneck=False; "
        "accepted: 3n + 4 with n >= 1 (7, 10, 13, ...)"
    )
    assert user_error(build_model, "densenet_bc", 10, depth=43) == (
        "model.depth=43 is invalid for a DenseNet with bottleneck=True; "
        "accepted: 6n + 4 with n >= 1 (10, 16, 22, ...)"
    )
    assert user_error(build_model, "densenet", 10, reduction=0) == (
        "model.reduction=0 is invalid; accepted: a number in (0, 1]"
    )
    assert user_error(build_model, "resnext29", 10, cardinality=0) == (
        "model.cardinality=0 is invalid; accepted: an integer >= 1"
    )


def test_resnet50_weights_are_refused_in_one_line_when_unknown_or_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert user_error(build_model, "resnet50", 1000, weights="V3") == (
        "model.weights='V3' is invalid for resnet50; accepted: null, IMAGENET1K_V1, IMAGENET1K_V2, DEFAULT"
    )
    assert user_error(build_model, "resnet50", 10, weights="IMAGENET1K_V1") == (
        "model.weights='IMAGENET1K_V1' is for 1000 classes, the dataset has 10; use model.weights=null"
    )
    cache = tmp_path / "hub" / "checkpoints"
    assert user_error(build_model, "resnet50", 1000, weights="IMAGENET1K_V1") == (
        f"model.weights='IMAGENET1K_V1': resnet50-0676ba61.pth is not in the torch hub cache {cache} "
        "(augmix-bench does not download weights); "
        "put https://download.pytorch.org/models/resnet50-0676ba61.pth there, "
        "or set TORCH_HOME to a cache holding it"
    )


def test_resnet50_weights_are_read_from_the_torch_hub_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / "resnet50-0676ba61.pth"
    cached.parent.mkdir(parents=True)
    torch.manual_seed(3)
    weights = torchvision.models.resnet50().state_dict()
    torch.save(weights, cached)
    model = build_model("resnet50", 1000, weights="IMAGENET1K_V1")
    loaded = model.state_dict()
    assert loaded.keys() == weights.keys()
    assert all(torch.equal(loaded[k], weights[k]) for k in weights)
    del weights["fc.bias"]
    torch.save(weights, cached)
    assert user_error(build_model, "resnet50", 1000, weights="IMAGENET1K_V1") == (
        "checkpoint does not fit model 'resnet50': key 'fc.bias' is missing from the checkpoint"
    )
    cached.unlink()


@pytest.mark.parametrize(
    ("model", "epochs", "weight_decay"),
    [
        ("wrn40_2", 100, 5e-4),
        ("allconv", 100, 5e-4),
        ("densenet", 200, 1e-4),
        ("densenet_bc", 200, 5e-4),
        ("resnext29", 200, 5e-4),
    ],
)
def test_cifar_recipe_per_architecture(model: str, epochs: int, weight_decay: float) -> None:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"model={model}", "dataset=cifar100"])
    assert cfg.model.name == model
    assert cfg.trainer.epochs == epochs
    assert cfg.optim.weight_decay == weight_decay


#: (overrides, name): the shipped presets keep their names (the paper's and existing runs'); an
#: override of an architecture key derives one from the architecture (docs/models.md, Model names).
MODEL_NAMES = [
    (("model=allconv",), "allconv"),
    (("model=densenet",), "densenet"),
    (("model=densenet_bc",), "densenet_bc"),
    (("model=resnext29",), "resnext29"),
    (("model=resnet50",), "resnet50"),
    (("model=wrn40_2",), "wrn40_2"),
    (("model=densenet", "model.depth=40", "model.reduction=1"), "densenet"),  # the defaults, given again
    (("model=wrn40_2", "model.dropout=0.3"), "wrn40_2"),  # not architecture: the report's recipe shows it
    (("model=resnet50", "model.weights=IMAGENET1K_V1"), "resnet50"),
    (("model=densenet", "model.depth=22"), "densenet22_k12_c1"),
    (("model=densenet", "model.growth_rate=24"), "densenet40_k24_c1"),
    (("model=densenet", "model.reduction=0.5"), "densenet40_k12_c0.5"),
    (("model=densenet", "model.bottleneck=true", "model.depth=100", "model.reduction=0.5"), "densenet100_k12_c0.5_b"),
    (("model=densenet_bc", "model.depth=250", "model.growth_rate=24"), "densenet250_k24_c0.5_b"),
    (("model=densenet_bc", "model.bottleneck=false"), "densenet100_k12_c0.5"),
    (("model=resnext29", "model.cardinality=8"), "resnext29_8x32d"),
    (("model=resnext29", "model.cardinality=8", "model.base_width=64"), "resnext29_8x64d"),
    (("model=wrn40_2", "model.depth=16", "model.widen_factor=1"), "wrn16_1"),
    (("model=wrn40_2", "model.widen_factor=10"), "wrn40_10"),
    (("experiment=demo",), "wrn10_1"),
]


def _composed(*overrides: str, hydra: bool = False) -> DictConfig:
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides), return_hydra_config=hydra)


@pytest.mark.parametrize(("overrides", "name"), MODEL_NAMES)
def test_a_model_is_named_by_its_preset_until_its_architecture_is_overridden(
    overrides: tuple[str, ...], name: str
) -> None:
    """The name results.json, reports and the run directory (hydra.run.dir) use."""
    cfg = _composed(*overrides, hydra=True)
    assert cfg.model.name == name
    assert f"_{name}_augmix/" in OmegaConf.select(cfg, "hydra.run.dir")
    assert OmegaConf.to_container(cfg.model, resolve=True)["name"] == name  # as checkpoints store it


def test_default_names_find_the_papers_numbers_and_derived_ones_none() -> None:
    for model in table1_models():
        assert _composed(f"model={model}").model.name == model
        assert paper_value("cifar10", model, "augmix", "mean_corruption_error") is not None
    assert paper_value("imagenet", _composed("model=resnet50").model.name, "augmix", "mce") is not None
    derived = [name for _, name in MODEL_NAMES if name not in group_options("model")]
    assert derived and all(paper_value("cifar10", name, "augmix", "mean_corruption_error") is None for name in derived)


@pytest.mark.parametrize(
    ("program", "args", "name"),
    [
        ("augmix-train", ("model=densenet", "model.depth=22"), "densenet22_k12_c1"),
        ("augmix-eval", ("checkpoint=w.pt", "checkpoint_format=state_dict", "dataset=cifar10", "model=resnext29",
                         "model.cardinality=8"), "resnext29_8x32d"),
    ],
)
def test_the_derived_name_on_the_command_line(
    program: str, args: tuple[str, ...], name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_in_process(program, *args, "--cfg", "job", "--resolve", "--package", "model.name")
    assert (result.returncode, result.stdout) == (0, f"{name}\n")
