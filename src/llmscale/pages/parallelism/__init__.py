"""The parallelism chapter: one module per page."""
