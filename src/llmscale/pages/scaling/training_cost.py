"""What training costs: GPUs, days, MFU, dollars and energy claims, and the page's exercises."""

from __future__ import annotations

from ... import claims, cost, counting, exercises, hardware, presets, published
from ...units import SECONDS_PER_DAY

HOURS_PER_MONTH = 365.25 * 24 / 12


def _p(key: str) -> float:
    return published.get(key).value


# --- GPT-3 175B: the paper's compute, Patterson et al.'s row, Lambda's estimate ----------------


def gpt3_flops() -> float:
    """GPT-3 175B's training compute as its paper prints it (Table D.1), FLOPs."""
    return _p("gpt3-175b.train_flops")


def gpt3_gpu_hours() -> float:
    """V100-hours GPT-3 175B needed at the 24.6 TFLOP/s per GPU that OpenAI reported: C / rate.
    No GPU count enters: the count buys calendar time, not GPU-hours."""
    return gpt3_flops() / _p("gpt3-175b.tflops_per_gpu") / 3600.0


def gpt3_days_on_assumed_count() -> float:
    """Days of GPT-3 175B's run on the assumed 10,000 V100s at the reported rate: the
    arithmetic behind Patterson et al.'s 14.8 days."""
    return gpt3_gpu_hours() / _p("gpt3-175b.n_gpus") / 24.0


def gpt3_energy_mwh() -> float:
    """Patterson et al.'s energy redone: GPU-hours × 330 W per GPU × PUE 1.1, MWh."""
    return cost.energy_mwh(gpt3_gpu_hours(), _p("gpt3-175b.system_watts_per_gpu"), _p("gpt3-175b.pue"))


def lambda_v100_hours() -> float:
    """Lambda's estimate in V100-hours: 355 V100-years."""
    return _p("gpt3-175b.lambda_v100_years") * 365.25 * 24


def lambda_tflops_per_v100() -> float:
    """The rate per V100 that Lambda's 355 V100-years imply for the paper's compute, FLOP/s."""
    return gpt3_flops() / (lambda_v100_hours() * 3600.0)


def lambda_price_per_v100_hour() -> float:
    """The V100 price behind Lambda's $4.6M estimate: $4.6M over 355 V100-years."""
    return _p("gpt3-175b.lambda_cost_dollars") / lambda_v100_hours()


def gpt3_dollars() -> float:
    """GPT-3 175B's V100-hours at the reported rate (not Lambda's hours) priced at Lambda's V100
    price, dollars: the book's own figure, beside Lambda's $4.6M."""
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

_ONE_EQUATION = (
    " GPUs, days and MFU are one equation, C = n · R · MFU · t: any two of them give the third, so "
    "this checks the article's arithmetic (its figures against each other and against 6·N_active·D "
    "from its own parameter and token counts), not GPT-4's run, of which OpenAI published nothing."
)


@claims.register(
    "cost-gpt4-gpus", claims.GPT4_LEAK, "GPT-4 was trained on about 25,000 A100 GPUs.", 25_000, "A100", basis="derived"
)
def _():
    c, days, mfu = gpt4_flops(), gpt4_days_mid(), gpt4_mfu_mid()
    n = round(cost.gpus_needed(c, "a100", days, mfu))
    lo = cost.gpus_needed(c, "a100", _p("gpt4.train_days_high"), _p("gpt4.mfu_high"))
    hi = cost.gpus_needed(c, "a100", _p("gpt4.train_days_low"), _p("gpt4.mfu_low"))
    return n, (
        f"6·N_active·D = {c:.3g} FLOPs done in {days:.0f} days (the middle of the article's 90-100) at "
        f"{mfu:.0%} MFU (the middle of its 32-36%) on A100s at {hardware.get('a100').flops('bf16') / 1e12:.0f} "
        f"TFLOP/s needs C / (R · MFU · t) = {n:,.0f} GPUs ({lo:,.0f}-{hi:,.0f} over the two ranges)." + _ONE_EQUATION
    )


@claims.register(
    "cost-gpt4-days",
    claims.GPT4_LEAK,
    "GPT-4's training took 90 to 100 days.",
    (90, 100),
    "days",
    basis="derived",
)
def _():
    c, n, mfu = gpt4_flops(), _p("gpt4.n_gpus"), gpt4_mfu_mid()
    days = c / (n * hardware.get("a100").flops("bf16") * mfu) / SECONDS_PER_DAY
    lo = c / (n * hardware.get("a100").flops("bf16") * _p("gpt4.mfu_high")) / SECONDS_PER_DAY
    hi = c / (n * hardware.get("a100").flops("bf16") * _p("gpt4.mfu_low")) / SECONDS_PER_DAY
    return days, (
        f"{c:.3g} FLOPs on the article's {n:,.0f} A100s at {mfu:.0%} MFU (the middle of its 32-36%) take "
        f"C / (n · R · MFU) = {days:.1f} days ({lo:.0f}-{hi:.0f} days over the whole MFU range)." + _ONE_EQUATION
    )


