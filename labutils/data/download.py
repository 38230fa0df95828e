"""Resumable, checksum-verified, atomic downloads with mirrors and an override URL.

A transfer is written to ``<file>.part`` and resumed from there with an HTTP ``Range`` request
(after a cut connection, or in a later run); only a file whose checksum matches is renamed to
its final name, so a cut or corrupted transfer never leaves a file that a later run trusts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
TIMEOUT_S = 60
ATTEMPTS_PER_URL = 3


@dataclass(frozen=True)
class Source:
    """A file to fetch: where from (mirrors, in order), its checksum and its override variable."""

    name: str
    filename: str
    urls: tuple[str, ...]
    md5: str | None
    override_env: str | None  # a variable that, when set, gives a URL to try first
    size: int | None = None  # bytes, for messages

    def candidates(self) -> list[str]:
        """The override URL (if set) first, then the mirrors."""
        override = os.environ.get(self.override_env, "").strip() if self.override_env else ""
        return ([override] if override else []) + list(self.urls)


class DownloadError(RuntimeError):
    """Every source failed; the message says what each did and what to do."""


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def human_size(n: int | None) -> str:
    """Bytes in decimal units (1 GB = 10⁹ bytes), as every size the lab prints."""
    if n is None:
        return "unknown size"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _fetch(url: str, part: Path, desc: str, progress: bool) -> None:
    """Append the rest of ``url`` to ``part`` (resuming with Range when it has bytes)."""
    from tqdm.auto import tqdm

    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "lab5-labutils"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the part file is already complete
            return
        raise
    with response:
        if have and response.status != 206:  # the server ignored Range: start again
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(part, "ab" if have else "wb") as f, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1000,
            desc=desc, disable=not progress, leave=False,
        ) as bar:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                f.write(block)
                bar.update(len(block))
        if total is not None and part.stat().st_size < total:
            raise ConnectionError(f"connection closed after {part.stat().st_size} of {total} bytes")


def download(source: Source, dest_dir: Path | str, progress: bool = True) -> Path:
    """Fetch ``source`` into ``dest_dir`` and return the verified file's path.

    A file already there with the right checksum is reused. Each URL is tried up to
    ``ATTEMPTS_PER_URL`` times, resuming the partial transfer; a checksum mismatch discards
    the partial file and moves on to the next URL.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / source.filename
    part = dest_dir / (source.filename + ".part")
    if final.exists():
        if source.md5 is None or md5sum(final) == source.md5:
            return final
        final.unlink()  # a file we cannot trust

    failures: list[str] = []
    for url in source.candidates():
        for attempt in range(1, ATTEMPTS_PER_URL + 1):
            try:
                _fetch(url, part, source.filename, progress)
            except (OSError, urllib.error.URLError, ValueError) as err:
                failures.append(f"{url} (try {attempt}): {err}")
                if isinstance(err, urllib.error.HTTPError) and err.code < 500:
                    break  # 404 and the like will not change on a retry
                continue
            if source.md5 is not None and md5sum(part) != source.md5:
                failures.append(f"{url}: checksum mismatch (expected md5 {source.md5})")
                part.unlink(missing_ok=True)
                break
            os.replace(part, final)
            return final
    raise DownloadError(
        f"Could not download {source.name} ({human_size(source.size)}). Tried:\n  "
        + "\n  ".join(failures)
        + f"\nWhat to do: check your connection and run again (a partial download resumes), "
          + (f"or set {source.override_env} to another URL of {source.filename}, "
             if source.override_env else "")
          + f"or put the file at {final} yourself."
    )


def extract(archive: Path, dest: Path, members_prefix: str | None = None) -> None:
    """Unpack a .tar or .zip into ``dest`` safely (no paths outside ``dest``)."""
    import tarfile
    import zipfile

    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if members_prefix is None or n.startswith(members_prefix)]
            for name in names:
                target = (dest / name).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise DownloadError(f"{archive.name}: refusing to extract {name} outside {dest}")
            zf.extractall(dest, names)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = [m for m in tf.getmembers()
                       if members_prefix is None or m.name.startswith(members_prefix)]
            tf.extractall(dest, members, filter="data")
    else:
        raise DownloadError(f"{archive} is neither a zip nor a tar archive: delete it and retry")


def atomic_tree(final: Path):
    """A context giving a temporary folder beside ``final`` that replaces it on success."""
    import contextlib
    import tempfile

    @contextlib.contextmanager
    def _cm():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
        try:
            yield tmp
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return _cm()
