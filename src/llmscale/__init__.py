"""llmscale: the package behind *The Cost of Scale*.

Every number in the book is computed here. The layout, from the bottom up (imports flow
one way, and `tests/test_layout.py` enforces it):

* arithmetic, no torch: `units`, `config` (`ModelConfig`), `presets`, `hardware`, `counting`,
  `cost`, `published` (figures from papers), and the chapters' arithmetic in `scaling`,
  `parallelism` and `inference`;
* PyTorch on one device: `measure`, `model` (layers, experts, decoder), `data`, `train`;
* the book: `experiments` (stored runs, results in `results/`), `pages` (one module per
  notebook: its claims and exercises), `claims`, `exercises`, `plot`, `display`, `benchmarks`.
"""

__version__ = "0.1.0"

from .config import ModelConfig  # noqa: E402

__all__ = ["ModelConfig", "__version__"]
