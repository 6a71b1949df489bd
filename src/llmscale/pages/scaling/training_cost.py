"""What training costs: GPUs, days, MFU, dollars and energy claims, and the page's exercises."""

from __future__ import annotations

import math

from ... import claims, cost, counting, exercises, hardware, presets, published
from ...units import SECONDS_PER_DAY

HOURS_PER_MONTH = 365.25 * 24 / 12


def _p(key: str) -> float:
    return published.get(key).value


# --- GPT-3 175B on 10,000 V100s -------------------------------------------------------------


def gpt3_flops() -> float:
    """GPT-3 175B's training compute as its paper prints it (Table D.1), FLOPs."""
    return _p("gpt3-175b.train_flops")


def gpt3_gpu_hours() -> float:
    """V100-hours GPT-3 175B needed at the 24.6 TFLOP/s per GPU that OpenAI reported."""
    return gpt3_flops() / _p("gpt3-175b.tflops_per_gpu") / 3600.0


def lambda_price_per_v100_hour() -> float:
    """The V100 price behind Lambda's $4.6M estimate: $4.6M over 355 V100-years."""
    return _p("gpt3-175b.lambda_cost_dollars") / (_p("gpt3-175b.lambda_v100_years") * 365.25 * 24)


def gpt3_dollars() -> float:
    """GPT-3 175B's run priced at Lambda's V100 price, dollars."""
    return gpt3_gpu_hours() * lambda_price_per_v100_hour()


# --- GPT-4 as reported ------------------------------------------------------------------------


def gpt4_flops() -> float:
    """6·N_active·D for GPT-4 as reported: the preset's active parameters and 13T tokens."""
    p = presets.preset("gpt4-reported")
    return counting.approx_training_flops(counting.active_param_count(p.config), p.train_tokens)


def gpt4_days_mid() -> float:
    return (_p("gpt4.train_days_low") + _p("gpt4.train_days_high")) / 2


def gpt4_mfu_mid() -> float:
    return (_p("gpt4.mfu_low") + _p("gpt4.mfu_high")) / 2


def gpt4_gpu_hours(days: float | None = None) -> float:
    """A100-hours of the reported run: 25,000 GPUs for `days` (default the middle of 90-100)."""
    return _p("gpt4.n_gpus") * (gpt4_days_mid() if days is None else days) * 24


# --- PaLM 540B's energy -----------------------------------------------------------------------


def palm_chip_hours() -> float:
    """TPU v4 chip-hours of PaLM 540B's run (two phases, downtime included)."""
    return _p("palm-540b.chips_phase1") * _p("palm-540b.hours_phase1") + _p("palm-540b.chips_phase2") * _p(
        "palm-540b.hours_phase2"
    )


def palm_energy_mwh() -> float:
    """PaLM 540B's energy at the wall: chip-hours × measured system power per chip × PUE, MWh."""
    return cost.energy_mwh(palm_chip_hours(), _p("palm-540b.system_watts_per_chip"), _p("palm-540b.pue"))


# ==============================================================================================
# Page "What training costs"
# ==============================================================================================

# --- seed 000: GPT-4 ----------------------------------------------------------------------------


@claims.register(
    "cost-gpt4-gpus", claims.GPT4_LEAK, "GPT-4 was trained on about 25,000 A100 GPUs.", 25_000, "A100", basis="derived"
)
def _():
    c, days, mfu = gpt4_flops(), gpt4_days_mid(), gpt4_mfu_mid()
    n = round(cost.gpus_needed(c, "a100", days, mfu))
    return n, (
        f"6·N_active·D = {c:.3g} FLOPs done in {days:.0f} days (middle of the reported 90-100) at "
        f"{mfu:.0%} MFU (middle of 32-36%) on A100s at {hardware.get('a100').flops('bf16') / 1e12:.0f} "
        f"TFLOP/s needs C / (peak · MFU · t) = {n:,.0f} GPUs."
    )


