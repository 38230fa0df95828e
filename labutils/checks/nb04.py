"""Self-checks for notebook 04 (panoptic segmentation): small hand-built cases whose answers
were worked out by hand, each with a hint that names the rule a wrong answer usually breaks."""

from __future__ import annotations

import numpy as np
import torch

from labutils.data.classes import shapes_categories

CIRCLE, SQUARE, TRIANGLE, SKY, GRASS, WATER = 1, 2, 3, 4, 5, 6
THINGS, STUFF = (CIRCLE, SQUARE, TRIANGLE), (SKY, GRASS, WATER)


def _fail(case: str, message: str) -> None:
    raise AssertionError(f"[{case}] {message}")


def _plain(x, what: str, case: str) -> np.ndarray:
    """The student's array as a fresh NumPy array (never the student's own object)."""
    if isinstance(x, torch.Tensor):
        return np.array(x.detach().cpu().tolist())
    if isinstance(x, np.ndarray):
        return np.array(x.tolist())
    _fail(case, f"{what} should be a NumPy array or a torch tensor, got {type(x).__name__}.")


def grid(rows: str, key: dict[str, int]) -> np.ndarray:
    """A small int64 map drawn with one character per pixel (rows separated by spaces; "." is 0)."""
    key = {".": 0, **key}
    return np.array([[key[ch] for ch in row] for row in rows.split()], dtype=np.int64)


def _first_difference(expected: np.ndarray, got: np.ndarray) -> str:
    where = np.argwhere(expected != got)
    r, c = (int(v) for v in where[0][:2])
    return (f"{len(where)} entries differ; first at row {r}, column {c}: "
            f"expected {expected[r, c].tolist()}, got {got[r, c].tolist()}")


# --------------------------------------------------------------------------- rgb2id / id2rgb

_COLOURS = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (12, 34, 56), (255, 255, 255)]
_IDS = [0, 1, 256, 65536, 12 + 34 * 256 + 56 * 65536, 16777215]


def check_rgb2id(rgb2id) -> None:
    """``rgb2id`` on known colours, as NumPy uint8 and as a torch uint8 tensor."""
    rgb = np.array(_COLOURS, dtype=np.uint8).reshape(2, 3, 3)
    expected = np.array(_IDS, dtype=np.int64).reshape(2, 3)
    for kind, value in (("numpy", rgb), ("torch", torch.from_numpy(rgb.copy()))):
        case = f"rgb2id, {kind} uint8 input of shape (2, 3, 3)"
        try:
            out = rgb2id(value)
        except OverflowError as err:
            _fail(case, f"OverflowError ({err}). Hint: uint8 holds 0..255, so 256 * G does not fit: "
                        "convert the colours to int64 before multiplying.")
        if kind == "numpy" and not isinstance(out, np.ndarray):
            _fail(case, f"NumPy in, NumPy out: got {type(out).__name__}.")
        if kind == "torch" and not isinstance(out, torch.Tensor):
            _fail(case, f"torch in, torch out: got {type(out).__name__}.")
        got = _plain(out, "the result", case)
        if got.shape != (2, 3):
            _fail(case, f"expected shape (2, 3) (one id per pixel), got {got.shape}.")
        if str(out.dtype) not in ("int64", "torch.int64"):
            _fail(case, f"return int64 ids (they need 24 bits), got dtype {out.dtype}.")
        if not (got == expected).all():
            hint = "id = R + 256*G + 256**2*B, with R = rgb[..., 0]."
            if got[0, 2] == 0:
                hint = ("the colour (0, 1, 0) gave 0: uint8 arithmetic overflows (256 wraps to 0). "
                        "Convert to int64 before multiplying.")
            elif got[0, 1] == 65536:
                hint = "R is the lowest byte: id = R + 256*G + 256**2*B (you reversed the channels)."
            _fail(case, f"{_first_difference(expected, got)}. Hint: {hint}")


