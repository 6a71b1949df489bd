"""The claims ledger: each claim of the source articles, checked by a computation.

A claim is registered with `@register(...)` next to the function that computes the
book's number; `evaluate()` runs every computation and returns the records. Verdicts:
"consistent" when the claimed figure is within the stated relative tolerance of the computed
one, "inconsistent" when it is not, "unverifiable" when nothing public allows a computation.
Each chapter adds a module here; the seed articles live in `../shared/seeds/`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

from .._discover import import_submodules
from ..units import human

VERDICTS = ("consistent", "inconsistent", "unverifiable")


@dataclass(frozen=True)
class Claim:
    """One checked claim: what the article says, what the package computes, and the verdict."""

    id: str
    seed: str
    claim: str
    claimed: float | None
    unit: str
    computed: float | None
    verdict: str
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Spec:
    id: str
    seed: str
    claim: str
    claimed: float | None
    unit: str
    rel_tol: float | None
    compute: Callable[[], tuple[float | None, str]]


_REGISTRY: dict[str, _Spec] = {}


def register(id: str, seed: str, claim: str, claimed: float | None, unit: str,
             rel_tol: float | None = 0.05):
    """Decorator: register `compute() -> (computed, note)` as the check of a claim.

    rel_tol: the relative difference below which the claim counts as consistent, chosen
    per claim for the precision the article states (a rounded "175B" earns 5%). Use
    rel_tol=None for an unverifiable claim; compute then returns (None or a bound, note).
    """
    if id in _REGISTRY:
        raise ValueError(f"claim id {id!r} is registered twice; choose a unique id")

    def wrap(fn):
        _REGISTRY[id] = _Spec(id, seed, claim, claimed, unit, rel_tol, fn)
        return fn
    return wrap


def verdict(claimed: float | None, computed: float | None, rel_tol: float | None) -> str:
    """consistent / inconsistent / unverifiable for a claimed and a computed figure."""
    if rel_tol is None or claimed is None or computed is None:
        return "unverifiable"
    if computed == 0:
        return "consistent" if claimed == 0 else "inconsistent"
    return "consistent" if abs(claimed - computed) / abs(computed) <= rel_tol else "inconsistent"


def _load() -> None:
    # Every module of this package holds claims; importing one registers them.
    import_submodules(__name__)


def evaluate(seed: str | None = None) -> list[Claim]:
    """Every claim (optionally of one seed article), each computed now."""
    _load()
    out = []
    for spec in _REGISTRY.values():
        if seed is not None and spec.seed != seed:
            continue
        computed, note = spec.compute()
        out.append(Claim(spec.id, spec.seed, spec.claim, spec.claimed, spec.unit, computed,
                         verdict(spec.claimed, computed, spec.rel_tol), note))
    return out


def counts(records: list[Claim] | None = None) -> dict[str, int]:
    """How many claims have each verdict."""
    records = evaluate() if records is None else records
    return {v: sum(r.verdict == v for r in records) for v in VERDICTS}


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 1e15 or (x != 0 and abs(x) < 1e-2):
        return f"{x:.3g}"
    if abs(x) >= 1e6:
        return human(x, 4)
    if float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.4g}"


def table(records: list[Claim] | None = None) -> str:
    """The records as a Markdown table (for notebooks and the book)."""
    records = evaluate() if records is None else records
    lines = ["| id | claim | claimed | computed | unit | verdict |", "|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| `{r.id}` | {r.claim} | {_fmt(r.claimed)} | {_fmt(r.computed)} | {r.unit} | "
                     f"**{r.verdict}** |")
    return "\n".join(lines)
