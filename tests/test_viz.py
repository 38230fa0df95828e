"""Figures: colours are right, and the figures have titles, axes labels and legends."""

from __future__ import annotations

import numpy as np
import torch

from labutils.data.classes import SHAPES_CLASSES, VOC_PALETTE, VOID
from labutils.viz import VOID_COLOR, colorize, overlay, plot_curves, show_segmentation, to_numpy_image


def test_voc_palette_matches_the_devkit():
    assert VOC_PALETTE[0].tolist() == [0, 0, 0]
    assert VOC_PALETTE[1].tolist() == [128, 0, 0]
    assert VOC_PALETTE[15].tolist() == [192, 128, 128]  # person
    assert VOC_PALETTE[255].tolist() == [224, 224, 192]


def test_colorize_and_overlay():
    labels = np.array([[0, 1], [VOID, 15]])
    rgb = colorize(torch.as_tensor(labels))
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 1].tolist() == [128, 0, 0] and rgb[1, 0].tolist() == list(VOID_COLOR)
    image = torch.ones(3, 2, 2)  # white, float in [0, 1]
    out = overlay(image, labels, alpha=0.5, ignore=[0])
    assert out[0, 0].tolist() == [255, 255, 255]  # ignored class stays as the image
    assert out[0, 1].tolist() == [192, 128, 128]


def test_to_numpy_image_accepts_chw_float_and_uint8():
    assert to_numpy_image(torch.zeros(3, 4, 5)).shape == (4, 5, 3)
    assert to_numpy_image(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)


def test_figures_have_titles_labels_and_legends():
    labels = np.random.default_rng(0).integers(1, 7, (16, 20))
    fig = show_segmentation([{"image": torch.rand(3, 16, 20), "target": labels, "prediction": labels}],
                            SHAPES_CLASSES, title="Shapes")
    assert fig._suptitle.get_text() == "Shapes"
    assert [ax.get_title() for ax in fig.axes[:3]] == ["image", "target", "prediction"]
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "4 sky" in texts and "255 void" in texts
    fig = plot_curves({"train_loss": [1, 0.5], "val_loss": [1.1, 0.7], "val_miou": [0.2, 0.5]},
                      groups={"loss": ["train_loss", "val_loss"], "mIoU": ["val_miou"]})
    ax_loss, ax_miou = fig.axes
    assert ax_loss.get_ylabel() == "loss" and ax_loss.get_xlabel() == "epoch"
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["train loss", "val loss"]
