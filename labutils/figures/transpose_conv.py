"""Figures for notebook 01: the transpose convolution step by step, the 2×2 stride-2 up-step
against max-pooling, convolution as a matrix, and checkerboard artefacts.

Every number drawn here comes from PyTorch's own ``conv_transpose2d`` (a step is the transpose
convolution of ``A`` with all but some entries set to zero), never from a hand-written loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


@dataclass(frozen=True)
class Step:
    """Step ``index`` (0-based) of ``A ⊗ᵀ B``: entry ``A[i, j]`` times the whole of ``B``,
    placed with its top-left corner at ``(row, col)`` of the output."""

    index: int
    i: int
    j: int
    row: int
    col: int
    value: float
    partial: np.ndarray  # this step's scaled copy of B, placed on the output grid
    running: np.ndarray  # the sum of the partial products so far


def steps(A, B, stride: int = 1) -> list[Step]:
    """The steps of the lecture's procedure, in row-major order over ``A``."""
    a, b = _as_tensor(A), _as_tensor(B)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"A and B must be 2-D, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    out, seen = [], torch.zeros_like(a)
    for index in range(a.numel()):
        i, j = divmod(index, a.shape[1])
        only = torch.zeros_like(a)
        only[i, j] = a[i, j]
        seen[i, j] = a[i, j]
        partial = F.conv_transpose2d(only[None, None], b[None, None], stride=stride)[0, 0]
        running = F.conv_transpose2d(seen[None, None], b[None, None], stride=stride)[0, 0]
        out.append(Step(index, i, j, i * stride, j * stride, float(a[i, j]),
                        partial.numpy(), running.numpy()))
    return out


def draw_matrix(ax, M, title: str = "", box: tuple[int, int, int, int] | None = None,
                vmax: float | None = None, fmt: str = "{:g}", box_color: str = "tab:orange") -> None:
    """``M`` as a grid of coloured cells with its values; ``box`` = (row, col, height, width)
    outlines a block."""
    M = np.asarray(M, dtype=float)
    vmax = float(np.abs(M).max()) if vmax is None else vmax
    vmax = vmax or 1.0
    signed = (M < 0).any()
    cmap, vmin = ("RdBu_r", -vmax) if signed else ("Blues", 0.0)
    ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    for (r, c), v in np.ndenumerate(M):
        dark = abs(v) > 0.6 * vmax
        ax.text(c, r, fmt.format(round(v, 2) + 0.0), ha="center", va="center", fontsize=9,
                color="white" if dark else "black")
    ax.set_xticks(range(M.shape[1]))
    ax.set_yticks(range(M.shape[0]))
    ax.set_xticks(np.arange(-0.5, M.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, M.shape[0]), minor=True)
    ax.grid(which="minor", color="0.6", linewidth=0.6)
    ax.tick_params(which="both", length=0, labelsize=7)
    if box is not None:
        r, c, h, w = box
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor=box_color,
                               linewidth=2.5))
    ax.set_title(title, fontsize=10)


def draw_step(axes, A, B, stride: int, step: Step, vmax: float | None = None) -> None:
    """Three panels of one step: A (this entry outlined), this step's partial product, the
    running sum."""
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    kh, kw = B.shape
    window = (step.row, step.col, kh, kw)
    draw_matrix(axes[0], A, f"A: entry ({step.i}, {step.j}) = {step.value:g}",
                box=(step.i, step.j, 1, 1))
    draw_matrix(axes[1], step.partial,
                f"{step.value:g} × B at rows {step.row}..{step.row + kh - 1}, "
                f"cols {step.col}..{step.col + kw - 1}", box=window, vmax=vmax)
    draw_matrix(axes[2], step.running, f"running sum after step {step.index + 1}", box=window,
                vmax=vmax, box_color="tab:green")
    axes[1].set_xlabel("output column")
    axes[1].set_ylabel("output row")


def layout_note(A, B, stride: int) -> str:
    """How the copies of ``B`` sit in ``A ⊗ᵀ B``: overlapping, tiling, or with gaps between."""
    ones = lambda M: torch.ones(1, 1, *np.shape(M), dtype=torch.float64)  # noqa: E731
    coverage = F.conv_transpose2d(ones(A), ones(B), stride=stride)
    if coverage.max() > 1:
        return "where copies overlap, they add up"
    if coverage.min() == 0:
        return "the copies do not overlap, and zeros lie between them"
    return "the copies tile the output without overlapping"


