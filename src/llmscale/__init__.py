"""llmscale: the package behind *The Cost of Scale*.

Every number in the book is computed here: parameter counts and FLOPs from model
configurations (`counting`), published configurations with their sources (`presets`),
accelerators (`hardware`), costs (`cost`), a small trainable decoder (`model`), offline
corpora (`data`), a training loop (`train`), stored results (`results`), the claims
ledger (`claims`) and exercise checkers (`exercises`).
"""

__version__ = "0.1.0"

from .config import ModelConfig  # noqa: E402,F401
