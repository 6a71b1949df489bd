"""The cost-slimming ledger: every claim of the two cost articles (seeds 003 and 004) by theme,
the claims no other page checks (distilling a hundred-billion-parameter model, a token for less
than a cent, "half the cost" in FLOPs and in dollars, the rest), and the page's exercises."""

from __future__ import annotations

import math

from ... import claims, cost, counting, exercises, hardware, presets, published
from ..._validate import fraction, positive_number
from ...compression.distill import (  # noqa: F401 - the page calls pg.distillation_cost
    DistillationCost,
    distillation_cost,
)
from ...inference import serving_cost

HERE = "compression/cost_ledger"
SEEDS = (claims.COST_SLIMMING, claims.LIGO_HALF_COST)
SEED_LABELS = {claims.COST_SLIMMING: "003", claims.LIGO_HALF_COST: "004"}


def _fig(key: str) -> float:
    return published.get(key).value


# --- the two articles' claims, across pages, by theme --------------------------------------------

THEMES = (
    "Scale and data",
    "Energy",
    "Hardware",
    "Training dollars",
    "Inference cost",
    "Compression",
    "LiGO and half the cost",
    "Business",
    "Other",
)
# Claims whose id prefix does not say their theme.
_THEME_OF_ID = {
    "weight-params-100x-a-year": "Scale and data",
    "cost-palm-energy": "Energy",
    "cost-palm-duration": "Energy",
    "cost-palm-households": "Energy",
    "cost-gpt3-gpus-003": "Hardware",
    "cost-gpt3-gpus-004": "Hardware",
    "cost-gpt3-cpu-cores-003": "Hardware",
    "cost-gpt3-cpu-cores-004": "Hardware",
    "cost-gpt3-gpu-type": "Hardware",
    "cost-azure-16x": "Hardware",
    "serve-gpt3-five-a100": "Hardware",
    "slim-ernie4-cluster": "Hardware",
    "cost-openai-loss-2022": "Business",
    "cost-anthropic-10b": "Business",
    "cost-microsoft-2019": "Business",
    "cost-microsoft-2023": "Business",
    "slim-engineer-salaries": "Business",
    "slim-cloud-cheaper": "Business",
    "slim-xuanyuan-70b": "Business",
    "slim-pangu-sparse": "Training dollars",
    "slim-token-under-cent": "Inference cost",
    "slim-ernie-8-10x": "Inference cost",
    "data-ligo-datasets": "LiGO and half the cost",
}
# Then by prefix, first match (the growing page's `grow-` ids, the quantization and distillation
# pages' `quant-` and `distill-` ids land here without being named).
_THEME_OF_PREFIX = (
    ("slim-distill", "Compression"),
    ("slim-ligo", "LiGO and half the cost"),
    ("compute-ligo", "LiGO and half the cost"),
    ("cost-ligo", "LiGO and half the cost"),
    ("grow-", "LiGO and half the cost"),
    ("quant-", "Compression"),
    ("distill-", "Compression"),
    ("pruning-", "Compression"),
    ("weight-", "Compression"),
    ("data-", "Scale and data"),
    ("serve-", "Inference cost"),
    ("cost-", "Training dollars"),
)


def theme_of(claim_id: str) -> str:
    """The ledger theme of a claim id (one of THEMES; "Other" when no rule names it)."""
    if not isinstance(claim_id, str) or not claim_id:
        raise ValueError(f"claim_id={claim_id!r} must be a claim's id, e.g. 'cost-palm-energy'")
    if claim_id in _THEME_OF_ID:
        return _THEME_OF_ID[claim_id]
    return next((theme for prefix, theme in _THEME_OF_PREFIX if claim_id.startswith(prefix)), "Other")


def article_claims(seeds=SEEDS) -> list[claims.Claim]:
    """The claims of `seeds` (the two cost articles), from every page, computed now."""
    bad = [s for s in seeds if s not in claims.SEEDS]
    if bad:
        raise ValueError(f"seeds {bad} are not article files; use claims.COST_SLIMMING, claims.LIGO_HALF_COST")
    return [r for r in claims.evaluate() if r.seed in seeds]


