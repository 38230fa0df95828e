"""The transpose-convolution stepper: a slider over the steps of ``A ⊗ᵀ B``, with controls for
the stride and the kernel size, drawing each partial product and the running sum."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from labutils.figures.transpose_conv import plot_step, plot_steps
from labutils.widgets import widgets_supported


def ramp_kernel(size: int) -> np.ndarray:
    """The ``size``×``size`` kernel 1, 2, 3, ... in row-major order (``size=2``: [[1, 2], [3, 4]])."""
    return np.arange(1, size * size + 1, dtype=float).reshape(size, size)


def stepper(A, B=None, stride: int = 1):
    """An ipywidgets box: step slider, stride and kernel-size sliders, and the figure of the step.

    The kernel is ``B`` at its own size and :func:`ramp_kernel` at any other size.
    """
    import ipywidgets as widgets
    from IPython.display import display

    A = np.asarray(A, dtype=float)
    B = ramp_kernel(2) if B is None else np.asarray(B, dtype=float)
    if B.shape[0] != B.shape[1]:
        raise ValueError("the stepper's kernel-size control needs a square B")
    n = A.size
    step = widgets.IntSlider(value=1, min=1, max=n, description="step")
    stride_w = widgets.IntSlider(value=stride, min=1, max=3, description="stride")
    size_w = widgets.IntSlider(value=B.shape[0], min=1, max=4, description="kernel size")
    out = widgets.Output()

    def kernel() -> np.ndarray:
        return B if size_w.value == B.shape[0] else ramp_kernel(size_w.value)

    def redraw(_=None) -> None:
        with out:
            out.clear_output(wait=True)
            fig = plot_step(A, kernel(), stride_w.value, step.value - 1)
            display(fig)
            plt.close(fig)

    for w in (step, stride_w, size_w):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([step, stride_w, size_w]), out])


def show_stepper(A, B=None, stride: int = 1, interactive: bool | None = None) -> None:
    """Display the stepper where widgets render, else every step as one static figure.

    ``interactive=None`` decides with :func:`labutils.widgets.widgets_supported`.
    """
    from IPython.display import display

    interactive = widgets_supported() if interactive is None else interactive
    B = ramp_kernel(2) if B is None else B
    if interactive:
        display(stepper(A, B, stride))
        return
    fig = plot_steps(A, B, stride)
    display(fig)
    plt.close(fig)
