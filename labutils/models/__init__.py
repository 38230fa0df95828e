"""Model builders used by the notebooks (never a graded exercise)."""