@claims.register(
    "cost-gpt4-days", claims.GPT4_LEAK, "GPT-4's training took 90 to 100 days.", 95, "days", basis="derived"
)
def _():
    c, n, mfu = gpt4_flops(), _p("gpt4.n_gpus"), gpt4_mfu_mid()
    days = c / (n * hardware.get("a100").flops("bf16") * mfu) / SECONDS_PER_DAY
    lo = c / (n * hardware.get("a100").flops("bf16") * _p("gpt4.mfu_high")) / SECONDS_PER_DAY
    hi = c / (n * hardware.get("a100").flops("bf16") * _p("gpt4.mfu_low")) / SECONDS_PER_DAY
    return days, (
        f"{c:.3g} FLOPs on {n:,.0f} A100s at {mfu:.0%} MFU take {days:.1f} days "
        f"({lo:.0f}-{hi:.0f} days over the reported 32-36% MFU); claimed: the middle of 90-100."
    )


@claims.register(
    "cost-gpt4-mfu", claims.GPT4_LEAK, "GPT-4's training ran at 32% to 36% MFU.", 0.34, "fraction", basis="derived"
)
def _():
    c, n, days = gpt4_flops(), _p("gpt4.n_gpus"), gpt4_days_mid()
    mfu = cost.implied_mfu(c, "a100", n, days)
    leak = cost.implied_mfu(_p("gpt4.train_flops"), "a100", n, days)
    return mfu, (
        f"{c:.3g} FLOPs on {n:,.0f} A100s in {days:.0f} days imply MFU = C / (n · peak · t) = "
        f"{mfu:.1%} ({leak:.1%} with the leak's own {_p('gpt4.train_flops'):.3g} FLOPs). GPUs, days "
        "and MFU are one equation: any two of them give the third, so the three claims stand or "
        "fall together."
    )


@claims.register(
    "cost-gpt4-dollars",
    claims.GPT4_LEAK,
    "At 1 dollar per A100-hour, GPT-4's training run cost about 63 million dollars.",
    63e6,
    "USD",
    basis="derived",
)
def _():
    price = _p("gpt4.price_per_a100_hour")
    hours = gpt4_gpu_hours()
    lo, hi = gpt4_gpu_hours(_p("gpt4.train_days_low")), gpt4_gpu_hours(_p("gpt4.train_days_high"))
    claimed = _p("gpt4.train_dollars")
    days_needed = claimed / price / _p("gpt4.n_gpus") / 24
    mfu_needed = cost.mfu_from_gpu_hours(_p("gpt4.train_flops"), "a100", claimed / price)
    return hours * price, (
        f"{_p('gpt4.n_gpus'):,.0f} GPUs × {gpt4_days_mid():.0f} days × 24 h = {hours / 1e6:.1f}M A100-hours, "
        f"${hours * price / 1e6:.1f}M at ${price:.0f}/hour; the leak's own ranges give "
        f"${lo * price / 1e6:.0f}M-${hi * price / 1e6:.0f}M. ${claimed / 1e6:.0f}M buys "
        f"{claimed / price / 1e6:.0f}M A100-hours: {days_needed:.0f} days on {_p('gpt4.n_gpus'):,.0f} GPUs, or "
        f"{mfu_needed:.1%} MFU for {_p('gpt4.train_flops'):.3g} FLOPs, both outside the reported ranges "
        "(slightly: restarts from checkpoints would burn such hours)."
    )


@claims.register(
    "cost-gpt4-dollars-8-15m",
    claims.GPT4_LEAK,
    "GPT-4's training cost between 8 and 15 million dollars.",
    (8e6 + 15e6) / 2,
    "USD",
    basis="derived",
)  # the middle of the range; ±3.5M is ±30%
def _():
    price = _p("gpt4.price_per_a100_hour")
    hours = gpt4_gpu_hours()
    return hours * price, (
        f"The same article's GPUs, days and price give {hours / 1e6:.0f}M A100-hours, "
        f"${hours * price / 1e6:.0f}M: {hours * price / ((8e6 + 15e6) / 2):.1f}× the middle of the "
        "$8-15M range. The two cost figures of the article contradict each other."
    )


# --- seed 003 -----------------------------------------------------------------------------------


def _gpt3_gpu_count_note() -> str:
    n = _p("gpt3-175b.n_gpus")
    mfu = cost.implied_mfu(gpt3_flops(), "v100", n, _p("gpt3-175b.train_days"), dtype="fp16")
    return (
        f"Patterson et al. report {n:,.0f} V100s for GPT-3 175B's {_p('gpt3-175b.train_days')} days; "
        f"with the paper's {gpt3_flops():.3g} FLOPs that is {mfu:.1%} MFU, a plausible figure for V100s. "
        "A published count, checked for plausibility, not derived."
    )


