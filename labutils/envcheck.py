"""Environment checks for ``00_setup``: each says what it found and what to do about a problem."""

from __future__ import annotations

import importlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from labutils.paths import use_google_drive  # noqa: F401 (offered to 00_setup from here too)

Status = Literal["ok", "warn", "fail"]
SYMBOL: dict[str, str] = {"ok": "✓", "warn": "!", "fail": "✗"}

MIN_PYTHON = (3, 10)
# The lower bounds of pyproject.toml's dependencies (what Colab's preinstalled versions must meet).
MIN_VERSIONS: dict[str, str] = {"torch": "2.4", "torchvision": "0.19"}
# Import name -> (short name, what it is for); every one is a dependency in pyproject.toml.
PACKAGES: dict[str, tuple[str, str]] = {
    "segmentation_models_pytorch": ("smp", "ready-made U-Nets (notebook 02)"),
    "pycocotools": ("pycocotools", "COCO masks and mask AP (notebooks 03, 04)"),
    "ipywidgets": ("ipywidgets", "the interactive sliders"),
    "matplotlib": ("matplotlib", "every figure"),
    "tqdm": ("tqdm", "progress bars"),
}
INSTALL_HINT = ("In Colab, re-run the first cell; locally run `make setup` "
                "(or `pip install -e .` in the lab folder).")


@dataclass(frozen=True)
class Download:
    """A real dataset that ``full`` mode can fetch: what it is, what it costs, who needs it."""

    name: str
    function: str  # the function in ``labutils.data.real`` that fetches it
    size_bytes: int  # what is downloaded (archives from labutils.data.sources, plus images)
    unpack_factor: float  # disk needed while unpacking, as a multiple of the download
    used_by: str

    @property
    def size_gb(self) -> float:
        return self.size_bytes / 1e9

    @property
    def disk_gb(self) -> float:
        return self.size_gb * self.unpack_factor


def _downloads() -> tuple[Download, ...]:
    from labutils.data import sources

    n_images = len(sources.COCO_SUBSET_CATEGORIES) * sources.COCO_SUBSET_IMAGES_PER_CATEGORY
    subset = sources.COCO_ANNOTATIONS_2017.size + n_images * sources.COCO_MEAN_IMAGE_BYTES
    return (
        Download("Pascal VOC 2012 (trainval)", "download_voc", sources.VOC2012.size, 2.0,
                 "02_unet_pascal_voc"),
        Download("COCO 2017 subset (val images + instance annotations)", "download_coco_subset",
                 subset, 2.0, "03_mask_rcnn_coco"),
        Download("COCO 2017 panoptic annotations (val)", "download_coco_panoptic",
                 sources.COCO_PANOPTIC_2017.size, 2.0, "04_panoptic_segmentation"),
    )


DOWNLOADS: tuple[Download, ...] = _downloads()


@dataclass(frozen=True)
class Check:
    """One line of the environment report."""

    name: str
    status: Status
    found: str
    advice: str = ""

    def line(self) -> str:
        text = f"{SYMBOL[self.status]} {self.name:<12} {self.found}"
        return text + (f"\n    → {self.advice}" if self.advice else "")


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"2.14.1+cu130"`` -> ``(2, 14, 1)``."""
    parts = []
    for piece in version.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_python(version: tuple[int, ...] | None = None) -> Check:
    version = tuple(sys.version_info[:3]) if version is None else version
    found = ".".join(map(str, version))
    if version[:2] >= MIN_PYTHON:
        return Check("python", "ok", found)
    need = ".".join(map(str, MIN_PYTHON))
    return Check("python", "fail", found, f"the lab needs Python {need} or newer: "
                 "create the environment with `make setup` or `conda env create -f environment.yml`.")


def check_version(package: str, version: str) -> Check:
    """``package`` at ``version`` against the lab's lower bound."""
    need = MIN_VERSIONS[package]
    if _version_tuple(version) >= _version_tuple(need):
        return Check(package, "ok", version)
    return Check(package, "fail", version,
                 f"the lab needs {package} >= {need}. Locally: `pip install -U {package}`; "
                 "in Colab the preinstalled version is recent enough, so restart the runtime.")


