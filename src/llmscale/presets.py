"""Published model configurations, each with its source.

These are published inputs: the numbers come from the papers' tables (or the released
reference code), not from us. Where a paper's table is internally inconsistent, or a field
was never published, the `notes` say what we assumed and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from . import counting
from .config import ModelConfig
from .published import deepseek as _deepseek
from .published import llama as _llama3


@dataclass(frozen=True)
class Preset:
    """A published model: its configuration, what its authors reported, and where from."""

    name: str
    title: str
    config: ModelConfig
    released: date
    reported_params: float
    train_tokens: float | None
    source: str
    notes: str = ""

    @property
    def n_params(self) -> int:
        """Parameters of the configuration, counted exactly (`counting.param_count`)."""
        return counting.param_count(self.config)

    @property
    def family(self) -> str:
        """The model family, for grouping in figures ("GPT-3", "LLaMA", ...)."""
        return _FAMILIES[self.name.split("-")[0]]


_GPT2 = dict(
    vocab_size=50257, seq_len=1024, ffn="gelu", norm="layernorm", pos="learned", tie_embeddings=True, bias=True
)
_GPT3 = dict(
    vocab_size=50257, seq_len=2048, ffn="gelu", norm="layernorm", pos="learned", tie_embeddings=True, bias=True
)
_LLAMA = dict(
    vocab_size=32000,
    seq_len=2048,
    ffn="swiglu",
    norm="rmsnorm",
    pos="rope",
    tie_embeddings=False,
    bias=False,
    norm_eps=1e-6,
)
_DEEPMIND = dict(
    vocab_size=32000, seq_len=2048, ffn="gelu", norm="rmsnorm", pos="relative", tie_embeddings=False, bias=False
)
_T2017 = dict(
    vocab_size=37000, seq_len=1024, ffn="relu", norm="layernorm", pos="sinusoidal", tie_embeddings=True, bias=True
)

_GPT3_SRC = "Brown et al. 2020, Language Models are Few-Shot Learners, Table 2.1"
_GPT3_NOTE = (
    "Trained on 300B tokens (Table 2.1); vocabulary and context from Section 2.1; "
    "dense attention assumed everywhere (the paper alternates dense and locally banded "
    "sparse attention, which changes no parameter)."
)
_LLAMA_SRC = "Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models, Table 2"

_FAMILIES = {
    "transformer": "Transformer",
    "gpt2": "GPT-2",
    "gpt3": "GPT-3",
    "gopher": "DeepMind",
    "chinchilla": "DeepMind",
    "palm": "PaLM",
    "llama": "LLaMA",
    "llama3": "LLaMA",
    "mixtral": "Mixtral",
    "gpt4": "GPT-4 (reported)",
    "deepseek": "DeepSeek",
}

_PRESETS: dict[str, Preset] = {}


def _add(p: Preset) -> None:
    _PRESETS[p.name] = p


_add(
    Preset(
        "transformer-base",
        "Transformer (base)",
        ModelConfig(n_layers=6, n_encoder_layers=6, d_model=512, n_heads=8, d_ff=2048, **_T2017),
        date(2017, 6, 12),
        65e6,
        None,
        "Vaswani et al. 2017, Attention Is All You Need, Table 3",
        "Encoder-decoder, 6+6 layers, post-norm, ReLU, one embedding matrix shared by source, "
        "target and softmax. Vocabulary: the ~37,000 shared BPE tokens of WMT14 En-De. The "
        "paper sets no maximum context (sinusoidal positions); seq_len=1024 is fairseq's default.",
    )
)
_add(
    Preset(
        "transformer-big",
        "Transformer (big)",
        ModelConfig(n_layers=6, n_encoder_layers=6, d_model=1024, n_heads=16, d_ff=4096, **_T2017),
        date(2017, 6, 12),
        213e6,
        None,
        "Vaswani et al. 2017, Attention Is All You Need, Table 3",
        "As transformer-base, wider.",
    )
)
for _name, _title, _L, _d, _h, _rep in [
    ("gpt2-small", "GPT-2 small", 12, 768, 12, 117e6),
    ("gpt2-medium", "GPT-2 medium", 24, 1024, 16, 345e6),
    ("gpt2-large", "GPT-2 large", 36, 1280, 20, 762e6),
    ("gpt2-xl", "GPT-2 XL", 48, 1600, 25, 1542e6),
]:
    _add(
        Preset(
            _name,
            _title,
            ModelConfig(n_layers=_L, d_model=_d, n_heads=_h, **_GPT2),
            date(2019, 2, 14),
            _rep,
            None,
            "Radford et al. 2019, Language Models are Unsupervised Multitask Learners, Table 2; "
            "widths and heads from OpenAI's released gpt-2 hparams",
            "The paper's parameter counts are lower than what its released code instantiates "
            "(124M for 'small'); the released weights are the reference.",
        )
    )
for _name, _title, _L, _d, _h, _hd, _rep, _note in [
    ("gpt3-small", "GPT-3 Small", 12, 768, 12, 64, 125e6, ""),
    ("gpt3-medium", "GPT-3 Medium", 24, 1024, 16, 64, 350e6, ""),
    ("gpt3-large", "GPT-3 Large", 24, 1536, 16, 96, 760e6, ""),
    (
        "gpt3-xl",
        "GPT-3 XL",
        24,
        2048,
        16,
        128,
        1.3e9,
        " Table 2.1 lists 24 heads of 128 for d_model=2048, which cannot both hold (24·128=3072) "
        "and would give 1.5B parameters; 16 heads of 128 give the 1.3B the table reports.",
    ),
    ("gpt3-2.7b", "GPT-3 2.7B", 32, 2560, 32, 80, 2.7e9, ""),
    ("gpt3-6.7b", "GPT-3 6.7B", 32, 4096, 32, 128, 6.7e9, ""),
    (
        "gpt3-13b",
        "GPT-3 13B",
        40,
        5140,
        40,
        128,
        13e9,
        " Table 2.1 gives d_model=5140 with 40 heads of 128 (=5120); we keep both as printed.",
    ),
    ("gpt3-175b", "GPT-3 175B", 96, 12288, 96, 128, 175e9, ""),
]:
    _add(
        Preset(
            _name,
            _title,
            ModelConfig(n_layers=_L, d_model=_d, n_heads=_h, head_dim=_hd, **_GPT3),
            date(2020, 5, 28),
            _rep,
            300e9,
            _GPT3_SRC,
            _GPT3_NOTE + _note,
        )
    )
_add(
    Preset(
        "gopher-280b",
        "Gopher 280B",
        ModelConfig(n_layers=80, d_model=16384, n_heads=128, **_DEEPMIND),
        date(2021, 12, 8),
        280e9,
        300e9,
        "Rae et al. 2021, Scaling Language Models: Methods, Analysis & Insights from Training Gopher, Table 1",
        "RMSNorm and Transformer-XL relative positions (a d×d position projection per layer: "
        "without it the count is 258B, not 280B). Feed-forward 4·d with GELU; untied "
        "embeddings assumed (the paper does not say).",
    )
)
_add(
    Preset(
        "chinchilla-70b",
        "Chinchilla 70B",
        ModelConfig(n_layers=80, d_model=8192, n_heads=64, **_DEEPMIND),
        date(2022, 3, 29),
        70e9,
        1.4e12,
        "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, Table 4",
        "Same family as Gopher (RMSNorm, relative positions, 4·d feed-forward); untied embeddings assumed.",
    )
)
_add(
    Preset(
        "palm-540b",
        "PaLM 540B",
        ModelConfig(
            n_layers=118,
            d_model=18432,
            n_heads=48,
            head_dim=256,
            n_kv_heads=1,
            d_ff=73728,
            vocab_size=256000,
            seq_len=2048,
            ffn="swiglu",
            norm="layernorm",
            pos="rope",
            tie_embeddings=True,
            bias=False,
        ),
        date(2022, 4, 4),
        540.35e9,
        780e9,
        "Chowdhery et al. 2022, PaLM: Scaling Language Modeling with Pathways, Table 1 and Section 2",
        "Multi-query attention, SwiGLU with d_ff=4·d, no biases, shared input/output "
        "embeddings. PaLM's parallel blocks share one LayerNorm per layer; we count two "
        "(0.0004% of the total).",
    )
)
for _name, _L, _d, _h, _rep, _tok in [
    ("llama-7b", 32, 4096, 32, 6.7e9, 1.0e12),
    ("llama-13b", 40, 5120, 40, 13.0e9, 1.0e12),
    ("llama-33b", 60, 6656, 52, 32.5e9, 1.4e12),
    ("llama-65b", 80, 8192, 64, 65.2e9, 1.4e12),
]:
    _add(
        Preset(
            _name,
            "LLaMA " + _name.split("-")[1].upper(),
            ModelConfig(n_layers=_L, d_model=_d, n_heads=_h, **_LLAMA),
            date(2023, 2, 24),
            _rep,
            _tok,
            _LLAMA_SRC,
            "Pre-norm RMSNorm, SwiGLU with d_ff = 2/3·4d rounded up to 256, rotary positions.",
        )
    )
# Llama 3: the architecture from the paper's Table 3 (published.llama.LLAMA3_TABLE3).
for _size, _released, _tok, _tok_note in [
    ("8b", date(2024, 4, 18), "llama3.train_tokens", "over 15T tokens (model cards)"),
    ("70b", date(2024, 4, 18), "llama3.train_tokens", "over 15T tokens (model cards)"),
    ("405b", date(2024, 7, 23), "llama3-405b.train_tokens", "15.6T tokens (the paper, Section 1)"),
]:
    _L, _d, _ff, _h, _kv = _llama3.LLAMA3_TABLE3[_size]
    _add(
        Preset(
            f"llama3-{_size}",
            f"Llama 3 {_size.upper()}",
            ModelConfig(
                n_layers=_L,
                d_model=_d,
                n_heads=_h,
                n_kv_heads=_kv,
                d_ff=_ff,
                vocab_size=_llama3.LLAMA3_VOCAB_SIZE,
                seq_len=_llama3.LLAMA3_PRETRAIN_CONTEXT,
                rope_theta=_llama3.LLAMA3_ROPE_THETA,
                norm_eps=_llama3.LLAMA3_NORM_EPS,
                **{k: v for k, v in _LLAMA.items() if k not in ("vocab_size", "seq_len", "norm_eps")},
            ),
            _released,
            float(_size[:-1]) * 1e9,
            _llama3.FIGURES[_tok].value,
            _llama3.LLAMA3_TABLE3_SOURCE,
            f"As LLaMA, with grouped-query attention ({_kv} key/value heads), a 128,256-token "
            f"vocabulary and RoPE θ = 500,000; trained on {_tok_note}. seq_len is the 8K context "
            "of pre-training; the Llama 3.1 releases (July 2024, the only ones of 405B) extend it "
            "to 128K with the same parameters.",
        )
    )
_add(
    Preset(
        "mixtral-8x7b",
        "Mixtral 8x7B",
        ModelConfig(
            n_layers=32,
            d_model=4096,
            n_heads=32,
            n_kv_heads=8,
            d_ff=14336,
            vocab_size=32000,
            seq_len=32768,
            n_experts=8,
            top_k=2,
            rope_theta=1e6,
            **{k: v for k, v in _LLAMA.items() if k not in ("vocab_size", "seq_len")},
        ),
        date(2023, 12, 11),
        46.7e9,
        None,
        "Jiang et al. 2024, Mixtral of Experts, Table 1 (and the released config)",
        "8 SwiGLU experts per layer, 2 per token, grouped-query attention with 8 KV heads.",
    )
)
_add(
    Preset(
        "gpt4-reported",
        "GPT-4 (as reported)",
        ModelConfig(
            n_layers=120,
            d_model=10752,
            n_heads=84,
            vocab_size=100256,
            seq_len=8192,
            ffn="gelu",
            norm="layernorm",
            pos="rope",
            tie_embeddings=False,
            bias=False,
            n_experts=16,
            top_k=2,
        ),
        date(2023, 3, 14),
        1.8e12,
        13e12,
        "Not published by OpenAI. Figures from the July 2023 leak as reported in "
        "000_4ec7ba283c4a0447.txt: ~1.8T parameters, 120 layers, 16 experts of ~111B, top-2, "
        "~55B shared attention parameters, 13T tokens",
        "Our assumptions, chosen to match the leak: a GELU feed-forward of 4·d in each expert "
        "and d_model=10752 (84 heads of 128), so that one expert's 120 feed-forward layers hold "
        "8·d²·120 ≈ 111B and multi-head attention 4·d²·120 ≈ 55B; the cl100k vocabulary "
        "(100,256 tokens), untied embeddings, an 8k context. The leak also mentions multi-query "
        "attention: with these widths (d_ff = 4·d) it would hold only half the 55B, but a wider "
        "model with narrower experts (d ≈ 15.1k, d_ff ≈ 2·d) meets both figures with multi-query "
        "attention (the expert-arithmetic page solves for it). The preset keeps multi-head attention.",
    )
)

_DEEPSEEK_COMMON = dict(ffn="swiglu", norm="rmsnorm", pos="rope", tie_embeddings=False, bias=False)
_add(
    Preset(
        "deepseek-v2-lite",
        "DeepSeek-V2-Lite",
        ModelConfig(seq_len=_deepseek.DEEPSEEK_V3_PRETRAIN_CONTEXT, **_deepseek.DEEPSEEK_V2_LITE, **_DEEPSEEK_COMMON),
        date(2024, 5, 16),
        _deepseek.FIGURES["deepseek-v2-lite.total_params"].value,
        None,
        _deepseek.DEEPSEEK_V2_LITE_SOURCE,
        "Multi-head latent attention without the query bottleneck (q_lora_rank none), a KV latent "
        "of 512 and a rotary key of 64; the first layer dense, then 2 shared and 64 routed experts "
        "of 1408, 6 per token, softmax gating not renormalised. seq_len is the 4K of pre-training "
        "(YaRN extends it; positions add no parameter).",
    )
)
_add(
    Preset(
        "deepseek-v3",
        "DeepSeek-V3",
        ModelConfig(
            seq_len=_deepseek.DEEPSEEK_V3_PRETRAIN_CONTEXT,
            gating="sigmoid-topk",
            **_deepseek.DEEPSEEK_V3,
            **_DEEPSEEK_COMMON,
        ),
        date(2024, 12, 26),
        _deepseek.FIGURES["deepseek-v3.total_params"].value,
        _deepseek.FIGURES["deepseek-v3.train_tokens"].value,
        _deepseek.DEEPSEEK_V3_SOURCE,
        "Multi-head latent attention (128 heads; query latent 1536, KV latent 512, rotary key 64, "
        "d_nope = d_v = 128); the first 3 of 61 layers dense (SwiGLU 18432), the other 58 with 1 "
        "shared and 256 routed experts of 2048, 8 routed per token, sigmoid gating renormalised "
        "and scaled by 2.5 (its group-limited routing and bias-based balancing change no "
        "parameter and are not modelled). The count is the main model, as transformers' "
        "DeepseekV3ForCausalLM builds it: the 671B of the paper. The released checkpoint adds "
        "one multi-token-prediction module (11.5B more, 685B in all) used for training and "
        "speculative decoding, not counted here. seq_len is the 4K of pre-training; the report "
        "extends it to 128K with YaRN, which adds no parameter.",
    )
)


def names() -> list[str]:
    """Names of all presets, in release order."""
    return [p.name for p in sorted(_PRESETS.values(), key=lambda p: (p.released, p.reported_params))]


def get(name: str) -> ModelConfig:
    """The `ModelConfig` of a published model, e.g. get("gpt3-175b")."""
    return preset(name).config


def preset(name: str) -> Preset:
    """The whole `Preset` record (config, date, reported figures, source)."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {names()}") from None


def all_presets() -> list[Preset]:
    """Every preset, in release order."""
    return [_PRESETS[n] for n in names()]
