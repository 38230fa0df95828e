"""Self-checks for the notebooks' exercises: assertions with hints a student can act on."""
