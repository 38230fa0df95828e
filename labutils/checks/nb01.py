"""Self-checks for notebook 01 (transpose convolution). Each raises ``AssertionError`` with a
hint a student can act on: which entry differs, expected against got, and a likely cause.

Expected values always come from PyTorch (``conv_transpose2d`` / ``conv_transpose1d``), never
from a copy of the exercise's solution.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

ATOL = 1e-5


# --------------------------------------------------------------------------- helpers


def _kind(x) -> str:
    if isinstance(x, torch.Tensor):
        return "torch.Tensor"
    if isinstance(x, np.ndarray):
        return "numpy.ndarray"
    return type(x).__name__


def _to_array(result, given, what: str) -> np.ndarray:
    """The student's result as float64 NumPy, after checking it is the kind ``given`` was."""
    if result is None:
        raise AssertionError(f"{what} returned None: did you forget `return`?")
    if _kind(result) != _kind(given):
        raise AssertionError(
            f"{what} was given a {_kind(given)} and returned a {_kind(result)}: return the same "
            f"kind as the input ({'torch.zeros' if _kind(given) == 'torch.Tensor' else 'np.zeros'} "
            "builds an output of the right kind).")
    if isinstance(result, torch.Tensor):
        return result.detach().cpu().double().numpy()
    return np.asarray(result, dtype=np.float64)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _first_diff(got: np.ndarray, want: np.ndarray, atol: float = ATOL) -> tuple[int, ...] | None:
    bad = np.argwhere(np.abs(got - want) > atol * (1 + np.abs(want)))
    return tuple(int(v) for v in bad[0]) if len(bad) else None


def _same(got: np.ndarray, want: np.ndarray, atol: float = ATOL) -> bool:
    return got.shape == want.shape and _first_diff(got, want, atol) is None


def _tconv(A: np.ndarray, B: np.ndarray, stride: int) -> np.ndarray:
    """PyTorch's transpose convolution of two 2-D arrays (float64)."""
    a = torch.as_tensor(np.ascontiguousarray(A), dtype=torch.float64)
    b = torch.as_tensor(np.ascontiguousarray(B), dtype=torch.float64)
    return F.conv_transpose2d(a[None, None], b[None, None], stride=stride)[0, 0].numpy()


def _contributions(r: int, c: int, a_shape, b_shape, stride: int) -> list[str]:
    """Which products ``A[i, j]·B[p, q]`` land on output entry ``(r, c)``."""
    terms = []
    for i, j in itertools.product(range(a_shape[0]), range(a_shape[1])):
        p, q = r - i * stride, c - j * stride
        if 0 <= p < b_shape[0] and 0 <= q < b_shape[1]:
            terms.append(f"A[{i},{j}]·B[{p},{q}]")
    return terms


def _overlaps(a_shape, b_shape, stride: int) -> np.ndarray:
    """How many copies of the kernel cover each output entry."""
    return _tconv(np.ones(a_shape), np.ones(b_shape), stride)


OVERWRITE_HINT = "add each product to what is already there (+=) instead of overwriting it (=)."


def _wrong_only_where_covered_twice(got: np.ndarray, want: np.ndarray,
                                    coverage: np.ndarray) -> bool:
    """The ``=`` for ``+=`` mistake: every wrong entry is covered by more than one copy of the
    kernel, and some entries covered once (right ones) show the rest is fine. ``coverage``
    counts the copies per entry and broadcasts to ``want``."""
    wrong = np.abs(got - want) > ATOL * (1 + np.abs(want))
    coverage = np.broadcast_to(coverage, want.shape)
    return bool(wrong.any() and (coverage[wrong] > 1).all() and (coverage <= 1).any())


# --------------------------------------------------------------------------- exercise 1


def _by_hand_cases() -> list[tuple[np.ndarray, np.ndarray, int, str]]:
    rng = np.random.default_rng(1501)
    cases = [
        (np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), 1, "numpy"),
        (np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), 2, "numpy"),
        (np.array([[1.0, -2.0, 3.0]]), np.array([[1.0], [2.0]]), 1, "numpy"),
    ]
    for stride, a_shape, b_shape, kind in [(1, (3, 2), (2, 3), "torch"), (2, (2, 3), (3, 3), "numpy"),
                                          (3, (3, 3), (2, 4), "torch"), (2, (1, 1), (3, 2), "torch")]:
        A = rng.integers(-3, 4, size=a_shape).astype(float)
        B = rng.integers(-3, 4, size=b_shape).astype(float)
        cases.append((A, B, stride, kind))
    return cases