def check_id2rgb(id2rgb) -> None:
    """``id2rgb`` on known ids (NumPy and torch) and a round trip on random ids."""
    ids = np.array(_IDS, dtype=np.int64).reshape(2, 3)
    expected = np.array(_COLOURS, dtype=np.int64).reshape(2, 3, 3)
    for kind, value in (("numpy", ids), ("torch", torch.from_numpy(ids.copy()))):
        case = f"id2rgb, {kind} int64 ids of shape (2, 3)"
        out = id2rgb(value)
        if kind == "numpy" and not isinstance(out, np.ndarray):
            _fail(case, f"NumPy in, NumPy out: got {type(out).__name__}.")
        if kind == "torch" and not isinstance(out, torch.Tensor):
            _fail(case, f"torch in, torch out: got {type(out).__name__}.")
        got = _plain(out, "the result", case)
        if got.shape != (2, 3, 3):
            _fail(case, f"expected shape (2, 3, 3) (channels last, like a PNG), got {got.shape}.")
        if str(out.dtype) not in ("uint8", "torch.uint8"):
            _fail(case, f"return uint8 colours (what a PNG stores), got dtype {out.dtype}.")
        if not (got == expected).all():
            bad = np.argwhere((got != expected).any(-1))[0]
            i = int(bad[0] * 3 + bad[1])
            _fail(case, f"id {_IDS[i]} should be the colour {_COLOURS[i]}, got "
                        f"{tuple(got[bad[0], bad[1]].tolist())}. Hint: R = id % 256, "
                        "G = (id // 256) % 256, B = (id // 256**2) % 256, stacked on the last axis.")
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 256 ** 3, (5, 7))
    got = _plain(id2rgb(ids), "id2rgb(ids)", "round trip").astype(np.int64)
    back = got[..., 0] + 256 * got[..., 1] + 65536 * got[..., 2]
    if not (back == ids).all():
        _fail("round trip", f"rgb2id(id2rgb(ids)) != ids: {_first_difference(ids, back)}.")


# --------------------------------------------------------------------------- fuse_panoptic


