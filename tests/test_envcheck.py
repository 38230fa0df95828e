"""``labutils.envcheck``: each check finds what is there and says what to do when it is not."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from labutils import envcheck as ec


def test_version_parsing_and_bounds():
    assert ec._version_tuple("2.14.1+cu130") == (2, 14, 1)
    assert ec._version_tuple("0.19.0a0") == (0, 19, 0)
    assert ec.check_version("torch", "2.4.0").status == "ok"
    old = ec.check_version("torchvision", "0.15.2")
    assert old.status == "fail" and ">= 0.19" in old.advice


def test_python_version():
    assert ec.check_python((3, 11, 2)).status == "ok"
    old = ec.check_python((3, 8, 10))
    assert old.status == "fail" and "3.10" in old.advice


def test_missing_package_says_how_to_install():
    [check] = ec.check_packages({"surely_not_installed_pkg": ("nothere", "testing")})
    assert check.status == "fail" and "make setup" in check.advice and "testing" in check.advice


def test_data_root(tmp_path):
    assert ec.check_data_root(tmp_path).status == "ok"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    bad = ec.check_data_root(blocker / "sub")
    assert bad.status == "fail" and "LAB_DATA_DIR" in bad.advice
    full = ec.check_data_root(tmp_path, need_gb=1e9)
    assert full.status == "fail" and "free" in full.advice
    tight = ec.check_data_root(tmp_path, optional_gb=1e9)  # no room for every optional download
    assert tight.status == "warn" and "section 4" in tight.advice
    assert "GB free" in tight.found and "GiB" not in tight.found


def test_full_mode_warns_instead_of_failing_without_room_for_every_download(tmp_path, monkeypatch):
    lab = SimpleNamespace(mode="full", reason="test", device=torch.device("cpu"),
                          colab=False, data_root=tmp_path)
    monkeypatch.setattr(ec, "free_gb", lambda path: 1.0)
    [root] = [c for c in ec.check_environment(lab) if c.name == "data root"]
    assert root.status == "warn"
    lab.mode = "smoke"
    [root] = [c for c in ec.check_environment(lab) if c.name == "data root"]
    assert root.status == "ok"


def test_sizes_are_decimal_gb(tmp_path):
    import shutil

    from labutils.data.download import human_size

    assert abs(ec.free_gb(tmp_path) - shutil.disk_usage(tmp_path).free / 1e9) < 0.01
    assert human_size(1_500_000_000) == "1.5 GB" and human_size(2_000_000) == "2.0 MB"


def test_cpu_device_advice_depends_on_where():
    cpu = torch.device("cpu")
    assert "Change runtime type" in ec.check_device(cpu, "smoke", colab=True).advice
    assert "NVIDIA" in ec.check_device(cpu, "smoke", colab=False).advice
    assert ec.check_device(cpu, "grade", colab=False).status == "ok"


def test_mode_advice():
    assert ec.check_mode("smoke", "no GPU", gpu=False).advice == ""
    assert "LAB_MODE" in ec.check_mode("smoke", "LAB_MODE=smoke was set", gpu=True).advice


def test_environment_report(tmp_path):
    lab = SimpleNamespace(mode="smoke", reason="test", device=torch.device("cpu"),
                          colab=False, data_root=tmp_path)
    checks = ec.check_environment(lab)
    names = [c.name for c in checks]
    assert names[:4] == ["python", "torch", "torchvision", "tv ops"] and names[-1] == "data root"
    assert all(c.status != "fail" for c in checks), ec.report(checks)
    assert ec.report(checks).endswith("Ready: everything the lab needs is here.")
    failing = ec.report([ec.Check("torch", "fail", "1.0", "upgrade")])
    assert "Fix torch" in failing and "→ upgrade" in failing


def test_downloads_name_real_functions_and_sizes():
    assert [d.function for d in ec.DOWNLOADS] == [
        "download_voc", "download_coco_subset", "download_coco_panoptic"]
    assert all(d.size_gb > 0 and d.disk_gb >= d.size_gb for d in ec.DOWNLOADS)
