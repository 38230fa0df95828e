"""A light Mask R-CNN that learns the Shapes data from scratch on a CPU in a few minutes.

It is torchvision's own :class:`~torchvision.models.detection.MaskRCNN` (the same RPN, RoIAlign,
box and mask heads, losses and post-processing as ``maskrcnn_resnet50_fpn``), with every part
sized for 128 x 160 images whose objects are 5-60 pixels across:

* a small VGG-like backbone with *trainable* ``BatchNorm2d`` (torchvision's detection models
  freeze batch norm because they start from ImageNet statistics; from scratch there are none
  to keep), and a thin FPN at strides 4, 8, 16 (+ a max-pooled stride 32);
* one anchor size per level, matched to the objects (8, 16, 32, 64 pixels);
* few proposals and sampled RoIs, a small box head and a two-layer mask head;
* RoIs pooled from the stride-4 level only: at these object sizes FPN's level rule
  (``k = 4 + log2(sqrt(area) / 224)``) sends every box there anyway.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.ops import MultiScaleRoIAlign
from torchvision.ops.misc import Conv2dNormActivation

ANCHOR_SIZES = ((8,), (16,), (32,), (64,))  # one size per FPN level (strides 4, 8, 16, 32)
ASPECT_RATIOS = (0.5, 1.0, 2.0)


def _stage(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """Two 3x3 conv + BatchNorm2d + ReLU; the first one may downsample."""
    return nn.Sequential(
        Conv2dNormActivation(c_in, c_out, 3, stride=stride, norm_layer=nn.BatchNorm2d),
        Conv2dNormActivation(c_out, c_out, 3, norm_layer=nn.BatchNorm2d),
    )


def small_backbone(width: int = 24, fpn_channels: int = 64) -> BackboneWithFPN:
    """A from-scratch CNN (strides 2-16, channels ``width`` x 1, 1.5, 3, 4) with an FPN on top.

    Returns feature maps ``"0"``, ``"1"``, ``"2"`` (strides 4, 8, 16) and ``"pool"`` (32).
    """
    widths = [width, width * 3 // 2, width * 3, width * 4]
    body = nn.Sequential(OrderedDict([
        ("stem", _stage(3, widths[0], 2)),            # stride 2
        ("layer1", _stage(widths[0], widths[1], 2)),  # stride 4
        ("layer2", _stage(widths[1], widths[2], 2)),  # stride 8
        ("layer3", _stage(widths[2], widths[3], 2)),  # stride 16
    ]))
    return BackboneWithFPN(body, {"layer1": "0", "layer2": "1", "layer3": "2"},
                           in_channels_list=widths[1:], out_channels=fpn_channels)


def light_maskrcnn(num_classes: int = 4, image_size: tuple[int, int] = (128, 160),
                   width: int = 24, fpn_channels: int = 64, representation: int = 256,
                   mask_channels: int = 32,
                   anchor_sizes: tuple[tuple[int, ...], ...] = ANCHOR_SIZES,
                   rpn_proposals: tuple[int, int] = (300, 150),
                   rpn_proposals_test: tuple[int, int] = (300, 100),
                   rois_per_image: int = 64, detections_per_img: int = 50) -> MaskRCNN:
    """torchvision's ``MaskRCNN`` built for small images and small objects, from scratch.

    ``num_classes`` counts the background (Shapes: 4). ``image_size`` is ``(H, W)``; the model's
    own transform keeps images at that size. ``rpn_proposals`` is (pre-NMS, post-NMS) per image
    while training, ``rpn_proposals_test`` the same at inference; ``rois_per_image`` RoIs are
    sampled per image to train the box head.
    """
    backbone = small_backbone(width, fpn_channels)
    anchors = AnchorGenerator(anchor_sizes, (ASPECT_RATIOS,) * len(anchor_sizes))
    box_pool = MultiScaleRoIAlign(["0"], output_size=7, sampling_ratio=2)
    mask_pool = MultiScaleRoIAlign(["0"], output_size=14, sampling_ratio=2)
    box_head = TwoMLPHead(fpn_channels * 7 * 7, representation)
    mask_head = MaskRCNNHeads(fpn_channels, (mask_channels, mask_channels), 1,
                              norm_layer=nn.BatchNorm2d)
    return MaskRCNN(
        backbone,
        min_size=min(image_size), max_size=max(image_size),
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=rpn_proposals[0], rpn_post_nms_top_n_train=rpn_proposals[1],
        rpn_pre_nms_top_n_test=rpn_proposals_test[0],
        rpn_post_nms_top_n_test=rpn_proposals_test[1],
        rpn_batch_size_per_image=128,
        box_roi_pool=box_pool, box_head=box_head,
        box_predictor=FastRCNNPredictor(representation, num_classes),
        box_batch_size_per_image=rois_per_image, box_detections_per_img=detections_per_img,
        mask_roi_pool=mask_pool, mask_head=mask_head,
        mask_predictor=MaskRCNNPredictor(mask_channels, mask_channels, num_classes),
    )
