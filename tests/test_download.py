"""Downloads against a local HTTP server (no network): clean, resumed, corrupted, dead mirror,
and the real dataset helpers on small archives the tests build."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from labutils.data import real, sources
from labutils.data.download import DownloadError, Source, download
from tests.http_server import FileServer, dead_url

PAYLOAD = os.urandom(300_000)
MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    with FileServer() as srv:
        srv.files["/data.bin"] = PAYLOAD
        yield srv


def _source(*urls, md5=MD5, env="LAB_TEST_URL"):
    return Source(name="test data", filename="data.bin", urls=tuple(urls), md5=md5, override_env=env)


def test_clean_download(server, tmp_path):
    path = download(_source(server.url("/data.bin")), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()
    # a second call trusts the verified file and does not fetch again
    download(_source(server.url("/data.bin")), tmp_path, progress=False)
    assert len(server.log) == 1


def test_resume_after_a_cut(server, tmp_path):
    server.cut_once["/data.bin"] = 100_000
    path = download(_source(server.url("/data.bin")), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.log == [("/data.bin", None), ("/data.bin", "bytes=100000-")]


def test_resume_a_part_left_by_an_earlier_run(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:123_456])
    download(_source(server.url("/data.bin")), tmp_path, progress=False)
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD
    assert server.log == [("/data.bin", "bytes=123456-")]


def test_checksum_mismatch_is_never_trusted(server, tmp_path):
    server.files["/bad.bin"] = PAYLOAD[:-1] + b"x"
    with pytest.raises(DownloadError, match="checksum mismatch") as err:
        download(_source(server.url("/bad.bin")), tmp_path, progress=False)
    assert "LAB_TEST_URL" in str(err.value)  # the error names the override
    assert list(tmp_path.iterdir()) == []  # neither a final nor a partial file is left
    # the next mirror is tried after a mismatch
    path = download(_source(server.url("/bad.bin"), server.url("/data.bin")), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_a_corrupt_final_file_is_replaced(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(b"truncated")
    assert download(_source(server.url("/data.bin")), tmp_path, progress=False).read_bytes() == PAYLOAD


def test_dead_first_mirror(server, tmp_path):
    path = download(_source(dead_url(), server.url("/data.bin")), tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_override_url_comes_first_and_all_failing_says_what_to_do(server, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_TEST_URL", server.url("/data.bin"))
    download(_source(dead_url()), tmp_path, progress=False)
    assert server.log[0][0] == "/data.bin"
    monkeypatch.delenv("LAB_TEST_URL")
    with pytest.raises(DownloadError) as err:
        download(_source(dead_url(), server.url("/missing")), tmp_path / "x", progress=False)
    message = str(err.value)
    assert "LAB_TEST_URL" in message and "404" in message and "put the file at" in message


# ---------------------------------------------------------------- the real dataset helpers


def _tar_of(tree_root, arc_prefix="") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(tree_root, arcname=arc_prefix or tree_root.name)
    return buf.getvalue()


def test_download_voc_gives_a_tree_vocsegmentation_reads(server, tmp_path, monkeypatch, shapes):
    from torchvision.datasets import VOCSegmentation

    archive = _tar_of(shapes.root / "VOCdevkit", "VOCdevkit")
    server.files["/voc.tar"] = archive
    monkeypatch.setattr(sources, "VOC2012", replace(
        sources.VOC2012, urls=(dead_url(), server.url("/voc.tar")),
        md5=hashlib.md5(archive).hexdigest()))
    root = real.download_voc(tmp_path, progress=False)
    assert len(VOCSegmentation(str(root), year="2012", image_set="val")) == 100
    assert not (tmp_path / "downloads" / "VOCtrainval_11-May-2012.tar").exists()
    n = len(server.log)
    assert real.download_voc(tmp_path, progress=False) == root and len(server.log) == n


def _jpeg(w, h, seed) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def test_download_coco_subset_picks_images_by_category(server, tmp_path, monkeypatch):
    from pycocotools.coco import COCO

    cats = [{"id": 1, "name": "person", "supercategory": "person"},
            {"id": 18, "name": "dog", "supercategory": "animal"},
            {"id": 3, "name": "car", "supercategory": "vehicle"}]
    images, anns = [], []
    for i in range(1, 9):
        images.append({"id": i, "file_name": f"{i:012d}.jpg", "width": 32, "height": 24})
        server.files[f"/val2017/{i:012d}.jpg"] = _jpeg(32, 24, i)
        cat = [1, 18, 3][i % 3]
        anns.append({"id": i, "image_id": i, "category_id": cat, "iscrowd": 0, "area": 20.0,
                     "bbox": [1, 1, 5, 4], "segmentation": [[1, 1, 6, 1, 6, 5, 1, 5]]})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("annotations/instances_val2017.json",
                    json.dumps({"info": {}, "images": images, "annotations": anns, "categories": cats}))
        zf.writestr("annotations/captions_val2017.json", "{}")
    server.files["/ann.zip"] = buf.getvalue()
    monkeypatch.setattr(sources, "COCO_ANNOTATIONS_2017", replace(
        sources.COCO_ANNOTATIONS_2017, urls=(server.url("/ann.zip"),),
        md5=hashlib.md5(buf.getvalue()).hexdigest()))
    monkeypatch.setattr(sources, "COCO_VAL2017_IMAGE_URLS", (dead_url("/{file_name}"),))
    monkeypatch.setenv(sources.COCO_IMAGES_ENV, server.url("/val2017"))
    server.cut_once["/val2017/000000000003.jpg"] = 50  # one image is cut and resumed

    split = real.download_coco_subset(tmp_path, categories=("dog", "person"), per_category=2,
                                      progress=False)
    coco = COCO(str(split.instances))
    # dog is in images 1, 4, 7 and person in 3, 6: the first two of each
    assert sorted(coco.getImgIds()) == [1, 3, 4, 6]
    assert sorted(p.name for p in split.images.iterdir()) == [f"{i:012d}.jpg" for i in (1, 3, 4, 6)]
    # category ids renumbered to the model's label ids, COCO's id kept
    assert {c["name"]: (c["id"], c["coco_id"]) for c in coco.loadCats(coco.getCatIds())} == {
        "dog": (1, 18), "person": (2, 1)}
    assert {a["category_id"] for a in coco.loadAnns(coco.getAnnIds())} == {1, 2}
    assert not (tmp_path / "coco" / "annotations" / "captions_val2017.json").exists()


def test_download_coco_panoptic_unpacks_the_nested_zip(server, tmp_path, monkeypatch):
    inner = io.BytesIO()
    png = io.BytesIO()
    Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(png, format="PNG")
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("panoptic_val2017/000000000001.png", png.getvalue())
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("annotations/panoptic_val2017.json", json.dumps({"annotations": []}))
        zf.writestr("annotations/panoptic_val2017.zip", inner.getvalue())
        zf.writestr("annotations/panoptic_train2017.zip", b"not needed")
    server.files["/pan.zip"] = outer.getvalue()
    monkeypatch.setattr(sources, "COCO_PANOPTIC_2017", replace(
        sources.COCO_PANOPTIC_2017, urls=(server.url("/pan.zip"),),
        md5=hashlib.md5(outer.getvalue()).hexdigest()))
    split = real.download_coco_panoptic(tmp_path, progress=False)
    assert json.loads(split.panoptic_json.read_text()) == {"annotations": []}
    assert (split.panoptic_masks / "000000000001.png").is_file()
    assert not (split.panoptic_masks.parent / "panoptic_val2017.zip").exists()
