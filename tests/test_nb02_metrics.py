"""Notebook 02's metric solutions agree with torchmetrics (every class present) and with their
definitions; the self-checks catch the usual mistakes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import (
    multiclass_accuracy,
    multiclass_confusion_matrix,
    multiclass_jaccard_index,
)

from labutils.checks import nb02 as checks
from tests.nb02_solution import METRICS, solution


@pytest.fixture(scope="module")
def m():
    return solution(*METRICS)


def _random_maps(seed: int, k: int, shape=(3, 24, 30), void=0.1):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randint(0, k, shape, generator=g)
    target = torch.randint(0, k, shape, generator=g)
    target[torch.rand(shape, generator=g) < void] = 255
    for c in range(k):  # every class present in both
        pred.view(-1)[c] = c
        target.view(-1)[c] = c
    return pred, target


@pytest.mark.parametrize("seed,k", [(0, 3), (1, 7), (2, 21)])
def test_metrics_agree_with_torchmetrics_where_every_class_is_present(m, seed, k):
    pred, target = _random_maps(seed, k)
    conf = m["confusion_matrix"](pred, target, k)
    assert isinstance(conf, torch.Tensor) and conf.shape == (k, k)
    ref = multiclass_confusion_matrix(pred, target, k, ignore_index=255)
    assert torch.equal(conf.cpu().long(), ref.long())
    conf_np = m["confusion_matrix"](pred.numpy(), target.numpy(), k, ignore_index=255)
    assert isinstance(conf_np, np.ndarray) and (conf_np == ref.numpy()).all()

    iou = m["iou_per_class"](conf_np)
    ref_iou = multiclass_jaccard_index(pred, target, k, average="none", ignore_index=255)
    np.testing.assert_allclose(iou, ref_iou.numpy(), atol=1e-6)
    miou = m["mean_iou"](conf)
    assert isinstance(miou, float)
    assert miou == pytest.approx(float(multiclass_jaccard_index(pred, target, k, average="macro",
                                                                ignore_index=255)), abs=1e-6)
    acc = m["pixel_accuracy"](conf)
    assert isinstance(acc, float)
    assert acc == pytest.approx(float(multiclass_accuracy(pred, target, k, average="micro",
                                                          ignore_index=255)), abs=1e-6)


def test_absent_classes_are_nan_and_left_out_of_the_mean(m):
    pred = np.array([[0, 0, 1], [1, 1, 0]])
    target = np.array([[0, 1, 1], [1, 255, 0]])
    conf = m["confusion_matrix"](pred, target, 4)
    assert conf.tolist() == [[2, 0, 0, 0], [1, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    iou = m["iou_per_class"](conf)
    assert iou[:2].tolist() == pytest.approx([2 / 3, 2 / 3]) and np.isnan(iou[2:]).all()
    assert m["mean_iou"](conf) == pytest.approx(2 / 3)
    assert m["pixel_accuracy"](conf) == pytest.approx(4 / 5)


def test_solutions_pass_the_self_checks(m):
    checks.check_confusion_matrix(m["confusion_matrix"])
    checks.check_pixel_accuracy(m["pixel_accuracy"])
    checks.check_iou_per_class(m["iou_per_class"])
    checks.check_mean_iou(m["mean_iou"])


def test_self_checks_catch_common_mistakes(m):
    cm = m["confusion_matrix"]
    with pytest.raises(AssertionError, match="transpose"):
        checks.check_confusion_matrix(lambda p, t, k, ignore_index=255: cm(p, t, k, ignore_index).T)
    with pytest.raises(AssertionError, match="255"):
        checks.check_confusion_matrix(  # void pixels counted as if predicted right
            lambda p, t, k, ignore_index=255: cm(p, np.where(np.asarray(t) == 255, p, t), k))
    with pytest.raises(AssertionError, match="minlength"):
        checks.check_confusion_matrix(
            lambda p, t, k, ignore_index=255: cm(p, t, int(max(np.max(np.asarray(p)), 1)) + 1, ignore_index)
            if np.asarray(p).size == 2 else cm(p, t, k, ignore_index))
    with pytest.raises(AssertionError, match="float"):
        checks.check_pixel_accuracy(lambda c: np.trace(np.asarray(c)) / np.asarray(c).sum())
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_iou_per_class(lambda c: np.nan_to_num(m["iou_per_class"](c)))
    with pytest.raises(AssertionError, match="nanmean"):
        checks.check_mean_iou(lambda c: float(np.nan_to_num(m["iou_per_class"](np.asarray(c))).mean()))
    assert not math.isnan(m["mean_iou"](np.eye(3, dtype=np.int64)))


def test_a_right_answer_that_warns_is_not_failed_by_the_check(m):
    import warnings

    def warning_iou(conf):
        with np.errstate(divide="warn", invalid="warn"):
            np.zeros(1) / np.zeros(1)  # NumPy's 0 / 0 RuntimeWarning, as a plain division gives
        return m["iou_per_class"](conf)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checks.check_iou_per_class(warning_iou)
    assert caught == []  # in a test cell a warning would reach stderr: nbgrader gives zero


def _same_kind(numpy_fn):
    """A NumPy confusion-matrix function that returns a tensor for tensors (as the spec asks)."""

    def fn(p, t, k, ignore_index=255):
        out = numpy_fn(np.asarray(p).reshape(-1), np.asarray(t).reshape(-1), k, ignore_index)
        return torch.from_numpy(out) if isinstance(p, torch.Tensor) else out

    return fn


def test_confusion_hints_for_ignore_index_minlength_and_uint8(m):
    """Answers that passed the old self-check but lost points (or crashed before its hint)."""
    cm = m["confusion_matrix"]

    @_same_kind
    def hard_coded_void(p, t, k, ignore_index):  # torchvision's `target < num_classes` idiom
        p, t = p.astype(np.int64), t.astype(np.int64)
        keep = (t >= 0) & (t < k)
        return np.bincount(t[keep] * k + p[keep], minlength=k * k).reshape(k, k)

    with pytest.raises(AssertionError, match="ignore_index can be any value"):
        checks.check_confusion_matrix(hard_coded_void)

    @_same_kind
    def no_minlength(p, t, k, ignore_index):  # ValueError in reshape when classes are absent
        p, t = p.astype(np.int64), t.astype(np.int64)
        keep = t != ignore_index
        return np.bincount(t[keep] * k + p[keep]).reshape(k, k)

    with pytest.raises(AssertionError, match="minlength=num_classes"):
        checks.check_confusion_matrix(no_minlength)

    @_same_kind
    def no_cast(p, t, k, ignore_index):  # uint8 maps wrap around at t * k
        keep = t != ignore_index
        return np.bincount(t[keep] * k + p[keep], minlength=k * k).reshape(k, k)

    with pytest.raises(AssertionError, match="cast both maps to int64"):
        checks.check_confusion_matrix(no_cast)

    def no_cast_torch(p, t, k, ignore_index=255):  # right for NumPy, wraps around for torch uint8
        if not isinstance(p, torch.Tensor):
            return cm(p, t, k, ignore_index)
        p, t = p.reshape(-1), t.reshape(-1)
        keep = t != ignore_index
        return torch.bincount(t[keep] * k + p[keep], minlength=k * k).reshape(k, k)

    with pytest.raises(AssertionError, match="uint8 torch maps.*int64"):
        checks.check_confusion_matrix(no_cast_torch)
    for make in (np.asarray, torch.as_tensor):
        got = cm(make(np.array([20, 3], dtype=np.uint8)), make(np.array([20, 20], dtype=np.uint8)), 21)
        assert int(got[20, 20]) == 1 and int(got[20, 3]) == 1


def test_float32_metrics_get_the_float64_hint(m):
    def torch_accuracy(conf):
        c = torch.as_tensor(conf)
        return float(c.diag().sum() / c.sum())  # int64 / int64 -> float32

    def torch_iou(conf):
        c = torch.as_tensor(conf)
        tp, union = c.diag(), c.sum(0) + c.sum(1) - c.diag()
        iou = torch.where(union > 0, tp / union.clamp(min=1), torch.nan)
        return iou if isinstance(conf, torch.Tensor) else iou.numpy()

    def torch_iou_cast_late(conf):  # float64 dtype, float32 values
        iou = torch_iou(torch.as_tensor(conf)).double()
        return iou if isinstance(conf, torch.Tensor) else iou.numpy()

    def float32_miou(conf):
        return float(np.nanmean(torch_iou(torch.as_tensor(conf)).numpy()))

    with pytest.raises(AssertionError, match="float32 precision"):
        checks.check_pixel_accuracy(torch_accuracy)
    with pytest.raises(AssertionError, match="float64"):
        checks.check_iou_per_class(torch_iou)
    with pytest.raises(AssertionError, match="float32 precision"):
        checks.check_iou_per_class(torch_iou_cast_late)
    with pytest.raises(AssertionError, match="float32 precision"):
        checks.check_mean_iou(float32_miou)
    with pytest.raises(AssertionError, match="diagonal sum over total"):  # a wrong formula: no dtype hint
        checks.check_pixel_accuracy(lambda c: float(np.asarray(c).diagonal().sum() / np.asarray(c).size))


def test_not_implemented_stub_gets_a_hint():
    def stub(*args, **kwargs):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="replace the `raise`"):
        checks.check_confusion_matrix(stub)
