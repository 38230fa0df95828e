"""A browser of segmentation samples: image | colour mask | overlay, with a slider over samples
and one over the overlay's opacity; a static figure where widgets cannot render."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from labutils.data.classes import VOC_PALETTE, VOID
from labutils.viz import colorize, legend_handles, overlay, to_numpy_image
from labutils.widgets import widgets_supported


def _row(axes, image, mask, class_names, palette, alpha: float, title: str = "") -> set[int]:
    mask = np.asarray(mask)
    axes[0].imshow(to_numpy_image(image))
    axes[1].imshow(colorize(mask, palette), interpolation="nearest")
    axes[2].imshow(overlay(image, mask, alpha=alpha, palette=palette), interpolation="nearest")
    for ax, name in zip(axes, ("image", "colour mask", f"overlay (opacity {alpha:.2f})")):
        ax.set_title(f"{title}{name}", fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
    return set(np.unique(mask[mask != VOID]).tolist())


def _figure(dataset, indices: Sequence[int], class_names, palette, alpha: float):
    fig, axes = plt.subplots(len(indices), 3, figsize=(9.5, 2.7 * len(indices) + 0.6),
                             squeeze=False)
    present: set[int] = set()
    for r, i in enumerate(indices):
        image, mask = dataset[i]
        present |= _row(axes[r], image, mask, class_names, palette, alpha, title=f"#{i} ")
    handles = legend_handles(class_names, sorted(present), palette)
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), frameon=False,
               fontsize="small")
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight() * (1 + len(handles) // 7), 1, 1))
    return fig


def segmentation_browser(dataset, class_names: Sequence[str], palette: np.ndarray = VOC_PALETTE,
                         static_samples: int = 3, interactive: bool | None = None):
    """Browse ``dataset[i] = (image (3, H, W), mask (H, W))``: image, colour mask and overlay.

    With widgets (``interactive=None`` decides: a live kernel) it returns the widget box with a
    sample slider and an opacity slider; otherwise it draws the first ``static_samples`` samples
    in one figure and returns it.
    """
    if interactive is None:
        interactive = widgets_supported()
    if not interactive:
        return _figure(dataset, range(min(static_samples, len(dataset))), class_names, palette, 0.5)

    import ipywidgets as widgets
    from IPython.display import display

    index = widgets.IntSlider(value=0, min=0, max=len(dataset) - 1, description="sample",
                              continuous_update=False)
    alpha = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="opacity",
                                continuous_update=False)

    def draw(index: int, alpha: float) -> None:
        fig = _figure(dataset, [index], class_names, palette, alpha)
        plt.show()
        plt.close(fig)

    out = widgets.interactive_output(draw, {"index": index, "alpha": alpha})
    box = widgets.VBox([widgets.HBox([index, alpha]), out])
    display(box)
    return box