@claims.register(
    "cost-gpt3-gpus-003",
    claims.COST_SLIMMING,
    "GPT-3 was trained on a supercomputer with 10,000 GPUs.",
    10_000,
    "GPU",
    basis="derived",
)
def _():
    return _p("gpt3-175b.n_gpus"), _gpt3_gpu_count_note()


@claims.register(
    "cost-gpt3-cpu-cores-003",
    claims.COST_SLIMMING,
    "GPT-3's supercomputer had 285,000 CPU cores.",
    285_000,
    "CPU core",
    basis="none",
)
def _():
    return None, (
        "Microsoft's announcement of the machine gives this figure; no paper does, and no "
        "training-cost computation depends on CPU cores."
    )


@claims.register(
    "cost-palm-energy",
    claims.COST_SLIMMING,
    "Training PaLM consumed about 3.4 kWh of electricity.",
    3.4,
    "kWh",
    basis="derived",
)
def _():
    mwh = palm_energy_mwh()
    t = mwh * _p("palm-540b.tco2e_per_mwh")
    return mwh * 1e3, (
        f"{palm_chip_hours():,.0f} TPU v4 chip-hours × {_p('palm-540b.system_watts_per_chip')} W × "
        f"PUE {_p('palm-540b.pue')} = {mwh / 1e3:.2f} GWh ({mwh * 1e3:.3g} kWh); × "
        f"{_p('palm-540b.tco2e_per_mwh')} tCO2e/MWh = {t:.1f} t, the paper's "
        f"{_p('palm-540b.tco2e')} t. The article's unit is off by a factor of a million: GWh, "
        "not kWh."
    )


@claims.register(
    "cost-palm-duration", claims.COST_SLIMMING, "PaLM's training took about two months.", 2, "months", basis="derived"
)
def _():
    hours = _p("palm-540b.hours_phase1") + _p("palm-540b.hours_phase2")
    return hours / HOURS_PER_MONTH, (
        f"{_p('palm-540b.hours_phase1'):.0f} h on {_p('palm-540b.chips_phase1'):.0f} "
        f"chips then {_p('palm-540b.hours_phase2'):.0f} h on "
        f"{_p('palm-540b.chips_phase2'):.0f}: {hours / 24:.0f} days, "
        f"{hours / HOURS_PER_MONTH:.1f} months."
    )


@claims.register(
    "cost-palm-households",
    claims.COST_SLIMMING,
    "PaLM's training used as much electricity as 300 households use in a year.",
    300,
    "households",
    basis="derived",
)
def _():
    kwh = palm_energy_mwh() * 1e3
    per_home = _p("us.household_kwh_per_year")
    return kwh / per_home, (
        f"{kwh / 1e6:.2f} GWh / {per_home:,.0f} kWh per US household-year (EIA, 2020) = "
        f"{kwh / per_home:.0f} households: true of 3.4 GWh, not of the article's 3.4 kWh."
    )


@claims.register(
    "cost-openai-loss-2022",
    claims.COST_SLIMMING,
    "OpenAI lost about 540 million dollars in 2022.",
    540e6,
    "USD",
    basis="none",
)
def _():
    return None, "A company's accounts, not a training run: nothing the book computes bears on it."


@claims.register(
    "cost-anthropic-10b",
    claims.COST_SLIMMING,
    "Anthropic's CEO expects its models to cost 10 billion dollars over the next two years.",
    10e9,
    "USD",
    basis="none",
)
def _():
    price = _p("gpt4.price_per_a100_hour")
    hours = 10e9 / price
    ratio = hours / gpt4_gpu_hours()
    return None, (
        f"A forecast of spending. For scale: at the GPT-4 leak's ${price:.0f} per A100-hour it buys "
        f"{hours:.2g} A100-hours, {ratio:.0f}× GPT-4's reported run."
    )


@claims.register(
    "cost-azure-16x",
    claims.COST_SLIMMING,
    "Microsoft said at Build 2020 that GPT-3's supercomputer makes AI models 16 times more efficient "
    "than other platforms.",
    16,
    "ratio",
    basis="none",
)
def _():
    mfu = cost.implied_mfu(gpt3_flops(), "v100", _p("gpt3-175b.n_gpus"), _p("gpt3-175b.train_days"), dtype="fp16")
    return None, (
        f"No baseline is named, so no ratio can be computed. For scale: GPT-3's own run on the "
        f"machine used {mfu:.1%} of the V100s' peak; a platform 16 times less efficient would use "
        f"{mfu / 16:.1%}."
    )