def check_torchvision_ops() -> Check:
    """torchvision's compiled ops match torch (a mismatched pair fails on the first NMS)."""
    import torchvision

    try:
        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
        keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
        ok = keep.tolist() == [0]
    except (RuntimeError, AttributeError) as err:
        return Check("tv ops", "fail", f"torchvision.ops.nms failed: {err}",
                     "torch and torchvision were installed separately and do not match; install "
                     "them together (`pip install -U torch torchvision`).")
    return Check("tv ops", "ok" if ok else "fail", "torchvision.ops work" if ok else "nms is wrong",
                 "" if ok else "reinstall torch and torchvision together.")


def check_packages(packages: dict[str, tuple[str, str]] | None = None) -> list[Check]:
    """Each package importable, with its version."""
    out = []
    for name, (short, purpose) in (PACKAGES if packages is None else packages).items():
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            out.append(Check(short, "fail", f"missing ({err.__class__.__name__}: {err})",
                             f"needed for {purpose}. {INSTALL_HINT}"))
            continue
        out.append(Check(short, "ok", getattr(module, "__version__", "installed")))
    return out


def check_device(device: torch.device, mode: str, colab: bool) -> Check:
    """The device, and what to do when there is no GPU but a GPU would help."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        total = torch.cuda.get_device_properties(device).total_memory / 1e9
        return Check("device", "ok", f"GPU: {name} ({total:.0f} GB)")
    if device.type == "mps":
        return Check("device", "ok", "Apple GPU (MPS)",
                     "MPS runs the lab, but slower than CUDA; smoke mode is the safe choice.")
    found = f"CPU ({torch.get_num_threads()} threads)"
    if mode == "grade":
        return Check("device", "ok", found + ", as grading always uses")
    advice = ("no GPU: the lab runs in smoke mode on the bundled Shapes data (a few minutes per "
              "notebook). For full mode ")
    advice += ("choose Runtime → Change runtime type → GPU, then run this notebook again."
               if colab else "use a machine with an NVIDIA GPU (or Colab).")
    return Check("device", "warn", found, advice)


def check_mode(mode: str, reason: str, gpu: bool) -> Check:
    """The run mode, why, and how to choose the other one where that makes sense."""
    advice = ""
    if mode == "smoke" and gpu:
        advice = "a GPU is here: unset LAB_MODE (or set LAB_MODE=full) for the real datasets."
    elif mode == "full":
        advice = "real datasets and longer training; set LAB_MODE=smoke for the quick run."
    return Check("mode", "ok", f"{mode}: {reason}", advice)


def free_gb(path: Path) -> float:
    """Free disk space in GB (10⁹ bytes, the unit of every size the lab prints) where ``path``
    lives."""
    return shutil.disk_usage(path).free / 1e9


def check_data_root(root: Path, need_gb: float = 0.1, optional_gb: float = 0.0) -> Check:
    """The data root exists, is writable and has ``need_gb`` free (else ✗); a warning (!) when
    there is less than ``need_gb + optional_gb``, room for every optional download."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        return Check("data root", "fail", f"{root} is not writable ({err.strerror})",
                     "set LAB_DATA_DIR to a folder you can write to, then restart the kernel.")
    free = free_gb(root)
    found = f"{root} ({free:.1f} GB free)"
    if free < need_gb:
        return Check("data root", "fail", found,
                     f"needs about {need_gb:.1f} GB free: free some space or point LAB_DATA_DIR "
                     "at a larger disk, then restart the kernel.")
    if free < need_gb + optional_gb:
        return Check("data root", "warn", found,
                     f"all the optional downloads together need about {optional_gb:.1f} GB: "
                     "fetch only what you need (section 4 checks the space for what you ask "
                     "for), or point LAB_DATA_DIR at a larger disk.")
    return Check("data root", "ok", found)


def check_environment(lab) -> list[Check]:
    """Every check for ``lab`` (what :func:`labutils.setup` returned), in report order."""
    import torchvision

    optional = sum(d.disk_gb for d in DOWNLOADS) if lab.mode == "full" else 0.0
    return [
        check_python(),
        check_version("torch", torch.__version__),
        check_version("torchvision", torchvision.__version__),
        check_torchvision_ops(),
        *check_packages(),
        check_device(lab.device, lab.mode, lab.colab),
        check_mode(lab.mode, lab.reason, torch.cuda.is_available()),
        check_data_root(lab.data_root, optional_gb=optional),
    ]


def report(checks: list[Check]) -> str:
    """The checks as lines, then a verdict."""
    lines = [c.line() for c in checks]
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        lines.append(f"\n✗ Fix {', '.join(failed)} before going on (the → lines say how).")
    else:
        lines.append("\n✓ Ready: everything the lab needs is here.")
    return "\n".join(lines)