def by_theme(records) -> dict[str, list[claims.Claim]]:
    """The records grouped by theme, in THEMES order (empty themes left out)."""
    groups: dict[str, list] = {t: [] for t in THEMES}
    for r in records:
        groups[theme_of(r.id)].append(r)
    return {t: rs for t, rs in groups.items() if rs}


def doc_link(page: str, here: str = HERE) -> str:
    """A MyST {doc} link from page `here` to `page` ("chapter/page"); "this page" for itself."""
    if page == here:
        return "this page"
    return f"{{doc}}`../{page}`"


def _text(text: str) -> str:
    """Text for MyST Markdown: a dollar sign is money, not the start of math."""
    return text.replace("$", "\\$")


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def theme_markdown(records, here: str = HERE) -> str:
    """One theme's ledger: a table of its checked claims (article, claim, claimed, computed,
    verdict, the page that checks it), then each one's computation (its note) in a collapsed
    block. Out-of-scope claims are left to `out_of_scope_markdown`."""
    shown = [r for r in records if r.verdict != "out of scope"]
    if not shown:
        return ""
    rows = [
        "| art. | claim | claimed | computed | unit | verdict | checked on |",
        "|---|---|---:|---:|---|---|---|",
    ]
    rows += [
        f"| {SEED_LABELS.get(r.seed, r.seed)} | {_cell(r.claim)} | {_cell(claims.format_claimed(r))} | "
        f"{_cell(claims.format_computed(r))} | {_cell(r.unit)} | **{r.verdict}** | {doc_link(r.page, here)} |"
        for r in shown
    ]
    notes = "\n\n".join(f"`{r.id}`: {_text(r.note)}" for r in shown)
    return "\n".join(rows) + f"\n\n<details>\n<summary>The computations</summary>\n\n{notes}\n\n</details>"


def out_of_scope_markdown(records, here: str = HERE) -> str:
    """The out-of-scope claims of `records` (policies, forecasts, accounts) in one collapsed table."""
    hidden = [r for r in records if r.verdict == "out of scope"]
    if not hidden:
        return ""
    rows = "\n".join(
        f"| {SEED_LABELS.get(r.seed, r.seed)} | {_cell(r.claim)} | {_cell(r.note)} | {doc_link(r.page, here)} |"
        for r in hidden
    )
    return (
        f"<details>\n<summary>{len(hidden)} claims out of scope (no quantity to compute or look up)</summary>\n\n"
        f"| art. | claim | why | on |\n|---|---|---|---|\n{rows}\n\n</details>"
    )


def claimed_vs_computed(records) -> list[tuple[str, float, str]]:
    """(id, computed ÷ claimed, verdict) of every single-figure or bound claim with both numbers
    (the figure's data), largest departure first."""
    out = []
    for r in records:
        if r.kind in ("figure", "bound") and r.computed is not None and r.verdict != "assumed":
            if r.claimed > 0 and r.computed > 0:
                out.append((r.id, r.computed / r.claimed, r.verdict))
    return sorted(out, key=lambda t: -abs(math.log10(t[1])))


# --- energy: GPT-3's GPU-hours in kilowatt-hours -------------------------------------------------


def gpt3_energy() -> tuple[float, float, float]:
    """(V100-hours, MWh, US household-years) of GPT-3 175B's training: the paper's FLOPs at the
    24.6 TFLOP/s per GPU OpenAI reported, at Patterson et al.'s 330 W per GPU and PUE 1.1."""
    hours = _fig("gpt3-175b.train_flops") / _fig("gpt3-175b.tflops_per_gpu") / 3600
    mwh = cost.energy_mwh(hours, _fig("gpt3-175b.system_watts_per_gpu"), _fig("gpt3-175b.pue"))
    return hours, mwh, mwh * 1000 / _fig("us.household_kwh_per_year")


# --- distilling a hundred-billion-parameter model ------------------------------------------------


def student_for_teacher_share(teacher_params: float, share: float) -> float:
    """The student size at which the teacher's forward passes are `share` of the distillation's
    FLOPs: 2N_T/(2N_T + 6N_S) = share, so N_S = N_T·(1 − share)/(3·share)."""
    n_t = positive_number("teacher_params", teacher_params, "100e9")
    s = fraction("share", share, "0.9")
    if s >= 1:
        raise ValueError(f"share={s} must be below 1: the student's own training always costs something")
    return n_t * (1 - s) / (3 * s)


