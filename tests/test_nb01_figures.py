"""Notebook 01's figures and stepper widget: the numbers they draw are PyTorch's, every step is
where the procedure puts it, and the widget works as well as its static fallback."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from labutils.figures import transpose_conv as tc  # noqa: E402
from labutils.widgets import transpose_conv as tw  # noqa: E402
from labutils.widgets import widgets_supported  # noqa: E402

A = np.array([[2.0, 1.0], [0.0, 3.0]])
B = np.array([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_steps_follow_the_procedure(stride):
    a = np.arange(6.0).reshape(2, 3) - 2
    b = np.arange(1.0, 7.0).reshape(3, 2)
    steps = tc.steps(a, b, stride)
    assert [(s.i, s.j) for s in steps] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    for s in steps:
        assert (s.row, s.col) == (s.i * stride, s.j * stride)
        block = s.partial[s.row: s.row + 3, s.col: s.col + 2]
        assert np.array_equal(block, a[s.i, s.j] * b)
        assert np.abs(s.partial).sum() == np.abs(block).sum()  # nothing outside its window
    assert np.allclose(sum(s.partial for s in steps), steps[-1].running)
    want = F.conv_transpose2d(torch.tensor(a)[None, None], torch.tensor(b)[None, None],
                              stride=stride)[0, 0].numpy()
    assert np.allclose(steps[-1].running, want)


def test_worked_example_numbers():
    assert tc.steps(A, B, 1)[-1].running.tolist() == [[2, 5, 2], [6, 14, 10], [0, 9, 12]]


def test_static_figures_draw():
    for fig in (tc.plot_steps(A, B, 2), tc.plot_step(A, B, 1, 3),
                tc.plot_pool_vs_upsample(np.arange(16.0).reshape(4, 4), B),
                tc.plot_conv_matrix(np.ones((4, 9)), (3, 3), (2, 2)), tc.plot_checkerboard(8)):
        assert fig.axes
        plt.close(fig)


@pytest.mark.parametrize("stride, kernel, note", [
    (1, 2, "where copies overlap, they add up"),
    (2, 2, "tile the output without overlapping"),
    (3, 2, "do not overlap, and zeros lie between them"),
    (2, 3, "where copies overlap, they add up"),
])
def test_static_stepper_title_says_whether_copies_overlap(stride, kernel, note):
    fig = tc.plot_steps(A, tw.ramp_kernel(kernel), stride)
    title = fig._suptitle.get_text()
    plt.close(fig)
    assert note in title and f"stride {stride}" in title
    if "overlap," not in note:
        assert "add up" not in title


def test_checkerboard_figure_shows_inputs_and_settings():
    fig = tc.plot_checkerboard(8)
    panels = fig.axes[:8]  # a 2×4 grid, row by row (the colour bars come after)
    titles = [ax.get_title() for ax in panels]
    plt.close(fig)
    assert titles[0].startswith("input: constant") and titles[4].startswith("input: smooth")
    outputs = titles[1:4] + titles[5:]
    assert sum("padding=1, output_padding=1" in t for t in outputs) == 2  # k=3, both inputs
    assert all("→ 16×16" in t for t in outputs)
    assert np.array_equal(fig.axes[0].get_images()[0].get_array(), np.ones((8, 8)))


def test_checkerboard_comes_from_uneven_overlap():
    outs = tc.checkerboard_outputs(8)
    inner = (slice(3, -3), slice(3, -3))
    k3, k4, resize = (flat[inner] for flat, _ in outs.values())
    assert k3.std() > 0.3  # 1, 2 or 4 overlapping copies
    assert k4.std() < 1e-12 and resize.std() < 1e-12
    for flat, smooth in outs.values():
        assert flat.shape == smooth.shape == (16, 16)


def test_stepper_widget_redraws_on_every_control(monkeypatch):
    calls = []

    def plot_step(A_, B_, stride, step):
        calls.append((np.asarray(B_).shape[0], stride, step))
        return tc.plot_step(A_, B_, stride, step)

    monkeypatch.setattr(tw, "plot_step", plot_step)
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    box = tw.stepper(A, B)
    step, stride, size = box.children[0].children
    assert step.max == 4
    for widget, value in ((step, 3), (stride, 2), (size, 3), (size, 2)):
        widget.value = value
    # kernel size, stride, 0-based step of each drawing: the first, then one per change
    assert calls == [(2, 1, 0), (2, 1, 2), (2, 2, 2), (3, 2, 2), (2, 2, 2)]


def test_show_stepper_falls_back_to_a_static_figure(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    tw.show_stepper(A, B, stride=2, interactive=False)
    assert isinstance(shown[0], matplotlib.figure.Figure) and len(shown[0].axes) == 12


def test_widgets_not_used_headless(monkeypatch):
    assert not widgets_supported()  # no kernel here, and Agg
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert not widgets_supported()


def test_ramp_kernel_is_the_lecture_kernel():
    assert tw.ramp_kernel(2).tolist() == B.tolist()
