"""Reported figures used by the pages Counting compute and What training costs.

Training compute as the papers state it, the hardware and time of reported runs, their
energy, and the few prices the book needs. Model configurations live in `presets`, chips in
`hardware`. GPT-3 175B's compute (`gpt3-175b.train_flops`, `gpt3-175b.train_pf_days`) and
token count are in `published/growth.py`.
"""

from __future__ import annotations

from . import Figure

_D1 = "Brown et al. 2020, Language Models are Few-Shot Learners, Table D.1"
_LLAMA15 = ("Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models, Table 15 "
            "(carbon footprint of training)")
_PALM_B = "Chowdhery et al. 2022, PaLM: Scaling Language Modeling with Pathways, Appendix B"
_PATTERSON = "Patterson et al. 2021, Carbon Emissions and Large Neural Network Training, Table 4"
_LEAK = ("Patel & Wong 2023, GPT-4 Architecture, Infrastructure, Training Dataset, Costs, Vision, MoE "
         "(SemiAnalysis, 10 July 2023), as reported in 000_4ec7ba283c4a0447.txt; OpenAI published none "
         "of these figures")

FIGURES: dict[str, Figure] = {
    # GPT-3, every size: total training compute, Table D.1 (175B is in published/growth.py).
    "gpt3-small.train_flops": Figure(2.25e20, "FLOP", _D1 + ": 2.25E+20"),
    "gpt3-medium.train_flops": Figure(6.41e20, "FLOP", _D1 + ": 6.41E+20"),
    "gpt3-large.train_flops": Figure(1.37e21, "FLOP", _D1 + ": 1.37E+21"),
    "gpt3-xl.train_flops": Figure(2.38e21, "FLOP", _D1 + ": 2.38E+21"),
    "gpt3-2.7b.train_flops": Figure(4.77e21, "FLOP", _D1 + ": 4.77E+21"),
    "gpt3-6.7b.train_flops": Figure(1.20e22, "FLOP", _D1 + ": 1.20E+22"),
    "gpt3-13b.train_flops": Figure(2.31e22, "FLOP", _D1 + ": 2.31E+22"),
    "gpt3-small.train_pf_days": Figure(2.60, "PF-day", _D1 + ": 2.60E+00"),
    "gpt3-medium.train_pf_days": Figure(7.42, "PF-day", _D1 + ": 7.42E+00"),
    "gpt3-large.train_pf_days": Figure(15.8, "PF-day", _D1 + ": 1.58E+01"),
    "gpt3-xl.train_pf_days": Figure(27.5, "PF-day", _D1 + ": 2.75E+01"),
    "gpt3-2.7b.train_pf_days": Figure(55.2, "PF-day", _D1 + ": 5.52E+01"),
    "gpt3-6.7b.train_pf_days": Figure(139, "PF-day", _D1 + ": 1.39E+02"),
    "gpt3-13b.train_pf_days": Figure(268, "PF-day", _D1 + ": 2.68E+02"),

    # GPT-3 175B's run (Patterson et al. obtained the figures from OpenAI).
    "gpt3-175b.n_gpus": Figure(10_000, "GPU", _PATTERSON + ": 10,000 V100 GPUs"),
    "gpt3-175b.train_days": Figure(14.8, "day", _PATTERSON + ": training time 14.8 days"),
    "gpt3-175b.energy_mwh": Figure(1287, "MWh", _PATTERSON + ": 1,287 MWh"),
    "gpt3-175b.tco2e": Figure(552, "tCO2e", _PATTERSON + ": 552 net tCO2e"),
    "gpt3-175b.tflops_per_gpu": Figure(
        24.6e12, "FLOP/s", "Chowdhery et al. 2022, Section 4.1: GPT-3's '24.6 non-attention model "
        "TFLOP/s per GPU, reported by OpenAI via Patterson et al. (2021)'"),
    "gpt3-175b.lambda_cost_dollars": Figure(
        4.6e6, "USD", "Li 2020, OpenAI's GPT-3 Language Model: A Technical Overview (Lambda blog): "
        "$4.6M on the lowest-priced V100 cloud instance"),
    "gpt3-175b.lambda_v100_years": Figure(
        355, "V100-year", "Li 2020 (Lambda blog): 355 years on a single V100"),

    # DeepMind.
    "gopher-280b.train_flops": Figure(
        6.31e23, "FLOP", "Rae et al. 2021, Scaling Language Models: Methods, Analysis & Insights from "
        "Training Gopher, Appendix (compute usage): 6.31E+08 train PFLOPs; the count includes "
        "rematerialisation, padding and repeated computation"),
    "chinchilla-70b.train_flops": Figure(
        5.76e23, "FLOP", "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, "
        "Section 4 and Figure 2: Chinchilla was trained with Gopher's budget of 5.76 × 10^23 FLOPs"),

    # PaLM 540B.
    "palm-540b.train_flops": Figure(
        2.56e24, "FLOP", _PALM_B + ", Table 22: 2.56 × 10^24 train FLOPs (non-attention + attention, "
        "no rematerialisation)"),
    "palm-540b.train_flops_6nd": Figure(
        2.5272e24, "FLOP", "Chowdhery et al. 2022, Table 21: 2527.2 zettaFLOPs, the approximation "
        "2 × 3 × m × t"),
    "palm-540b.train_pf_days": Figure(29_600, "PF-day", _PALM_B + ", Table 22: 29,600 PetaFLOP/s-days"),
    "palm-540b.flops_per_token": Figure(
        3.28e12, "FLOP/token", _PALM_B + ", Table 22: 3.28 TFLOPs per token (non-attention + attention)"),
    "palm-540b.tokens_per_s": Figure(
        238.3e3, "token/s", "Chowdhery et al. 2022, Section 4.1 and Appendix B: 238.3K tokens/sec"),
    "palm-540b.mfu": Figure(0.462, "fraction", _PALM_B + ": MFU 46.2% with self-attention"),
    "palm-540b.mfu_no_attention": Figure(0.457, "fraction", _PALM_B + ": MFU 45.7% without self-attention"),
    "palm-540b.hfu": Figure(0.578, "fraction", _PALM_B + ": hardware FLOPs utilisation 57.8% "
                            "(rematerialisation included)"),
    "palm-540b.chips_phase1": Figure(6144, "TPU v4 chip", _PALM_B + ": 6144 TPU v4 chips for 1200 hours"),
    "palm-540b.hours_phase1": Figure(1200, "hour", _PALM_B + ": 6144 TPU v4 chips for 1200 hours"),
    "palm-540b.chips_phase2": Figure(3072, "TPU v4 chip", _PALM_B + ": 3072 TPU v4 chips for 336 hours"),
    "palm-540b.hours_phase2": Figure(336, "hour", _PALM_B + ": 3072 TPU v4 chips for 336 hours"),
    "palm-540b.system_watts_per_chip": Figure(
        378.5, "W", _PALM_B + ": 378.5 W measured system power per TPU v4 chip"),
    "palm-540b.pue": Figure(1.08, "ratio", _PALM_B + ": Oklahoma datacenter, PUE 1.08"),
    "palm-540b.tco2e_per_mwh": Figure(0.079, "tCO2e/MWh", _PALM_B + ": 0.079 tCO2e/MWh"),
    "palm-540b.tco2e": Figure(271.43, "tCO2e", _PALM_B + ": total effective emissions 271.43 tCO2e"),

    # LLaMA.
    "llama-7b.gpu_hours": Figure(82_432, "A100-80GB-hour", _LLAMA15 + ": 82,432 GPU-hours"),
    "llama-13b.gpu_hours": Figure(135_168, "A100-80GB-hour", _LLAMA15 + ": 135,168 GPU-hours"),
    "llama-33b.gpu_hours": Figure(530_432, "A100-80GB-hour", _LLAMA15 + ": 530,432 GPU-hours"),
    "llama-65b.gpu_hours": Figure(1_022_362, "A100-80GB-hour", _LLAMA15 + ": 1,022,362 GPU-hours"),
    "llama-7b.energy_mwh": Figure(36, "MWh", _LLAMA15 + ": 36 MWh"),
    "llama-13b.energy_mwh": Figure(59, "MWh", _LLAMA15 + ": 59 MWh"),
    "llama-33b.energy_mwh": Figure(233, "MWh", _LLAMA15 + ": 233 MWh"),
    "llama-65b.energy_mwh": Figure(449, "MWh", _LLAMA15 + ": 449 MWh"),
    "llama.gpu_watts": Figure(400, "W", _LLAMA15 + ": GPU power consumption 400 W"),
    "llama.pue": Figure(1.1, "ratio", "Touvron et al. 2023, Section 6 (carbon footprint): PUE set at 1.1"),
    "llama-65b.tokens_per_s_per_gpu": Figure(
        380, "token/s/GPU", "Touvron et al. 2023, Section 2.4: 'around 380 tokens/sec/GPU on 2048 A100 "
        "GPU with 80GB of RAM'"),
    "llama-65b.n_gpus": Figure(2048, "GPU", "Touvron et al. 2023, Section 2.4: 2048 A100-80GB GPUs"),
    "llama-65b.train_days": Figure(
        21, "day", "Touvron et al. 2023, Section 2.4: 'training over our dataset containing 1.4T tokens "
        "takes approximately 21 days'"),

    # GPT-4 as reported (none of it published by OpenAI).
    "gpt4.train_flops": Figure(2.15e25, "FLOP", _LEAK + " (the ~2.15e25 FLOPs is in the leak, not in "
                               "the seed article)"),
    "gpt4.n_gpus": Figure(25_000, "A100", _LEAK + ": ~25,000 A100s"),
    "gpt4.train_days_low": Figure(90, "day", _LEAK + ": 90 to 100 days"),
    "gpt4.train_days_high": Figure(100, "day", _LEAK + ": 90 to 100 days"),
    "gpt4.mfu_low": Figure(0.32, "fraction", _LEAK + ": 32% to 36% MFU"),
    "gpt4.mfu_high": Figure(0.36, "fraction", _LEAK + ": 32% to 36% MFU"),
    "gpt4.price_per_a100_hour": Figure(1.0, "USD/A100-hour", _LEAK + ": '$1 per A100 hour'"),
    "gpt4.train_dollars": Figure(63e6, "USD", _LEAK + ": about $63 million for this run alone"),

    # LiGO (seed 004).
    "ligo.bert_base_flops_saving": Figure(
        0.447, "fraction", "Wang et al. 2023, Learning to Grow Pretrained Models for Efficient "
        "Transformer Training (ICLR): 44.7% of the FLOPs of training BERT-Base from scratch saved"),
    "ligo.bert_base_walltime_saving": Figure(
        0.407, "fraction", "Wang et al. 2023: 40.7% of the wall-clock time of training BERT-Base saved"),
    "ligo.headline_saving": Figure(
        0.50, "fraction", "Wang et al. 2023, abstract: LiGO 'can save up to 50% computational cost of "
        "training from scratch'"),

    # A yardstick for energy.
    "us.household_kwh_per_year": Figure(
        10_715, "kWh/year", "U.S. Energy Information Administration, FAQ 'How much electricity does an "
        "American home use?': 10,715 kWh per residential customer in 2020"),
}
