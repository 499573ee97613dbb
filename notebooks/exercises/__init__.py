"""Your exercises: one module per exercise, each with TODOs. Edit them here; the check cells import them."""
