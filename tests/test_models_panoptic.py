"""labutils.models.panoptic: checkpoint reuse, the two models' outputs as fusion inputs, and
the IoU evaluator of the stuff model."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from labutils.data.classes import VOID
from labutils.models.panoptic import iou_evaluator, load_compatible, predict_parts


def _net(classes: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, classes, 1))


def test_load_compatible_reuses_a_fit_segmentation_checkpoint(tmp_path):
    trained = _net()
    for p in trained.parameters():
        p.data.add_(1.0)
    history = {"train_loss": [0.5, 0.25], "val_miou": [0.6, 0.8]}
    torch.save({"model": trained.state_dict(), "epoch": 2, "history": history}, tmp_path / "ck.pt")
    model = _net()
    extra = load_compatible(model, tmp_path / "ck.pt")
    assert extra == {"epoch": 2, "history": history}
    for name, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name


def test_load_compatible_takes_a_bare_state_dict(tmp_path):
    trained = _net()
    torch.nn.init.constant_(trained[0].weight, 0.5)
    torch.save(trained.state_dict(), tmp_path / "bare.pt")
    model = _net()
    assert load_compatible(model, tmp_path / "bare.pt") == {}
    assert float(model[0].weight.detach().min()) == 0.5


@pytest.mark.parametrize("case", ["missing", "other classes", "not a checkpoint", "not a dict"])
def test_load_compatible_leaves_the_model_alone_otherwise(tmp_path, case):
    path = tmp_path / "ck.pt"
    if case == "other classes":
        torch.save({"model": _net(classes=5).state_dict(), "epoch": 1}, path)
    elif case == "not a checkpoint":
        path.write_bytes(b"this is not a torch file")
    elif case == "not a dict":
        torch.save([1, 2, 3], path)
    model = _net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert load_compatible(model, path) is None
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


class _FakeDetector(nn.Module):
    """Returns, for every image, two detections whose masks mark the image's own number."""

    def forward(self, images):
        outs = []
        for image in images:
            h, w = image.shape[-2:]
            masks = torch.zeros(2, 1, h, w)
            masks[0, 0, :2] = float(image[0, 0, 0])  # a soft mask, value from the image
            masks[1, 0, :, :3] = 1.0
            outs.append({"masks": masks, "scores": torch.tensor([0.9, 0.4]),
                         "labels": torch.tensor([1, 3]), "boxes": torch.zeros(2, 4)})
        return outs


class _HalfSplit(nn.Module):
    """Logits of 7 classes: 4 (sky) in the left half of its input, 5 (grass) in the right; it
    records the sizes it saw."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        n, _, h, w = x.shape
        self.seen.append((h, w))
        logits = torch.zeros(n, 7, h, w)
        logits[:, 4, :, : w // 2] = 5.0
        logits[:, 5, :, w // 2:] = 5.0
        return logits


def test_predict_parts_gives_fusion_inputs_at_image_size():
    images = [torch.full((3, 8, 12), v) for v in (0.1, 0.2, 0.3)]
    segmenter = _HalfSplit()
    segmenter.train()
    pairs = predict_parts(_FakeDetector(), segmenter, images, semantic_size=(4, 6), batch_size=2,
                          progress=False)
    assert len(pairs) == 3 and not segmenter.training
    assert segmenter.seen == [(4, 6), (4, 6)]  # two batches, both at the semantic size
    for image, (instances, semantic) in zip(images, pairs):
        assert set(instances) == {"masks", "scores", "labels"}
        assert tuple(instances["masks"].shape) == (2, 8, 12)  # (N, 1, H, W) -> (N, H, W)
        assert float(instances["masks"][0, 0, 0]) == pytest.approx(float(image[0, 0, 0]))
        assert instances["masks"][1, :, :3].eq(1).all() and instances["masks"][1, :, 3:].eq(0).all()
        assert instances["labels"].tolist() == [1, 3]
        assert semantic.dtype == torch.int64 and tuple(semantic.shape) == (8, 12)
        assert semantic[:, :6].eq(4).all() and semantic[:, 6:].eq(5).all()


def test_predict_parts_with_the_light_maskrcnn():
    from labutils.models.maskrcnn import light_maskrcnn

    torch.manual_seed(0)
    detector = light_maskrcnn(4, image_size=(32, 40))
    images = [torch.rand(3, 48, 60) for _ in range(2)]
    pairs = predict_parts(detector, _HalfSplit(), images, progress=False)
    for instances, semantic in pairs:
        n = len(instances["scores"])
        assert tuple(instances["masks"].shape) == (n, 48, 60)
        assert len(instances["labels"]) == n and tuple(semantic.shape) == (48, 60)


class _Fixed(nn.Module):
    """Predicts the given label maps (one-hot logits), whatever the images."""

    def __init__(self, labels: torch.Tensor, classes: int):
        super().__init__()
        self.logits = 4.0 * nn.functional.one_hot(labels, classes).permute(0, 3, 1, 2).float()
        self.calls = 0

    def forward(self, x):
        out = self.logits[self.calls:self.calls + len(x)]
        self.calls += len(x)
        return out


def test_iou_evaluator_matches_counts_by_hand():
    target = torch.tensor([[[0, 0, 1, 1], [2, 2, VOID, 1]]])
    pred = torch.tensor([[[0, 1, 1, 1], [2, 0, 2, 1]]])
    model = _Fixed(pred, classes=3)
    loader = DataLoader(TensorDataset(torch.zeros(1, 3, 2, 4), target), batch_size=1)
    out = iou_evaluator(3, {"a": 0, "b": 1, "c": 2})(model, loader)
    # class 0: TP 1 (pixel (0,0)), FP 1 ((1,1)), FN 1 ((0,1)) -> 1/3; class 1: TP 3, FP 1 -> 3/4;
    # class 2: TP 1, FN 1 ((1,1)); the prediction at the VOID pixel is ignored -> 1/2.
    assert out["iou_a"] == pytest.approx(1 / 3)
    assert out["iou_b"] == pytest.approx(3 / 4)
    assert out["iou_c"] == pytest.approx(1 / 2)
    expected = nn.functional.cross_entropy(model.logits, target, ignore_index=VOID)
    assert out["loss"] == pytest.approx(float(expected))


def test_load_compatible_checks_expected_settings(tmp_path):
    trained = _net()
    torch.nn.init.constant_(trained[0].weight, 0.5)
    torch.save({"model": trained.state_dict(), "image_size": [8, 10]}, tmp_path / "ck.pt")
    for expect in ({"image_size": (8, 12)}, {"num_classes": 3}):  # other value, absent entry
        model = _net()
        assert load_compatible(model, tmp_path / "ck.pt", expect=expect) is None
        assert float(model[0].weight.detach().min()) != 0.5
    model = _net()
    assert load_compatible(model, tmp_path / "ck.pt", expect={"image_size": (8, 10)}) == {"image_size": [8, 10]}
    assert float(model[0].weight.detach().min()) == 0.5