@claims.register(
    "cost-gpt4-mfu",
    claims.GPT4_LEAK,
    "GPT-4's training ran at 32% to 36% MFU.",
    (0.32, 0.36),
    "fraction",
    basis="derived",
)
def _():
    c, n, days = gpt4_flops(), _p("gpt4.n_gpus"), gpt4_days_mid()
    mfu = cost.implied_mfu(c, "a100", n, days)
    leak = cost.implied_mfu(_p("gpt4.train_flops"), "a100", n, days)
    return mfu, (
        f"{c:.3g} FLOPs on the article's {n:,.0f} A100s in {days:.0f} days (the middle of its 90-100) imply "
        f"MFU = C / (n · R · t) = {mfu:.1%} ({leak:.1%} with the leak's own {_p('gpt4.train_flops'):.3g} "
        "FLOPs)." + _ONE_EQUATION
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
    (8e6, 15e6),
    "USD",
    basis="derived",
)
def _():
    price = _p("gpt4.price_per_a100_hour")
    hours = gpt4_gpu_hours()
    return hours * price, (
        f"The same article's GPUs and days (the middle of 90-100) are {hours / 1e6:.0f}M A100-hours, "
        f"${hours * price / 1e6:.0f}M at its own ${price:.0f} per A100-hour: {hours * price / 15e6:.1f}× "
        "the top of the $8-15M range. The two cost figures of the article contradict each other; "
        "$15M would buy the run at that price only if it had lasted "
        f"{15e6 / price / _p('gpt4.n_gpus') / 24:.0f} days on its GPUs."
    )


# --- seed 003 -----------------------------------------------------------------------------------


def _gpt3_gpu_count_note() -> str:
    machine, n = _p("gpt3.azure_supercomputer_gpus"), _p("gpt3-175b.n_gpus")
    return (
        f"The supercomputer's {machine:,.0f} GPUs are Microsoft's figure (its Build announcement of "
        "19 May 2020, which names neither the GPU model nor GPT-3). The GPT-3 paper gives no count: "
        "its models ran on V100s 'on part of a high-bandwidth cluster provided by Microsoft'. "
        f"Patterson et al. (2021, Table 4) list GPT-3 with {n:,.0f} V100s, the same number, and compute "
        "the row's days and energy from it. So the claim matches the machine's published size; that "
        "all of it trained GPT-3 is an assumption, and the book keeps it as one (see cost-gpt3-days)."
    )


@claims.register(
    "cost-gpt3-gpus-003",
    claims.COST_SLIMMING,
    "GPT-3 was trained on a supercomputer with 10,000 GPUs.",
    10_000,
    "GPU",
    basis="primary-source",
)
def _():
    return _p("gpt3.azure_supercomputer_gpus"), _gpt3_gpu_count_note()


def _gpt3_cpu_cores_note() -> str:
    return (
        f"Microsoft's Build 2020 announcement of the machine it built for OpenAI: 'more than "
        f"{_p('gpt3.azure_supercomputer_cpu_cores'):,.0f} CPU cores'. The machine's size, not what a "
        "training run used; no training-cost computation depends on CPU cores."
    )


@claims.register(
    "cost-gpt3-cpu-cores-003",
    claims.COST_SLIMMING,
    "GPT-3's supercomputer had 285,000 CPU cores.",
    285_000,
    "CPU core",
    basis="primary-source",
)
def _():
    return _p("gpt3.azure_supercomputer_cpu_cores"), _gpt3_cpu_cores_note()


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
        f"{_p('palm-540b.tco2e')} t. The article's unit is off by a factor of a million: its "
        f"figure is right in GWh ({mwh / 1e3:.2f} GWh rounds to {mwh / 1e3:.1f}), but the claim as "
        "printed says kWh, a millionth of the run's energy, and the verdict judges what it says."
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
    out_of_scope=True,
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
    out_of_scope=True,
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
    out_of_scope=True,
)
def _():
    mfu = _p("gpt3-175b.tflops_per_gpu") / hardware.get("v100").flops("fp16")
    return None, (
        "A vendor's marketing statement: no baseline platform, workload or measure of efficiency is "
        "named, so there is no ratio to compute. For scale: GPT-3's run on the machine used "
        f"{mfu:.1%} of the V100s' fp16 peak (the 24.6 TFLOP/s per GPU OpenAI reported); a platform "
        f"16 times less efficient would use {mfu / 16:.1%}."
    )


