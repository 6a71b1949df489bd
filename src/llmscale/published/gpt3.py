"""GPT-3: what Brown et al. 2020 report, and what others report about GPT-3 175B's run.

From the paper (Language Models are Few-Shot Learners): the training compute of every size
(Table D.1), the 300B training tokens, and the training mixture, row by row (Table 2.2: tokens,
weight in the training mix, epochs elapsed at 300B tokens; Section 2.2: Common Crawl's size
and which sources were released; Section 2.3: the GPUs were V100s). Not from the paper, and
marked so below: 175B's GPU count, days, power, energy and emissions (Patterson et al. 2021,
Table 4), its throughput per GPU (which Chowdhery et al. 2022 say OpenAI reported through
Patterson et al.), the size of the machine Microsoft built for OpenAI (its May 2020
announcement) and Lambda's cost estimate (Li 2020), a separate estimate with its own hours.

Keys: `gpt3-<size>.<field>` for one model, `gpt3.<field>` for the family and
`gpt3.<source>_<field>` for the mixture's rows. Whether a source is public is recorded as
1 (public) or 0 (not released), from the paper's own descriptions. `MIXTURE_SOURCES` and
`MIXTURE_LABELS` give the rows' keys and printed names, for `scaling.mixtures.published_mixture`.
The configurations are the presets `gpt3-*`.
"""

from __future__ import annotations

from . import Figure

_D1 = "Brown et al. 2020, Language Models are Few-Shot Learners, Table D.1"
_GPT3_T22 = (
    "Brown et al. 2020, Language Models are Few-Shot Learners, Table 2.2 (quantity in "
    "tokens, weight in training mix, epochs elapsed when training for 300B tokens)"
)
_GPT3_S22 = "Brown et al. 2020, Section 2.2"
_GPT3_S23 = "Brown et al. 2020, Section 2.3"
_PATTERSON = "Patterson et al. 2021, Carbon Emissions and Large Neural Network Training, Table 4"
_MSFT = (
    "Microsoft, 'Microsoft announces new supercomputer, lays out vision for future AI work' "
    "(Microsoft blog, Build 2020, 19 May 2020), on the supercomputer built in Azure for OpenAI"
)

# Table 2.2: (key, label, tokens, weight, epochs elapsed); Common Crawl's tokens and weight are
# in FIGURES below, with their own sources.
_GPT3_ROWS = (
    ("common_crawl", "Common Crawl (filtered)", None, None, 0.44),
    ("webtext2", "WebText2", 19e9, 0.22, 2.9),
    ("books1", "Books1", 12e9, 0.08, 1.9),
    ("books2", "Books2", 55e9, 0.08, 0.43),
    ("wikipedia", "Wikipedia", 3e9, 0.03, 3.4),
)
# Public (1) or not released (0), with the paper's words.
_GPT3_PUBLIC = {
    "common_crawl": (1, _GPT3_S22 + ": filtered from 41 monthly shards of the public Common Crawl"),
    "webtext2": (0, _GPT3_S22 + ": 'an expanded version of the WebText dataset', scraped by OpenAI and not released"),
    "books1": (
        0,
        _GPT3_S22 + ": 'two internet-based books corpora (Books1 and Books2)', contents not documented or released",
    ),
    "books2": (
        0,
        _GPT3_S22 + ": 'two internet-based books corpora (Books1 and Books2)', contents not documented or released",
    ),
    "wikipedia": (1, _GPT3_S22 + ": 'English-language Wikipedia'"),
}

MIXTURE_SOURCES: tuple[str, ...] = tuple(r[0] for r in _GPT3_ROWS)
MIXTURE_LABELS: dict[str, str] = {r[0]: r[1] for r in _GPT3_ROWS}

