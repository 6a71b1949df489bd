"""The claims ledger: the page that lists every claim; its exercises are about the ledger's rules."""

from __future__ import annotations

from ... import claims, exercises

# An article's "about 2,700" against the book's 2,768: the rule decides, not the reader's taste.
ROUNDED_FIGURE, COMPUTED_FIGURE = 2700, 2768
GPU_HOURS_FIGURE = 3.55e6  # a figure as an article states it: "3.55 million GPU-hours"


def _rule_verdict_label() -> str:
    v = claims.verdict(ROUNDED_FIGURE, COMPUTED_FIGURE)
    return {"consistent": "a", "inconsistent": "b"}[v]


exercises.register_choice(
    "claims-ledger-1",
    {"a": "consistent", "b": "inconsistent"},
    _rule_verdict_label,
    hint="'2,700' states two significant digits: the tolerance is half a unit of the second, ±50. "
    "Is 2,768 within 2,700 ± 50?",
    kind="predict",
)
exercises.register(
    "claims-ledger-2",
    lambda: 100 * claims.tolerance(GPU_HOURS_FIGURE),
    rel_tol=0.01,
    unit="% (relative tolerance)",
    hint="'3.55 million' states three significant digits; half a unit of the last is 0.005 million. "
    "Divide by the figure and express it in percent.",
    kind="derive",
)
