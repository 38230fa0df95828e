"""TA grading of Lab 5 on nbgrader: ``python -m labutils.grading <folder or zip> --out DIR``.

collect (whose file is which notebook) -> validate (repair, restore nbgrader metadata) ->
run (autograde each student in a private course and process group) -> report (grades.csv,
feedback, summary). ``crafted`` builds the robustness test set, ``bench`` times it.
"""