# --- seed 004 -----------------------------------------------------------------------------------


@claims.register(
    "cost-gpt3-dollars",
    claims.LIGO_HALF_COST,
    "Training GPT-3 cost OpenAI about 5 million dollars.",
    5e6,
    "USD",
    basis="derived",
)
def _():
    price = lambda_price_per_v100_hour()
    return gpt3_dollars(), (
        f"{gpt3_flops():.3g} FLOPs at the {_p('gpt3-175b.tflops_per_gpu') / 1e12} TFLOP/s "
        f"per V100 OpenAI reported = {gpt3_gpu_hours() / 1e6:.2f}M V100-hours; at Lambda's "
        f"${price:.2f} per V100-hour (its $4.6M over 355 V100-years) that is "
        f"${gpt3_dollars() / 1e6:.1f}M. A cloud price: OpenAI's real cost is not public."
    )


@claims.register(
    "cost-gpt3-gpus-004",
    claims.LIGO_HALF_COST,
    "GPT-3 was trained on a supercomputer with 10,000 GPUs.",
    10_000,
    "GPU",
    basis="derived",
)
def _():
    return _p("gpt3-175b.n_gpus"), _gpt3_gpu_count_note()


@claims.register(
    "cost-gpt3-gpu-type",
    claims.LIGO_HALF_COST,
    "GPT-3's supercomputer used H100 and A100 GPUs.",
    hardware.get("h100").flops("bf16"),
    "FLOP/s per GPU (dense peak)",
    basis="derived",
)
def _():
    c, n, days = gpt3_flops(), _p("gpt3-175b.n_gpus"), _p("gpt3-175b.train_days")
    m_h100 = cost.implied_mfu(c, "h100", n, days)
    m_a100 = cost.implied_mfu(c, "a100", n, days)
    m_v100 = cost.implied_mfu(c, "v100", n, days, dtype="fp16")
    measured = _p("gpt3-175b.tflops_per_gpu") / hardware.get("v100").flops("fp16")
    return hardware.get("v100").flops("fp16"), (
        f"Patterson et al. report V100s; the H100 did not exist when GPT-3 was trained. {days} days on "
        f"{n:,.0f} GPUs would mean {m_h100:.1%} MFU on H100s or {m_a100:.1%} on A100s, against {m_v100:.1%} on "
        f"V100s, which matches the {_p('gpt3-175b.tflops_per_gpu') / 1e12} TFLOP/s per GPU OpenAI measured "
        f"({measured:.1%})."
    )


@claims.register(
    "cost-gpt3-cpu-cores-004",
    claims.LIGO_HALF_COST,
    "GPT-3's supercomputer had 285,000 CPU cores.",
    285_000,
    "CPU core",
    basis="none",
)
def _():
    return None, (
        "Microsoft's announcement of the machine gives this figure; no paper does, and no "
        "training-cost computation depends on CPU cores."
    )


@claims.register(
    "cost-gpt3-days",
    claims.LIGO_HALF_COST,
    "Training GPT-3 175B took 14.8 days on 10,000 V100 GPUs.",
    14.8,
    "days",
    basis="derived",
)
def _():
    c, n, per_gpu = gpt3_flops(), _p("gpt3-175b.n_gpus"), _p("gpt3-175b.tflops_per_gpu")
    days = c / (n * per_gpu) / SECONDS_PER_DAY
    mfu = per_gpu / hardware.get("v100").flops("fp16")
    return days, (
        f"{c:.3g} FLOPs / ({n:,.0f} GPUs × {per_gpu / 1e12} TFLOP/s) = {days:.2f} days, at "
        f"{mfu:.1%} of the V100's {hardware.get('v100').flops('fp16') / 1e12:.0f} TFLOP/s fp16 peak. "
        "Days and TFLOP/s both came from OpenAI through Patterson et al.; the check is that they "
        "agree with the paper's own FLOPs."
    )


