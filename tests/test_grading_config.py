"""nbgrader_config.py sets what issue 7 asks for, and defuses nbgrader's pitfalls."""

from __future__ import annotations

from traitlets.config.loader import PyFileConfigLoader

from labutils.course import ASSIGNMENT
from labutils.grading.execute import FeedbackSanitizer, ResilientExecute
from tests.conftest import REPO


def _config():
    return PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()


def test_config_settings():
    c = _config()
    assert "assignment_id" not in c.CourseDirectory  # given as an argument (nbgrader wants one)
    assert ASSIGNMENT == "lab5"
    assert "NotImplementedError" in c.ClearSolutions.code_stub["python"]
    assert c.ClearSolutions.text_stub
    assert c.OverwriteCells.add_missing_cells is True
    assert c.LimitOutput.max_lines > 0 and c.LimitOutput.max_traceback > 0
    # nbgrader's default per-cell timeout is 30 s; grade mode must fit well inside ours
    assert c.Execute.timeout >= 30


def test_config_uses_the_pipeline_preprocessors():
    c = _config()
    assert ResilientExecute in c.Autograde.autograde_preprocessors
    assert FeedbackSanitizer in c.GenerateFeedback.preprocessors
