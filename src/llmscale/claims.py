"""The claims ledger: each claim of the source articles, checked by a computation.

A claim is registered with `@register(...)` next to the function that computes the book's
number, in the module of the page that examines it (`llmscale.pages.<chapter>.<page>`, the
twin of `notebooks/<chapter>/<page>.ipynb`); its page comes from that module's path.
`evaluate(page="scaling/data")` runs the page's computations and returns the records, the
one way a notebook selects its claims (`display.show_claims` shows them).

Each record says how its `computed` value was obtained (its `basis`, one of BASES):

- "derived": computed by the package from inputs independent of the claim (a paper's
  config, a datasheet, other figures);
- "primary-source": read from a primary source's table (a paper, a model card);
- "from-claim": taken from the claim itself (a preset built to reproduce it, the figure
  typed in again). Such a claim is checked against itself, so it cannot be "consistent":
  its verdict is "assumed" (the book adopts the figure as an input, and says so);
- "none": nothing public allows a computation of the claimed figure (computed, if given, is
  a related quantity the note explains, such as a bound or a prediction).

The tolerance is not chosen per claim. It follows from the precision the article states, by
one rule (`tolerance`): a figure is consistent when the computed value rounds to it at the
article's precision, that is, lies within half a unit of its last significant digit ("175B"
is 3 digits: ±0.5B, ±0.29%). A claim stated as a bound ("more than 10×", "at least five
GPUs") is checked as a bound, a range ("90 to 100 days") as a range, a yes/no statement as
yes or no; none of them has a tolerance.

Verdicts (VERDICTS): "consistent", "inconsistent", "unverifiable" (nothing public allows a
computation), "assumed" (basis "from-claim"), "out of scope" (no quantity the book can
compute or look up: a policy, an opinion, a forecast; collapsed out of the page tables).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from . import pages
from .units import human

VERDICTS = ("consistent", "inconsistent", "unverifiable", "assumed", "out of scope")
BASES = ("derived", "primary-source", "from-claim", "none")
BOUNDS = (">", ">=", "<", "<=")

# The five press articles (files in ../shared/seeds/; `llmscale.articles` names them).
GPT4_LEAK = "000_4ec7ba283c4a0447.txt"  # Persian: GPT-4's leaked architecture
LLAMA_RELEASE = "001_e46dd29df1d9f1d9.txt"  # Malay: Meta's LLaMA
GPT_GROWTH = "002_ec05182d8266db35.txt"  # Chinese: how GPT models grew, 2017 to 2020
COST_SLIMMING = "003_770068eb7e05551e.txt"  # Arabic: the "cost-slimming" of large models
LIGO_HALF_COST = "004_47a4d69bd65412ac.txt"  # Lao: a ChatGPT-like model for half the cost, LiGO
SEEDS = (GPT4_LEAK, LLAMA_RELEASE, GPT_GROWTH, COST_SLIMMING, LIGO_HALF_COST)

Claimed = float | int | bool | tuple[float, float] | None


@dataclass(frozen=True)
class Claim:
    """One checked claim: what the article says, what the package computes, how, and the verdict.

    claimed: a number, a (low, high) range, True/False for a yes/no statement, or None.
    rel_tol: the tolerance `tolerance()` gives a single figure (None for a range, a bound, a
    yes/no statement or nothing to compare). bound: one of BOUNDS when the claim is a bound
    ("computed > claimed" for "more than"), else None.
    """

    id: str
    seed: str
    claim: str
    claimed: Claimed
    unit: str
    computed: float | None
    verdict: str
    note: str
    page: str
    basis: str
    rel_tol: float | None
    bound: str | None

    @property
    def chapter(self) -> str:
        return self.page.split("/", 1)[0]

    @property
    def kind(self) -> str:
        """How the claim is compared: "figure", "range", "bound", "yes/no" or "none"."""
        return _kind(self.claimed, self.bound)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Spec:
    id: str
    seed: str
    claim: str
    claimed: Claimed
    unit: str
    basis: str
    bound: str | None
    digits: int | None
    out_of_scope: bool
    compute: Callable[[], tuple[float | None, str]]
    page: str


_REGISTRY: dict[str, _Spec] = {}


# --- the tolerance rule -------------------------------------------------------------------------


def stated_digits(figure: float) -> int:
    """Significant digits of a figure as an article writes it: 175e9 -> 3, 1.8e12 -> 2,
    25_000 -> 2 (trailing zeros of a whole number are not significant), 0.447 -> 3, 14.8 -> 3."""
    if not _is_real(figure) or figure == 0 or not math.isfinite(figure):
        raise ValueError(f"figure={figure!r} must be a finite non-zero number to count its digits")
    mantissa = f"{abs(float(figure)):.12e}".split("e")[0].replace(".", "").rstrip("0")
    return max(1, len(mantissa))


def tolerance(figure: float, digits: int | None = None) -> float:
    """The one rule for every figure: half a unit of the last significant digit the article
    states, relative to the figure. `digits` overrides the count read off the figure, for a
    figure the article states with more or fewer digits than its value shows (a ratio of two
    of its figures, "2,692" computed from "65M" and "175B")."""
    if digits is None:
        digits = stated_digits(figure)
    elif not (isinstance(digits, int) and not isinstance(digits, bool) and digits >= 1):
        raise ValueError(f"digits={digits!r} must be a whole number ≥ 1 (the significant digits the article states)")
    if not _is_real(figure) or figure == 0 or not math.isfinite(figure):
        raise ValueError(f"figure={figure!r} must be a finite non-zero number to have a tolerance")
    exponent = math.floor(math.log10(abs(figure)))
    half_unit = 0.5 * 10.0 ** (exponent - digits + 1)
    return half_unit / abs(figure)


def round_to_digits(figure: float, digits: int) -> float:
    """`figure` rounded to `digits` significant digits: a ratio the book forms from an article's
    figures, 175e9 / 65e6 = 2,692.3, stated at two digits is 2,700."""
    exponent = math.floor(math.log10(abs(figure)))
    return float(round(figure, digits - 1 - exponent))


def _is_real(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _kind(claimed: Claimed, bound: str | None) -> str:
    if claimed is None:
        return "none"
    if isinstance(claimed, bool):
        return "yes/no"
    if isinstance(claimed, tuple):
        return "range"
    if bound is not None:
        return "bound"
    return "figure"


# --- registration --------------------------------------------------------------------------------


def register(
    id: str,
    seed: str,
    claim: str,
    claimed: Claimed,
    unit: str,
    *,
    basis: str,
    bound: str | None = None,
    digits: int | None = None,
    out_of_scope: bool = False,
):
    """Decorator: register `compute() -> (computed, note)` as the check of a claim.

    claimed: the article's figure (a number), a (low, high) range ("90 to 100 days"), True or
    False for a yes/no statement (compute then returns a bool), or None when the claim has
    no figure. basis: how compute obtains its value, one of BASES. bound: ">", ">=", "<" or
    "<=" when the article states a bound: the claim holds when `computed <bound> claimed`.
    digits: the significant digits the article states, where the figure's own are not it
    (see `tolerance`); the claimed figure is then rounded to them (`round_to_digits`).
    out_of_scope: the claim has no quantity the book can compute or look up
    (a policy, an opinion, a forecast); compute returns (None, why).
    """
    if id in _REGISTRY:
        raise ValueError(f"claim id {id!r} is registered twice; choose a unique id")
    if seed not in SEEDS:
        raise ValueError(
            f"seed={seed!r} is not one of the five articles {SEEDS}; use one of "
            "the constants GPT4_LEAK, LLAMA_RELEASE, GPT_GROWTH, COST_SLIMMING, LIGO_HALF_COST"
        )
    if basis not in BASES:
        raise ValueError(f"claim {id!r}: basis={basis!r} must be one of {BASES}")
    if bound is not None and bound not in BOUNDS:
        raise ValueError(f"claim {id!r}: bound={bound!r} must be one of {BOUNDS} or None")
    if bound is not None and not _is_real(claimed):
        raise ValueError(f"claim {id!r}: a bound needs a single number as claimed, not {claimed!r}")
    if isinstance(claimed, tuple):
        if len(claimed) != 2 or not all(_is_real(x) for x in claimed) or not claimed[0] <= claimed[1]:
            raise ValueError(f"claim {id!r}: a range must be (low, high) numbers with low ≤ high, not {claimed!r}")
    elif not (claimed is None or isinstance(claimed, bool) or _is_real(claimed)):
        raise ValueError(f"claim {id!r}: claimed={claimed!r} must be a number, a (low, high) range, a bool or None")
    if _kind(claimed, bound) == "figure":
        tolerance(claimed, digits)  # fails early, naming the field, for a zero figure or bad digits
    elif digits is not None:
        raise ValueError(f"claim {id!r}: digits applies to a single figure, not to a {_kind(claimed, bound)}")
    if out_of_scope and basis != "none":
        raise ValueError(f"claim {id!r}: an out-of-scope claim has nothing to compute; use basis='none'")

    if digits is not None:
        claimed = round_to_digits(claimed, digits)  # the figure as the article's precision states it

    def wrap(fn):
        _REGISTRY[id] = _Spec(
            id, seed, claim, claimed, unit, basis, bound, digits, out_of_scope, fn, pages.page_of_module(fn.__module__)
        )
        return fn

    return wrap


def _spec_tolerance(spec: _Spec) -> float | None:
    if _kind(spec.claimed, spec.bound) != "figure":
        return None
    return tolerance(spec.claimed, spec.digits)


def verdict(
    claimed: Claimed,
    computed: float | None,
    *,
    basis: str = "derived",
    bound: str | None = None,
    digits: int | None = None,
    out_of_scope: bool = False,
) -> str:
    """The verdict on a claimed and a computed figure, by the rules in the module's docstring."""
    if out_of_scope:
        return "out of scope"
    if claimed is None or computed is None or basis == "none":
        return "unverifiable"
    if basis == "from-claim":
        return "assumed"
    kind = _kind(claimed, bound)
    if kind == "yes/no":
        return "consistent" if bool(computed) == claimed else "inconsistent"
    if kind == "range":
        low, high = claimed
        return "consistent" if low <= computed <= high else "inconsistent"
    if kind == "bound":
        holds = {
            ">": computed > claimed,
            ">=": computed >= claimed,
            "<": computed < claimed,
            "<=": computed <= claimed,
        }[bound]
        return "consistent" if holds else "inconsistent"
    return "consistent" if abs(computed - claimed) <= tolerance(claimed, digits) * abs(claimed) else "inconsistent"


