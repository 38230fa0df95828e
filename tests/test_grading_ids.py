"""grade_ids never change once released: solutions/ must match tests/grade_ids.json.

When a notebook lands or is deliberately changed before release, pin it with `make grade-ids`
(python -m labutils.grading.gradeids --write) and commit tests/grade_ids.json."""

from __future__ import annotations

import json

from labutils.grading.gradeids import PINNED, compare, current
from tests.conftest import GRADING_FIXTURE, REPO


def test_solutions_grade_ids_are_pinned():
    problems = compare(json.loads(PINNED.read_text()), current(REPO / "solutions"))
    assert problems == [], ("grade_ids differ from tests/grade_ids.json (after a release they must "
                            "never change; before it, run `make grade-ids`):\n" + "\n".join(problems))


def test_a_renamed_or_repointed_grade_id_is_caught():
    pinned = current(GRADING_FIXTURE)
    assert compare(pinned, current(GRADING_FIXTURE)) == []
    now = json.loads(json.dumps(pinned))
    cells = now["98_grading_fixture"]
    cells["nb98-squares-test"] = cells.pop("nb98-square-test")
    cells["nb98-accuracy-test"]["points"] = 5.0
    problems = compare(pinned, now)
    assert any("'nb98-square-test' disappeared" in p for p in problems)
    assert any("new grade_id 'nb98-squares-test'" in p for p in problems)
    assert any("nb98-accuracy-test changed" in p for p in problems)