@claims.register(
    "cost-gpt3-gpu-hours",
    claims.LIGO_HALF_COST,
    "Training GPT-3 175B took 3.55 million GPU-hours.",
    3.55e6,
    "GPU-hours",
    basis="derived",
)
def _():
    hours = gpt3_gpu_hours()
    own = _p("gpt3-175b.n_gpus") * _p("gpt3-175b.train_days") * 24
    return hours, (
        f"{gpt3_flops():.3g} FLOPs / {_p('gpt3-175b.tflops_per_gpu') / 1e12} TFLOP/s = "
        f"{hours / 1e6:.3f}M V100-hours; the article's 10,000 × 14.8 days × 24 h = {own / 1e6:.3f}M "
        "agrees."
    )


@claims.register(
    "cost-chatgpt-run-millions",
    claims.LIGO_HALF_COST,
    "A single training run of a model at ChatGPT's scale can cost millions of dollars.",
    (1e6, 1e9),
    "USD",
    basis="derived",
)  # "millions": from one million to under a billion dollars
def _():
    dollars = gpt3_dollars()
    gpt4 = gpt4_gpu_hours() * _p("gpt4.price_per_a100_hour")
    return dollars, (
        f"GPT-3 175B's run (the base of the first ChatGPT models) priced at cloud "
        f"V100 rates: ${dollars / 1e6:.1f}M, log10 = {math.log10(dollars):.2f}, "
        f"within 'millions'. GPT-4 as reported cost {gpt4 / dollars:.0f}× more."
    )


@claims.register(
    "cost-microsoft-2019",
    claims.LIGO_HALF_COST,
    "Microsoft invested 1 billion dollars in OpenAI in 2019.",
    1e9,
    "USD",
    basis="none",
)
def _():
    return None, "An investment, not a cost the book can compute."


@claims.register(
    "cost-microsoft-2023",
    claims.LIGO_HALF_COST,
    "Microsoft invested 10 billion dollars in OpenAI in 2023.",
    10e9,
    "USD",
    basis="none",
)
def _():
    return None, "An investment, not a cost the book can compute."


@claims.register(
    "cost-ligo-walltime",
    claims.LIGO_HALF_COST,
    "Growing BERT-Base from BERT-Small with LiGO saves 40.7% of the wall-clock time of training it from scratch.",
    0.407,
    "fraction of time saved",
    basis="derived",
)
def _():
    time_saved, flops_saved = _p("ligo.bert_base_walltime_saving"), _p("ligo.bert_base_flops_saving")
    return time_saved, (
        f"The paper reports {time_saved:.1%} of wall time against {flops_saved:.1%} of FLOPs: "
        "time falls less than FLOPs. A published measurement, not a computation."
    )


@claims.register(
    "cost-ligo-half-time",
    claims.LIGO_HALF_COST,
    "LiGO trains large language models in half the time.",
    0.5,
    "fraction of time saved",
    basis="none",
)
def _():
    time_saved = _p("ligo.bert_base_walltime_saving")
    grown = counting.param_count(presets.get("gpt2-medium"))
    return None, (
        f"The paper's wall-time saving is {time_saved:.1%}, for BERT-Base; no model above about "
        f"{grown / 1e9:.2f}B parameters was grown, so nothing measured covers LLMs."
    )


exercises.register(
    "training-cost-1",
    lambda: cost.mfu_from_gpu_hours(
        counting.approx_training_flops(counting.param_count(presets.get("llama-13b")), 1e12),
        "a100",
        published.get("llama-13b.gpu_hours").value,
    ),
    rel_tol=0.02,
    unit="fraction",
    hint="MFU = 6·N·D / (GPU-hours × 3600 s × 312e12 FLOP/s), with N = 13.0e9 and D = 1e12.",
)
exercises.register(
    "training-cost-2",
    lambda: (
        published.get("chinchilla-70b.train_flops").value
        / (4096 * hardware.get("h100").flops("bf16") * 0.4)
        / SECONDS_PER_DAY
    ),
    rel_tol=0.02,
    unit="days",
    hint="t = C / (n · peak · MFU): 5.76e23 / (4096 × 989.4e12 × 0.4) seconds, then divide by 86,400.",
)
exercises.register(
    "training-cost-3",
    lambda: cost.energy_mwh(10_000 * 14.8 * 24, hardware.get("v100").tdp_watts, pue=1.1),
    rel_tol=0.02,
    unit="MWh",
    hint="GPU-hours = 10,000 × 14.8 × 24; energy = GPU-hours × 300 W × 1.1, in MWh (1e6 Wh).",
)