# --- evaluation -----------------------------------------------------------------------------------


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


def _record(spec: _Spec) -> Claim:
    computed, note = spec.compute()
    if isinstance(computed, bool):
        computed = float(computed)
    if spec.out_of_scope and computed is not None:
        raise ValueError(f"claim {spec.id!r} is out of scope but computed {computed!r}; return (None, why)")
    v = verdict(
        spec.claimed,
        computed,
        basis=spec.basis,
        bound=spec.bound,
        digits=spec.digits,
        out_of_scope=spec.out_of_scope,
    )
    return Claim(
        spec.id,
        spec.seed,
        spec.claim,
        spec.claimed,
        spec.unit,
        computed,
        v,
        note,
        spec.page,
        spec.basis,
        _spec_tolerance(spec),
        spec.bound,
    )


def evaluate(page: str | None = None, seed: str | None = None) -> list[Claim]:
    """The claims a page examines (all of them with page=None), optionally of one seed article,
    each computed now. A page's own claims come first, in the order its module registers them,
    then those it revisits from other pages (its module's `REVISITS` ids)."""
    if seed is not None and seed not in SEEDS:
        raise ValueError(f"seed={seed!r} is not one of the five articles {SEEDS}")
    return [_record(spec) for spec in _selected(page) if seed is None or spec.seed == seed]


