"""Notebook 04's ``panoptic_quality`` on hand-built cases (expected numbers worked out below),
against torchmetrics where both definitions agree, and its self-check against wrong versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labutils.checks import nb04 as checks
from labutils.data.classes import shapes_categories
from tests.nb04_solution import mutant, run_test_cell, solution

CIRCLE, SQUARE, TRIANGLE, SKY, GRASS, WATER = 1, 2, 3, 4, 5, 6
CATS = shapes_categories()


def m(rows: str, **key: int) -> np.ndarray:
    """A tiny id map: one character per pixel, rows separated by spaces, '.' is VOID (0)."""
    key = {".": 0, **key}
    return np.array([[key[ch] for ch in row] for row in rows.split()], dtype=np.int64)


def seg(i: int, cat: int, crowd: int = 0) -> dict:
    return {"id": i, "category_id": cat, "iscrowd": crowd}


def pq(gt, pred):
    return solution()["panoptic_quality"](gt, pred, CATS)


def approx(group: dict, pq_, sq, rq, n) -> None:
    assert group["pq"] == pytest.approx(pq_, abs=1e-12)
    assert group["sq"] == pytest.approx(sq, abs=1e-12)
    assert group["rq"] == pytest.approx(rq, abs=1e-12)
    assert group["n"] == n and isinstance(group["n"], int)


def test_void_is_removed_from_the_union():
    gt = m("GGGGGG GAAA.. GAAA..", G=1, A=2)  # grass 8, circle A 6, VOID 4
    pred = m("GGGGGG aaaaaG GaaaaG", G=1, a=2)
    r = pq([(gt, [seg(1, GRASS), seg(2, CIRCLE)])], [(pred, [seg(1, GRASS), seg(2, CIRCLE)])])
    # circle a: 9 px = 6 on A + 2 on VOID + 1 on grass.
    #   union = 9 + 6 - 6 - 2 = 7, IoU 6/7 (it would be 6/9 without the VOID rule): TP.
    # grass g: 9 px = 7 on grass + 2 on VOID; union = 9 + 8 - 7 - 2 = 8, IoU 7/8: TP.
    circle, grass = 6 / 7, 7 / 8
    approx(r["Things"], circle, circle, 1.0, 1)
    approx(r["Stuff"], grass, grass, 1.0, 1)
    approx(r["All"], (circle + grass) / 2, (circle + grass) / 2, 1.0, 2)
    assert r["per_class"][CIRCLE] == pytest.approx({"pq": circle, "sq": circle, "rq": 1.0})


def test_unmatched_prediction_over_void_is_not_a_false_positive():
    gt = m("GGGG.... GGGG....", G=1)  # grass in columns 0-3 (8 px), VOID in columns 4-7
    one = [(gt, [seg(1, GRASS)])]

    pred = m("GGGGGsss GGGGtttt", G=1, s=2, t=3)
    r = pq(one, [(pred, [seg(1, GRASS), seg(2, SQUARE), seg(3, TRIANGLE)])])
    # grass: 9 px (1 on VOID), union = 9 + 8 - 8 - 1 = 8, IoU 1.
    # square s (3 px) and triangle t (4 px) lie entirely on VOID: ignored, not FPs.
    approx(r["All"], 1.0, 1.0, 1.0, 1)
    approx(r["Things"], 0.0, 0.0, 0.0, 0)

    pred = m("GGGsssGG GGGsssGG", G=1, s=2)
    r = pq(one, [(pred, [seg(1, GRASS), seg(2, SQUARE)])])
    # square: 6 px, 4 on VOID (columns 4-5): 4/6 > 0.5, ignored.
    # grass: columns 0-2 and 6-7 = 10 px, 4 on VOID; union = 10 + 8 - 6 - 4 = 8, IoU 6/8.
    approx(r["All"], 0.75, 0.75, 1.0, 1)

    pred = m("GGGssGGG GGGssGGG", G=1, s=2)
    r = pq(one, [(pred, [seg(1, GRASS), seg(2, SQUARE)])])
    # square: 4 px, exactly 2 on VOID: 2/4 is not > 0.5, so it IS a FP.
    # grass: 12 px, 6 on VOID; union = 12 + 8 - 6 - 6 = 8, IoU 6/8. All: (0.75 + 0) / 2.
    approx(r["All"], 0.375, 0.375, 0.5, 2)

    pred = m("GGsssGGG GGsssGGG", G=1, s=2)
    r = pq(one, [(pred, [seg(1, GRASS), seg(2, SQUARE)])])
    # square: 6 px, 2 on VOID: a FP. grass: 10 px, 6 on VOID, intersection 4;
    #   union = 10 + 8 - 4 - 6 = 8, IoU 4/8 = 0.5, not > 0.5: the ground truth is a FN, and the
    #   unmatched grass prediction (6/10 on VOID) is ignored. Both classes count, with PQ 0.
    approx(r["All"], 0.0, 0.0, 0.0, 2)
    approx(r["Stuff"], 0.0, 0.0, 0.0, 1)
    approx(r["Things"], 0.0, 0.0, 0.0, 1)


def test_crowd_regions():
    gt = m("GGGGGGGG GKKKKKKG GKKKKKKG", G=1, K=2)  # grass 12, circle crowd 12
    gt_info = [seg(1, GRASS), seg(2, CIRCLE, crowd=1)]
    pred = m("GGGGGGGG GaaabbbG GaaabbbG", G=1, a=2, b=3)
    # a: a circle exactly on the crowd -> never a TP (crowd is skipped), and 6/6 on the
    #    crowd of its class -> not a FP. b: a square on the circle crowd -> a FP.
    # The crowd is never a FN. grass: IoU 1.
    r = pq([(gt, gt_info)], [(pred, [seg(1, GRASS), seg(2, CIRCLE), seg(3, SQUARE)])])
    approx(r["All"], 0.5, 0.5, 0.5, 2)  # (grass 1 + square 0) / 2
    approx(r["Things"], 0.0, 0.0, 0.0, 1)  # only the square counts
    assert r["per_class"][CIRCLE] == {"pq": 0.0, "sq": 0.0, "rq": 0.0}
    # A crowd identical to a prediction of its class is still not a TP:
    same = m("GGGGGGGG GaaaaaaG GaaaaaaG", G=1, a=2)
    r2 = pq([(gt, gt_info)], [(same, [seg(1, GRASS), seg(2, CIRCLE)])])
    approx(r2["Things"], 0.0, 0.0, 0.0, 0)
    approx(r2["All"], 1.0, 1.0, 1.0, 1)


def test_void_and_crowd_add_up():
    gt = m("GGGGKK GGGG..", G=1, K=2)  # crowd of circles: 2 px; VOID 2 px
    gt_info = [seg(1, GRASS), seg(2, CIRCLE, crowd=1)]
    pred = m("GGGGGc GGGccc", G=1, c=2)
    # c: 4 px = 1 on the crowd (row 0 col 5) + 2 on VOID + 1 on grass (row 1 col 3).
    #   VOID alone: 2/4 = 0.5 (not > 0.5); crowd alone 1/4; together 3/4 > 0.5 -> ignored.
    # grass: pred 8 px (one on the crowd, row 0 col 4), inter 7, union = 8 + 8 - 7 - 0 = 9:
    #   IoU 7/9.
    r = pq([(gt, gt_info)], [(pred, [seg(1, GRASS), seg(2, CIRCLE)])])
    approx(r["All"], 7 / 9, 7 / 9, 1.0, 1)
    # A square in the same place is not excused by a circle crowd: 2/4 on VOID only -> FP.
    r2 = pq([(gt, gt_info)], [(pred, [seg(1, GRASS), seg(2, SQUARE)])])
    approx(r2["All"], 7 / 9 / 2, 7 / 9 / 2, 0.5, 2)


def test_category_present_only_in_the_prediction():
    gt = m("SSSS GGGG", S=1, G=2)
    pred = m("SSWW GGGG", S=1, G=2, W=3)
    # sky: pred 2 px, GT 4, IoU 2/4 = 0.5 -> not a match: FN (sky) + FP (sky pred, no VOID).
    # water: only predicted: FP. grass: IoU 1.
    r = pq([(gt, [seg(1, SKY), seg(2, GRASS)])], [(pred, [seg(1, SKY), seg(2, GRASS), seg(3, WATER)])])
    # sky: TP 0, FP 1, FN 1 -> 0; grass 1; water: FP 1 -> 0, and it counts in n.
    approx(r["Stuff"], 1 / 3, 1 / 3, 1 / 3, 3)
    approx(r["Things"], 0.0, 0.0, 0.0, 0)
    assert r["per_class"][WATER] == {"pq": 0.0, "sq": 0.0, "rq": 0.0}


def test_empty_images():
    void = np.zeros((3, 4), np.int64)
    r = pq([(void, [])], [(void.copy(), [])])
    for group in ("All", "Things", "Stuff"):
        approx(r[group], 0.0, 0.0, 0.0, 0)
    assert set(r["per_class"]) == {c["id"] for c in CATS}
    # An empty prediction: every ground-truth segment is a FN.
    gt = m("GGGG GAAG", G=1, A=2)
    r2 = pq([(gt, [seg(1, GRASS), seg(2, CIRCLE)])], [(void[:2].copy(), [])])
    approx(r2["All"], 0.0, 0.0, 0.0, 2)
    # An empty image next to a good one changes nothing.
    r3 = pq([(gt, [seg(1, GRASS), seg(2, CIRCLE)]), (void, [])],
            [(gt.copy(), [seg(1, GRASS), seg(2, CIRCLE)]), (void.copy(), [])])
    approx(r3["All"], 1.0, 1.0, 1.0, 2)


def test_counts_add_over_images_and_accept_torch():
    a = m("GGGG GAAG", G=1, A=2)
    info = [seg(1, GRASS), seg(2, CIRCLE)]
    grass_only = m("GGGG GGGG", G=1)
    # image 1 perfect; image 2 misses the circle and its grass has IoU 6/8.
    # circle: TP 1 (IoU 1), FN 1 -> SQ 1, RQ 1/1.5, PQ 2/3 (not the mean of 1 and 0).
    # grass: TP 2, IoU sum 1.75 -> SQ 0.875, RQ 1, PQ 0.875.
    r = pq([(torch.from_numpy(a), info), (a, info)], [(a.copy(), info), (torch.from_numpy(grass_only), [seg(1, GRASS)])])
    approx(r["Things"], 2 / 3, 1.0, 2 / 3, 1)
    approx(r["Stuff"], 0.875, 0.875, 1.0, 1)
    assert isinstance(r["All"]["pq"], float)


def test_worked_example_of_the_notebook():
    gt, pred = checks.worked_example()
    r = pq([gt], [pred])
    # sky 1; grass 22/24; circle: TP (IoU 4/6) + FP -> (2/3) / 1.5; square: FN -> 0.
    circle = (2 / 3) / 1.5
    approx(r["All"], (1 + 22 / 24 + circle) / 4, (1 + 22 / 24 + 2 / 3) / 4, (1 + 1 + 2 / 3) / 4, 4)


def _torchmetrics_case(rng):
    """Random maps without VOID or crowds, one segment per stuff class, in both formats."""
    h, w = 16, 20
    gt = np.zeros((h, w), np.int64)
    cats = {}
    cut = int(rng.integers(3, h - 3))
    gt[:cut], gt[cut:] = 1, 2
    cats.update({1: SKY, 2: int(rng.choice([GRASS, WATER]))})
    pred = gt.copy()
    pred[cut - 1: cut + int(rng.integers(0, 3))] = 1  # a shifted horizon
    pcats = dict(cats)
    nxt = 10
    for _ in range(int(rng.integers(1, 6))):
        r0, c0 = int(rng.integers(0, h - 3)), int(rng.integers(0, w - 3))
        dr, dc = int(rng.integers(2, 7)), int(rng.integers(2, 7))
        cat = int(rng.integers(1, 4))
        gt[r0:r0 + dr, c0:c0 + dc] = nxt
        cats[nxt] = cat
        if rng.random() < 0.8:  # predicted, maybe shifted, maybe with the wrong class
            sr, sc = (int(v) for v in rng.integers(-2, 3, 2))
            pred[max(r0 + sr, 0):r0 + sr + dr, max(c0 + sc, 0):c0 + sc + dc] = nxt + 100
            pcats[nxt + 100] = cat if rng.random() < 0.8 else int(rng.integers(1, 4))
        nxt += 1
    if rng.random() < 0.5:  # a false alarm
        pred[0:3, 0:3] = 999
        pcats[999] = int(rng.integers(1, 4))
    gt_info = [seg(i, cats[i]) for i in np.unique(gt).tolist()]
    pred_info = [seg(i, pcats[i]) for i in np.unique(pred).tolist()]

    def pairs(ids, c):
        cat = np.vectorize(c.get)(ids)
        inst = np.where(cat <= 3, ids, 0)
        return torch.from_numpy(np.stack([cat, inst], -1))[None]

    return (gt, gt_info), (pred, pred_info), pairs(pred, pcats), pairs(gt, cats)


def test_agrees_with_torchmetrics_without_void_or_crowds():
    from torchmetrics.detection import PanopticQuality

    rng = np.random.default_rng(0)
    metric = PanopticQuality(things={1, 2, 3}, stuffs={4, 5, 6}, return_sq_and_rq=True)
    gts, preds = [], []
    for _ in range(12):
        gt, pred, tm_pred, tm_gt = _torchmetrics_case(rng)
        gts.append(gt)
        preds.append(pred)
        metric.update(tm_pred, tm_gt)
    want = metric.compute().tolist()
    r = pq(gts, preds)
    assert [r["All"]["pq"], r["All"]["sq"], r["All"]["rq"]] == pytest.approx(want, abs=1e-6)


WRONG_PQ = {
    "VOID kept in the union": (" - inter.get((0, pl), 0)", ""),
    "VOID not excused": ("ignored = inter.get((0, pl), 0)", "ignored = 0"),
    "crowd not excused": ("ignored += inter.get((crowd[s[\"category_id\"]], pl), 0)", "pass"),
    "IoU >= 0.5": ("if iou > 0.5:", "if iou >= 0.5:"),
    "absent classes averaged": ("if tp + fp + fn == 0:", "if False:"),
}


@pytest.mark.parametrize("what", WRONG_PQ)
def test_self_checks_catch_wrong_metrics(what):
    old, new = WRONG_PQ[what]
    wrong = mutant("nb04-panoptic-quality", old, new)["panoptic_quality"]
    with pytest.raises((AssertionError, ZeroDivisionError)):
        checks.check_panoptic_quality(wrong)
        checks.check_panoptic_quality_rules(wrong)


def test_self_checks_pass_the_solution():
    checks.check_panoptic_quality(solution()["panoptic_quality"])
    checks.check_panoptic_quality_rules(solution()["panoptic_quality"])


def test_reading_area_from_the_json_gets_a_hint():
    wrong = mutant("nb04-panoptic-quality", "gt_area = dict(zip(*np.unique(g, return_counts=True)))",
                   "gt_area = {s['id']: s['area'] for s in gt_info}")
    with pytest.raises(AssertionError, match="Do not read 'area' or 'bbox'"):
        checks.check_panoptic_quality(wrong["panoptic_quality"])
    with pytest.raises(AssertionError, match="Do not read 'area' or 'bbox'"):
        checks.check_panoptic_quality_rules(wrong["panoptic_quality"])


@pytest.mark.parametrize("grade_id", ["nb04-panoptic-quality-test", "nb04-panoptic-quality-rules-test"])
def test_hidden_pq_tests_accept_a_dict_subclass(grade_id):
    from collections import defaultdict

    right = solution()["panoptic_quality"]

    def as_defaultdict(*args):
        out = defaultdict(dict)
        out.update(right(*args))
        return out

    run_test_cell(grade_id, panoptic_quality=as_defaultdict)