# --- seed 004 -----------------------------------------------------------------------------------


@claims.register(
    "cost-gpt3-dollars",
    claims.LIGO_HALF_COST,
    "Researchers estimate that training GPT-3 cost OpenAI about 5 million dollars.",
    5e6,
    "USD",
    basis="primary-source",
)
def _():
    estimate, price = _p("gpt3-175b.lambda_cost_dollars"), lambda_price_per_v100_hour()
    return estimate, (
        f"The researchers' estimate is Lambda's (Li 2020): ${estimate / 1e6:.1f}M, "
        f"{_p('gpt3-175b.lambda_v100_years'):.0f} V100-years ({lambda_v100_hours() / 1e6:.2f}M V100-hours, "
        f"the paper's {gpt3_flops():.3g} FLOPs at {lambda_tflops_per_v100() / 1e12:.0f} TFLOP/s per V100) "
        f"at the lowest cloud price it found, ${price:.2f} per V100-hour. A rental price for one run, "
        "not what OpenAI paid, which is not public. A separate figure from Patterson et al.'s "
        f"{gpt3_gpu_hours() / 1e6:.2f}M V100-hours (at the 24.6 TFLOP/s OpenAI reported), which at "
        f"Lambda's price would cost ${gpt3_dollars() / 1e6:.1f}M."
    )


@claims.register(
    "cost-gpt3-gpus-004",
    claims.LIGO_HALF_COST,
    "GPT-3 was trained on a supercomputer with 10,000 GPUs.",
    10_000,
    "GPU",
    basis="primary-source",
)
def _():
    return _p("gpt3.azure_supercomputer_gpus"), _gpt3_gpu_count_note()


@claims.register(
    "cost-gpt3-gpu-type",
    claims.LIGO_HALF_COST,
    "GPT-3's supercomputer used H100 and A100 GPUs.",
    True,
    "yes/no",
    basis="primary-source",
)
def _():
    v100 = bool(_p("gpt3.trained_on_v100"))
    rate = _p("gpt3-175b.tflops_per_gpu")
    return not v100, (
        "The GPT-3 paper (Section 2.3): 'All models were trained on V100 GPU's on part of a "
        "high-bandwidth cluster provided by Microsoft'; Patterson et al. list V100s too. The A100 "
        "was announced in the month the paper appeared and the H100 two years later. The "
        f"{rate / 1e12} TFLOP/s per GPU OpenAI reported is "
        f"{rate / hardware.get('v100').flops('fp16'):.1%} of a V100's fp16 peak; it would be "
        f"{rate / hardware.get('a100').flops('bf16'):.1%} of an A100's and "
        f"{rate / hardware.get('h100').flops('bf16'):.1%} of an H100's."
    )


@claims.register(
    "cost-gpt3-cpu-cores-004",
    claims.LIGO_HALF_COST,
    "GPT-3's supercomputer had 285,000 CPU cores.",
    285_000,
    "CPU core",
    basis="primary-source",
)
def _():
    return _p("gpt3.azure_supercomputer_cpu_cores"), _gpt3_cpu_cores_note()


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
    days = gpt3_days_on_assumed_count()
    return days, (
        f"The paper's {c:.3g} FLOPs / ({n:,.0f} GPUs × {per_gpu / 1e12} TFLOP/s per GPU) = {days:.2f} days. "
        f"Inputs: C from the paper; the {per_gpu / 1e12} TFLOP/s OpenAI reported (through Patterson et al.); "
        f"and an assumed count: {n:,.0f} is in no OpenAI publication (the GPT-3 paper says 'part of' a "
        "Microsoft cluster); it is Patterson et al.'s figure and the size of the machine Microsoft "
        "announced. Patterson et al.'s 14.8 days is this same "
        f"division (their {_p('gpt3-175b.energy_mwh'):,.0f} MWh is its GPU-hours × "
        f"{_p('gpt3-175b.system_watts_per_gpu'):.0f} W × PUE {_p('gpt3-175b.pue')}), so this checks "
        "arithmetic on an assumed count, not a measured duration."
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
        f"GPU-hours need no GPU count: H = C / rate = {gpt3_flops():.3g} FLOPs / "
        f"{_p('gpt3-175b.tflops_per_gpu') / 1e12} TFLOP/s (the rate OpenAI reported) = {hours / 1e6:.3f}M "
        f"V100-hours. The article's figure is the assumed 10,000 GPUs × 14.8 days × 24 h = {own / 1e6:.3f}M, "
        "the same number, since the days were computed from C / rate and rounded. Lambda's "
        f"separate estimate, {_p('gpt3-175b.lambda_v100_years'):.0f} V100-years, is "
        f"{lambda_v100_hours() / 1e6:.2f}M V100-hours at a higher assumed rate."
    )


