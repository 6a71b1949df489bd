"""LLaMA and Llama 3: what Touvron et al. 2023 (LLaMA: Open and Efficient Foundation Language
Models) and Meta's Llama 3 paper and model cards (2024) report.

The training mixture, row by row (Table 1: sampling proportion, epochs on 1.4T tokens, disk
size; Section 2.1: every source is public), the GPU-hours and energy of each size (Table 15,
carbon footprint), the 65B run's GPUs, throughput and days (Section 2.4), and the books the
paper credits its rivals with (Section 3.6).

Keys: `llama-<size>.<field>` for one model, `llama.<field>` for the family and
`llama.<source>_<field>` for the mixture's rows. Whether a source is public is recorded as
1 (public) or 0 (not released). `MIXTURE_SOURCES` and `MIXTURE_LABELS` give the rows' keys and
printed names, for `scaling.mixtures.published_mixture`. The 1.4T training tokens and the
configurations are the presets `llama-*`.

Llama 3 (keys `llama3-<size>.<field>`): `LLAMA3_TABLE3` holds the architecture of each size as
the Llama 3 paper's Table 3 prints it, with the vocabulary and norm epsilon of the released
checkpoints; the presets `llama3-*` are built from it. The figures are the training tokens and
compute, the parameters of the released checkpoints, and the interruptions of the reliability
report (Section 3.3.4: 419 unexpected in a 54-day snapshot on up to 16,384 H100s).
"""

from __future__ import annotations

from . import Figure

_LLAMA15 = (
    "Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models, Table 15 (carbon footprint of training)"
)
_LLAMA_T1 = (
    "Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models, Table 1 "
    "(sampling proportion, epochs when training on 1.4T tokens, disk size)"
)
_LLAMA_S21 = (
    "Touvron et al. 2023, Section 2.1: 'we only use data that is publicly available, and compatible with open sourcing'"
)

# Table 1: (key, label, sampling proportion, epochs, disk size in bytes).
_LLAMA_ROWS = (
    ("common_crawl", "CommonCrawl", 0.670, 1.10, 3.3e12),
    ("c4", "C4", 0.150, 1.06, 783e9),
    ("github", "Github", 0.045, 0.64, 328e9),
    ("wikipedia", "Wikipedia", 0.045, 2.45, 83e9),
    ("books", "Books", 0.045, 2.23, 85e9),
    ("arxiv", "ArXiv", 0.025, 1.06, 92e9),
    ("stackexchange", "StackExchange", 0.020, 1.03, 78e9),
)

MIXTURE_SOURCES: tuple[str, ...] = tuple(r[0] for r in _LLAMA_ROWS)
MIXTURE_LABELS: dict[str, str] = {r[0]: r[1] for r in _LLAMA_ROWS}

FIGURES: dict[str, Figure] = {
    # Training cost, Table 15 and Sections 2.4 and 6.
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
        380,
        "token/s/GPU",
        "Touvron et al. 2023, Section 2.4: 'around 380 tokens/sec/GPU on 2048 A100 GPU with 80GB of RAM'",
    ),
    "llama-65b.n_gpus": Figure(2048, "GPU", "Touvron et al. 2023, Section 2.4: 2048 A100-80GB GPUs"),
    "llama-65b.train_days": Figure(
        21,
        "day",
        "Touvron et al. 2023, Section 2.4: 'training over our dataset containing 1.4T tokens "
        "takes approximately 21 days'",
    ),
    # What the paper says of its own books and papers, and of what other models were trained on.
    "llama.books_arxiv_bytes": Figure(
        177e9,
        "byte",
        "Touvron et al. 2023, Section 3.6 (MMLU): books and academic papers (ArXiv, Gutenberg and "
        "Books3) 'that sums up to only 177GB'",
    ),
    "llama.others_books_bytes": Figure(
        2e12,
        "byte",
        "Touvron et al. 2023, Section 3.6 (MMLU): Gopher, Chinchilla and PaLM 'were trained on up to 2TB of books'",
    ),
}

# The mixture's rows, Table 1; all its sources are public (Section 2.1).
for _key, _label, _weight, _epochs, _disk in _LLAMA_ROWS:
    FIGURES[f"llama.{_key}_weight"] = Figure(_weight, "fraction", f"{_LLAMA_T1}: {_label} {_weight:.1%}")
    FIGURES[f"llama.{_key}_epochs"] = Figure(_epochs, "epoch", f"{_LLAMA_T1}: {_label} {_epochs:.2f}")
    FIGURES[f"llama.{_key}_disk_bytes"] = Figure(_disk, "byte", f"{_LLAMA_T1}: {_label} {_disk / 1e9:,.0f} GB")
    FIGURES[f"llama.{_key}_public"] = Figure(1, "1 = public", _LLAMA_S21)

del _key, _label, _weight, _epochs, _disk

# --- Llama 3 -------------------------------------------------------------------------------

