"""The pipeline's preprocessors in nbgrader's own configuration, so that every way of running
nbgrader on this course (``make grade``, ``nbgrader autograde`` by hand, the formgrader's
buttons) executes resiliently and gives feedback without hidden tests.
``nbgrader_config.py`` calls :func:`configure`."""

from __future__ import annotations


def configure(c) -> None:
    """Swap ``ResilientExecute`` for ``Execute`` in autograde and add ``FeedbackSanitizer`` to
    generate_feedback (a traitlets ``Config``, e.g. nbgrader_config.py's ``c``)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, GetGrades

    from labutils.grading.execute import FeedbackSanitizer, ResilientExecute

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    c.Autograde.autograde_preprocessors = [ResilientExecute if s is Execute else s for s in steps]
    c.GenerateFeedback.preprocessors = [GetGrades, FeedbackSanitizer, CSSHTMLHeaderPreprocessor]
