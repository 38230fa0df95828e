"""nbgrader settings for Lab 5. `make release` and `make grade` build course folders and copy
this file into them, so these are the settings every nbgrader step runs with (also a TA's own
`nbgrader ...` commands and the formgrader's buttons in the course folder `make grade` keeps)."""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "cs3485-lab5"
# The assignment is `lab5` (labutils.course.ASSIGNMENT). It is given on each command line
# (`nbgrader autograde lab5 ...`): nbgrader refuses it in both the config and the arguments.

# What a student sees where the solution was.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"Write your solution here, then run this cell.\")"
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True

# Grading runs every notebook in `grade` mode (nbgrader exports NBGRADER_EXECUTION): a whole
# notebook needs <= ~10 s of cell time, so a cell past 60 s (nbgrader's default is 30) is an
# endless loop, even on a slow machine. `python -m labutils.grading --cell-timeout` overrides it.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False
c.Execute.execute_retries = 0

# Output flooding: keep feedback readable and the gradebook small.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# A student may delete a graded cell in Colab: put it back from the release.
c.OverwriteCells.add_missing_cells = True

c.GenerateAssignment.create_assignment = True
c.ClearHiddenTests.enforce_metadata = True

# Autograde survives endless loops and killed kernels (restart, re-run the cells above, go on)
# and feedback shows no hidden test nor its traceback: labutils.grading's preprocessors.
try:
    from labutils.grading.nbconfig import configure
except ImportError:  # labutils missing: stock nbgrader, but never hidden tests in feedback
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
else:
    configure(c)
