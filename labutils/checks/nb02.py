"""Self-checks for notebook 02 (U-Net on Pascal VOC): each raises ``AssertionError`` with a hint.

They compare a student's code with torch's functional ops (``F.conv2d``, ``F.batch_norm``,
``F.max_pool2d``, ``F.conv_transpose2d``), NumPy's ``histogram2d`` and small worked examples,
never with a copy of the solution.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

TOL = 1e-4


def _quietly(check):
    """Run a check with warnings (e.g. NumPy's 0 / 0) silenced: a right answer that warns must not
    lose its points because the test cell then wrote to stderr."""

    @functools.wraps(check)
    def run(*args, **kwargs):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return check(*args, **kwargs)

    return run


def _fail(message: str) -> None:
    raise AssertionError(message)


def _build(cls, *args, **kwargs) -> nn.Module:
    try:
        module = cls(*args, **kwargs)
    except NotImplementedError:
        _fail(f"{cls.__name__}{args} raised NotImplementedError: replace the `raise` in its "
              "__init__ (and forward) with your code.")
    if not isinstance(module, nn.Module):
        _fail(f"{cls.__name__} must subclass torch.nn.Module")
    return module


def _randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and batch-norm statistics, so that no layer is a near-identity that would
    hide a wrong order of operations; eval mode (running statistics)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for bn in _modules(module, nn.BatchNorm2d):
            bn.running_mean.copy_(torch.randn(bn.running_mean.shape, generator=g))
            bn.running_var.copy_(torch.rand(bn.running_var.shape, generator=g) + 0.5)
    return module.eval()


def _modules(module: nn.Module, kind) -> list[nn.Module]:
    return [m for m in module.modules() if isinstance(m, kind)]


def _by_class_name(module: nn.Module, name: str) -> list[nn.Module]:
    return [m for m in module.modules() if type(m).__name__ == name and m is not module]


def _shape(out, expected: tuple[int, ...], what: str, hint: str = "") -> None:
    if not isinstance(out, torch.Tensor):
        _fail(f"{what} returned {type(out).__name__}, expected a torch.Tensor")
    if tuple(out.shape) != expected:
        _fail(f"{what}: output shape {tuple(out.shape)}, expected {expected}. {hint}".strip())


def _close(got: torch.Tensor, want: torch.Tensor, what: str, hint: str) -> None:
    err = (got.detach().double() - want.detach().double()).abs().max().item()
    if not err <= TOL * max(1.0, want.abs().max().item()):
        _fail(f"{what}: largest difference {err:.3g} from the recomputation. {hint}")


def double_conv_reference(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(conv 3x3 pad 1 -> batch norm -> ReLU) x 2 in torch's functional ops, with ``module``'s own
    weights and its batch-norm mode (batch statistics in training, running ones in eval)."""
    convs, norms = _modules(module, nn.Conv2d), _modules(module, nn.BatchNorm2d)
    for conv, bn in zip(convs, norms):
        x = F.conv2d(x, conv.weight, conv.bias, padding=1)
        x = F.batch_norm(x, bn.running_mean.clone(), bn.running_var.clone(), bn.weight, bn.bias,
                         training=module.training, momentum=0.0, eps=bn.eps)
        x = F.relu(x)
    return x


@_quietly
def check_double_conv(DoubleConv) -> None:
    """DoubleConv(in, out): two 3x3 padded convolutions (no bias), each with BatchNorm and ReLU."""
    torch.manual_seed(0)
    block = _build(DoubleConv, 3, 8)
    convs, norms = _modules(block, nn.Conv2d), _modules(block, nn.BatchNorm2d)
    if len(convs) != 2:
        _fail(f"DoubleConv(3, 8) holds {len(convs)} nn.Conv2d layers, expected 2.")
    shapes = [tuple(c.weight.shape) for c in convs]
    if shapes != [(8, 3, 3, 3), (8, 8, 3, 3)]:
        _fail(f"DoubleConv(3, 8): conv weights {shapes}, expected [(8, 3, 3, 3), (8, 8, 3, 3)]: "
              "the first conv maps in_channels -> out_channels, the second out -> out, 3x3 kernels.")
    for c in convs:
        if c.padding != (1, 1) or c.stride != (1, 1):
            _fail(f"a conv has padding={c.padding}, stride={c.stride}: use padding=1, stride=1 so "
                  "a 3x3 conv keeps the height and width.")
        if c.bias is not None:
            _fail("use bias=False in the convs: the BatchNorm after each conv subtracts the mean, "
                  "which cancels a bias (and its own beta plays that role).")
    if len(norms) != 2 or any(n.num_features != 8 for n in norms):
        _fail(f"expected two nn.BatchNorm2d(8), found {[n.num_features for n in norms]}.")
    if not _modules(block, nn.ReLU):
        _fail("no nn.ReLU found: put a ReLU after each BatchNorm.")
    x = torch.randn(2, 3, 17, 23)
    _randomize(block)
    with torch.no_grad():
        out = block(x)
    _shape(out, (2, 8, 17, 23), "DoubleConv(3, 8) on (2, 3, 17, 23)",
           "The padded convs must keep H and W.")
    _close(out, double_conv_reference(block, x), "DoubleConv",
           "The order must be conv -> BatchNorm -> ReLU, twice.")
    print("DoubleConv looks right: 2 x (conv 3x3 pad 1 -> BN -> ReLU), shapes kept.")


@_quietly
def check_down(Down) -> None:
    """Down(in, out): 2x2 max-pool, then DoubleConv(in, out)."""
    torch.manual_seed(0)
    down = _build(Down, 4, 8)
    pools = _modules(down, nn.MaxPool2d)
    if len(pools) != 1 or pools[0].kernel_size not in (2, (2, 2)):
        _fail("Down needs one nn.MaxPool2d(2) (kernel 2, stride 2) before its DoubleConv.")
    inner = _by_class_name(down, "DoubleConv")
    if len(inner) != 1:
        _fail(f"Down should contain one DoubleConv (found {len(inner)}): reuse your block.")
    _randomize(down)
    for h, w in ((16, 20), (17, 23)):
        x = torch.randn(2, 4, h, w)
        with torch.no_grad():
            out = down(x)
        _shape(out, (2, 8, h // 2, w // 2), f"Down(4, 8) on (2, 4, {h}, {w})",
               "Max-pooling by 2 halves each side (rounding down), then DoubleConv(4, 8).")
        with torch.no_grad():
            want = inner[0](F.max_pool2d(x, 2))
        _close(out, want, "Down", "Pool first, then the DoubleConv.")
    print("Down looks right: max-pool 2x2, then DoubleConv; odd sides round down.")


@_quietly
def check_up(Up) -> None:
    """Up(in, out): ConvTranspose2d(in, in // 2, 2, stride 2), concat [skip, up], DoubleConv(in, out)."""
    torch.manual_seed(0)
    up = _build(Up, 16, 8)
    tconvs = _modules(up, nn.ConvTranspose2d)
    if len(tconvs) != 1:
        _fail(f"Up holds {len(tconvs)} nn.ConvTranspose2d, expected exactly 1.")
    t = tconvs[0]
    if (t.in_channels, t.out_channels, t.kernel_size, t.stride) != (16, 8, (2, 2), (2, 2)):
        _fail(f"Up(16, 8): ConvTranspose2d({t.in_channels}, {t.out_channels}, kernel_size="
              f"{t.kernel_size}, stride={t.stride}); expected ConvTranspose2d(16, 8, kernel_size=2, "
              "stride=2): it doubles H and W and halves the channels to match the skip.")
    inner = _by_class_name(up, "DoubleConv")
    if len(inner) != 1:
        _fail(f"Up should contain one DoubleConv (found {len(inner)}).")
    _randomize(up)
    x, skip = torch.randn(2, 16, 5, 6), torch.randn(2, 8, 10, 12)
    try:
        with torch.no_grad():
            out = up(x, skip)
    except TypeError as err:
        _fail(f"call it as up(x, skip): {err}")
    _shape(out, (2, 8, 10, 12), "Up(16, 8)(x (2, 16, 5, 6), skip (2, 8, 10, 12))")
    with torch.no_grad():
        want = inner[0](torch.cat([skip, t(x)], dim=1))
        swapped = inner[0](torch.cat([t(x), skip], dim=1))
    if (out - want).abs().max() > TOL and (out - swapped).abs().max() <= TOL:
        _fail("Concatenate the skip first: torch.cat([skip, upsampled], dim=1).")
    _close(out, want, "Up", "Upsample x, concatenate [skip, upsampled] on dim 1, then DoubleConv.")
    skip = torch.randn(2, 8, 11, 13)
    odd_hint = ("When the skip is one pixel larger (odd sides), pad the upsampled tensor (F.pad) or "
                "interpolate it to the skip's height and width before concatenating.")
    try:
        with torch.no_grad():
            out = up(x, skip)
    except RuntimeError as err:
        _fail(f"Up(16, 8)(x (2, 16, 5, 6), skip (2, 8, 11, 13)) failed: the upsampled x is 10x12, "
              f"the skip 11x13 ({err}). {odd_hint}")
    _shape(out, (2, 8, 11, 13), "Up(16, 8)(x (2, 16, 5, 6), skip (2, 8, 11, 13))", odd_hint)
    print("Up looks right: 2x2 transpose conv stride 2, [skip, up] concatenated, odd sides padded.")


def unet_parameter_count(in_channels: int, num_classes: int, base_channels: int, depth: int) -> int:
    """Parameters of the notebook's U-Net, counted from its description (not built)."""

    def double(i: int, o: int) -> int:  # two bias-free 3x3 convs + two BatchNorms (weight, bias)
        return 9 * i * o + 9 * o * o + 4 * o

    ch = [base_channels * 2 ** k for k in range(depth + 1)]
    total = double(in_channels, ch[0]) + ch[0] * num_classes + num_classes
    for k in range(depth):
        total += double(ch[k], ch[k + 1])                                     # Down
        total += ch[k + 1] * (ch[k + 1] // 2) * 4 + ch[k + 1] // 2            # transpose conv
        total += double(ch[k + 1], ch[k])                                     # Up's DoubleConv
    return total


@_quietly
def check_unet(UNet) -> None:
    """UNet(in_channels, num_classes, base_channels, depth): shapes on odd sizes and structure."""
    torch.manual_seed(0)
    net = _build(UNet, in_channels=3, num_classes=7, base_channels=8, depth=3)
    if _modules(net, nn.Linear):
        _fail("A U-Net is fully convolutional: remove the nn.Linear layers.")
    downs, ups = _by_class_name(net, "Down"), _by_class_name(net, "Up")
    if len(downs) != 3 or len(ups) != 3:
        _fail(f"UNet(depth=3) holds {len(downs)} Down and {len(ups)} Up blocks, expected 3 of each.")
    heads = [m for m in _modules(net, nn.Conv2d) if m.out_channels == 7]
    if not heads or heads[-1].kernel_size != (1, 1):
        _fail("End with a 1x1 nn.Conv2d(base_channels, num_classes) that gives the class scores.")
    net.eval()
    size_hint = ("The output keeps the input's height and width. For sides that are not a multiple "
                 "of 2**depth, pad (or interpolate) each upsampled tensor to its skip's size in Up.")
    for shape in ((1, 3, 64, 80), (2, 3, 37, 53)):
        try:
            with torch.no_grad():
                out = net(torch.randn(*shape))
        except RuntimeError as err:
            _fail(f"UNet(3, 7, 8, depth=3) on {shape} failed: {err}. {size_hint} Each Up takes the "
                  "skip of its own resolution, the deepest first.")
        _shape(out, (shape[0], 7, *shape[2:]), f"UNet(3, 7, 8, depth=3) on {shape}", size_hint)
    got = sum(p.numel() for p in net.parameters())
    want = unet_parameter_count(3, 7, 8, 3)
    if got != want:
        _fail(f"UNet(3, 7, base_channels=8, depth=3) has {got:,} parameters, expected {want:,} "
              f"(difference {got - want:+,}). Channels double at each Down (8, 16, 32, 64) and "
              "halve at each Up; convs inside DoubleConv have no bias; the head is a 1x1 conv.")
    print(f"UNet looks right: odd sizes work, {got:,} parameters as expected.")


# --------------------------------------------------------------------------- metrics


def _as_numpy(x, what: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    _fail(f"{what} returned {type(x).__name__}; return a NumPy array or a torch tensor "
          "(the same kind as the input).")


def _call(fn, args: tuple, kwargs: dict, what: str, hint: str = ""):
    """``fn(*args, **kwargs)``; an error inside the student's code becomes a hint naming the call."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        _fail(f"{fn.__name__} raised NotImplementedError: replace the `raise` with your code.")
    except (ValueError, RuntimeError, IndexError, TypeError) as err:
        _fail(f"{what} raised {type(err).__name__}: {err}. {hint}".strip())


def _float(x, what: str) -> float:
    if type(x) is not float:  # np.float64 subclasses float, but the lab returns plain floats
        _fail(f"{what} returned {type(x).__name__}; return a Python float (wrap it: float(...)).")
    return x


@_quietly
def check_confusion_matrix(confusion_matrix) -> None:
    """Rows true, columns predicted, void dropped; NumPy in -> NumPy out, torch in -> torch out."""
    pred = np.array([[0, 1, 1], [2, 2, 0]])
    target = np.array([[0, 1, 2], [2, 255, 1]])
    want = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    got = _call(confusion_matrix, (pred, target, 3), {"ignore_index": 255},
                "confusion_matrix(pred, target, 3, ignore_index=255) on (2, 3) NumPy maps")
    if not isinstance(got, np.ndarray):
        _fail(f"NumPy inputs gave a {type(got).__name__}: return a NumPy array for NumPy inputs.")
    if got.shape != (3, 3):
        _fail(f"shape {got.shape}, expected (num_classes, num_classes) = (3, 3).")
    if not np.issubdtype(got.dtype, np.integer):
        _fail(f"dtype {got.dtype}: counts are integers (np.bincount gives int64).")
    if got.sum() == 6:
        _fail("The matrix counts 6 pixels: the pixel whose target is 255 (void) must be dropped.")
    if (got == want.T).all() and not (got == want).all():
        _fail(f"You have the transpose: rows are the TRUE class, columns the PREDICTED one.\n"
              f"expected\n{want}\ngot\n{got}")
    if not (got == want).all():
        _fail(f"pred={pred.tolist()}, target={target.tolist()}:\nexpected\n{want}\ngot\n{got}\n"
              "Entry [i, j] counts pixels whose target is i and prediction is j. "
              "Hint: index = target * num_classes + pred, then np.bincount(index, minlength=K*K).")
    rng = np.random.default_rng(0)
    k = 5
    pred = rng.integers(0, k, size=(2, 9, 11))
    target = rng.integers(0, k, size=(2, 9, 11))
    target[rng.random(target.shape) < 0.2] = 255
    keep = target != 255
    want, _, _ = np.histogram2d(target[keep], pred[keep], bins=k, range=[[0, k], [0, k]])
    got = _call(confusion_matrix, (pred, target, k), {},
                "confusion_matrix(pred, target, 5) on (2, 9, 11) NumPy maps (ignore_index left out)",
                "Flatten all pixels (reshape(-1)); ignore_index defaults to 255.")
    if not (_as_numpy(got, "confusion_matrix") == want).all():
        _fail("A batch of (2, 9, 11) random maps with 5 classes (void 255 sprinkled) disagrees with "
              "np.histogram2d: flatten all pixels, and make ignore_index=255 the default.")
    got = _call(confusion_matrix, (torch.from_numpy(pred), torch.from_numpy(target), k),
                {"ignore_index": 255}, "confusion_matrix on torch tensors",
                "Use torch functions on tensors (torch.bincount, .reshape, .long()).")
    if not isinstance(got, torch.Tensor):
        _fail(f"torch inputs gave a {type(got).__name__}: return a torch tensor for torch inputs "
              "(torch.bincount works like np.bincount).")
    if not (got.cpu().numpy() == want).all():
        _fail("torch inputs give a different matrix from NumPy inputs.")
    minlength = ("With classes 0, 2, 3 absent the matrix must still be (4, 4), but bincount "
                 "returns only as many counts as the largest index + 1: use "
                 "minlength=num_classes**2 in bincount.")
    got = _call(confusion_matrix, (np.array([1, 1]), np.array([1, 1]), 4), {},
                "confusion_matrix(np.array([1, 1]), np.array([1, 1]), 4)", minlength)
    if _as_numpy(got, "confusion_matrix").shape != (4, 4):
        _fail(minlength)
    got = _call(confusion_matrix, (np.array([0, 1, 2, 2]), np.array([0, 1, 2, 1]), 3),
                {"ignore_index": 2}, "confusion_matrix(..., 3, ignore_index=2)")
    want = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0]])
    if not (_as_numpy(got, "confusion_matrix") == want).all():
        _fail(f"pred=[0, 1, 2, 2], target=[0, 1, 2, 1], ignore_index=2:\nexpected\n{want}\n"
              f"got\n{_as_numpy(got, 'confusion_matrix')}\nignore_index can be any value, even a "
              "real class id: drop the pixels whose TARGET equals ignore_index, and only those "
              "(compare with the ignore_index argument, not with 255 or num_classes). "
              "Predictions of 2 still count.")
    want = np.zeros((21, 21), dtype=np.int64)
    want[20, 20], want[20, 3] = 1, 1
    for kind, make in (("NumPy", np.asarray), ("torch", torch.as_tensor)):
        pred = make(np.array([[20, 3, 7]], dtype=np.uint8))
        target = make(np.array([[20, 20, 255]], dtype=np.uint8))
        got = _call(confusion_matrix, (pred, target, 21), {},
                    f"confusion_matrix on uint8 {kind} maps (as read from a PNG)")
        if not (_as_numpy(got, "confusion_matrix") == want).all():
            _fail(f"uint8 {kind} maps with 21 classes (as read from a VOC PNG), pred=[[20, 3, 7]], "
                  "target=[[20, 20, 255]]: expected conf[20, 20] = conf[20, 3] = 1, got "
                  f"conf[20, 20] = {_as_numpy(got, 'confusion_matrix')[20, 20]}. target * num_classes "
                  "overflows uint8 (20 * 21 = 420 wraps around to 164): cast both maps to int64 "
                  "first (.astype(np.int64) / .long()).")
    print("confusion_matrix looks right: rows true, columns predicted, void dropped, "
          "NumPy and torch.")


def _precise(got: float, want: float, what: str) -> None:
    """``got`` within 1e-9 of ``want`` (as the tests require); a float32-sized error gets its own hint."""
    if abs(got - want) < 1e-9:
        return
    if abs(got - want) < 1e-5 * max(1.0, abs(want)):
        _fail(f"{what}: expected {want!r}, got {got!r}. Right formula, but float32 precision: "
              "torch's int / int gives float32. Convert to float64 (.double()) before dividing.")
    _fail(f"{what}: expected {want!r}, got {got!r}.")


def _conf(rows) -> np.ndarray:
    return np.array(rows, dtype=np.int64)


@_quietly
def check_pixel_accuracy(pixel_accuracy) -> None:
    """Correct pixels (the diagonal) over all counted pixels, as a Python float."""
    conf = _conf([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    got = _float(pixel_accuracy(conf), "pixel_accuracy")
    if not math.isclose(got, 0.7, abs_tol=1e-5):
        _fail(f"conf={conf.tolist()}: expected 7 / 10 = 0.7 (diagonal sum over total), got {got}.")
    _precise(got, 0.7, "pixel_accuracy on a NumPy array")
    got = _float(pixel_accuracy(torch.from_numpy(conf)), "pixel_accuracy on a tensor")
    _precise(got, 0.7, "pixel_accuracy on a torch tensor")
    print("pixel_accuracy looks right.")


@_quietly
def check_iou_per_class(iou_per_class) -> None:
    """IoU_k = TP / (TP + FP + FN); NaN where class k is in neither prediction nor target."""
    conf = _conf([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    want = np.array([3 / 6, 4 / 7, np.nan])
    got = iou_per_class(conf)
    if not isinstance(got, np.ndarray):
        _fail(f"NumPy input gave a {type(got).__name__}: return a NumPy array for NumPy input.")
    if got.shape != (3,):
        _fail(f"shape {got.shape}, expected (num_classes,) = (3,).")
    if not np.isnan(got[2]):
        _fail(f"class 2 has no pixel in the target nor the prediction: its IoU is undefined and "
              f"must be NaN (got {got[2]}). A 0 would wrongly pull the mean down.")
    if not np.allclose(got[:2], want[:2], rtol=0, atol=1e-5):
        _fail(f"conf={conf.tolist()}: expected IoU [0.5, 0.5714, nan], got {got.tolist()}.\n"
              "IoU_k = TP / (TP + FP + FN) with TP = conf[k, k], FP = column sum - TP "
              "(predicted k, wrong), FN = row sum - TP (true k, missed).")
    if got.dtype != np.float64:
        _fail(f"dtype {got.dtype}: compute in float64, not float32 (the tests compare to 1e-9).")
    for k in range(2):
        _precise(float(got[k]), float(want[k]), f"IoU of class {k} (NumPy input)")
    got = iou_per_class(torch.from_numpy(conf))
    if not isinstance(got, torch.Tensor):
        _fail(f"a torch tensor input gave a {type(got).__name__}: return a tensor for a tensor.")
    if got.dtype != torch.float64:
        _fail(f"a torch tensor input gave dtype {got.dtype}: compute in float64 (.double() before "
              "dividing; torch's int / int gives float32, which cannot count more than 2**24 pixels "
              "exactly).")
    if not np.allclose(got.cpu().numpy()[:2], want[:2], rtol=0, atol=1e-9):
        _fail(f"a torch tensor input gave {got.tolist()}, expected [0.5, 0.5714, nan].")
    print("iou_per_class looks right (NaN for absent classes).")


@_quietly
def check_mean_iou(mean_iou) -> None:
    """The mean of the per-class IoU over the classes that are not NaN, as a Python float."""
    conf = _conf([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    want = (3 / 6 + 4 / 7) / 2
    got = _float(mean_iou(conf), "mean_iou")
    if math.isnan(got):
        _fail("mean_iou is NaN: skip the NaN classes (np.nanmean).")
    if math.isclose(got, (3 / 6 + 4 / 7) / 3, abs_tol=1e-9):
        _fail("You averaged over all 3 classes, counting the absent one as 0: use np.nanmean.")
    if not math.isclose(got, want, abs_tol=1e-5):
        _fail(f"conf={conf.tolist()}: expected (0.5 + 0.5714) / 2 = {want:.4f}, got {got}.")
    _precise(got, want, "mean_iou on a NumPy array")
    got = _float(mean_iou(torch.from_numpy(conf)), "mean_iou on a tensor")
    _precise(got, want, "mean_iou on a torch tensor")
    print("mean_iou looks right.")
