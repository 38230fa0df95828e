"""Notebook 02's U-Net solution, its self-checks, and the `full` mode's data / model / training
code path run for one step on a small VOC-layout tree (Shapes' VOC tree is real VOC format)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labutils.checks import nb02 as checks
from labutils.data.classes import VOC_CLASSES
from labutils.data.voc import segmentation_loaders
from labutils.modes import BUDGETS
from labutils.train.semantic import (
    accumulate_confusion,
    fit_segmentation,
    segmentation_evaluator,
)
from tests.nb02_solution import BLOCKS, METRICS, solution

STEM = "02_unet_pascal_voc"


@pytest.fixture(scope="module")
def ns():
    return solution(*BLOCKS, *METRICS)


def test_solution_blocks_pass_the_self_checks(ns):
    checks.check_double_conv(ns["DoubleConv"])
    checks.check_down(ns["Down"])
    checks.check_up(ns["Up"])
    checks.check_unet(ns["UNet"])


def test_paper_width_unet_has_31m_parameters_and_keeps_odd_sizes(ns):
    with torch.device("meta"):
        net = ns["UNet"]()
        out = net(torch.zeros(1, 3, 572, 572))
    assert sum(p.numel() for p in net.parameters()) == checks.unet_parameter_count(3, 21, 64, 4)
    assert checks.unet_parameter_count(3, 21, 64, 4) == 31_038_933
    assert tuple(out.shape) == (1, 21, 572, 572)


def test_self_checks_catch_wrong_blocks(ns):
    DoubleConv = ns["DoubleConv"]

    class BiasedDoubleConv(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.block = nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
                                       nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

        def forward(self, x):
            return self.block(x)

    class ReluBeforeNorm(DoubleConv):
        def forward(self, x):
            conv1, bn1, _, conv2, bn2, _ = self.block
            return bn2(F.relu(conv2(bn1(F.relu(conv1(x))))))

    class SwappedUp(ns["Up"]):
        def forward(self, x, skip):
            return self.conv(torch.cat([self.up(x), skip], 1))

    class NoPadUp(ns["Up"]):
        def forward(self, x, skip):
            return self.conv(torch.cat([skip, self.up(x)], 1))

    with pytest.raises(AssertionError, match="bias=False"):
        checks.check_double_conv(BiasedDoubleConv)
    with pytest.raises(AssertionError, match="conv -> BatchNorm -> ReLU"):
        checks.check_double_conv(ReluBeforeNorm)
    with pytest.raises(AssertionError, match="skip first"):
        checks.check_up(SwappedUp)
    with pytest.raises(AssertionError, match="11x13.*pad the upsampled tensor"):
        checks.check_up(NoPadUp)

    class NoPadUNet(ns["UNet"]):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            unpadded = type("Up", (NoPadUp,), {})  # the checks find the blocks by class name
            self.ups = nn.ModuleList(unpadded(u.up.in_channels, u.conv.block[0].out_channels)
                                     for u in self.ups)

    with pytest.raises(AssertionError, match=r"\(2, 3, 37, 53\) failed.*pad \(or interpolate\)"):
        checks.check_unet(NoPadUNet)

    class Stub(nn.Module):
        def __init__(self, *args, **kwargs):
            raise NotImplementedError

    with pytest.raises(AssertionError, match="NotImplementedError"):
        checks.check_unet(Stub)


def test_evaluator_takes_the_confusion_function_as_a_parameter(ns, shapes):
    class Constant(nn.Module):  # predicts class 4 (sky) everywhere
        def __init__(self):
            super().__init__()
            self.dummy = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            logits = torch.zeros(x.shape[0], 7, *x.shape[2:]) + self.dummy
            logits[:, 4] = 1
            return logits

    _, val = segmentation_loaders(shapes.voc_root, (32, 40), 4, val_images=6)
    conf, loss = accumulate_confusion(Constant(), val, ns["confusion_matrix"], 7)
    assert conf.shape == (7, 7) and (conf[:, [0, 1, 2, 3, 5, 6]] == 0).all()
    labelled = sum(int((y != 255).sum()) for _, y in val)
    assert conf.sum() == labelled and math.isfinite(loss)
    evaluate = segmentation_evaluator(ns["confusion_matrix"], {"miou": ns["mean_iou"]}, 7,
                                      progress=False)
    result = evaluate(Constant(), val)
    assert set(result) == {"loss", "miou"}
    union = conf.sum(0) + conf.sum(1) - conf.diagonal()
    present = union > 0  # sky (predicted everywhere) and the classes in the targets; IoU 0 but sky's
    assert present[4] and result["miou"] == pytest.approx(conf[4, 4] / union[4] / present.sum())


def test_full_mode_code_path_runs_a_step(ns, shapes, tmp_path, monkeypatch):
    """The `full` budget's loaders (with worker processes), the paper-width U-Net with VOC's 21
    classes, its optimiser and schedule, the checkpoint, and the pretrained smp model; only the
    image size and the number of images are shrunk so that a CPU does it in seconds."""
    full = dict(BUDGETS[STEM]["full"])
    assert full["dataset"] == "voc" and full["pretrained"]
    train, val = segmentation_loaders(shapes.voc_root, (64, 64), 2, train_images=2, val_images=2,
                                      num_workers=min(2, full["num_workers"]))
    num_classes = len(VOC_CLASSES)
    unet = ns["UNet"](3, num_classes, base_channels=full["base_channels"], depth=4)
    evaluate = segmentation_evaluator(ns["confusion_matrix"], {"miou": ns["mean_iou"]}, num_classes,
                                      progress=False)
    config = {k: full[k] for k in ("lr", "optimizer", "schedule", "weight_decay")}
    ckpt = tmp_path / "checkpoints" / "02_unet_voc.pt"
    history = fit_segmentation(unet, train, val, epochs=1, evaluate_fn=evaluate, checkpoint=ckpt,
                               progress=False, amp=torch.cuda.is_available(), **config)
    assert len(history["train_loss"]) == 1 and math.isfinite(history["train_loss"][0])
    assert 0 <= history["val_miou"][0] <= 1
    saved = torch.load(ckpt, weights_only=True)
    assert saved["epoch"] == 1 and set(saved["model"]) == set(unet.state_dict())

    from labutils.models import smp_unet as lib

    resnet = __import__("torchvision").models.resnet34()
    stand_in = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v
                for k, v in resnet.state_dict().items() if not k.startswith("fc.")}
    monkeypatch.setattr(lib, "imagenet_resnet_state", lambda encoder: stand_in)
    model = lib.smp_unet(num_classes, "resnet34", pretrained=full["pretrained"])
    assert model.imagenet and "ImageNet" in model.note
    assert torch.equal(model.model.net.encoder.conv1.weight, stand_in["conv1.weight"])
    history = fit_segmentation(model.model, train, val, epochs=1, evaluate_fn=evaluate,
                               progress=False, **config)
    assert math.isfinite(history["train_loss"][0])

    monkeypatch.setattr(lib, "imagenet_resnet_state", lambda encoder: None)  # offline
    model = lib.smp_unet(num_classes, "resnet34", pretrained=True)
    assert not model.imagenet and "RANDOM" in model.note


def test_smp_wrapper_pads_sides_the_encoder_cannot_take():
    from labutils.models.smp_unet import NormalizedSegmenter

    seen = []

    class Needs32(nn.Module):
        def forward(self, x):
            seen.append(tuple(x.shape[-2:]))
            assert x.shape[-2] % 32 == 0 and x.shape[-1] % 32 == 0
            return x[:, :2]

    out = NormalizedSegmenter(Needs32(), multiple=32)(torch.rand(1, 3, 50, 70))
    assert seen == [(64, 96)] and tuple(out.shape) == (1, 2, 50, 70)


def test_browser_draws_a_static_figure_or_builds_widgets(shapes):
    import matplotlib.pyplot as plt

    from labutils.data.classes import SHAPES_CLASSES
    from labutils.data.voc import voc_segmentation
    from labutils.widgets import widgets_supported
    from labutils.widgets.browser import segmentation_browser

    ds = voc_segmentation(shapes.voc_root, "val", (32, 40), limit=3)
    assert not widgets_supported()  # no kernel here
    fig = segmentation_browser(ds, SHAPES_CLASSES, static_samples=2)
    assert len(fig.axes) == 6 and fig.legends
    plt.close(fig)
    box = segmentation_browser(ds, SHAPES_CLASSES, interactive=True)
    sliders = [w for w in box.children[0].children]
    assert [s.description for s in sliders] == ["sample", "opacity"] and sliders[0].max == 2
    plt.close("all")


def _cell(grade_id: str = "", cell_id: str = "") -> str:
    import nbformat

    from tests.nb02_solution import NOTEBOOK

    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.get("id") == cell_id or (grade_id and cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id):
            return cell.source
    raise LookupError(grade_id or cell_id)


def test_unet_hidden_test_accepts_extra_keywords_but_not_wrong_defaults(ns, capsys):
    source = _cell("nb02-unet-test")
    base = ns["UNet"]

    class UNetWithOption(base):  # e.g. milesial's Pytorch-UNet adds `bilinear`
        def __init__(self, in_channels=3, num_classes=21, base_channels=64, depth=4, bilinear=False):
            super().__init__(in_channels, num_classes, base_channels, depth)

    class ShallowByDefault(base):
        def __init__(self, in_channels=3, num_classes=21, base_channels=64, depth=3):
            super().__init__(in_channels, num_classes, base_channels, depth)

    for cls, ok in ((base, True), (UNetWithOption, True), (ShallowByDefault, False)):
        namespace = {**ns, "UNet": cls}
        if ok:
            exec(source, namespace)
        else:
            with pytest.raises(AssertionError):
                exec(source, namespace)
    assert capsys.readouterr().err == ""


def test_failed_voc_download_falls_back_to_shapes_with_the_smoke_budget(shapes, monkeypatch, capsys):
    from labutils.data import real
    from labutils.data.classes import class_names
    from labutils.data.download import DownloadError
    from labutils.modes import budget

    def offline(root, **kwargs):
        raise DownloadError("cannot reach the VOC server (offline?)")

    monkeypatch.setattr(real, "download_voc", offline)
    lab = type("Lab", (), {"data_root": shapes.voc_root.parent})()
    namespace = {"budget": budget(STEM, "full"), "lab": lab, "shapes": shapes,
                 "class_names": class_names, "VOC_CLASSES": VOC_CLASSES}
    exec(_cell(cell_id="2978001d"), namespace)
    assert namespace["DATASET"] == "shapes" and namespace["voc_root"] == shapes.voc_root
    assert namespace["budget"] == budget(STEM, "smoke")
    out = capsys.readouterr().out
    assert "cannot reach the VOC server" in out and "smoke mode's budget" in out


def test_validation_pass_has_a_progress_bar_that_can_be_turned_off(ns, shapes, capsys):
    _, val = segmentation_loaders(shapes.voc_root, (32, 40), 2, val_images=4)
    net = ns["UNet"](3, 7, base_channels=4, depth=1)
    accumulate_confusion(net, val, ns["confusion_matrix"], 7, progress=False)
    assert capsys.readouterr().err == ""
    accumulate_confusion(net, val, ns["confusion_matrix"], 7)
    assert "validation" in capsys.readouterr().err
