"""`make lab` starts a JupyterLab server that answers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import REPO
from tests.http_server import dead_url


def test_make_lab_serves_jupyterlab(tmp_path):
    port = int(dead_url().rsplit(":", 1)[1].split("/")[0])
    env = dict(os.environ, LAB_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api", timeout=5) as resp:
                    info = json.loads(resp.read())
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"make lab exited early:\n{proc.stdout.read().decode()[-3000:]}")
                if time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not answer within 180 s")
                time.sleep(1)
        assert "version" in info
        assert (tmp_path / "data" / "shapes" / ".complete").is_file()  # the data was prepared
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