def plot_step(A, B, stride: int = 1, step: int = 0):
    """One step of ``A ⊗ᵀ B`` (the stepper widget draws this)."""
    all_steps = steps(A, B, stride)
    vmax = float(np.abs(all_steps[-1].running).max())
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6),
                             gridspec_kw={"width_ratios": [np.shape(A)[1], *[all_steps[0].partial.shape[1]] * 2]})
    draw_step(axes, A, B, stride, all_steps[step], vmax)
    fig.suptitle(f"Transpose convolution, stride {stride}: step {step + 1} of {len(all_steps)}")
    fig.tight_layout()
    return fig


def plot_steps(A, B, stride: int = 1):
    """Every step of ``A ⊗ᵀ B``, one row each (the static version of the stepper)."""
    all_steps = steps(A, B, stride)
    vmax = float(np.abs(all_steps[-1].running).max())
    n = len(all_steps)
    out_w = all_steps[0].partial.shape[1]
    fig, axes = plt.subplots(n, 3, figsize=(11, 3.0 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [np.shape(A)[1], out_w, out_w]})
    for step, row in zip(all_steps, axes):
        draw_step(row, A, B, stride, step, vmax)
    fig.suptitle(f"A ⊗ᵀ B with stride {stride}: each entry of A scales the whole of B, "
                 f"placed by the stride; {layout_note(A, B, stride)}", y=1.0)
    fig.tight_layout()
    return fig


def plot_pool_vs_upsample(X, B):
    """2×2 max-pooling halves a map; a 2×2 transpose convolution with stride 2 doubles it."""
    x = _as_tensor(X)
    pooled = F.max_pool2d(x[None, None], 2)[0, 0]
    up = F.conv_transpose2d(pooled[None, None], _as_tensor(B)[None, None], stride=2)[0, 0]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6),
                             gridspec_kw={"width_ratios": [x.shape[1], pooled.shape[1], 2, up.shape[1]]})
    draw_matrix(axes[0], x, f"X  {tuple(x.shape)}")
    draw_matrix(axes[1], pooled, f"2×2 max-pool  {tuple(pooled.shape)}")
    draw_matrix(axes[2], B, "kernel B (2×2)")
    draw_matrix(axes[3], up, f"pooled ⊗ᵀ B, stride 2  {tuple(up.shape)}")
    for r in range(pooled.shape[0]):
        for c in range(pooled.shape[1]):
            draw_box = Rectangle((2 * c - 0.5, 2 * r - 0.5), 2, 2, fill=False,
                                 edgecolor="tab:orange", linewidth=2)
            axes[3].add_patch(draw_box)
            axes[0].add_patch(Rectangle((2 * c - 0.5, 2 * r - 0.5), 2, 2, fill=False,
                                        edgecolor="tab:orange", linewidth=2))
    fig.suptitle("Down and up again: max-pooling halves height and width, "
                 "a 2×2 transpose convolution with stride 2 doubles them (no overlaps)")
    fig.tight_layout()
    return fig


def plot_conv_matrix(C, in_shape: tuple[int, int], out_shape: tuple[int, int]):
    """The matrix ``C`` of a convolution (flattened input → flattened output) and ``Cᵀ``."""
    C = np.asarray(C, dtype=float)
    vmax = float(np.abs(C).max()) or 1.0
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4), gridspec_kw={"width_ratios": [4, 1.2]},
                             layout="constrained")
    for ax, M, title, (rows, cols) in (
        (axes[0], C, f"C: conv2d as a matrix, {C.shape[0]}×{C.shape[1]}", (out_shape, in_shape)),
        (axes[1], C.T, f"Cᵀ, {C.shape[1]}×{C.shape[0]}", (in_shape, out_shape)),
    ):
        image = ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(title)
        ax.set_ylabel(f"flattened {'output' if M is C else 'input'} {rows[0]}×{rows[1]}")
        ax.set_xlabel(f"flattened {'input' if M is C else 'output'} {cols[0]}×{cols[1]}")
        ax.set_xticks(range(M.shape[1]))
        ax.set_yticks(range(M.shape[0]))
        ax.tick_params(labelsize=6)
    fig.colorbar(image, ax=axes, fraction=0.02, label="kernel weight (0: white)")
    fig.suptitle("Each row of C is the kernel slid to one output position; "
                 "Cᵀ sends each output back to the inputs that made it")
    return fig