def counts(records: Iterable[Claim] | None = None) -> dict[str, int]:
    """How many claims have each verdict."""
    records = evaluate() if records is None else list(records)
    return {v: sum(r.verdict == v for r in records) for v in VERDICTS}


def counts_by_seed(records: Iterable[Claim] | None = None) -> dict[str, dict[str, int]]:
    """Verdict counts per article (seed file), in the articles' order."""
    records = evaluate() if records is None else list(records)
    return {s: counts(r for r in records if r.seed == s) for s in SEEDS}


# --- formatting -----------------------------------------------------------------------------------


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


_BOUND_WORDS = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}


def format_claimed(r: Claim) -> str:
    """The claimed figure as the ledger prints it: 175B, 90–100, ≥ 5, yes."""
    kind = r.kind
    if kind == "yes/no":
        return "yes" if r.claimed else "no"
    if kind == "range":
        return f"{_fmt(r.claimed[0])}–{_fmt(r.claimed[1])}"
    if kind == "bound":
        return f"{_BOUND_WORDS[r.bound]} {_fmt(r.claimed)}"
    return _fmt(r.claimed)


def format_computed(r: Claim) -> str:
    if r.kind == "yes/no" and r.computed is not None:
        return "yes" if r.computed else "no"
    return _fmt(r.computed)


def format_tolerance(r: Claim) -> str:
    """±0.29% for a figure; "range", "bound" or "yes/no" for the others; — when nothing compares."""
    if r.verdict in ("unverifiable", "out of scope") or r.kind == "none":
        return "—"
    if r.rel_tol is not None:
        pct = 100 * r.rel_tol
        return f"±{pct:.2g}%" if pct < 10 else f"±{pct:.0f}%"
    return r.kind


