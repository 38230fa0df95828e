"""``labutils.data.real.coco_subset`` finds the COCO subset that ``download_coco_subset`` wrote
(never downloading), and notebook 03's full-mode data path fine-tunes on such a tree."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from PIL import Image

from labutils.data import real
from labutils.session import Lab
from tests.conftest import REPO

NOTEBOOK = REPO / "solutions" / "03_mask_rcnn_coco.ipynb"


def _tiny_subset(root: Path, n_images: int = 4) -> None:
    """The layout download_coco_subset writes: person and dog, renumbered 1 and 2."""
    images_dir = root / "coco" / "val2017"
    images_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images, annotations = [], []
    for i in range(1, n_images + 1):
        name = f"{i:012d}.jpg"
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(images_dir / name)
        images.append({"id": i, "file_name": name, "height": 48, "width": 64})
        for k, (x, y, cat) in enumerate([(5, 6, 1), (30, 20, 2)]):
            annotations.append({"id": 10 * i + k, "image_id": i, "category_id": cat, "iscrowd": 0,
                                "bbox": [x, y, 20, 16], "area": 320.0,
                                "segmentation": [[x, y, x + 20, y, x + 20, y + 16, x, y + 16]]})
    categories = [{"id": 1, "name": "person", "supercategory": "person", "coco_id": 1},
                  {"id": 2, "name": "dog", "supercategory": "animal", "coco_id": 18}]
    ann_dir = root / "coco" / "annotations"
    ann_dir.mkdir(parents=True)
    (ann_dir / "instances_val2017_subset.json").write_text(json.dumps(
        {"info": {"subset": {"categories": ["person", "dog"], "per_category": 2}},
         "images": images, "annotations": annotations, "categories": categories}))


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("coco_subset must not download")

    monkeypatch.setattr(real, "download", refuse)


def test_coco_subset_is_none_until_downloaded(tmp_path, offline):
    assert real.coco_subset(tmp_path) is None
    _tiny_subset(tmp_path)
    split = real.coco_subset(str(tmp_path))
    assert split is not None
    assert split.instances == tmp_path / "coco" / "annotations" / "instances_val2017_subset.json"
    assert split.images == tmp_path / "coco" / "val2017"
    split.instances.unlink()  # images without the subset's JSON (e.g. an interrupted download)
    assert real.coco_subset(tmp_path) is None


def test_download_coco_subset_returns_the_split_coco_subset_finds(tmp_path, offline):
    _tiny_subset(tmp_path)  # already there with the wanted categories: nothing to download
    split = real.download_coco_subset(tmp_path, categories=("person", "dog"), per_category=2,
                                      progress=False)
    assert split == real.coco_subset(tmp_path)


def test_notebook_full_mode_fine_tunes_on_the_subset(tmp_path, offline):
    """The notebook's data, model, split and training cells in full mode, one step."""
    _tiny_subset(tmp_path)
    cells = {c.id: c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells}
    budget = {"dataset": "coco", "image_size": (64, 80), "minutes": 1.0, "max_steps": 1,
              "batch_size": 2, "val_images": 1, "lr": 1e-3, "workers": 0, "threads": None,
              "gallery": 1}
    lab = Lab(notebook="03_mask_rcnn_coco", mode="full", reason="test", device=torch.device("cpu"),
              data_root=tmp_path, seed=0, colab=False, budget=budget)
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    ns = {"lab": lab, "pretrained": None,  # as offline: no weights (section 4 is left out)
          "maskrcnn_resnet50_fpn": maskrcnn_resnet50_fpn}
    threads = torch.get_num_threads()
    try:
        for cell_id in ("ca747f89", "745f486a", "471458cf", "bf7c8354",
                        "4a938bf8", "3430b06d", "04e62d7c"):
            source = "\n".join(line for line in cells[cell_id].splitlines()
                               if not line.startswith("###"))  # the solution markers
            exec(compile(source, cell_id, "exec"), ns)  # noqa: S102 - our own notebook
    finally:
        torch.set_num_threads(threads)
    assert ns["dataset_name"] == "COCO val2017 subset"
    assert ns["model_names"] == ["__background__", "person", "dog"]
    model = ns["model"]
    assert model.roi_heads.box_predictor.cls_score.out_features == 3
    assert model.roi_heads.mask_predictor.mask_fcn_logits.out_channels == 3
    assert len(ns["train_set"]) == 3 and len(ns["val_set"]) == 1
    assert len(ns["history"]["loss"]) == 1 and np.isfinite(ns["history"]["loss"][0])