def _diagnose_by_hand(got: np.ndarray, A: np.ndarray, B: np.ndarray, stride: int) -> str:
    """A likely cause for a wrong transpose convolution of the right shape."""
    if _same(got, _tconv(A, B[::-1, ::-1], stride)):
        return ("your result equals the one with B rotated by 180°: the transpose convolution "
                "multiplies A[i, j] by B as it is, no flipping.")
    if A.shape[0] == A.shape[1] and _same(got, _tconv(A.T, B, stride)):
        return ("rows and columns of A are swapped: A[i, j] goes to output rows i*stride..., "
                "columns j*stride....")
    if stride > 1:
        unstrided = np.zeros_like(got)
        small = _tconv(A, B, 1)
        unstrided[: small.shape[0], : small.shape[1]] = small
        if _same(got, unstrided):
            return ("the copies are placed at (i, j) instead of (i*stride, j*stride): the stride "
                    "says how far apart neighbouring copies of B start.")
    want = _tconv(A, B, stride)
    if _wrong_only_where_covered_twice(got, want, _overlaps(A.shape, B.shape, stride)):
        return "only entries where copies of B overlap are wrong: " + OVERWRITE_HINT
    return "compare this entry with the sum of the products listed above."


def check_transpose_conv2d_by_hand(fn) -> None:
    """``fn(A, B, stride)`` against ``torch.nn.functional.conv_transpose2d``."""
    for A, B, stride, kind in _by_hand_cases():
        given_A = torch.tensor(A) if kind == "torch" else A.copy()
        given_B = torch.tensor(B) if kind == "torch" else B.copy()
        call = f"transpose_conv2d_by_hand(A, B, stride={stride}) with A of shape {A.shape}, " \
               f"B of shape {B.shape} ({kind})"
        result = fn(given_A, given_B, stride=stride)
        got = _to_array(result, given_A, call)
        for before, after in ((A, given_A), (B, given_B)):
            now = after.numpy() if isinstance(after, torch.Tensor) else after
            if not np.array_equal(before, now):
                raise AssertionError(f"{call} changed its input in place: work on a new array.")
        want = _tconv(A, B, stride)
        if got.shape != want.shape:
            hint = (f"{call}: output shape {got.shape}, expected {want.shape} = "
                    "((rows of A - 1) * stride + rows of B, (cols of A - 1) * stride + cols of B).")
            if got.shape == _tconv(A, B, 1).shape and stride > 1:
                hint += " Your size ignores the stride."
            raise AssertionError(hint)
        bad = _first_diff(got, want)
        if bad is not None:
            r, c = bad
            terms = " + ".join(_contributions(r, c, A.shape, B.shape, stride)) or "nothing (0)"
            raise AssertionError(
                f"{call}: entry ({r}, {c}) is {_fmt(got[r, c])}, expected {_fmt(want[r, c])} "
                f"= {terms}.\nA = {A.tolist()}, B = {B.tolist()}\n"
                f"Likely cause: {_diagnose_by_hand(got, A, B, stride)}")
    print("✓ transpose_conv2d_by_hand matches PyTorch (strides 1-3, NumPy and torch inputs).")


# --------------------------------------------------------------------------- exercise 2


def torch_output_size(in_size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                      output_padding: int = 0, dilation: int = 1) -> int:
    """The output length PyTorch produces (measured by running ``conv_transpose1d``); raises
    ``RuntimeError`` for a setting PyTorch refuses (an empty output, too much output_padding)."""
    x = torch.zeros(1, 1, in_size)
    w = torch.zeros(1, 1, kernel_size)
    y = F.conv_transpose1d(x, w, stride=stride, padding=padding, output_padding=output_padding,
                           dilation=dilation)
    return int(y.shape[-1])


def _simplest_first(case: dict[str, int]) -> tuple[int, ...]:
    """Sort key: fewest parameters away from their defaults first; among those, stride before
    padding before output_padding before dilation; then the smallest sizes."""
    changed = (case["stride"] != 1) + (case["padding"] != 0) + (case["output_padding"] != 0) \
        + (case["dilation"] != 1)
    return (changed, case["dilation"], case["output_padding"], case["padding"], case["stride"],
            case["in_size"], case["kernel_size"])


