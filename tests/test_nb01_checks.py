"""Notebook 01's self-checks: they pass a correct implementation (PyTorch's own operator) and fail
typical wrong ones with a message that names the entry and a likely cause."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labutils.checks import nb01

A = np.array([[2.0, 1.0], [0.0, 3.0]])
B = np.array([[1.0, 2.0], [3.0, 4.0]])


def _like(result: torch.Tensor, given):
    return result if isinstance(given, torch.Tensor) else result.numpy()


def _t(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


# --------------------------------------------------------------------------- by hand


def by_torch(A, B, stride=1):
    return _like(F.conv_transpose2d(_t(A)[None, None], _t(B)[None, None], stride=stride)[0, 0], A)


def by_torch_flipped(A, B, stride=1):
    return by_torch(A, B.flip((0, 1)) if isinstance(B, torch.Tensor) else B[::-1, ::-1].copy(),
                    stride)


def by_loop(A, B, stride, place_stride: bool = True, accumulate: bool = True, size_stride=None):
    """A loop with one switchable mistake (the kind of code a student writes)."""
    a, b = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    size_stride = stride if size_stride is None else size_stride
    out = np.zeros(((a.shape[0] - 1) * size_stride + b.shape[0],
                    (a.shape[1] - 1) * size_stride + b.shape[1]))
    step = stride if place_stride else 1
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            window = (slice(i * step, i * step + b.shape[0]), slice(j * step, j * step + b.shape[1]))
            if accumulate:
                out[window] += a[i, j] * b
            else:
                out[window] = a[i, j] * b
    return torch.from_numpy(out) if isinstance(A, torch.Tensor) else out


def test_by_hand_check_passes_pytorch(capsys):
    nb01.check_transpose_conv2d_by_hand(by_torch)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, needle", [
    (lambda A, B, stride=1: by_loop(A, B, stride, place_stride=False), "instead of (i*stride"),
    (lambda A, B, stride=1: by_loop(A, B, stride, accumulate=False), "overwriting"),
    (by_torch_flipped, "rotated by 180"),
    (lambda A, B, stride=1: by_loop(A, B, stride, place_stride=False, size_stride=1),
     "ignores the stride"),
    (lambda A, B, stride=1: np.asarray(by_torch(A, B, stride)), "return the same kind"),
    (lambda A, B, stride=1: None, "forget `return`"),
])
def test_by_hand_check_explains_typical_mistakes(wrong, needle):
    with pytest.raises(AssertionError) as err:
        nb01.check_transpose_conv2d_by_hand(wrong)
    assert needle in str(err.value)


def test_by_hand_check_names_the_entry_and_its_products():
    with pytest.raises(AssertionError) as err:
        nb01.check_transpose_conv2d_by_hand(lambda A, B, stride=1: by_loop(A, B, stride,
                                                                           accumulate=False))
    msg = str(err.value)
    # The first case is the worked example: entry (0, 1) should be 2*2 + 1*1 = 5, overwritten by 1.
    assert "entry (0, 1) is 1, expected 5 = A[0,0]·B[0,1] + A[0,1]·B[0,0]" in msg


def test_by_hand_check_catches_input_mutation():
    def mutating(A, B, stride=1):
        out = by_torch(A, B, stride)
        A[0, 0] = 99
        return out

    with pytest.raises(AssertionError, match="in place"):
        nb01.check_transpose_conv2d_by_hand(mutating)


# --------------------------------------------------------------------------- output size


def size_by_torch(in_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return nb01.torch_output_size(in_size, kernel_size, stride, padding, output_padding, dilation)


def test_size_check_passes_pytorch(capsys):
    nb01.check_conv_transpose_output_size(size_by_torch)
    assert "✓" in capsys.readouterr().out


def test_size_cases_cover_the_parameters():
    cases = [c for c, _ in nb01.output_size_cases()]
    for name, values in {"stride": {1, 2, 3}, "padding": {0, 1, 2}, "output_padding": {0, 1, 2},
                         "dilation": {1, 2}}.items():
        assert {c[name] for c in cases} == values


@pytest.mark.parametrize("offset, needle", [
    (lambda c: -c["output_padding"], "output_padding is missing"),
    (lambda c: -(c["dilation"] - 1) * (c["kernel_size"] - 1), "dilation is missing"),
    (lambda c: c["padding"], "subtracted once"),
    (lambda c: c["stride"], "(in_size - 1) * stride"),
])
def test_size_check_explains_typical_mistakes(offset, needle):
    def wrong(**case):
        return size_by_torch(**case) + offset(case)

    with pytest.raises(AssertionError) as err:
        nb01.check_conv_transpose_output_size(wrong)
    assert needle in str(err.value) and "nn.ConvTranspose2d gives" in str(err.value)


def conv_formula(in_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """nn.Conv2d's size formula: the shrinking direction."""
    return (in_size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def dilation_times_kernel(in_size, kernel_size, stride=1, padding=0, output_padding=0,
                          dilation=1):
    return (in_size - 1) * stride - 2 * padding + dilation * kernel_size + output_padding


@pytest.mark.parametrize("wrong, needle, not_needle", [
    (conv_formula, "size formula of an ordinary convolution", "output_padding is missing"),
    (dilation_times_kernel, "not dilation * kernel_size", "multiplied by the stride"),
])
def test_size_check_names_the_formula_mistakes(wrong, needle, not_needle):
    with pytest.raises(AssertionError) as err:
        nb01.check_conv_transpose_output_size(wrong)
    assert needle in str(err.value) and not_needle not in str(err.value)


def test_size_cases_run_simplest_first():
    cases = [c for c, _ in nb01.output_size_cases()]
    defaults = dict(stride=1, padding=0, output_padding=0, dilation=1)
    changed = [sum(c[k] != v for k, v in defaults.items()) for c in cases]
    assert changed == sorted(changed) and changed[0] == 0
    # Among one-parameter cases: stride, then padding, then dilation.
    singles = [next(k for k, v in defaults.items() if c[k] != v)
               for c, n in zip(cases, changed) if n == 1]
    assert list(dict.fromkeys(singles)) == ["stride", "padding", "dilation"]


def test_size_check_wants_an_int():
    with pytest.raises(AssertionError, match="Python int. Use //"):
        nb01.check_conv_transpose_output_size(lambda **c: float(size_by_torch(**c)))


# --------------------------------------------------------------------------- stride-2 exercise


def test_exercise_check_passes_the_right_matrix_and_hides_values():
    right = by_torch(A, B, 2)
    nb01.check_exercise_stride2(right.tolist(), A, B)
    nb01.check_exercise_stride2(tuple(tuple(row) for row in right.tolist()), A, B)
    nb01.check_exercise_stride2(torch.from_numpy(right), A, B)
    wrong = right.copy()
    wrong[1, 2] += 1
    with pytest.raises(AssertionError) as err:
        nb01.check_exercise_stride2(wrong, A, B)
    msg = str(err.value)
    assert "exercise_stride2[1, 2]" in msg and "A[0,1]·B[1,0]" in msg
    assert str(int(right[1, 2])) + "," not in msg.split("is not right")[1]
    with pytest.raises(AssertionError, match="has shape"):
        nb01.check_exercise_stride2(by_torch(A, B, 1), A, B)


@pytest.mark.parametrize("answer, needle", [
    ([[2, 4, 1, 2], [6, 8, 3], [0, 0, 3, 6], [0, 0, 9, 12]], "row 1 has 3 numbers; each row needs 4"),
    ([[2, 4, 1, 2], 6], "row 1 is 6, not a row"),
    (None, "exercise_stride2 is None"),
    ({"rows": 4}, "exercise_stride2 is dict"),
    ([["2", "x", 1, 2]] * 4, "numbers only"),
])
def test_exercise_check_explains_malformed_answers(answer, needle):
    with pytest.raises(AssertionError) as err:
        nb01.check_exercise_stride2(answer, A, B)
    assert needle in str(err.value)


def test_exercise_check_accepts_what_the_hidden_test_accepts():
    assert set(nb01.MATRIX_TYPES) == {np.ndarray, torch.Tensor, list, tuple}


# --------------------------------------------------------------------------- batched


def batched_by_torch(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    out = F.conv_transpose2d(_t(x), _t(weight), None if bias is None else _t(bias), stride=stride,
                             padding=padding, output_padding=output_padding)
    return _like(out, x)


def test_batched_check_passes_pytorch(capsys):
    nb01.check_conv_transpose2d_batched(batched_by_torch)
    assert "✓" in capsys.readouterr().out


def _swap_if_square(w):
    """Reads the weight as (C_out, C_in, ...), as a student who expected Conv2d's layout would."""
    if w.shape[0] != w.shape[1]:
        return w
    return w.transpose(0, 1) if isinstance(w, torch.Tensor) else w.transpose(1, 0, 2, 3).copy()


def _flip(w):
    return w.flip((2, 3)) if isinstance(w, torch.Tensor) else w[:, :, ::-1, ::-1].copy()


@pytest.mark.parametrize("wrong, needle", [
    (lambda x, w, b=None, **kw: batched_by_torch(x, w, None, **kw), "bias is missing"),
    (lambda x, w, b=None, **kw: batched_by_torch(x, _flip(w), b, **kw), "rotated by 180"),
    (lambda x, w, b=None, **kw: batched_by_torch(x, _swap_if_square(w), b, **kw),
     "channel axes of the weight are swapped"),
    (lambda x, w, b=None, **kw: batched_by_torch(x, w, b, **kw)[:, [0] * w.shape[0]],
     "weight.shape[0] (C_in) as the number of output channels"),
])
def test_batched_check_explains_typical_mistakes(wrong, needle):
    with pytest.raises(AssertionError) as err:
        nb01.check_conv_transpose2d_batched(wrong)
    assert needle in str(err.value)


@pytest.mark.parametrize("keep_top_left, needle", [
    (True, "cropped from the bottom and right only"),
    (False, "cropped from the top and left only"),
])
def test_batched_check_explains_one_sided_padding(keep_top_left, needle):
    def one_sided(x, w, b=None, stride=1, padding=0, output_padding=0):
        full = batched_by_torch(x, w, None, stride=stride, padding=0,
                                output_padding=output_padding)
        h = full.shape[-2] - 2 * padding
        wd = full.shape[-1] - 2 * padding
        out = full[..., :h, :wd] if keep_top_left else full[..., 2 * padding:, 2 * padding:]
        return out if b is None else out + b.reshape(1, -1, 1, 1)

    with pytest.raises(AssertionError) as err:
        nb01.check_conv_transpose2d_batched(one_sided)
    assert needle in str(err.value)


def batched_loop(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                 accumulate=True, crop_output_padding=False):
    """A student's loop with one switchable mistake (``=`` for ``+=``, or output_padding rows
    that are zeroed instead of kept)."""
    x_, w_ = np.asarray(x, dtype=float), np.asarray(weight, dtype=float)
    (n, _, h, w), (_, c_out, kh, kw) = x_.shape, w_.shape
    full = np.zeros((n, c_out, (h - 1) * stride + kh + output_padding,
                     (w - 1) * stride + kw + output_padding))
    for i in range(h):
        for j in range(w):
            patch = np.einsum("nc,cokl->nokl", x_[:, :, i, j], w_)
            window = (slice(None), slice(None), slice(i * stride, i * stride + kh),
                      slice(j * stride, j * stride + kw))
            if accumulate:
                full[window] += patch
            else:
                full[window] = patch
    out = full[:, :, padding:full.shape[2] - padding, padding:full.shape[3] - padding].copy()
    if crop_output_padding and output_padding:
        out[:, :, -output_padding:, :] = 0
        out[:, :, :, -output_padding:] = 0
    if bias is not None:
        out = out + np.asarray(bias, dtype=float).reshape(1, -1, 1, 1)
    return torch.from_numpy(out) if isinstance(x, torch.Tensor) else out


def test_batched_loop_helper_is_right_without_its_mistakes():
    nb01.check_conv_transpose2d_batched(batched_loop)


def test_batched_check_explains_overwriting():
    with pytest.raises(AssertionError) as err:
        nb01.check_conv_transpose2d_batched(
            lambda *a, **kw: batched_loop(*a, accumulate=False, **kw))
    msg = str(err.value)
    assert "(+=) instead of overwriting it (=)" in msg and "N = C_in = C_out = 1" not in msg


def test_batched_check_explains_output_padding():
    with pytest.raises(AssertionError) as err:
        nb01.check_conv_transpose2d_batched(
            lambda *a, **kw: batched_loop(*a, crop_output_padding=True, **kw))
    msg = str(err.value)
    assert "padding cropped off the bottom and right" in msg and "output_padding keeps them" in msg
    assert "zeros beyond the full result" not in msg
