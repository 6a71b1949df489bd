"""Experiments whose results are stored in `llmscale/results/` (see `llmscale.results`).

Each takes a size ("tiny" for tests, "small" for the CPU machine, "large" for a GPU) and a
device, fixes its seeds, and returns plain JSON-able data. One module per experiment; every
module here is imported (and so registered) when `llmscale.experiments` is.
"""

from .._discover import import_submodules

import_submodules(__name__)