def run_dollars(flops: float, accelerator="a100", mfu: float | None = None, dollars_per_gpu_hour: float | None = None):
    """(GPU-hours, dollars) of `flops` on `accelerator` at `mfu` (None: PaLM's published 46.2%) and
    `dollars_per_gpu_hour` (None: the GPT-4 leak's $1 per A100-hour)."""
    mfu = published.get("palm-540b.mfu").value if mfu is None else mfu
    price = published.get("gpt4.price_per_a100_hour").value if dollars_per_gpu_hour is None else dollars_per_gpu_hour
    positive_number("dollars_per_gpu_hour", price, "1.0")
    hours = cost.gpu_hours(flops, accelerator, mfu)
    return hours, hours * price


TEACHER_PARAMS = 100e9  # the article's "100 billion" teacher
STUDENT_RANGE = (10e6, 100e6)  # its "tens of millions"


def chinchilla_tokens_per_param() -> float:
    """Chinchilla's tokens per parameter (1.4T tokens for 70B), the compute-optimal budget."""
    p = presets.preset("chinchilla-70b")
    return p.train_tokens / p.reported_params


def distillation_budgets(teacher_params: float = TEACHER_PARAMS, student_params: float = 50e6) -> dict:
    """Distillation of `teacher_params` into `student_params` on two token budgets: the student's
    compute-optimal one (Chinchilla's tokens per parameter) and LLaMA-7B's 1T tokens."""
    return {
        "compute-optimal": distillation_cost(
            teacher_params, student_params, chinchilla_tokens_per_param() * student_params
        ),
        "LLaMA-7B's tokens": distillation_cost(teacher_params, student_params, presets.preset("llama-7b").train_tokens),
    }


# --- "half the cost": FLOPs against dollars ------------------------------------------------------


def utilisation_ratio(flops_saved: float, time_saved: float) -> float:
    """FLOP/s of the grown run over the scratch run's, on the same GPUs: (1 − f)/(1 − t)."""
    f = fraction("flops_saved", flops_saved, "0.447")
    t = fraction("time_saved", time_saved, "0.407")
    if f >= 1 or t >= 1:
        raise ValueError("flops_saved and time_saved must be below 1 (a run that costs nothing saves 100%)")
    return (1 - f) / (1 - t)


def dollars_saved(
    flops_saved: float, utilisation: float = 1.0, price_ratio: float = 1.0, small_model_share: float = 0.0
) -> float:
    """(eq. half-dollars) Fraction of a scratch run's dollars saved by growing it from a small model:
    1 − (1 − f)·price_ratio/utilisation − small_model_share. utilisation: the grown run's FLOP/s
    over the scratch run's; price_ratio: its price per GPU-hour over the scratch run's;
    small_model_share: the small model's training, if it must be paid for, as a fraction of the
    scratch run's dollars (0 when it already exists)."""
    f = fraction("flops_saved", flops_saved, "0.225", allow_zero=True)
    u = positive_number("utilisation", utilisation, "0.93")
    p = positive_number("price_ratio", price_ratio, "1.0")
    s = fraction("small_model_share", small_model_share, "0.35", allow_zero=True)
    return 1 - (1 - f) * p / u - s


def small_model_share(small: str = "gpt2-small", big: str = "gpt2-medium") -> float:
    """Training FLOPs per token of preset `small` over `big` (counted, attention included): the
    small model's cost as a share of the big run's when both see as many tokens."""
    return counting.flops_per_token(presets.get(small), training=True) / counting.flops_per_token(
        presets.get(big), training=True
    )


def ligo_dollar_cases() -> dict[str, float]:
    """What LiGO's published savings are worth in dollars, case by case."""
    bert_u = utilisation_ratio(_fig("ligo.bert_base_flops_saving"), _fig("ligo.bert_base_walltime_saving"))
    gpt2 = _fig("ligo.gpt2-medium.flops_saved")
    return {
        "BERT-Base, small model free": dollars_saved(_fig("ligo.bert_base_flops_saving"), bert_u),
        "GPT-2 Medium, small model free, same utilisation": dollars_saved(gpt2),
        "GPT-2 Medium, small model free, BERT's utilisation": dollars_saved(gpt2, bert_u),
        "GPT-2 Medium, small model trained for it": dollars_saved(gpt2, small_model_share=small_model_share()),
    }


