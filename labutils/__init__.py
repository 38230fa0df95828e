"""Helpers for Lab 5, Image Segmentation.

A notebook's first cell calls :func:`labutils.setup`, which fixes the seeds, picks the device,
resolves the run mode (``smoke`` / ``full`` / ``grade``) and the data root, and prints them.
"""

from labutils.modes import MODES, Mode, resolve_mode
from labutils.session import Lab, setup

__all__ = ["MODES", "Mode", "Lab", "resolve_mode", "setup"]
__version__ = "0.1.0"