def _box(h: int, w: int, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[rows[0]:rows[1], cols[0]:cols[1]] = True
    return m


def _compare_fusion(case: str, out, expected_ids: np.ndarray, expected_cats: list[int],
                    hint: str, want_torch: bool = False) -> None:
    if not isinstance(out, tuple) or len(out) != 2:
        _fail(case, "return a pair (panoptic_ids, segments_info).")
    ids, info = out
    if want_torch and not isinstance(ids, torch.Tensor):
        _fail(case, f"semantic was a torch tensor, so panoptic_ids should be one; got {type(ids).__name__}.")
    if not want_torch and not isinstance(ids, np.ndarray):
        _fail(case, f"semantic was a NumPy array, so panoptic_ids should be one; got {type(ids).__name__}.")
    got = _plain(ids, "panoptic_ids", case)
    if got.shape != expected_ids.shape:
        _fail(case, f"panoptic_ids should have the semantic map's shape {expected_ids.shape}, got {got.shape}.")
    if not (got == expected_ids).all():
        _fail(case, f"panoptic_ids: {_first_difference(expected_ids, got)}.\nExpected:\n"
                    f"{expected_ids}\nGot:\n{got}\nHint: {hint}")
    if not isinstance(info, list) or not all(isinstance(s, dict) for s in info):
        _fail(case, "segments_info should be a list of dicts, one per segment.")
    got_ids = [int(s.get("id", -1)) for s in info]
    if got_ids != list(range(1, len(expected_cats) + 1)):
        _fail(case, f"segments_info ids should be 1, 2, ... in placement order: expected "
                    f"{list(range(1, len(expected_cats) + 1))}, got {got_ids}.")
    for s, cat in zip(info, expected_cats):
        missing = {"id", "category_id", "iscrowd", "area", "bbox"} - set(s)
        if missing:
            _fail(case, f"segment {s['id']} lacks {sorted(missing)} (use segment_info(...)).")
        if int(s["category_id"]) != cat:
            _fail(case, f"segment {s['id']}: category_id should be {cat}, got {s['category_id']}.")
        mask = expected_ids == s["id"]
        if int(s["area"]) != int(mask.sum()) or int(s["iscrowd"]) != 0:
            _fail(case, f"segment {s['id']}: area should be its visible pixel count {int(mask.sum())} "
                        f"and iscrowd 0; got area {s['area']}, iscrowd {s['iscrowd']}. Hint: build the "
                        "entry from the pixels you actually painted (segment_info(visible, ...)).")
        ys, xs = np.nonzero(mask)
        bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
        if [float(v) for v in s["bbox"]] != bbox:
            _fail(case, f"segment {s['id']}: bbox should be {bbox} ([x, y, width, height] of the "
                        f"visible pixels), got {s['bbox']}.")


def _things_cases():
    h, w = 6, 8
    grass = np.full((h, w), GRASS, np.int64)
    a = _box(h, w, (1, 5), (1, 5))  # 16 px
    b = _box(h, w, (2, 6), (3, 7))  # 16 px, overlaps a on 6 px
    order = {"masks": np.stack([a, b]), "scores": np.array([0.6, 0.9]), "labels": np.array([CIRCLE, SQUARE])}
    ids = np.zeros((h, w), np.int64)
    ids[b] = 1
    ids[a & ~b] = 2
    ids[ids == 0] = 3
    yield ("overlap goes to the higher score", order, grass, {"stuff_area_threshold": 1}, ids,
           [SQUARE, CIRCLE, GRASS],
           "place instances in decreasing score order; a later one keeps only pixels still free "
           "(the 0.9 square wins the 6 shared pixels, the 0.6 circle keeps its other 10).")

    dup = _box(h, w, (1, 5), (2, 6))  # 16 px, 12 of them under a
    low = _box(h, w, (0, 2), (6, 8))
    edge = _box(h, w, (4, 6), (0, 2))
    stuff_label = _box(h, w, (4, 6), (6, 8))
    filt = {"masks": np.stack([dup, a, low, edge, stuff_label]),
            "scores": np.array([0.8, 0.9, 0.3, 0.5, 0.95]),
            "labels": np.array([CIRCLE, CIRCLE, TRIANGLE, SQUARE, WATER])}
    ids = np.zeros((h, w), np.int64)
    ids[a] = 1
    ids[edge & ~a] = 2
    ids[ids == 0] = 3
    yield ("duplicates, low scores and non-thing labels", filt, grass, {"stuff_area_threshold": 1}, ids,
           [CIRCLE, SQUARE, GRASS],
           "drop an instance when its visible part < overlap_threshold x its mask area (the 0.8 "
           "duplicate keeps 4 of 16 pixels); drop an instance whose score is below score_threshold "
           "(default 0.5: the 0.3 triangle goes) but keep a score equal to it (the 0.5 square "
           "stays); ignore labels that are not in thing_ids (the 0.95 'water').")

    half = _box(h, w, (1, 5), (3, 7))  # 16 px, 8 of them under a
    soft = {"masks": np.stack([a * 0.9 + 0.05, half * 0.7 + 0.2]).astype(np.float32),
            "scores": np.array([0.99, 0.7]), "labels": np.array([TRIANGLE, CIRCLE])}
    ids = np.zeros((h, w), np.int64)
    ids[a] = 1
    ids[half & ~a] = 2
    ids[ids == 0] = 3
    yield ("soft masks, and a visible part exactly at the threshold", soft, grass,
           {"stuff_area_threshold": 1}, ids, [TRIANGLE, CIRCLE, GRASS],
           "soft masks are probabilities: a pixel belongs to the instance where mask > 0.5. An "
           "instance whose visible part is exactly overlap_threshold x its area is kept (8 of 16).")

    empty = {"masks": np.zeros((0, h, w), bool), "scores": np.zeros(0), "labels": np.zeros(0, np.int64)}
    yield ("no instances at all", empty, grass, {"stuff_area_threshold": 1}, np.ones((h, w), np.int64),
           [GRASS], "with no instances, the stuff fills every pixel (masks of shape (0, H, W)).")


def _stuff_cases():
    h, w = 6, 8
    sem = grid("44444444 44444444 55111555 55111566 55566655 55555555",
                {"4": SKY, "5": GRASS, "6": WATER, "1": CIRCLE})
    sem[0, 7] = 255
    none = {"masks": np.zeros((0, h, w), bool), "scores": np.zeros(0), "labels": np.zeros(0, np.int64)}
    ids = np.zeros((h, w), np.int64)
    ids[sem == SKY] = 1
    ids[sem == GRASS] = 2
    yield ("stuff only: small regions and thing pixels become VOID", none, sem,
           {"stuff_area_threshold": 6}, ids, [SKY, GRASS],
           "one segment per stuff class, in increasing category id; a stuff region smaller than "
           "stuff_area_threshold (water: 5 pixels < 6) stays VOID (0), and so do pixels whose "
           "semantic label is not a stuff class (the circle pixels and the 255).")

    ids_eq = ids.copy()
    ids_eq[sem == WATER] = 3
    yield ("a stuff region exactly at the area threshold is kept", none, sem,
           {"stuff_area_threshold": 5}, ids_eq, [SKY, GRASS, WATER],
           "drop a stuff region only when its area < stuff_area_threshold (5 pixels of water are kept).")

    inst = {"masks": np.stack([_box(h, w, (2, 5), (2, 5))]), "scores": np.array([0.9]),
            "labels": np.array([CIRCLE])}
    ids = np.zeros((h, w), np.int64)
    ids[2:5, 2:5] = 1
    ids[(sem == SKY) & (ids == 0)] = 2
    ids[(sem == GRASS) & (ids == 0)] = 3
    yield ("stuff fills only what the things left", inst, sem, {"stuff_area_threshold": 6}, ids,
           [CIRCLE, SKY, GRASS],
           "things first, then stuff on the pixels still free; segment ids continue after the "
           "things' (1 is the circle, 2 sky, 3 grass).")

    sem64 = np.full((16, 8), SKY, np.int64)
    sem64[8:, :] = GRASS
    sem64[15, 7] = WATER  # grass keeps 63 px
    none64 = {"masks": np.zeros((0, 16, 8), bool), "scores": np.zeros(0), "labels": np.zeros(0, np.int64)}
    ids = np.zeros((16, 8), np.int64)
    ids[:8] = 1
    yield ("the default stuff_area_threshold is 64", none64, sem64, {}, ids, [SKY],
           "keep the default stuff_area_threshold=64: 64 pixels of sky are kept, 63 of grass are not.")

    no_sky = np.where(sem == SKY, GRASS, sem)  # no sky at all; the circle covers all the water
    cover = {"masks": np.stack([_box(h, w, (3, 5), (3, 8))]), "scores": np.array([0.9]),
             "labels": np.array([CIRCLE])}
    ids = np.where(no_sky == GRASS, 2, 0).astype(np.int64)
    ids[3:5, 3:8] = 1
    yield ("a stuff class with no free pixels makes no segment", cover, no_sky,
           {"stuff_area_threshold": 0}, ids, [CIRCLE, GRASS],
           "a stuff class with no free pixels makes no segment at all, even when "
           "stuff_area_threshold is 0 (here sky is absent and the circle covers all the water): "
           "do not create empty segments, so the ids stay 1, 2, 3, ... without gaps.")

    only45 = np.where(sem == WATER, WATER, SKY)
    ids = np.where(sem == WATER, 0, 1).astype(np.int64)
    yield ("a semantic class outside stuff_ids stays VOID", none, only45,
           {"stuff_area_threshold": 1, "stuff_ids": (SKY, GRASS)}, ids, [SKY],
           "only classes in stuff_ids become stuff segments (water is not one here).")


def _run_fusion_cases(fuse_panoptic, cases) -> None:
    for name, inst, sem, kwargs, ids, cats, hint in cases:
        kwargs = dict(kwargs)
        stuff_ids = kwargs.pop("stuff_ids", STUFF)
        out = fuse_panoptic({k: v.copy() for k, v in inst.items()}, sem.copy(), THINGS, stuff_ids, **kwargs)
        _compare_fusion(name, out, ids, cats, hint)
    # The same first case with torch inputs: torch in, torch out.
    name, inst, sem, kwargs, ids, cats, hint = cases[0]
    kwargs = {k: v for k, v in kwargs.items() if k != "stuff_ids"}
    out = fuse_panoptic({k: torch.as_tensor(v) for k, v in inst.items()}, torch.as_tensor(sem),
                        THINGS, STUFF, **kwargs)
    _compare_fusion(name + " (torch inputs)", out, ids, cats, hint, want_torch=True)


def check_fuse_panoptic_things(fuse_panoptic) -> None:
    """Things: score order, score threshold, overlap rule, soft masks, thing_ids."""
    _run_fusion_cases(fuse_panoptic, list(_things_cases()))


def check_fuse_panoptic_stuff(fuse_panoptic) -> None:
    """Stuff: the fill of free pixels, one segment per class, the area threshold, VOID."""
    _run_fusion_cases(fuse_panoptic, list(_stuff_cases()))


# --------------------------------------------------------------------------- panoptic_quality


def _seg(seg_id: int, category_id: int, iscrowd: int = 0) -> dict:
    return {"id": seg_id, "category_id": category_id, "iscrowd": iscrowd}


def worked_example() -> tuple[tuple[np.ndarray, list[dict]], tuple[np.ndarray, list[dict]]]:
    """The notebook's PQ example: ground truth and prediction, 6 x 8 pixels."""
    gt = grid("SSSSSSSS SSSSSSSS GGAAGGGG GGAAGBBG GGGGGBBG GGGGGGGG",
               {"S": 1, "G": 2, "A": 3, "B": 4})
    pred = grid("ssssssss ssssssss ggaaaggg ggaaaccg gggggccg gggggggg",
                 {"s": 7, "g": 8, "a": 5, "c": 6})
    gt_info = [_seg(1, SKY), _seg(2, GRASS), _seg(3, CIRCLE), _seg(4, SQUARE)]
    pred_info = [_seg(7, SKY), _seg(8, GRASS), _seg(5, CIRCLE), _seg(6, CIRCLE)]
    return (gt, gt_info), (pred, pred_info)


def _zeros() -> dict:
    return {"pq": 0.0, "sq": 0.0, "rq": 0.0}


def _expect(all_, things, stuff, per_class) -> dict:
    """Expected results; ``per_class`` lists classes with TP, FP or FN (others are zeros)."""
    full = {c["id"]: _zeros() for c in shapes_categories()}
    full.update(per_class)
    names = ("pq", "sq", "rq", "n")
    return {"All": dict(zip(names, all_)), "Things": dict(zip(names, things)),
            "Stuff": dict(zip(names, stuff)), "per_class": full}


def _pq_basic_cases():
    gt, pred = worked_example()
    yield ("a prediction identical to the ground truth", [gt], [gt],
           _expect((1, 1, 1, 4), (1, 1, 1, 2), (1, 1, 1, 2),
                   {c: {"pq": 1.0, "sq": 1.0, "rq": 1.0} for c in (CIRCLE, SQUARE, SKY, GRASS)}),
           "every segment matches itself with IoU 1: PQ = SQ = RQ = 1 for each class present; n "
           "counts the classes that have at least one TP, FP or FN (4 here, not all 6).")
    circle = {"pq": (2 / 3) / 1.5, "sq": 2 / 3, "rq": 1 / 1.5}
    grass = {"pq": 22 / 24, "sq": 22 / 24, "rq": 1.0}
    sky = {"pq": 1.0, "sq": 1.0, "rq": 1.0}
    mean = lambda *v: sum(v) / len(v)  # noqa: E731
    yield ("the worked example", [gt], [pred],
           _expect((mean(circle["pq"], 0, 1, grass["pq"]), mean(circle["sq"], 0, 1, grass["sq"]),
                    mean(circle["rq"], 0, 1, 1), 4),
                   (circle["pq"] / 2, circle["sq"] / 2, circle["rq"] / 2, 2),
                   ((1 + grass["pq"]) / 2, (1 + grass["sq"]) / 2, 1.0, 2),
                   {CIRCLE: circle, SQUARE: _zeros(), SKY: sky, GRASS: grass}),
           "circle: 1 TP (IoU 4/6), 1 FP (the 'circle' on the square); square: 1 FN (the class "
           "must match); grass: 1 TP (IoU 22/24). PQ_c = sum(IoU of TPs) / (TP + FP/2 + FN/2), "
           "SQ_c = sum(IoU) / TP, RQ_c = TP / (TP + FP/2 + FN/2).")
    tri = grid("GGGG GGGG", {"G": 1})
    tri_pred = grid("GGGT GGGT", {"G": 1, "T": 2})
    yield ("a class present only in the prediction",
           [(tri, [_seg(1, GRASS)])], [(tri_pred, [_seg(1, GRASS), _seg(2, TRIANGLE)])],
           _expect((0.375, 0.375, 0.5, 2), (0, 0, 0, 1), (0.75, 0.75, 1, 1),
                   {GRASS: {"pq": 0.75, "sq": 0.75, "rq": 1.0}, TRIANGLE: _zeros()}),
           "grass: IoU 6/8 = 0.75, a TP. The triangle is predicted but absent from the ground truth: "
           "a FP, so the triangle class counts in n with PQ 0 (All: (0.75 + 0) / 2).")
    one = grid("GGGG GAAG", {"G": 1, "A": 2})
    two = grid("GGGG GGGG", {"G": 1})
    yield ("TP, FP and FN add up over images before dividing",
           [(one, [_seg(1, GRASS), _seg(2, CIRCLE)]), (one, [_seg(1, GRASS), _seg(2, CIRCLE)])],
           [(one, [_seg(1, GRASS), _seg(2, CIRCLE)]), (two, [_seg(1, GRASS)])],
           _expect(((2 / 3 + (1 + 6 / 8) / 2) / 2, (1 + (1 + 6 / 8) / 2) / 2, (2 / 3 + 1) / 2, 2),
                   (2 / 3, 1, 2 / 3, 1), ((1 + 6 / 8) / 2, (1 + 6 / 8) / 2, 1, 1),
                   {CIRCLE: {"pq": 2 / 3, "sq": 1.0, "rq": 2 / 3},
                    GRASS: {"pq": (1 + 6 / 8) / 2, "sq": (1 + 6 / 8) / 2, "rq": 1.0}}),
           "count TP, FP, FN and the IoU sum per class over ALL images, then compute PQ once per "
           "class (circle: 1 TP + 1 FN over the two images gives RQ = 1 / 1.5, not the mean of "
           "per-image values 1 and 0).")


def _pq_rule_cases():
    yield ("VOID pixels of the ground truth leave the union",
           [(grid("GGGG AA.. AA..", {"G": 1, "A": 2, ".": 0}), [_seg(1, GRASS), _seg(2, CIRCLE)])],
           [(grid("GGGG aaaa aaaa", {"G": 1, "a": 3}), [_seg(1, GRASS), _seg(3, CIRCLE)])],
           _expect((1, 1, 1, 2), (1, 1, 1, 1), (1, 1, 1, 1),
                   {GRASS: {"pq": 1.0, "sq": 1.0, "rq": 1.0}, CIRCLE: {"pq": 1.0, "sq": 1.0, "rq": 1.0}}),
           "union = area(pred) + area(gt) - intersection - (pixels of pred on ground-truth VOID): "
           "the circle's IoU is 4 / (8 + 4 - 4 - 4) = 1, not 4 / 8 = 0.5.")
    yield ("VOID in the prediction is not forgiven",
           [(grid("GGGG GAAG GAAG", {"G": 1, "A": 2}), [_seg(1, GRASS), _seg(2, CIRCLE)])],
           [(grid("GGGG G.aG G.aG", {"G": 1, "a": 3, ".": 0}), [_seg(1, GRASS), _seg(3, CIRCLE)])],
           _expect((0.5, 0.5, 0.5, 2), (0, 0, 0, 1), (1, 1, 1, 1),
                   {GRASS: {"pq": 1.0, "sq": 1.0, "rq": 1.0}, CIRCLE: _zeros()}),
           "only the GROUND TRUTH's VOID leaves the union: the predicted circle covers 2 of the 4 "
           "circle pixels, IoU = 2 / 4 = 0.5, which is not > 0.5: one FN and one FP.")
    gt_void = (grid("GGG... GGG...", {"G": 1, ".": 0}), [_seg(1, GRASS)])
    yield ("an unmatched prediction mostly on VOID is not a false positive",
           [gt_void, gt_void],
           [(grid("GGcccc GGG.cc", {"G": 1, "c": 2, ".": 0}), [_seg(1, GRASS), _seg(2, CIRCLE)]),
            (grid("GGss.. GGss..", {"G": 1, "s": 2}), [_seg(1, GRASS), _seg(2, SQUARE)])],
           _expect((0.375, 0.375, 0.5, 2), (0, 0, 0, 1), (0.75, 0.75, 1, 1),
                   {GRASS: {"pq": 0.75, "sq": 0.75, "rq": 1.0}, SQUARE: _zeros()}),
           "an unmatched predicted segment is ignored when MORE than half of it lies on ground-truth "
           "VOID: the circle (5 of 6 pixels on VOID) is ignored, the square (exactly 2 of 4) is a FP. "
           "Grass: IoUs 5/6 and 4/6.")
    yield ("crowd regions: never a FN, and they excuse predictions of their class",
           [(grid("GGGGGG GKKKKG GKKKKG", {"G": 1, "K": 2}), [_seg(1, GRASS), _seg(2, CIRCLE, 1)])],
           [(grid("GGGGGG GccddG GccddG", {"G": 1, "c": 2, "d": 3}),
             [_seg(1, GRASS), _seg(2, CIRCLE), _seg(3, SQUARE)])],
           _expect((0.5, 0.5, 0.5, 2), (0, 0, 0, 1), (1, 1, 1, 1),
                   {GRASS: {"pq": 1.0, "sq": 1.0, "rq": 1.0}, SQUARE: _zeros()}),
           "a crowd ground-truth segment (iscrowd=1) is never matched and never a FN; an unmatched "
           "prediction lying mostly on a crowd OF ITS OWN CLASS is not a FP (the circle), but one of "
           "another class is (the square).")
    yield ("VOID and crowd overlaps are added before the more-than-half test",
           [(grid("GGGKK GGG..", {"G": 1, "K": 2, ".": 0}), [_seg(1, GRASS), _seg(2, CIRCLE, 1)])],
           [(grid("GGGGc GGccc", {"G": 1, "c": 2}), [_seg(1, GRASS), _seg(2, CIRCLE)])],
           _expect((5 / 7, 5 / 7, 1, 1), (0, 0, 0, 0), (5 / 7, 5 / 7, 1, 1),
                   {GRASS: {"pq": 5 / 7, "sq": 5 / 7, "rq": 1.0}}),
           "the predicted circle has 4 pixels: 2 on VOID and 1 on the circle crowd; (2 + 1) / 4 > 0.5, "
           "so it is ignored (neither test alone would ignore it). Grass IoU = 5 / (6 + 6 - 5) = 5/7.")
    yield ("a crowd segment is never a true positive",
           [(grid("KKGG KKGG", {"G": 1, "K": 2}), [_seg(1, GRASS), _seg(2, CIRCLE, 1)])],
           [(grid("ccGG ccGG", {"G": 1, "c": 2}), [_seg(1, GRASS), _seg(2, CIRCLE)])],
           _expect((1, 1, 1, 1), (0, 0, 0, 0), (1, 1, 1, 1), {GRASS: {"pq": 1.0, "sq": 1.0, "rq": 1.0}}),
           "skip crowd ground truth when matching, even at IoU 1: the circle class then has no TP, "
           "FP or FN and is left out of the averages (Things n = 0, and its PQ is reported as 0.0).")
    empty = grid("... ...", {".": 0})
    scene = grid("GGG GAA", {"G": 1, "A": 2})
    yield ("empty images",
           [(empty, []), (scene, [_seg(1, GRASS), _seg(2, CIRCLE)]), (empty, [])],
           [(empty, []), (empty, []), (grid("GGG GGG", {"G": 1}), [_seg(1, WATER)])],
           _expect((0, 0, 0, 2), (0, 0, 0, 1), (0, 0, 0, 1), {GRASS: _zeros(), CIRCLE: _zeros()}),
           "an image with no segments adds nothing; an empty prediction makes every ground-truth "
           "segment a FN (grass and circle: PQ 0, but they count in n); a prediction entirely on "
           "VOID (the water) is ignored. When a group has n = 0, report pq = sq = rq = 0.0.")


def _compare_pq(case: str, got, expected: dict, hint: str) -> None:
    if not isinstance(got, dict):
        _fail(case, f"return a dict, got {type(got).__name__}.")
    for group in ("All", "Things", "Stuff"):
        if group not in got or not isinstance(got[group], dict):
            _fail(case, f"the result needs a dict under {group!r} with 'pq', 'sq', 'rq', 'n'.")
        for key in ("pq", "sq", "rq", "n"):
            value = got[group].get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                _fail(case, f"result[{group!r}][{key!r}] should be a Python number, got "
                            f"{type(value).__name__} (use float(...) / int(...)).")
            want = expected[group][key]
            if abs(float(value) - want) > 1e-9:
                _fail(case, f"result[{group!r}][{key!r}] = {value}, expected {want:.6g}.\nHint: {hint}")
    per_class = got.get("per_class")
    if not isinstance(per_class, dict):
        _fail(case, "the result needs 'per_class': {category_id: {'pq', 'sq', 'rq'}}.")
    for cid, want in expected["per_class"].items():
        if cid not in per_class:
            _fail(case, f"per_class has no entry for category {cid} (list every category, with "
                        "zeros for those never seen).")
        for key in ("pq", "sq", "rq"):
            value = per_class[cid].get(key)
            if not isinstance(value, (int, float)) or abs(float(value) - want[key]) > 1e-9:
                _fail(case, f"per_class[{cid}][{key!r}] = {value}, expected {want[key]:.6g}.\nHint: {hint}")


def _call_pq(panoptic_quality, case: str, gt, pred):
    """The student's result, with a hint when it reads keys the tests' segments do not have."""
    try:
        return panoptic_quality(gt, pred, shapes_categories())
    except KeyError as err:
        if err.args and err.args[0] in ("area", "bbox"):
            _fail(case, f"KeyError {err.args[0]!r}: the segments_info dicts here hold only 'id', "
                        "'category_id' and 'iscrowd'. Do not read 'area' or 'bbox': count every "
                        "area from the maps (np.unique(ids, return_counts=True)).")
        raise


def _run_pq_cases(panoptic_quality, cases) -> None:
    for name, gt, pred, expected, hint in cases:
        got = _call_pq(panoptic_quality, name, [(g.copy(), list(i)) for g, i in gt],
                       [(p.copy(), list(i)) for p, i in pred])
        _compare_pq(name, got, expected, hint)


def check_panoptic_quality(panoptic_quality) -> None:
    """Matching, PQ = SQ x RQ per class, averages over classes, several images, torch inputs."""
    cases = list(_pq_basic_cases())
    _run_pq_cases(panoptic_quality, cases)
    name, gt, pred, expected, hint = cases[1]
    as_torch = lambda items: [(torch.from_numpy(a.copy()), i) for a, i in items]  # noqa: E731
    got = _call_pq(panoptic_quality, name + " (torch inputs)", as_torch(gt), as_torch(pred))
    _compare_pq(name + " (torch inputs)", got, expected, hint)


def check_panoptic_quality_rules(panoptic_quality) -> None:
    """COCO's rules: VOID in the union, unmatched predictions on VOID or crowd, crowd GT, empty images."""
    _run_pq_cases(panoptic_quality, list(_pq_rule_cases()))