# --- a token for less than a cent ----------------------------------------------------------------


def cost_per_token(batch: int, preset: str = "gpt3-175b", gpus: int = 8, dollars_per_gpu_hour: float | None = None):
    """Dollars per generated token of `preset` on `gpus` A100s (tensor-parallel) decoding `batch`
    sequences at the model's full context, at the roofline (`serving_cost.layout_cost`), at
    `dollars_per_gpu_hour` (None: Goldstein's Azure $3 per A100-hour)."""
    cfg = presets.get(preset)
    price = _fig("serving.azure_a100_hour_goldstein") if dollars_per_gpu_hour is None else dollars_per_gpu_hour
    lay = serving_cost.layout_cost(cfg, "a100", gpus, 1, batch, cfg.seq_len, price)
    if not lay.fits:
        raise ValueError(f"batch={batch}: {preset}'s weights and cache do not fit on {gpus} A100s; use a smaller batch")
    return lay.dollars_per_1k / 1000


def largest_batch(preset: str = "gpt3-175b", gpus: int = 8) -> int:
    """The largest decode batch whose weights and cache (at the full context) fit on `gpus` A100s."""
    cfg = presets.get(preset)
    fits = [b for b in range(1, 4097) if serving_cost.layout_cost(cfg, "a100", gpus, 1, b, cfg.seq_len, 1.0).fits]
    if not fits:
        raise ValueError(f"{preset}'s weights do not fit on {gpus} A100s; use more GPUs")
    return max(fits)


# --- claims --------------------------------------------------------------------------------------


