"""Self-checks for the graded exercises: one module per notebook (``labutils.checks.nb04``...).

Each ``check_*`` takes the student's function, runs it on small hand-built cases and raises an
``AssertionError`` whose message says what differs and what usually causes it.
"""
