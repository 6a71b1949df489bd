"""Training versus inference budgets: the lifetime-compute claims, and the page's exercises."""

from __future__ import annotations

import math

from ... import claims, counting, exercises, hardware, presets, published
from ...inference import kv_cache
from ...scaling import laws, lifetime

LAW = laws.BESIROGLU
HOLDS = "1 = holds"
FP16_BYTES = 2


# Which page shows which claims.
@claims.register(
    "laws-llama13b-tenth-of-gpt3",
    claims.LLAMA_RELEASE,
    "LLaMA-13B beats GPT-3 with a tenth of its parameters (it is 10 times smaller).",
    10,
    "× fewer parameters",
    basis="derived",
)
def _():
    n13, n3 = presets.preset("llama-13b").n_params, presets.preset("gpt3-175b").n_params
    ratio = n3 / n13
    return ratio, (
        f"GPT-3 has {n3 / 1e9:.1f}B parameters, LLaMA-13B {n13 / 1e9:.1f}B: {ratio:.1f}× "
        f"fewer. 'Ten times' is the one-significant-figure rounding (tolerance 30%); it "
        f"understates the gap."
    )


@claims.register(
    "laws-llama13b-one-v100",
    claims.LLAMA_RELEASE,
    "LLaMA-13B can run on a single V100 GPU.",
    1,
    "V100 GPUs (32 GB)",
    basis="derived",
)
def _():
    v100 = hardware.V100_SXM2
    # fp16 weights and the KV cache of one full-context sequence
    m13 = kv_cache.serving_bytes(presets.get("llama-13b"), bytes_per_value=FP16_BYTES)
    m65 = kv_cache.serving_bytes(presets.get("llama-65b"), bytes_per_value=FP16_BYTES)
    small = published.get("v100.hbm_bytes_16gb").value
    seq = presets.get("llama-13b").seq_len
    need = m13.total_bytes
    return m13.devices_needed(v100.hbm_bytes), (
        f"In fp16 its {presets.preset('llama-13b').n_params / 1e9:.1f}B weights take "
        f"{m13.weights_bytes / 1e9:.1f} GB and "
        f"the KV cache of one full {seq}-token context {m13.kv_cache_bytes / 1e9:.2f} GB: "
        f"{need / 1e9:.1f} GB fit one {v100.hbm_bytes / 1e9:.0f} GB V100 with "
        f"{(v100.hbm_bytes - need) / 1e9:.1f} GB to spare. The {small / 1e9:.0f} GB V100 would "
        f"need {m13.devices_needed(small)}; LLaMA-65B ({m65.total_bytes / 1e9:.0f} GB) needs "
        f"{m65.devices_needed(v100.hbm_bytes)} of the 32 GB ones."
    )


@claims.register(
    "laws-smaller-cheaper-lifetime",
    claims.LLAMA_RELEASE,
    "A larger model may be cheaper to train to a given performance, but a smaller one trained "
    "longer ends up cheaper because it is cheaper at inference.",
    1,
    HOLDS,
    basis="derived",
)
def _():
    t = lifetime.compare_to_compute_optimal(
        LAW, presets.preset("llama-7b").n_params, presets.preset("llama-7b").train_tokens
    )
    holds = t.extra_training_flops > 0 and 0 < t.break_even_tokens < math.inf
    return float(holds), (
        f"LLaMA-7B's {t.tokens / 1e12:.0f}T tokens bring it to {t.target_loss:.3f} "
        f"nats/token; the compute-optimal model of that loss has "
        f"{t.optimal_params / 1e9:.1f}B parameters and {t.optimal_tokens / 1e9:.0f}B "
        f"tokens. LLaMA-7B costs {t.extra_training_fraction:.0%} more to train "
        f"({t.extra_training_flops:.2g} FLOPs) and {t.saving_per_token:.2g} FLOPs less "
        f"per served token: cheaper in total beyond {t.break_even_tokens / 1e12:.2f}T "
        f"served tokens."
    )


@claims.register(
    "laws-llama-overtrained",
    claims.LLAMA_RELEASE,
    "LLaMA is trained on more tokens than is typically used, to be the best model at a given "
    "inference budget rather than the cheapest to train.",
    1,
    HOLDS,
    basis="derived",
)
def _():
    parts, holds = [], True
    for name in ["llama-7b", "llama-13b", "llama-33b", "llama-65b"]:
        preset = presets.preset(name)
        n, d = float(preset.n_params), float(preset.train_tokens)
        optimum = float(LAW.tokens_per_param(counting.approx_training_flops(n, d)))
        holds &= d / n > optimum
        parts.append(f"{presets.preset(name).title} {d / n:.0f} (optimum {optimum:.0f})")
    return float(holds), (
        "Tokens per parameter, against the refit's compute-optimal ratio at the same "
        "compute: " + "; ".join(parts) + ". Every model is trained past "
        "compute-optimality, the small ones far past it."
    )


def _llama13b_trade_off():
    return lifetime.compare_to_compute_optimal(
        laws.BESIROGLU, counting.param_count(presets.get("llama-13b")), presets.preset("llama-13b").train_tokens
    )


exercises.register(
    "inference-budgets-1",
    lambda: _llama13b_trade_off().break_even_tokens,
    rel_tol=0.02,
    unit="served tokens",
    hint="Find LLaMA-13B's loss L* = L(N, 1T); the compute-optimal model of that loss has "
    "A/N^α = a·(L* − E) and B/D^β = b·(L* − E); then T = 6·(N·D − N_opt·D_opt) / "
    "(2·(N_opt − N)).",
)
exercises.register(
    "inference-budgets-2",
    lambda: lifetime.optimal_params(
        laws.BESIROGLU, float(laws.BESIROGLU.loss(counting.param_count(presets.get("llama-7b")), 1e12)), 1e13
    ),
    rel_tol=0.02,
    unit="parameters",
    hint="Minimise 6·N·D(N) + 2·N·T over N, with D(N) the tokens that bring N parameters to "
    "LLaMA-7B's loss; lifetime.lifetime_flops evaluates the sum on a grid of N.",
)
exercises.register(
    "inference-budgets-3",
    lambda: lifetime.tokens_to_reach(
        laws.BESIROGLU, 3e9, float(laws.BESIROGLU.loss(counting.param_count(presets.get("llama-7b")), 1e12))
    ),
    rel_tol=0.02,
    unit="tokens",
    hint="Solve E + A/N^α + B/D^β = L* for D with N = 3e9: D = (B / (L* − E − A/N^α))^(1/β).",
)
