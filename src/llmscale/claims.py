"""The claims ledger: each claim of the source articles, checked by a computation.

A claim is registered with `@register(...)` next to the function that computes the book's
number, in the module of the page that examines it (`llmscale.pages.<chapter>.<page>`, the
twin of `notebooks/<chapter>/<page>.ipynb`); its page comes from that module's path.
`evaluate(page="scaling/data")` runs the page's computations and returns the records, the
one way a notebook selects its claims (`display.claims_table` shows them). Verdicts:
"consistent" when the claimed figure is within the stated relative tolerance of the computed
one, "inconsistent" when it is not, "unverifiable" when nothing public allows a computation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from . import pages
from .units import human

VERDICTS = ("consistent", "inconsistent", "unverifiable")

# The five press articles (files in ../shared/seeds/, whose README describes them).
GPT4_LEAK = "000_4ec7ba283c4a0447.txt"  # Persian: GPT-4's leaked architecture
LLAMA_RELEASE = "001_e46dd29df1d9f1d9.txt"  # Malay: Meta's LLaMA
GPT_GROWTH = "002_ec05182d8266db35.txt"  # Chinese: how GPT models grew, 2017 to 2020
COST_SLIMMING = "003_770068eb7e05551e.txt"  # Arabic: the "cost-slimming" of large models
LIGO_HALF_COST = "004_47a4d69bd65412ac.txt"  # Lao: a ChatGPT-like model for half the cost, LiGO
SEEDS = (GPT4_LEAK, LLAMA_RELEASE, GPT_GROWTH, COST_SLIMMING, LIGO_HALF_COST)


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
    page: str

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
    page: str


_REGISTRY: dict[str, _Spec] = {}


def register(id: str, seed: str, claim: str, claimed: float | None, unit: str, rel_tol: float | None = 0.05):
    """Decorator: register `compute() -> (computed, note)` as the check of a claim.

    rel_tol: the relative difference below which the claim counts as consistent, chosen
    per claim for the precision the article states (a rounded "175B" earns 5%). Use
    rel_tol=None for an unverifiable claim; compute then returns (None or a bound, note).
    """
    if id in _REGISTRY:
        raise ValueError(f"claim id {id!r} is registered twice; choose a unique id")
    if seed not in SEEDS:
        raise ValueError(
            f"seed={seed!r} is not one of the five articles {SEEDS}; use one of "
            "the constants GPT4_LEAK, LLAMA_RELEASE, GPT_GROWTH, COST_SLIMMING, LIGO_HALF_COST"
        )

    def wrap(fn):
        _REGISTRY[id] = _Spec(id, seed, claim, claimed, unit, rel_tol, fn, pages.page_of_module(fn.__module__))
        return fn

    return wrap


def verdict(claimed: float | None, computed: float | None, rel_tol: float | None) -> str:
    """consistent / inconsistent / unverifiable for a claimed and a computed figure."""
    if rel_tol is None or claimed is None or computed is None:
        return "unverifiable"
    if computed == 0:
        return "consistent" if claimed == 0 else "inconsistent"
    return "consistent" if abs(claimed - computed) / abs(computed) <= rel_tol else "inconsistent"


def _selected(page: str | None) -> list[_Spec]:
    if page is None:
        pages.load_all()
        return list(_REGISTRY.values())
    module = pages.load(page)
    revisits = tuple(getattr(module, "REVISITS", ()))
    if revisits:
        pages.load_all()
    unknown = [i for i in revisits if i not in _REGISTRY]
    if unknown:
        raise ValueError(f"page {page!r} revisits unknown claim ids {unknown}; fix REVISITS in {module.__name__}")
    own = [spec for spec in _REGISTRY.values() if spec.page == page]
    return own + [_REGISTRY[i] for i in revisits]


def evaluate(page: str | None = None, seed: str | None = None) -> list[Claim]:
    """The claims a page examines (all of them with page=None), optionally of one seed article,
    each computed now. A page's own claims come first, in the order its module registers them,
    then those it revisits from other pages (its module's `REVISITS` ids)."""
    if seed is not None and seed not in SEEDS:
        raise ValueError(f"seed={seed!r} is not one of the five articles {SEEDS}")
    out = []
    for spec in _selected(page):
        if seed is not None and spec.seed != seed:
            continue
        computed, note = spec.compute()
        out.append(
            Claim(
                spec.id,
                spec.seed,
                spec.claim,
                spec.claimed,
                spec.unit,
                computed,
                verdict(spec.claimed, computed, spec.rel_tol),
                note,
                spec.page,
            )
        )
    return out


def counts(records: Iterable[Claim] | None = None) -> dict[str, int]:
    """How many claims have each verdict."""
    records = evaluate() if records is None else list(records)
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


def table(records: Iterable[Claim] | None = None) -> str:
    """The records as a Markdown table (for notebooks and the book)."""
    records = evaluate() if records is None else list(records)
    lines = ["| id | claim | claimed | computed | unit | verdict |", "|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| `{r.id}` | {r.claim} | {_fmt(r.claimed)} | {_fmt(r.computed)} | {r.unit} | **{r.verdict}** |")
    return "\n".join(lines)