_COLUMNS = ["id", "claim", "claimed", "computed", "unit", "tolerance", "basis", "verdict"]


def _row(r: Claim) -> list[str]:
    return [
        f"`{r.id}`",
        r.claim,
        format_claimed(r),
        format_computed(r),
        r.unit,
        format_tolerance(r),
        r.basis,
        f"**{r.verdict}**",
    ]


def table(records: Iterable[Claim] | None = None) -> str:
    """The records as a Markdown table (for notebooks and the book)."""
    records = evaluate() if records is None else list(records)
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _row(r)) + " |" for r in records]
    return "\n".join(lines)


def page_markdown(records: Iterable[Claim]) -> str:
    """A page's ledger: the table of the claims it checks, then those out of scope (policies,
    opinions, forecasts) collapsed in a <details> block, each with why."""
    records = list(records)
    shown = [r for r in records if r.verdict != "out of scope"]
    hidden = [r for r in records if r.verdict == "out of scope"]
    parts = [table(shown)] if shown else []
    if hidden:
        rows = "\n".join(
            f"| `{r.id}` | {r.claim.replace('|', chr(92) + '|')} | {r.note.replace('|', chr(92) + '|')} |"
            for r in hidden
        )
        word = "claim" if len(hidden) == 1 else "claims"
        parts.append(
            f"<details>\n<summary>{len(hidden)} {word} out of scope (no quantity to compute or look up)"
            f"</summary>\n\n| id | claim | why |\n|---|---|---|\n{rows}\n\n</details>"
        )
    return "\n\n".join(parts)


def ledger_html(records: Iterable[Claim] | None = None, article_names: dict[str, str] | None = None) -> str:
    """The whole ledger as one HTML table with filters (article, chapter, verdict) and a count of
    the rows shown; self-contained (inline script, no external files)."""
    records = evaluate() if records is None else list(records)
    names = article_names or {s: s for s in SEEDS}
    chapters = sorted({r.chapter for r in records})

    def options(name, values, labels=None):
        labels = labels or {v: v for v in values}
        opts = "".join(f'<option value="{html.escape(v)}">{html.escape(labels[v])}</option>' for v in values)
        return (
            f'<label>{name} <select class="ledger-filter" data-field="{name}">'
            f'<option value="">all</option>{opts}</select></label>'
        )

    head = "".join(f"<th>{c}</th>" for c in _COLUMNS[1:] + ["article", "chapter", "note"])
    body = []
    for r in records:
        cells = [
            html.escape(r.claim),
            html.escape(format_claimed(r)),
            html.escape(format_computed(r)),
            html.escape(r.unit),
            html.escape(format_tolerance(r)),
            html.escape(r.basis),
            f"<strong>{html.escape(r.verdict)}</strong>",
            html.escape(names[r.seed]),
            html.escape(r.chapter),
            html.escape(r.note),
        ]
        body.append(
            f'<tr id="claim-{html.escape(r.id)}" data-article="{html.escape(r.seed)}" '
            f'data-chapter="{html.escape(r.chapter)}" data-verdict="{html.escape(r.verdict)}">'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    script = (
        "<script>(function(){"
        "var root=document.currentScript.parentElement;"
        "var sels=root.querySelectorAll('select.ledger-filter');"
        "function apply(){var n=0;root.querySelectorAll('tbody tr').forEach(function(tr){"
        "var ok=true;sels.forEach(function(s){if(s.value&&tr.dataset[s.dataset.field]!==s.value){ok=false;}});"
        "tr.style.display=ok?'':'none';if(ok){n++;}});"
        "root.querySelector('.ledger-count').textContent=n;}"
        "sels.forEach(function(s){s.addEventListener('change',apply);});apply();"
        "})();</script>"
    )
    return (
        '<div class="claims-ledger">'
        + '<div class="ledger-filters">'
        + options("article", list(SEEDS), names)
        + " "
        + options("chapter", chapters)
        + " "
        + options("verdict", list(VERDICTS))
        + f' <span><span class="ledger-count">{len(records)}</span> of {len(records)} claims shown</span></div>'
        + f'<table class="ledger-table"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(body)
        + "</tbody></table>"
        + script
        + "</div>"
    )


def to_json(records: Iterable[Claim] | None = None) -> str:
    """The records as JSON (one object per claim), for readers who want the data."""
    records = evaluate() if records is None else list(records)
    return json.dumps([r.as_dict() for r in records], indent=1, ensure_ascii=False)
