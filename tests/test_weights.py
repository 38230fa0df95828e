"""Pretrained weights: the cached path through torchvision's own API, and the offline fallback."""

from __future__ import annotations

import urllib.error

import torch
from torchvision.models import MobileNet_V3_Small_Weights, mobilenet_v3_small
from torchvision.models.detection import MaskRCNN_ResNet50_FPN_Weights, maskrcnn_resnet50_fpn

from labutils.weights import cache_path, is_cached, load_weights


def _no_network(*args, **kwargs):
    raise urllib.error.URLError("no network in this test")


def test_cached_weights_are_loaded_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    weights = MobileNet_V3_Small_Weights.IMAGENET1K_V1
    stand_in = mobilenet_v3_small(weights=None)
    with torch.no_grad():
        for p in stand_in.parameters():
            p.fill_(0.125)
    path = cache_path(weights)
    assert path.parent == tmp_path / "hub" / "checkpoints"
    path.parent.mkdir(parents=True)
    torch.save(stand_in.state_dict(), path)
    assert is_cached(weights)

    model, pretrained = load_weights(mobilenet_v3_small, weights)
    assert pretrained
    assert all((p == 0.125).all() for p in model.parameters())


def test_offline_falls_back_to_random_init_with_a_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    weights = MaskRCNN_ResNet50_FPN_Weights.COCO_V1
    model, pretrained = load_weights(maskrcnn_resnet50_fpn, weights)
    assert not pretrained
    assert model.roi_heads.box_predictor.cls_score.out_features == 91
    message = capsys.readouterr().out
    assert "Could not load the pretrained" in message and "no network" in message
    assert str(cache_path(weights).parent) in message and cache_path(weights).name in message
    assert not is_cached(weights)