LLAMA3_PAPER = "Llama Team, AI @ Meta 2024, The Llama 3 Herd of Models (arXiv:2407.21783)"
LLAMA3_TABLE3_SOURCE = (
    LLAMA3_PAPER + ", Table 3 (layers, model dimension, FFN dimension, attention heads, key/value "
    "heads; SwiGLU; RoPE θ = 500,000); vocabulary 128,256 and RMSNorm ε = 1e-5 from the released "
    "config.json (meta-llama/Meta-Llama-3-8B and Llama-3.1-70B/405B), untied input and output embeddings"
)
# Table 3: size -> (layers, d_model, FFN dimension, attention heads, key/value heads).
LLAMA3_TABLE3: dict[str, tuple[int, int, int, int, int]] = {
    "8b": (32, 4096, 14336, 32, 8),
    "70b": (80, 8192, 28672, 64, 8),
    "405b": (126, 16384, 53248, 128, 8),
}
LLAMA3_VOCAB_SIZE = 128_256  # Table 3 rounds it to "128,000": 128,000 tokens + 256 reserved special ones
LLAMA3_ROPE_THETA = 500_000.0
LLAMA3_NORM_EPS = 1e-5
LLAMA3_PRETRAIN_CONTEXT = 8192  # Section 1: pre-trained with an 8K context window (the 3.1 releases extend it to 128K)

# The released checkpoints: what transformers' LlamaForCausalLM instantiates from each
# config.json (tests/test_counting.py rebuilds each on the meta device).
_LLAMA3_RELEASED = {"8b": 8_030_261_248, "70b": 70_553_706_496, "405b": 405_853_388_800}
_LLAMA3_HF = {
    "8b": "meta-llama/Meta-Llama-3-8B",
    "70b": "meta-llama/Meta-Llama-3-70B",
    "405b": "meta-llama/Llama-3.1-405B",
}

FIGURES.update(
    {
        "llama3-405b.train_tokens": Figure(
            15.6e12,
            "token",
            LLAMA3_PAPER + ", Section 1: 'we pre-train a model with 405B parameters on 15.6T tokens "
            "using a context window of 8K tokens'",
        ),
        "llama3.train_tokens": Figure(
            15e12,
            "token",
            "Meta Llama 3 model card: 'pretrained on over 15 trillion tokens'; Llama 3.1 model card: "
            "'~15 trillion tokens', Token count 15T+ for every size (the paper gives 15.6T for 405B only)",
        ),
        "llama3-405b.train_flops": Figure(
            3.8e25,
            "FLOP",
            LLAMA3_PAPER + ", Section 1: the flagship model 'was pre-trained using 3.8 × 10^25 FLOPs'",
        ),
    }
)
for _size, _n in _LLAMA3_RELEASED.items():
    FIGURES[f"llama3-{_size}.released_params"] = Figure(
        _n,
        "parameter",
        f"{_LLAMA3_HF[_size]} as released: the parameters transformers' LlamaForCausalLM "
        "instantiates from its config.json (tests/test_counting.py rebuilds it)",
    )
del _size, _n

# Llama 3's reliability report (Section 3.3.4 and Table 5): the interruptions of a 54-day
# snapshot of Llama 3 405B pre-training, read by `parallelism.reliability` as a failure rate.
_LLAMA3_334 = LLAMA3_PAPER + ", Section 3.3.4 (Reliability and Operational Challenges)"
FIGURES.update(
    {
        "llama3-405b.snapshot_days": Figure(
            54, "day", _LLAMA3_334 + ": 'During a 54-day snapshot period of pre-training'"
        ),
        "llama3-405b.job_interruptions": Figure(
            466, "interruption", _LLAMA3_334 + ": 'we experienced a total of 466 job interruptions'"
        ),
        "llama3-405b.planned_interruptions": Figure(
            47,
            "interruption",
            _LLAMA3_334 + ": '47 were planned interruptions due to automated maintenance operations'",
        ),
        "llama3-405b.unexpected_interruptions": Figure(
            419,
            "interruption",
            _LLAMA3_334 + ": 'The remaining 419 were unexpected interruptions, which are classified in Table 5'",
        ),
        "llama3-405b.hardware_interruption_fraction": Figure(
            0.78,
            "fraction",
            _LLAMA3_334 + ": 'Approximately 78% of the unexpected interruptions are attributed to confirmed "
            "hardware issues ... or suspected hardware-related issues' (also Table 5's caption)",
        ),
        "llama3-405b.effective_training_time": Figure(
            0.90,
            "fraction (lower bound)",
            _LLAMA3_334 + ": 'we achieved higher than 90% effective training time', the time spent on useful "
            "training over the elapsed time",
        ),
        "llama3-405b.n_gpus": Figure(
            16_384,
            "GPU",
            LLAMA3_PAPER + ", Table 4 (16,384 H100 GPUs in the two later stages of 405B pre-training; "
            "8,192 in the first) and Section 3.3.1 ('trained on up to 16K H100 GPUs'); the paper does not "
            "give the GPU count of the 54-day snapshot, 16,384 is the largest configuration",
        ),
    }
)
