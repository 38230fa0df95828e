"""The real datasets of `full` mode, fetched on request into the data root.

* :func:`download_voc`: Pascal VOC 2012 trainval (about 2 GB) -> ``<root>/voc``, the folder to
  give ``VOCSegmentation(root, year="2012")``.
* :func:`download_coco_subset`: the COCO 2017 instance annotations (about 240 MB), then only
  the val2017 images of a few categories -> ``<root>/coco``; category ids are renumbered 1..K
  in the subset's JSON so that they are the model's label ids (the original id is kept as
  ``coco_id``). :func:`coco_subset` finds it once downloaded, without downloading.
* :func:`download_coco_panoptic`: the COCO 2017 panoptic annotations (about 820 MB) for val2017.

Everything is resumable, checksum-verified where a checksum exists, and atomic.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from labutils.data import sources
from labutils.data.download import DownloadError, Source, atomic_tree, download, extract
from labutils.data.shapes import CocoSplit

STAMP = ".complete"


def download_voc(root: Path | str, keep_archive: bool = False, progress: bool = True) -> Path:
    """Pascal VOC 2012 under ``<root>/voc``; returns that folder (VOCSegmentation's ``root``)."""
    root = Path(root)
    out = root / "voc"
    if (out / STAMP).is_file():
        return out
    archive = download(sources.VOC2012, root / "downloads", progress=progress)
    with atomic_tree(out) as tmp:
        extract(archive, tmp)
        if not (tmp / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation").is_dir():
            raise DownloadError(f"{archive.name} has no VOCdevkit/VOC2012/ImageSets/Segmentation: "
                                f"delete {archive} and download again")
        (tmp / STAMP).write_text(sources.VOC2012.md5 or "")
    if not keep_archive:
        archive.unlink()
    return out


def _extract_member(archive: Path, member: str, dest: Path) -> Path:
    """Extract one member of a zip to ``dest`` (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        extract(archive, Path(tmp), members_prefix=member)
        src = Path(tmp) / member
        if not src.exists():
            raise DownloadError(f"{archive.name} has no {member}: delete it and download again")
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        os.replace(src, dest)
    return dest


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def _valid_image(path: Path, width: int, height: int) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            return im.size == (width, height)
    except Exception:  # noqa: BLE001 (any decoding problem means "not a valid image")
        return False


def _image_source(file_name: str) -> Source:
    override = os.environ.get(sources.COCO_IMAGES_ENV, "").rstrip("/")
    urls = tuple(u.format(file_name=file_name) for u in sources.COCO_VAL2017_IMAGE_URLS)
    if override:
        urls = (f"{override}/{file_name}",) + urls
    return Source(name=f"COCO image {file_name}", filename=file_name, urls=urls, md5=None,
                  override_env=None)


def instances_val2017(root: Path | str, progress: bool = True) -> Path:
    """COCO's ``instances_val2017.json`` under ``<root>/coco/annotations`` (downloaded once)."""
    ann_dir = Path(root) / "coco" / "annotations"
    path = ann_dir / "instances_val2017.json"
    if not path.is_file():
        archive = download(sources.COCO_ANNOTATIONS_2017, Path(root) / "downloads", progress=progress)
        _extract_member(archive, "annotations/instances_val2017.json", path)
    return path


def _subset_split(root: Path) -> CocoSplit:
    coco_dir = root / "coco"
    return CocoSplit(images=coco_dir / "val2017",
                     instances=coco_dir / "annotations" / "instances_val2017_subset.json")


def coco_subset(root: Path | str) -> CocoSplit | None:
    """The COCO subset that :func:`download_coco_subset` wrote under ``root``, or None (never
    downloads). Its categories are numbered 1..K (the original id is each one's ``coco_id``)."""
    split = _subset_split(Path(root))
    return split if split.instances.is_file() and split.images.is_dir() else None


def download_coco_subset(root: Path | str, categories: tuple[str, ...] | None = None,
                         per_category: int | None = None, progress: bool = True) -> CocoSplit:
    """A COCO val2017 subset: the first ``per_category`` images (by id) of each category."""
    from tqdm.auto import tqdm

    root = Path(root)
    categories = categories or sources.COCO_SUBSET_CATEGORIES
    per_category = per_category or sources.COCO_SUBSET_IMAGES_PER_CATEGORY
    split = _subset_split(root)
    subset_path = split.instances
    wanted = {"categories": list(categories), "per_category": per_category}
    if subset_path.is_file() and json.loads(subset_path.read_text()).get("info", {}).get("subset") == wanted:
        return split

    full = json.loads(instances_val2017(root, progress).read_text())
    by_name = {c["name"]: c for c in full["categories"]}
    unknown = [n for n in categories if n not in by_name]
    if unknown:
        raise ValueError(f"not COCO categories: {unknown}; choose from {sorted(by_name)}")
    new_id = {by_name[n]["id"]: i for i, n in enumerate(categories, start=1)}
    chosen: set[int] = set()
    for name in categories:
        cid = by_name[name]["id"]
        ids = sorted({a["image_id"] for a in full["annotations"]
                      if a["category_id"] == cid and not a["iscrowd"]})
        chosen.update(ids[:per_category])
    images = [im for im in full["images"] if im["id"] in chosen]
    images.sort(key=lambda im: im["id"])

    split.images.mkdir(parents=True, exist_ok=True)
    for im in tqdm(images, desc="COCO val2017 images", unit="img", disable=not progress):
        path = split.images / im["file_name"]
        if path.is_file() and _valid_image(path, im["width"], im["height"]):
            continue
        path.unlink(missing_ok=True)
        got = download(_image_source(im["file_name"]), split.images, progress=False)
        if not _valid_image(got, im["width"], im["height"]):
            got.unlink()
            raise DownloadError(f"{im['file_name']} did not decode as a {im['width']}x{im['height']} "
                                "image: run again to fetch it anew")

    annotations = [dict(a, category_id=new_id[a["category_id"]]) for a in full["annotations"]
                   if a["image_id"] in chosen and a["category_id"] in new_id]
    cats = [dict(by_name[n], id=new_id[by_name[n]["id"]], coco_id=by_name[n]["id"]) for n in categories]
    info = dict(full.get("info", {}), subset=wanted)
    _write_json_atomic(subset_path, {"info": info, "licenses": full.get("licenses", []),
                                     "images": images, "annotations": annotations,
                                     "categories": cats})
    return split


def download_coco_panoptic(root: Path | str, progress: bool = True) -> CocoSplit:
    """COCO 2017 panoptic val annotations (JSON + PNGs) under ``<root>/coco/annotations``."""
    root = Path(root)
    ann_dir = root / "coco" / "annotations"
    pan_json = ann_dir / "panoptic_val2017.json"
    pan_dir = ann_dir / "panoptic_val2017"
    split = CocoSplit(images=root / "coco" / "val2017", instances=ann_dir / "instances_val2017.json",
                      panoptic_json=pan_json, panoptic_masks=pan_dir)
    if pan_json.is_file() and (pan_dir / STAMP).is_file():
        return split
    archive = download(sources.COCO_PANOPTIC_2017, root / "downloads", progress=progress)
    _extract_member(archive, "annotations/panoptic_val2017.json", pan_json)
    inner = _extract_member(archive, "annotations/panoptic_val2017.zip", ann_dir / "panoptic_val2017.zip")
    with atomic_tree(pan_dir) as tmp:
        extract(inner, tmp)
        nested = tmp / "panoptic_val2017"
        if nested.is_dir():  # the inner zip holds a folder of the same name
            for png in nested.iterdir():
                png.rename(tmp / png.name)
            nested.rmdir()
        (tmp / STAMP).write_text("ok")
    inner.unlink()
    return split