@claims.register(
    "cost-chatgpt-run-millions",
    claims.LIGO_HALF_COST,
    "Yoon Kim, LiGO's senior author: it has been estimated that one training run of a model at "
    "the scale ChatGPT is thought to run at could cost millions of dollars.",
    (1e6, 1e9),
    "USD",
    basis="derived",
)  # "millions": from one million to under a billion dollars
def _():
    dollars = gpt3_dollars()
    gpt4 = gpt4_gpu_hours() * _p("gpt4.price_per_a100_hour")
    return dollars, (
        "'Millions' read as one million to under a billion dollars. GPT-3 175B's scale (the base "
        f"of the first ChatGPT models): {gpt3_gpu_hours() / 1e6:.2f}M V100-hours (the paper's FLOPs "
        f"at the rate OpenAI reported) at Lambda's ${lambda_price_per_v100_hour():.2f} per V100-hour "
        f"cloud price = ${dollars / 1e6:.1f}M. GPT-4 as the leak reports it, at its $1 per "
        f"A100-hour: ${gpt4 / 1e6:.0f}M, also millions, {gpt4 / dollars:.0f}× more."
    )


@claims.register(
    "cost-microsoft-2019",
    claims.LIGO_HALF_COST,
    "Microsoft invested 1 billion dollars in OpenAI in 2019.",
    1e9,
    "USD",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, "A company's investment, not the cost of a training run: nothing the book computes bears on it."


@claims.register(
    "cost-microsoft-2023",
    claims.LIGO_HALF_COST,
    "Microsoft invested 10 billion dollars in OpenAI in 2023.",
    10e9,
    "USD",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, "A company's investment, not the cost of a training run: nothing the book computes bears on it."


@claims.register(
    "cost-ligo-walltime",
    claims.LIGO_HALF_COST,
    "Growing BERT-Base from BERT-Small with LiGO saves 40.7% of the wall-clock time of training it from scratch.",
    0.407,
    "fraction of time saved",
    basis="primary-source",
)
def _():
    time_saved, flops_saved = _p("ligo.bert_base_walltime_saving"), _p("ligo.bert_base_flops_saving")
    return time_saved, (
        f"The paper (Wang et al. 2023) reports {time_saved:.1%} of wall time against {flops_saved:.1%} "
        "of FLOPs for BERT-Base: time falls less than FLOPs. A published measurement, read from the "
        "paper; no formula gives it."
    )


@claims.register(
    "cost-ligo-half-time",
    claims.LIGO_HALF_COST,
    "LiGO trains large language models in half the time.",
    0.5,
    "fraction saved",
    basis="primary-source",
    bound=">=",
)  # "in half the time": the claim holds if LiGO saves at least half of a language model's training
def _():
    lm_flops = _p("ligo.gpt2-medium.flops_saved")
    bert_time, bert_flops = _p("ligo.bert_base_walltime_saving"), _p("ligo.bert_base_flops_saving")
    grown = counting.param_count(presets.get("gpt2-medium"))
    return lm_flops, (
        f"The paper's one language-model result: growing GPT-2 Medium ({grown / 1e9:.2f}B parameters) "
        f"from GPT-2 small saves {lm_flops:.1%} of the FLOPs of training it from scratch. It gives no "
        f"wall time for it; where it gives both (BERT-Base: {bert_time:.1%} of time, {bert_flops:.1%} of "
        "FLOPs), time falls less than FLOPs, so the time saved on the language model is at most about "
        f"{lm_flops:.1%}, not half. The 40.7% and 44.7% are BERT-Base's, an encoder; nothing larger than "
        "GPT-2 Medium was grown as a language model, so nothing measured covers LLMs."
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


def _gpus_for_days(tokens: float, tokens_per_s_per_gpu: float, days: float) -> float:
    """GPUs that train on `tokens` in `days` at a fixed throughput per GPU: n = D / (Θ₁ · t)."""
    return tokens / (tokens_per_s_per_gpu * days * SECONDS_PER_DAY)


exercises.register(
    "training-cost-4",
    lambda: _gpus_for_days(
        presets.preset("llama-65b").train_tokens, published.get("llama-65b.tokens_per_s_per_gpu").value, 7
    ),
    rel_tol=0.01,
    unit="GPUs",
    hint="From t = C / (n · R · MFU) with C = C_token · D and MFU = Θ₁ · C_token / R, the per-GPU throughput "
    "Θ₁ fixes n · t = D / Θ₁: the GPU count times the days is constant. Solve for n with D = 1.4e12 tokens, "
    "Θ₁ = 380 tokens/s and t = 7 × 86,400 s.",
    kind="derive",
)
