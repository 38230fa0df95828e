"""Training loops and evaluation used by the notebooks."""