def output_size_cases() -> list[tuple[dict[str, int], int]]:
    """Every setting the size check tries, with PyTorch's answer (only those PyTorch accepts),
    simplest first, so that the first failure shows one mistake at a time."""
    cases = []
    for in_size, k, s, p, d in itertools.product(range(1, 6), range(1, 5), range(1, 4),
                                                 range(0, 3), range(1, 3)):
        for op in range(max(s, d)):
            case = dict(in_size=in_size, kernel_size=k, stride=s, padding=p, output_padding=op,
                        dilation=d)
            try:
                cases.append((case, torch_output_size(**case)))
            except RuntimeError:
                continue
    return sorted(cases, key=lambda c: _simplest_first(c[0]))


def _diagnose_size(got, want: int, case: dict[str, int]) -> str:
    """The likeliest mistake behind ``got``. The cases run simplest first, so a formula fails
    first where the parameter it gets wrong is the only one (or the newest one) in play: the
    detectors for that parameter come before the general ones."""
    n, k, s, p, op, d = (case[name] for name in ("in_size", "kernel_size", "stride", "padding",
                                                 "output_padding", "dilation"))
    conv = (n + 2 * p - d * (k - 1) - 1) // s + 1  # nn.Conv2d's output size
    detectors = [
        (op > 0 and got == want - op,
         "output_padding is missing: it adds that many rows on one side (+ output_padding)."),
        (d > 1 and k > 1 and got == want - (d - 1) * (k - 1),
         "dilation is missing: a dilated kernel spans dilation * (kernel_size - 1) + 1."),
        (d > 1 and got == want + d - 1,
         "the dilated kernel's span is dilation * (kernel_size - 1) + 1, not dilation * "
         "kernel_size: there are kernel_size - 1 gaps between the taps, not kernel_size."),
        (p > 0 and got == want + p,
         "padding is subtracted once; it crops from both sides (- 2 * padding)."),
        (p > 0 and got == want + 2 * p,
         "padding is ignored; in a transpose convolution it crops 2 * padding."),
        (p > 0 and got == want + 4 * p,
         "padding is added; in a transpose convolution it crops (- 2 * padding)."),
        (got == want + s,
         "the input size is multiplied by the stride; the first copy of the kernel needs no "
         "step, so use (in_size - 1) * stride."),
        (got in (conv, conv + op),
         "this is the size formula of an ordinary convolution, (in_size + 2 * padding - "
         "dilation * (kernel_size - 1) - 1) // stride + 1, which shrinks a map. A transpose "
         "convolution goes the other way: start from (in_size - 1) * stride + kernel_size."),
    ]
    for found, cause in detectors:
        if found:
            return cause
    return ("start from (in_size - 1) * stride + kernel_size (no padding, no dilation) and add "
            "the other parameters one at a time.")


def check_conv_transpose_output_size(fn) -> None:
    """``fn(...)`` against the sizes ``nn.ConvTranspose2d`` produces, over every valid setting."""
    cases = output_size_cases()
    for case, want in cases:
        got = fn(**case)
        args = ", ".join(f"{k}={v}" for k, v in case.items())
        if type(got) is not int:
            hint = (" Use // for integer division, or int(...)." if isinstance(got, float) else
                    " Convert it with int(...)." if isinstance(got, (np.integer, torch.Tensor))
                    else "")
            raise AssertionError(f"conv_transpose_output_size({args}) returned {got!r} of type "
                                 f"{type(got).__name__}: return a Python int.{hint}")
        if got != want:
            raise AssertionError(
                f"conv_transpose_output_size({args}) = {got}, but nn.ConvTranspose2d "
                f"gives {want}.\nLikely cause: {_diagnose_size(got, want, case)}")
    print(f"✓ conv_transpose_output_size matches nn.ConvTranspose2d on {len(cases)} settings.")


# --------------------------------------------------------------------------- exercise 3


MATRIX_TYPES = (np.ndarray, torch.Tensor, list, tuple)  # what the hidden test accepts, too