FIGURES: dict[str, Figure] = {
    # Total training compute, Table D.1.
    "gpt3-small.train_flops": Figure(2.25e20, "FLOP", _D1 + ": 2.25E+20"),
    "gpt3-medium.train_flops": Figure(6.41e20, "FLOP", _D1 + ": 6.41E+20"),
    "gpt3-large.train_flops": Figure(1.37e21, "FLOP", _D1 + ": 1.37E+21"),
    "gpt3-xl.train_flops": Figure(2.38e21, "FLOP", _D1 + ": 2.38E+21"),
    "gpt3-2.7b.train_flops": Figure(4.77e21, "FLOP", _D1 + ": 4.77E+21"),
    "gpt3-6.7b.train_flops": Figure(1.20e22, "FLOP", _D1 + ": 1.20E+22"),
    "gpt3-13b.train_flops": Figure(2.31e22, "FLOP", _D1 + ": 2.31E+22"),
    "gpt3-175b.train_flops": Figure(3.14e23, "FLOP", "Brown et al. 2020, Table D.1 (3.14E+23 FLOPs, 3,640 PF-days)"),
    "gpt3-small.train_pf_days": Figure(2.60, "PF-day", _D1 + ": 2.60E+00"),
    "gpt3-medium.train_pf_days": Figure(7.42, "PF-day", _D1 + ": 7.42E+00"),
    "gpt3-large.train_pf_days": Figure(15.8, "PF-day", _D1 + ": 1.58E+01"),
    "gpt3-xl.train_pf_days": Figure(27.5, "PF-day", _D1 + ": 2.75E+01"),
    "gpt3-2.7b.train_pf_days": Figure(55.2, "PF-day", _D1 + ": 5.52E+01"),
    "gpt3-6.7b.train_pf_days": Figure(139, "PF-day", _D1 + ": 1.39E+02"),
    "gpt3-13b.train_pf_days": Figure(268, "PF-day", _D1 + ": 2.68E+02"),
    "gpt3-175b.train_pf_days": Figure(3640, "PF-day", "Brown et al. 2020, Table D.1"),
    # Training tokens, and the data (Table 2.2 and Section 2.2; the other rows are built below).
    "gpt3.train_tokens": Figure(
        300e9, "token", "Brown et al. 2020, Table 2.1 and Section 2.2: all models trained on 300B tokens"
    ),
    "gpt3.common_crawl_tokens": Figure(
        410e9, "token", "Brown et al. 2020, Table 2.2: Common Crawl (filtered), 410 billion tokens"
    ),
    "gpt3.common_crawl_weight": Figure(0.60, "fraction", "Brown et al. 2020, Table 2.2: weight in training mix 60%"),
    "gpt3.common_crawl_disk_bytes": Figure(
        570e9,
        "byte",
        _GPT3_S22 + ": '45TB of compressed plaintext before filtering and 570GB after "
        "filtering, roughly equivalent to 400 billion byte-pair-encoded tokens'",
    ),
    "gpt3.common_crawl_raw_bytes": Figure(
        45e12, "byte", _GPT3_S22 + ": '45TB of compressed plaintext before filtering'"
    ),
    # The hardware, from the paper: V100s, and no count.
    "gpt3.trained_on_v100": Figure(
        1,
        "1 = yes",
        _GPT3_S23 + ": 'All models were trained on V100 GPU's on part of a high-bandwidth cluster "
        "provided by Microsoft' (no GPU count, no training time)",
    ),
    # The machine, from Microsoft's announcement, nine days before the GPT-3 paper (28 May 2020).
    "gpt3.azure_supercomputer_gpus": Figure(
        10_000,
        "GPU",
        _MSFT + ": 'more than 285,000 CPU cores, 10,000 GPUs and 400 gigabits per second of network "
        "connectivity for each GPU server'; it names neither the GPU model nor GPT-3",
    ),
    "gpt3.azure_supercomputer_cpu_cores": Figure(
        285_000, "CPU core", _MSFT + ": 'more than 285,000 CPU cores' (a lower bound)"
    ),
    # GPT-3 175B's run. Not in the GPT-3 paper. Patterson et al.'s row is one calculation, not
    # four measurements (tests/test_compute_cost.py redoes it): the paper's 3.14e23 FLOPs at the
    # 24.6 TFLOP/s per GPU OpenAI reported are 3.546M GPU-hours; over 10,000 GPUs 14.77 days
    # (printed 14.8); at 330 W per GPU and PUE 1.1, 1,287 MWh. OpenAI published no count: the
    # GPT-3 paper says the models ran on "part of" a Microsoft cluster, and 10,000 is also the
    # size of the machine Microsoft announced. The book treats it as an assumed count, and the
    # days that follow from it as arithmetic.
    "gpt3-175b.n_gpus": Figure(
        10_000,
        "GPU",
        _PATTERSON + ": 10,000 V100 processors for GPT-3 (not in the GPT-3 paper; the same number "
        "as the GPUs of the machine in Microsoft's May 2020 announcement; the row's days and energy are "
        "computed from it)",
    ),
    "gpt3-175b.train_days": Figure(
        14.8,
        "day",
        _PATTERSON + ": training time 14.8 days, which is 3.14e23 FLOPs / (10,000 GPUs × 24.6 TFLOP/s) = 14.77 days",
    ),
    "gpt3-175b.system_watts_per_gpu": Figure(
        330, "W", _PATTERSON + ": average system power per processor (host, memory, network included) 330 W"
    ),
    "gpt3-175b.pue": Figure(1.1, "ratio", _PATTERSON + ": PUE 1.1 of the Microsoft datacenter"),
    "gpt3-175b.energy_mwh": Figure(
        1287, "MWh", _PATTERSON + ": 1,287 MWh, which is 3.546M GPU-hours × 330 W × PUE 1.1"
    ),
    "gpt3-175b.tco2e": Figure(552, "tCO2e", _PATTERSON + ": 552 net tCO2e"),
    # Not in the GPT-3 paper: the PaLM paper (Chowdhery et al. 2022) quoting Patterson et al.
    "gpt3-175b.tflops_per_gpu": Figure(
        24.6e12,
        "FLOP/s",
        "Chowdhery et al. 2022, Section 4.1: GPT-3's '24.6 non-attention model "
        "TFLOP/s per GPU, reported by OpenAI via Patterson et al. (2021)'",
    ),
    # Not in the GPT-3 paper: Lambda's estimate of what the run would cost on rented V100s.
    "gpt3-175b.lambda_cost_dollars": Figure(
        4.6e6,
        "USD",
        "Li 2020, OpenAI's GPT-3 Language Model: A Technical Overview (Lambda blog): "
        "$4.6M on the lowest-priced V100 cloud instance",
    ),
    "gpt3-175b.lambda_v100_years": Figure(
        355,
        "V100-year",
        "Li 2020 (Lambda blog): 355 years on a single V100, an estimate, not a measurement (355 "
        "V100-years is the paper's 3.14e23 FLOPs at 28 TFLOP/s per V100)",
    ),
}

# The mixture's rows, Table 2.2, and whether each source is public.
for _key, _label, _tokens, _weight, _epochs in _GPT3_ROWS:
    if _tokens is not None:
        FIGURES[f"gpt3.{_key}_tokens"] = Figure(_tokens, "token", f"{_GPT3_T22}: {_label} {_tokens / 1e9:.0f} billion")
        FIGURES[f"gpt3.{_key}_weight"] = Figure(_weight, "fraction", f"{_GPT3_T22}: {_label} {_weight:.0%}")
    FIGURES[f"gpt3.{_key}_epochs"] = Figure(_epochs, "epoch", f"{_GPT3_T22}: {_label} {_epochs:g}")
    _public, _why = _GPT3_PUBLIC[_key]
    FIGURES[f"gpt3.{_key}_public"] = Figure(_public, "1 = public", _why)

del _key, _label, _tokens, _weight, _epochs, _public, _why
