"""Checkpoints that notebooks leave for later ones (in the data root's ``checkpoints/``).

* :func:`save_atomic`: ``torch.save`` to a temporary file, then ``os.replace``: an interrupted
  run never leaves a half-written checkpoint behind. :func:`labutils.models.panoptic.load_compatible`
  reads them back.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch


def save_atomic(obj: object, path: Path | str) -> Path:
    """``torch.save(obj)`` at ``path`` (parent folders created) atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path
