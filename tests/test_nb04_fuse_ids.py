"""Notebook 04's ``rgb2id`` / ``id2rgb`` and ``fuse_panoptic``: hand-built cases, a PNG round
trip, and the self-checks against deliberately wrong versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from labutils.checks import nb04 as checks
from tests.nb04_solution import mutant, run_test_cell, solution

CIRCLE, SQUARE, TRIANGLE, SKY, GRASS, WATER = 1, 2, 3, 4, 5, 6
THINGS, STUFF = (1, 2, 3), (4, 5, 6)


def test_rgb2id_known_colours_and_kinds():
    rgb2id = solution()["rgb2id"]
    rgb = np.array([[[0, 0, 0], [1, 2, 3], [255, 255, 255]]], dtype=np.uint8)
    # 1 + 2*256 + 3*65536 = 197121; 255 + 255*256 + 255*65536 = 2**24 - 1
    assert rgb2id(rgb).tolist() == [[0, 197121, 2 ** 24 - 1]]
    out = rgb2id(torch.from_numpy(rgb))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int64
    assert out.tolist() == [[0, 197121, 2 ** 24 - 1]]


def test_png_round_trip(tmp_path):
    sol = solution()
    ids = np.random.default_rng(1).integers(0, 256 ** 3, (9, 11))
    Image.fromarray(sol["id2rgb"](ids)).save(tmp_path / "p.png")
    back = sol["rgb2id"](np.asarray(Image.open(tmp_path / "p.png")))
    assert back.dtype == np.int64 and (back == ids).all()
    t = torch.from_numpy(ids)
    assert (sol["rgb2id"](sol["id2rgb"](t)) == t).all()


def test_checks_catch_uint8_overflow_and_swapped_channels():
    with pytest.raises(AssertionError, match="int64"):
        checks.check_rgb2id(lambda rgb: rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2])
    swapped = mutant("nb04-rgb2id", "wide[..., 0] + 256 * wide[..., 1] + 256 * 256 * wide[..., 2]",
                     "wide[..., 2] + 256 * wide[..., 1] + 256 * 256 * wide[..., 0]")
    with pytest.raises(AssertionError, match="lowest byte"):
        checks.check_rgb2id(swapped["rgb2id"])
    with pytest.raises(AssertionError):
        checks.check_id2rgb(lambda ids: np.stack([ids % 256, ids // 256, ids // 65536], -1).astype(np.uint8))


def _box(rows, cols, shape=(8, 10)):
    mask = np.zeros(shape, bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def test_fuse_panoptic_by_hand():
    fuse = solution()["fuse_panoptic"]
    semantic = np.full((8, 10), GRASS)
    semantic[:2] = SKY  # sky: rows 0-1 (20 px)
    semantic[7, 9] = WATER  # a single water pixel
    semantic[6, 0] = CIRCLE  # a thing class in the semantic map
    big = _box((2, 6), (1, 5))  # 16 px
    over = _box((3, 7), (3, 7))  # 16 px; 6 of them (rows 3-5, cols 3-4) under `big`
    dup = _box((2, 6), (2, 5))  # 12 px, all under `big`
    weak = _box((0, 2), (7, 10))  # 6 px, score 0.2
    instances = {"masks": np.stack([over, big, dup, weak]).astype(np.float32),
                 "scores": np.array([0.8, 0.9, 0.85, 0.2]), "labels": np.array([SQUARE, CIRCLE, CIRCLE, TRIANGLE])}
    ids, info = fuse(instances, semantic, THINGS, STUFF, stuff_area_threshold=5)
    # order by score: big (0.9) -> segment 1, 16 px; dup (0.85): 0 px visible -> dropped;
    # over (0.8): 16 - 6 = 10 px visible >= 0.5 * 16 -> segment 2; weak (0.2 < 0.5): dropped.
    # stuff, increasing id: sky (4) 20 px -> segment 3; grass (5): 80 - 20 - 1 - 1 - 26 = 32 px
    # -> segment 4; water (6): 1 px < 5 -> VOID. The circle pixel of the semantic map: VOID.
    assert [(s["id"], s["category_id"], s["area"]) for s in info] == [
        (1, CIRCLE, 16), (2, SQUARE, 10), (3, SKY, 20), (4, GRASS, 32)]
    assert ids[7, 9] == 0 and ids[6, 0] == 0 and (ids == 0).sum() == 2
    assert info[1]["bbox"] == [3.0, 3.0, 4.0, 4.0]  # the square's visible part spans rows/cols 3-6
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int64
    # overlap_threshold 0.7: the square keeps 10/16 = 0.625 < 0.7 -> dropped; grass grows by 10.
    ids2, info2 = fuse(instances, semantic, THINGS, STUFF, overlap_threshold=0.7, stuff_area_threshold=5)
    assert [(s["category_id"], s["area"]) for s in info2] == [(CIRCLE, 16), (SKY, 20), (GRASS, 42)]
    # torch in, torch out
    ids3, _ = fuse({k: torch.as_tensor(v) for k, v in instances.items()}, torch.as_tensor(semantic),
                   THINGS, STUFF, stuff_area_threshold=5)
    assert isinstance(ids3, torch.Tensor) and ids3.tolist() == ids.tolist()


WRONG_FUSION = {
    "input order instead of score order": ("torch.argsort(-scores, stable=True).tolist()",
                                           "range(len(scores))"),
    "no duplicate rule": ("kept < overlap_threshold * area", "False"),
    "score threshold is strict": ("score < score_threshold", "score <= score_threshold"),
    "stuff area threshold ignored": ("area < stuff_area_threshold", "False"),
    "stuff overwrites things": ("region = (sem == category) & (panoptic == 0)", "region = sem == category"),
}


@pytest.mark.parametrize("what", WRONG_FUSION)
def test_self_checks_catch_wrong_fusions(what):
    old, new = WRONG_FUSION[what]
    wrong = mutant("nb04-fuse-panoptic", old, new)["fuse_panoptic"]
    with pytest.raises(AssertionError):
        checks.check_fuse_panoptic_things(wrong)
        checks.check_fuse_panoptic_stuff(wrong)


def test_self_checks_pass_the_solution():
    sol = solution()
    checks.check_rgb2id(sol["rgb2id"])
    checks.check_id2rgb(sol["id2rgb"])
    checks.check_fuse_panoptic_things(sol["fuse_panoptic"])
    checks.check_fuse_panoptic_stuff(sol["fuse_panoptic"])


def test_empty_stuff_segment_is_caught_by_the_visible_check_not_only_the_hidden_one():
    # Creating a segment for a stuff class with no free pixels (threshold 0) shifts later ids.
    wrong = mutant("nb04-fuse-panoptic", "if area == 0 or area < stuff_area_threshold:",
                   "if area < stuff_area_threshold:")["fuse_panoptic"]
    with pytest.raises(AssertionError, match="no free pixels makes no segment at all"):
        checks.check_fuse_panoptic_stuff(wrong)
    # ... and the things points do not hinge on it: the hidden things test uses a threshold of 1.
    run_test_cell("nb04-fuse-panoptic-things-test", fuse_panoptic=wrong)


def test_score_threshold_hint_names_the_default():
    wrong = mutant("nb04-fuse-panoptic", "score < score_threshold", "score <= score_threshold")
    with pytest.raises(AssertionError, match=r"default 0\.5: the 0\.3 triangle goes.*the 0\.5 square stays"):
        checks.check_fuse_panoptic_things(wrong["fuse_panoptic"])


class _Pair(tuple):
    """A tuple subclass: a right answer in another container still earns the points."""


@pytest.mark.parametrize("grade_id", ["nb04-fuse-panoptic-things-test", "nb04-fuse-panoptic-stuff-test"])
def test_hidden_fusion_tests_accept_a_tuple_subclass(grade_id):
    fuse = solution()["fuse_panoptic"]
    run_test_cell(grade_id, fuse_panoptic=lambda *a, **k: _Pair(fuse(*a, **k)))