@claims.register(
    "slim-distill-100b-compute",
    claims.COST_SLIMMING,
    "Distilling a model of 100 billion parameters into small ones itself consumes very high compute "
    "(checked: the teacher's forward passes cost more than training the student, for students of "
    "tens of millions of parameters).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    low, high = (distillation_cost(TEACHER_PARAMS, n, 1e12).teacher_over_student for n in reversed(STUDENT_RANGE))
    budgets = distillation_budgets()
    opt, big = budgets["compute-optimal"], budgets["LLaMA-7B's tokens"]
    opt_hours, opt_usd = run_dollars(opt.total_flops)
    big_hours, big_usd = run_dollars(big.total_flops)
    gpt3 = _fig("gpt3-175b.train_flops")
    return min(low, high) > 1, (
        f"At 2·N_T·D for the teacher and 6·N_S·D for the student, the teacher costs N_T/(3·N_S): "
        f"{low:,.0f}× to {high:,.0f}× the student's own training for students of 100M down to 10M, more "
        f"for any student under a third of the teacher. In absolute terms it depends on the tokens: a "
        f"50M student on its compute-optimal {opt.tokens / 1e9:.0f}B tokens costs {opt.total_flops:.2g} FLOPs, "
        f"{opt_hours:,.0f} A100-hours (${opt_usd:,.0f} at $1/hour, 46.2% MFU); on LLaMA-7B's 1T tokens "
        f"{big.total_flops:.2g} FLOPs, {big.total_flops / gpt3:.0%} of GPT-3's whole training "
        f"({big_hours / 1e3:,.0f}k A100-hours, ${big_usd / 1e3:,.0f}k). The teacher's outputs, stored once, "
        "serve several students: the article's 'one pass' for several small models is what amortises them."
    )


@claims.register(
    "slim-distill-size-gap",
    claims.COST_SLIMMING,
    "The gap from 100 billion parameters down to tens of millions is very large, which easily harms the distillation.",
    True,
    "yes/no",
    basis="none",
)
def _():
    low, high = TEACHER_PARAMS / STUDENT_RANGE[1], TEACHER_PARAMS / STUDENT_RANGE[0]
    distilbert = _fig("distilbert.bert_base_params") / _fig("distilbert.student_params")
    return None, (
        f"The gap is {low:,.0f}× to {high:,.0f}× in parameters; DistilBERT, the best-known published "
        f"distillation, shrank BERT-Base {distilbert:.2f}×. That a gap of thousands harms the student is "
        "plausible but the book holds no published distillation across such a gap to measure it on."
    )


@claims.register(
    "slim-token-under-cent",
    claims.COST_SLIMMING,
    "Sold through API calls, a token costs less than one cent.",
    0.01,
    "USD per token",
    basis="primary-source",
    bound="<",
)
def _():
    price = _fig("serving.gpt35_turbo_api_price") / 1000
    full = largest_batch()
    one, most = cost_per_token(1), cost_per_token(full)
    return price, (
        f"OpenAI's gpt-3.5-turbo price, ${_fig('serving.gpt35_turbo_api_price')} per 1,000 tokens, is "
        f"${price:.0e} a token, {0.01 / price:,.0f}× under a cent. What a token costs to make: GPT-3 175B on "
        f"8 A100s at $3 per A100-hour, at the roofline, ${one:.1e} at batch 1 ({one / price:,.0f}× the price) "
        f"and ${most:.1e} at batch {full}, the most whose cache fits at 2,048 tokens ({most / price:.1f}× the "
        "price). Under a cent, yes, by far; but a 175B model on rented A100s cannot make a token at that "
        "price: the return the article doubts is in that gap."
    )


@claims.register(
    "slim-ernie-8-10x",
    claims.COST_SLIMMING,
    "Chinese large models opened to the whole public, such as ERNIE Bot, are said to cost 8 to 10 times "
    "as much to serve as the previous generation.",
    (8, 10),
    "× the previous generation's inference cost",
    basis="none",
)
def _():
    ratio = counting.flops_per_token(presets.get("gpt3-175b")) / counting.flops_per_token(presets.get("gpt3-13b"))
    return None, (
        "Neither ERNIE Bot's size nor its predecessor's serving cost is public. A decode token costs about "
        "2·N FLOPs and reads N weights, so on the same hardware and batch 8 to 10 times the cost means 8 to "
        f"10 times the active parameters: GPT-3 175B over GPT-3 13B is {ratio:.1f}× per token."
    )


@claims.register(
    "slim-pangu-sparse",
    claims.COST_SLIMMING,
    "As early as its version 2.0, the Pangu model tried a sparse plus dense architecture to cut its training cost.",
    True,
    "yes/no",
    basis="none",
)
def _():
    active = _fig("mixtral.active_params") / _fig("mixtral.total_params")
    return None, (
        "No source the book holds gives Pangu 2.0's architecture or training cost. What sparsity buys, in "
        f"published models: Mixtral trains and runs {active:.0%} of its parameters per token (13B of 47B), "
        f"and Switch Transformers reached a dense model's quality up to {_fig('switch.pretraining_speedup'):.0f}× "
        "faster; see the chapter on mixtures of experts."
    )


@claims.register(
    "slim-ernie4-cluster",
    claims.COST_SLIMMING,
    "ERNIE 4.0 is trained on a ten-thousand-GPU ('wanka') cluster on the PaddlePaddle platform.",
    10_000,
    "GPU",
    basis="none",
)
def _():
    month = 10_000 * hardware.get("a100").flops("bf16") * _fig("palm-540b.mfu") * 30 * 86_400
    return None, (
        "Baidu publishes no cluster size or training compute for ERNIE 4.0. For scale: 10,000 A100s for "
        f"30 days at PaLM's 46.2% MFU do {month:.2g} FLOPs, "
        f"{month / _fig('palm-540b.train_flops'):.1f}× PaLM's training."
    )


@claims.register(
    "slim-ligo-half-dollars",
    claims.LIGO_HALF_COST,
    "A ChatGPT-like large language model can be built for half the cost (the title's question, which "
    "the article answers yes; checked in dollars, for the paper's one GPT-style model).",
    0.5,
    "fraction of the dollars saved",
    basis="derived",
    bound=">=",
)
def _():
    cases = ligo_dollar_cases()
    best = cases["GPT-2 Medium, small model free, same utilisation"]
    at_bert = cases["GPT-2 Medium, small model free, BERT's utilisation"]
    return best, (
        f"Dollars are GPU-hours × price, GPU-hours are FLOPs over FLOP/s: half the FLOPs is half the dollars "
        f"only at equal utilisation and price. The paper's GPT-2 Medium saves 22.5% of the FLOPs, so at best "
        f"{best:.1%} of the dollars; at BERT-Base's measured utilisation (its 44.7% of FLOPs bought 40.7% of time) "
        f"{at_bert:.1%}. "
        f"If the small model (GPT-2 small) must first be trained on as many tokens, at "
        f"{small_model_share():.0%} of the big run, growing costs "
        f"{-cases['GPT-2 Medium, small model trained for it']:.0%} more than training from scratch."
    )


@claims.register(
    "slim-ligo-flops-per-second",
    claims.LIGO_HALF_COST,
    "LiGO's 44.7% saving is in FLOPs, 'floating-point operations per second' (checked: is the saved "
    "quantity a rate, so that the grown run does 44.7% fewer operations per second?).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    f, t = _fig("ligo.bert_base_flops_saving"), _fig("ligo.bert_base_walltime_saving")
    u = utilisation_ratio(f, t)
    return math.isclose(1 - u, f, abs_tol=0.005), (
        f"The paper counts operations (its curves are loss against FLOPs, a total). Had the rate fallen "
        f"{f:.1%}, the run would have slowed; from its own two figures, (1 − {f})/(1 − {t}), the grown BERT-Base "
        f"ran at {u:.1%} of the scratch run's FLOP/s, {1 - u:.1%} fewer operations per second, and did "
        f"{f:.1%} fewer operations in all. FLOPs here are floating-point operations; FLOP/s is the rate."
    )


@claims.register(
    "slim-engineer-salaries",
    claims.COST_SLIMMING,
    "Algorithm engineers paid tens of millions a year must stay on a client's site for months, so "
    "custom industry projects earn thin margins.",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, "Salaries and margins are business accounts, not a quantity the book computes or looks up."


@claims.register(
    "slim-cloud-cheaper",
    claims.COST_SLIMMING,
    "For industry models, training and serving on cloud services is more cost-effective than building "
    "and maintaining one's own infrastructure.",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, (
        "A buy-or-rent judgement: it turns on purchase prices, utilisation and staff, none of which the "
        "article states or the book holds; the book prices GPU-hours as rented."
    )


@claims.register(
    "slim-xuanyuan-70b",
    claims.COST_SLIMMING,
    "Du Xiaoman's Xuanyuan 70B adds many financial tools, meets financial clients' needs for control and "
    "security, and is on trial at hundreds of financial institutions.",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, "A product description and a customer count, not a cost the book can compute."


# --- exercises -----------------------------------------------------------------------------------

exercises.register(
    "cost-ledger-1",
    lambda: student_for_teacher_share(TEACHER_PARAMS, 0.9),
    rel_tol=0.01,
    unit="parameters",
    hint="Set 2·N_T·D / (2·N_T·D + 6·N_S·D) = 0.9: the tokens cancel; solve for N_S with N_T = 100e9.",
    kind="derive",
)


def _dollars_vs_flops() -> str:
    f = _fig("ligo.bert_base_flops_saving")
    saved = dollars_saved(f, utilisation_ratio(f, _fig("ligo.bert_base_walltime_saving")))
    return "a" if saved > f + 1e-9 else ("b" if math.isclose(saved, f) else "c")


exercises.register_choice(
    "cost-ledger-2",
    {
        "a": "more of the dollars than of the FLOPs",
        "b": "the same fraction of the dollars as of the FLOPs",
        "c": "less of the dollars than of the FLOPs",
    },
    _dollars_vs_flops,
    hint="On the same GPUs at the same price, dollars follow GPU-hours, that is wall time; which fell "
    "more for BERT-Base, its FLOPs or its time?",
    kind="predict",
)
exercises.register(
    "cost-ledger-3",
    lambda: run_dollars(
        distillation_cost(TEACHER_PARAMS, 1e9, presets.preset("llama-7b").train_tokens).total_flops,
        "h100",
        dollars_per_gpu_hour=_fig("serving.price_per_h100_hour"),
    )[1],
    rel_tol=0.01,
    unit="USD",
    hint="C = 2·N_T·D + 6·N_S·D with N_T = 100e9, N_S = 1e9, D = 1e12; GPU-hours = C / (989.4e12 × 0.462 × "
    "3600) on H100s in bf16; × $2 per H100-hour.",
)