def _matrix(M, name: str, columns: int) -> np.ndarray:
    """A typed-in matrix (NumPy array, tensor, or list/tuple of rows) as float64 NumPy."""
    if type(M) not in MATRIX_TYPES:
        found = "None" if M is None else type(M).__name__
        raise AssertionError(f"{name} is {found}: write the matrix as a NumPy array, "
                             "np.array([[...], [...], ...]) with one inner list per row.")
    if isinstance(M, torch.Tensor):
        return M.detach().cpu().double().numpy()
    if isinstance(M, (list, tuple)):
        rows = (list, tuple, np.ndarray, torch.Tensor)
        for r, row in enumerate(M):
            if not isinstance(row, rows):
                raise AssertionError(f"{name}: row {r} is {row!r}, not a row; write one inner "
                                     f"list of {columns} numbers per row.")
        lengths = [len(row) for row in M]
        if len(set(lengths)) > 1:
            r = next(r for r, n in enumerate(lengths) if n != columns)
            raise AssertionError(f"{name}: row {r} has {lengths[r]} numbers; each row needs "
                                 f"{columns} numbers.")
    try:
        return np.asarray(M, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise AssertionError(f"{name} must hold numbers only ({err}).") from None


def check_exercise_stride2(M, A, B) -> None:
    """The student's matrix for ``A ⊗ᵀ B`` with stride 2. A wrong entry is named with the copy
    of B that covers it, not with its value (working it out is the exercise)."""
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    want = _tconv(A, B, 2)
    got = _matrix(M, "exercise_stride2", want.shape[1])
    if got.shape != want.shape:
        raise AssertionError(
            f"exercise_stride2 has shape {got.shape}; with A {A.shape}, B {B.shape} and stride 2 "
            f"the output has (rows of A - 1) * 2 + rows of B = {want.shape[0]} rows and "
            f"{want.shape[1]} columns.")
    bad = _first_diff(got, want)
    if bad is not None:
        r, c = bad
        terms = _contributions(r, c, A.shape, B.shape, 2)
        where = (" + ".join(terms) if terms else
                 "no copy of B (so it must be 0)")
        raise AssertionError(
            f"exercise_stride2[{r}, {c}] = {_fmt(got[r, c])} is not right. That entry receives "
            f"{where}. Each A[i, j] · B starts at row 2*i, column 2*j.")
    print("✓ exercise_stride2 is right.")


# --------------------------------------------------------------------------- exercise 4


def _batched_cases() -> list[dict]:
    rng = np.random.default_rng(1504)
    specs = [  # N, C_in, C_out, H, W, kH, kW, stride, padding, output_padding, bias, kind
        (1, 1, 1, 2, 2, 2, 2, 1, 0, 0, False, "torch"),
        (2, 3, 2, 3, 4, 2, 3, 2, 0, 0, False, "torch"),
        (2, 2, 3, 4, 3, 3, 3, 2, 1, 1, True, "torch"),
        (1, 2, 2, 3, 5, 3, 2, 3, 2, 2, True, "numpy"),
        (3, 1, 4, 2, 3, 4, 4, 1, 1, 0, True, "torch"),
    ]
    cases = []
    for n, ci, co, h, w, kh, kw, s, p, op, bias, kind in specs:
        cases.append(dict(
            x=rng.normal(size=(n, ci, h, w)), weight=rng.normal(size=(ci, co, kh, kw)),
            bias=rng.normal(size=co) if bias else None, stride=s, padding=p, output_padding=op,
            kind=kind))
    return cases


def _torch_batched(x, weight, bias, stride, padding, output_padding) -> np.ndarray:
    t = lambda a: None if a is None else torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return F.conv_transpose2d(t(x), t(weight), t(bias), stride=stride, padding=padding,
                              output_padding=output_padding).numpy()


def _diagnose_batched(got: np.ndarray, case: dict) -> str:
    x, w, b = case["x"], case["weight"], case["bias"]
    s, p, op = case["stride"], case["padding"], case["output_padding"]
    ref = lambda **kw: _torch_batched(**{"x": x, "weight": w, "bias": b, "stride": s,  # noqa: E731
                                         "padding": p, "output_padding": op, **kw})
    if b is not None and _same(got, ref(bias=None)):
        return "the bias is missing: add bias[o] to every pixel of output channel o."
    if b is not None and _same(got, ref() + b[None, :, None, None]):
        return "the bias is added more than once: add it once per output pixel, after the sums."
    if _same(got, ref(weight=w[:, :, ::-1, ::-1].copy())):
        return "the kernel is rotated by 180°: use weight[c, o] as it is, no flipping."
    if w.shape[0] == w.shape[1] and _same(got, ref(weight=w.transpose(1, 0, 2, 3).copy())):
        return ("the two channel axes of the weight are swapped: PyTorch lays a transpose "
                "convolution's weight out as (C_in, C_out, kH, kW), the reverse of Conv2d's.")
    if p:
        full = ref(padding=0, output_padding=op)
        h, w_ = got.shape[-2:]
        # Keeping the top-left of the full result crops only at the bottom-right, and back.
        for name, r0, c0 in (("bottom and right", 0, 0), ("top and left", 2 * p, 2 * p)):
            if _same(got, full[..., r0: r0 + h, c0: c0 + w_]):
                return (f"padding is cropped from the {name} only (2 * padding rows and columns "
                        "there): padding p removes p rows and p columns from each side of the "
                        "full result.")
    want = ref()
    if op and _same(got[..., :-op, :-op], want[..., :-op, :-op]):
        kept = ("crop padding rows at the top but only padding - output_padding at the bottom "
                "(the same for columns)" if op <= p else
                "the padding rows cropped there come back, and the rows beyond the full result "
                "are zeros (plus the bias)")
        return ("only the last output_padding rows/columns are wrong: they are the rows and "
                "columns that padding cropped off the bottom and right of the full result, and "
                f"output_padding keeps them: {kept}.")
    # How many copies of the kernel (one per input position) land on each output entry.
    ones = lambda a: np.ones((1, 1, *a.shape[2:]))  # noqa: E731
    if _wrong_only_where_covered_twice(got, want, _torch_batched(ones(x), ones(w), None, s, p, op)):
        return "only entries where copies of the kernel overlap are wrong: " + OVERWRITE_HINT
    if x.shape[0] == x.shape[1] == w.shape[1] == 1:
        return ("with one sample and one channel this is exercise 2: compare out[0, 0] with "
                "transpose_conv2d_by_hand(x[0, 0], weight[0, 0], stride), cropped by padding.")
    return ("the first case (one sample, one channel) passed, so look at what this one adds: "
            "out[n, o] collects x[n, c, i, j] * weight[c, o] over every input channel c, for "
            "each sample n separately.")


def check_conv_transpose2d_batched(fn) -> None:
    """``fn(x, weight, bias, stride, padding, output_padding)`` against
    ``torch.nn.functional.conv_transpose2d`` within 1e-5."""
    for case in _batched_cases():
        kind = case["kind"]
        conv = (lambda a: None if a is None else torch.tensor(a)) if kind == "torch" else \
               (lambda a: None if a is None else a.copy())
        x, w, b = conv(case["x"]), conv(case["weight"]), conv(case["bias"])
        s, p, op = case["stride"], case["padding"], case["output_padding"]
        call = (f"conv_transpose2d_batched(x {tuple(case['x'].shape)}, weight "
                f"{tuple(case['weight'].shape)}, bias={'None' if b is None else 'given'}, "
                f"stride={s}, padding={p}, output_padding={op}) ({kind})")
        result = fn(x, w, b, stride=s, padding=p, output_padding=op)
        got = _to_array(result, x, call)
        want = _torch_batched(case["x"], case["weight"], case["bias"], s, p, op)
        if got.shape != want.shape:
            n, co = want.shape[:2]
            hint = (f"{call}: output shape {got.shape}, expected {want.shape} = (N, C_out, H_out, "
                    "W_out); C_out is weight.shape[1] and H_out, W_out follow your "
                    "conv_transpose_output_size.")
            if got.ndim == 4 and got.shape[1] == case["weight"].shape[0] != co:
                hint += " You used weight.shape[0] (C_in) as the number of output channels."
            raise AssertionError(hint)
        bad = _first_diff(got, want)
        if bad is not None:
            raise AssertionError(
                f"{call}: out{list(bad)} is {_fmt(got[bad])}, expected {_fmt(want[bad])}.\n"
                f"Likely cause: {_diagnose_batched(got, case)}")
    print("✓ conv_transpose2d_batched matches torch.nn.functional.conv_transpose2d "
          "(channels, batches, strides, padding, output_padding, bias).")
