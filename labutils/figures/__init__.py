"""Static figures, one module per notebook topic (e.g. ``transpose_conv`` for notebook 01)."""