def smooth_image(size: int) -> np.ndarray:
    """The smooth test image of :func:`plot_checkerboard`: rings that fade from the centre."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size, dtype=torch.float64),
                            torch.linspace(-1, 1, size, dtype=torch.float64), indexing="ij")
    return (0.5 + 0.5 * torch.cos(3 * torch.sqrt(xx**2 + yy**2))).numpy()


def checkerboard_outputs(size: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Three ways to double a ``size``×``size`` map, each applied to a constant map and to a smooth
    image, with every kernel weight equal (the pattern comes from the layout, not the weights).

    The keys name each layer with its settings: the transpose convolutions use padding (and
    output_padding) so that every output is exactly ``2 * size`` wide; that crops only the border.
    """
    flat = torch.ones(1, 1, size, size, dtype=torch.float64)
    smooth = torch.from_numpy(smooth_image(size))[None, None]

    def tconv(k: int, padding: int, output_padding: int):
        w = torch.full((1, 1, k, k), 4.0 / (k * k), dtype=torch.float64)  # mean gain 1 at stride 2
        return lambda x: F.conv_transpose2d(x, w, stride=2, padding=padding,
                                            output_padding=output_padding)

    def resize_conv(x):
        up = F.interpolate(x, scale_factor=2, mode="nearest")
        w = torch.full((1, 1, 3, 3), 1.0 / 9, dtype=torch.float64)
        return F.conv2d(F.pad(up, (1, 1, 1, 1), mode="replicate"), w)

    layers = {
        "ConvTranspose2d k=3, s=2\npadding=1, output_padding=1": tconv(3, 1, 1),
        "ConvTranspose2d k=4, s=2\npadding=1": tconv(4, 1, 0),
        "nearest ×2, then Conv2d k=3\n(replicate padding 1)": resize_conv,
    }
    return {name: (f(flat)[0, 0].numpy(), f(smooth)[0, 0].numpy()) for name, f in layers.items()}


def plot_checkerboard(size: int = 16):
    """Checkerboard artefacts: kernel 3 with stride 2 overlaps unevenly; kernel 4 with stride 2
    overlaps evenly away from the border; resize-then-convolve has no uneven overlap at all.
    The first column shows the two inputs, the others what each layer makes of them."""
    outs = checkerboard_outputs(size)
    inputs = (np.ones((size, size)), smooth_image(size))
    fig, axes = plt.subplots(2, 4, figsize=(15, 8))
    for r, (image, what) in enumerate(zip(inputs, ("constant", "smooth image"))):
        im = axes[r, 0].imshow(image, cmap="magma" if r == 0 else "gray", vmin=0, vmax=1.05,
                               interpolation="nearest")
        if r == 0:
            fig.colorbar(im, ax=axes[r, 0], fraction=0.046)
        axes[r, 0].set_title(f"input: {what}\n{size}×{size}", fontsize=10)
    for c, (name, (flat, smooth)) in enumerate(outs.items(), start=1):
        im = axes[0, c].imshow(flat, cmap="magma", vmin=0, vmax=float(flat.max()) * 1.05,
                               interpolation="nearest")
        fig.colorbar(im, ax=axes[0, c], fraction=0.046)
        axes[0, c].set_title(f"{name}\nconstant input → {flat.shape[0]}×{flat.shape[1]}",
                             fontsize=10)
        axes[1, c].imshow(smooth, cmap="gray", interpolation="nearest")
        axes[1, c].set_title(f"{name}\nsmooth input → {smooth.shape[0]}×{smooth.shape[1]}",
                             fontsize=10)
    for ax in axes.flat:
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    fig.suptitle(f"Doubling a {size}×{size} map: uneven overlaps of the kernel copies print a "
                 "checkerboard", fontsize=12)
    fig.tight_layout()
    return fig
