"""Collecting submissions: names from Colab and LMSs, folders per student, zips, duplicates,
and a reason for every file that is not graded. No notebook is executed here."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from labutils.grading.collect import collect, match_notebook, snapshot, student_from_name

NBS = ["02_unet_pascal_voc", "03_mask_rcnn_coco"]


def _touch(path: Path, text: str = "{}", mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _by_content(path: Path) -> str | None:
    text = path.read_text()
    return next((nb for nb in NBS if nb in text), None)


@pytest.mark.parametrize("name, notebook, student", [
    ("alice_02_unet_pascal_voc", "02_unet_pascal_voc", "alice"),
    ("Copy of 02_unet_pascal_voc", "02_unet_pascal_voc", None),
    ("smithalice_12345_67890_Copy of 02_unet_pascal_voc", "02_unet_pascal_voc", "smithalice"),
    ("smithalice_LATE_12345_67890_02_unet_pascal_voc-1", "02_unet_pascal_voc", "smithalice"),
    ("Lab 5_bob_attempt_2024-05-01-10-00-00_03_mask_rcnn_coco", "03_mask_rcnn_coco", "bob"),
    ("03-mask-rcnn-coco_carol", "03_mask_rcnn_coco", "carol"),
    ("03_mask_rcnn_coco (2)", "03_mask_rcnn_coco", None),
])
def test_names(name, notebook, student):
    stem, prefix, suffix = match_notebook(name, NBS)
    assert stem == notebook
    assert student_from_name(prefix, suffix) == student


def test_folders_duplicates_and_unplaced(tmp_path):
    root = tmp_path / "in"
    old, new = 1_700_000_000, 1_700_000_500
    _touch(root / "alice" / "02_unet_pascal_voc.ipynb", mtime=old)
    _touch(root / "alice" / "Copy of 02_unet_pascal_voc (1).ipynb", mtime=new)
    _touch(root / "alice" / "whatever I called it.ipynb", "03_mask_rcnn_coco inside")
    _touch(root / "alice" / ".ipynb_checkpoints" / "02_unet_pascal_voc-checkpoint.ipynb")
    _touch(root / "Bob Smith_4242_assignsubmission_file_" / "03_mask_rcnn_coco.ipynb")
    _touch(root / "Bob Smith_4242_assignsubmission_file_" / "report.pdf")
    _touch(root / "carol_02_unet_pascal_voc.ipynb")
    _touch(root / "02_unet_pascal_voc.ipynb")  # whose?
    _touch(root / "dave" / "my notes.ipynb", "nothing of the lab")
    _touch(root / "__MACOSX" / "._junk")
    found = collect(root, NBS, _by_content)
    placed = {(s, nb): p.rel for s, nbs in found.placed.items() for nb, p in nbs.items()}
    assert placed == {
        ("alice", "02_unet_pascal_voc"): "alice/Copy of 02_unet_pascal_voc (1).ipynb",
        ("alice", "03_mask_rcnn_coco"): "alice/whatever I called it.ipynb",
        ("Bob_Smith", "03_mask_rcnn_coco"): "Bob Smith_4242_assignsubmission_file_/03_mask_rcnn_coco.ipynb",
        ("carol", "02_unet_pascal_voc"): "carol_02_unet_pascal_voc.ipynb",
    }
    assert found.placed["alice"]["03_mask_rcnn_coco"].how == "content"
    why = {u.rel: u.reason for u in found.unplaced}
    assert "superseded" in why["alice/02_unet_pascal_voc.ipynb"]
    assert "whose file" in why["02_unet_pascal_voc.ipynb"]
    assert "not a notebook" in why["Bob Smith_4242_assignsubmission_file_/report.pdf"]
    assert "not one of the lab's notebooks" in why["dave/my notes.ipynb"]
    assert "ignored" in why["__MACOSX/._junk"]
    assert "ignored" in why["alice/.ipynb_checkpoints/02_unet_pascal_voc-checkpoint.ipynb"]
    # nothing is lost: every file is either graded or explained
    every = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert found.files() == every
    assert "dave" in found.students  # a student who sent nothing gradable still gets a row


def test_pattern(tmp_path):
    root = tmp_path / "in"
    _touch(root / "sub-001" / "attempt" / "nb02.ipynb", "02_unet_pascal_voc")
    _touch(root / "README.md")
    found = collect(root, NBS, _by_content, pattern=r"^sub-(?P<student>\d+)/")
    assert found.placed["001"]["02_unet_pascal_voc"].how == "content"
    assert [u.rel for u in found.unplaced] == ["README.md"]


def test_zip_is_extracted_safely_and_left_alone(tmp_path):
    inner = tmp_path / "bob.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("03_mask_rcnn_coco.ipynb", "{}")
    lms = tmp_path / "lms.zip"
    with zipfile.ZipFile(lms, "w") as zf:
        zf.writestr("Lab 5 submissions/alice_02_unet_pascal_voc.ipynb", "{}")
        zf.writestr("Lab 5 submissions/bob.zip", inner.read_bytes())
        zf.writestr("../evil.ipynb", "{}")
    before = hashlib.sha256(lms.read_bytes()).hexdigest()
    root, problems = snapshot(lms, tmp_path / "inbox")
    found = collect(root, NBS, _by_content, problems=problems)
    assert hashlib.sha256(lms.read_bytes()).hexdigest() == before
    assert not (tmp_path / "evil.ipynb").exists()
    assert set(found.placed) == {"alice", "bob"}
    assert any("unsafe path" in u.reason for u in found.unplaced)


def test_snapshot_copies_a_folder(tmp_path):
    src = tmp_path / "given"
    _touch(src / "alice" / "02_unet_pascal_voc.ipynb")
    root, _ = snapshot(src, tmp_path / "inbox")
    (root / "alice" / "02_unet_pascal_voc.ipynb").write_text("changed")
    assert (src / "alice" / "02_unet_pascal_voc.ipynb").read_text() == "{}"


def test_a_folder_names_the_student_of_an_unhelpfully_named_file(tmp_path):
    root = tmp_path / "in"
    _touch(root / "frank" / "lab.ipynb", "02_unet_pascal_voc inside")
    found = collect(root, NBS, _by_content)
    assert found.placed["frank"]["02_unet_pascal_voc"].how == "content"
    assert set(found.placed) == {"frank"}


def test_a_flat_file_without_notebook_or_lms_name_is_not_guessed(tmp_path):
    root = tmp_path / "in"
    _touch(root / "alice_02_unet_pascal_voc.ipynb")
    _touch(root / "my homework FINAL.ipynb", "03_mask_rcnn_coco inside")
    _touch(root / "dave_44444_55555_my homework FINAL.ipynb", "03_mask_rcnn_coco inside")
    found = collect(root, NBS, _by_content)
    assert set(found.placed) == {"alice", "dave"}
    assert [u.rel for u in found.unplaced] == ["my homework FINAL.ipynb"]
    assert "cannot tell whose" in found.unplaced[0].reason


def test_namesakes_with_different_lms_ids_are_kept_apart(tmp_path):
    root = tmp_path / "in"
    _touch(root / "smithjohn_111_901_02_unet_pascal_voc.ipynb", mtime=1_700_000_000)
    _touch(root / "smithjohn_222_902_02_unet_pascal_voc.ipynb", mtime=1_700_000_500)
    _touch(root / "smithjohn_222_903_03_mask_rcnn_coco.ipynb")
    _touch(root / "alice_5_6_02_unet_pascal_voc.ipynb")
    _touch(root / "alice_5_7_02_unet_pascal_voc (1).ipynb")  # one user resubmitting: one student
    found = collect(root, NBS, _by_content)
    assert set(found.placed) == {"smithjohn_111", "smithjohn_222", "alice"}
    assert set(found.placed["smithjohn_222"]) == set(NBS)
    assert found.students == {"smithjohn_111", "smithjohn_222", "alice"}
    assert [u.rel for u in found.unplaced] == ["alice_5_6_02_unet_pascal_voc.ipynb"]


def _clear_utf8_flags(zip_path: Path) -> None:
    """Rewrite a zip as Info-ZIP and some LMSs write it: UTF-8 names without the UTF-8 flag."""
    data = bytearray(zip_path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + flag_at + 1] &= 0xF7  # bit 11 of the little-endian flag word
            at = data.find(signature, at + 4)
    zip_path.write_bytes(bytes(data))


def test_utf8_names_in_a_zip_without_the_utf8_flag(tmp_path):
    lms = tmp_path / "lms.zip"
    with zipfile.ZipFile(lms, "w") as zf:
        zf.writestr("José Núñez/02_unet_pascal_voc.ipynb", "{}")
        zf.writestr("bob/02_unet_pascal_voc.ipynb", "{}")
    _clear_utf8_flags(lms)
    assert zipfile.ZipFile(lms).namelist()[0].startswith("Jos\u251c")  # what zipfile alone reads
    root, _ = snapshot(lms, tmp_path / "inbox")
    assert (root / "José Núñez" / "02_unet_pascal_voc.ipynb").is_file()
    found = collect(root, NBS, _by_content)
    assert set(found.placed) == {"Jose_Nunez", "bob"}


def test_list_shows_the_mapping_and_grades_nothing(tmp_path, capsys):
    from labutils.grading.__main__ import main
    from tests.conftest import GRADING_FIXTURE

    subs = tmp_path / "subs"
    src = GRADING_FIXTURE / "98_grading_fixture.ipynb"
    _touch(subs / "alice_12_34_Copy of 98_grading_fixture.ipynb", src.read_text())
    _touch(subs / "frank" / "lab.ipynb", src.read_text())
    _touch(subs / "notes.txt")
    out = tmp_path / "out"
    assert main([str(subs), "--out", str(out), "--solutions", str(GRADING_FIXTURE), "--list"]) == 0
    text = capsys.readouterr().out
    assert "alice\n" in text and "98_grading_fixture: alice_12_34_Copy of 98_grading_fixture.ipynb" in text
    assert "frank\n" in text and "frank/lab.ipynb  (content;" in text
    assert "notes.txt: not a notebook" in text
    assert not (out / "grades.csv").exists() and not (out / "students").exists()
