"""nbgrader settings for Lab 5. `make release` and `make grade` build temporary course folders
and copy this file into them, so these are the settings every nbgrader step runs with."""

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "cs3485-lab5"  # the assignment is `lab5` (labutils.course.ASSIGNMENT)

# What a student sees where the solution was.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"Write your solution here, then run this cell.\")"
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True

# Grading runs every notebook in `grade` mode (nbgrader exports NBGRADER_EXECUTION): no cell
# should need more than a few seconds, so a long cell is an endless loop.
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
