"""Training versus inference budgets: the lifetime-compute claims, and the page's exercises."""

from __future__ import annotations

import math

from ... import claims, counting, exercises, hardware, presets, published
from ...inference import kv_cache
from ...scaling import laws, lifetime
from ...units import GiB

LAW = laws.BESIROGLU
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
    low, high = 10 * (1 - claims.tolerance(10)), 10 * (1 + claims.tolerance(10))
    return ratio, (
        f"Parameters counted from the two configurations: GPT-3 {n3 / 1e9:.1f}B, LLaMA-13B "
        f"{n13 / 1e9:.1f}B, {ratio:.1f}× fewer ({n13 / n3:.1%} of GPT-3's). The article states "
        f"one significant digit ('1/10', '10 times'), so anything from {low:.0f}× to {high:.0f}× "
        f"rounds to it; {ratio:.1f}× does, though 'a tenth' understates the gap by "
        f"{ratio / 10 - 1:.0%}."
    )


@claims.register(
    "laws-llama13b-one-v100",
    claims.LLAMA_RELEASE,
    "LLaMA-13B can run on a single V100 GPU.",
    1,
    "V100 GPUs (32 GiB) needed",
    basis="derived",
    bound="<=",
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
        f"{m13.weights_bytes / GiB:.1f} GiB and "
        f"the KV cache of one full {seq}-token context {m13.kv_cache_bytes / GiB:.2f} GiB: "
        f"{need / GiB:.1f} GiB fit one {v100.hbm_bytes / GiB:.0f} GiB V100 (hardware.V100_SXM2) "
        f"with {(v100.hbm_bytes - need) / GiB:.1f} GiB to spare. The {small / GiB:.0f} GiB V100 "
        f"would need {m13.devices_needed(small)}; LLaMA-65B ({m65.total_bytes / GiB:.0f} GiB) "
        f"needs {m65.devices_needed(v100.hbm_bytes)} of the {v100.hbm_bytes / GiB:.0f} GiB ones."
    )


@claims.register(
    "laws-smaller-cheaper-lifetime",
    claims.LLAMA_RELEASE,
    "A larger model may be cheaper to train to a given performance, but a smaller one trained "
    "longer ends up cheaper because it is cheaper at inference.",
    True,
    "yes/no",
    basis="derived",
)
def _():
    t = lifetime.compare_to_compute_optimal(
        LAW, presets.preset("llama-7b").n_params, presets.preset("llama-7b").train_tokens
    )
    holds = bool(t.extra_training_flops > 0 and 0 < t.break_even_tokens < math.inf)
    return holds, (
        f"Derived from the refit law (Besiroglu et al.): LLaMA-7B's {t.tokens / 1e12:.0f}T tokens "
        f"bring it to {t.target_loss:.3f} nats/token; the compute-optimal model of that loss has "
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
    True,
    "yes/no",
    basis="derived",
)
def _():
    parts, holds = [], True
    for name in ["llama-7b", "llama-13b", "llama-33b", "llama-65b"]:
        preset = presets.preset(name)
        n, d = float(preset.n_params), float(preset.train_tokens)
        optimum = float(LAW.tokens_per_param(counting.approx_training_flops(n, d)))
        holds &= bool(d / n > optimum)
        parts.append(f"{presets.preset(name).title} {d / n:.0f} (optimum {optimum:.0f})")
    return holds, (
        "Tokens per parameter, against the refit's compute-optimal ratio at the same "
        "compute: "
        + "; ".join(parts)
        + "."
        + (" Every model is trained past compute-optimality, the small ones far past it." if holds else "")
    )


def _target_loss(name: str) -> float:
    """The refit's loss (nats/token) for a preset: its counted parameters and published tokens."""
    preset = presets.preset(name)
    return float(LAW.loss(counting.param_count(preset.config), preset.train_tokens))


def _n(name: str) -> float:
    return float(counting.param_count(presets.preset(name).config))


def _trained_past_optimum_by_law() -> str:
    """Llama 3 405B against each law's compute-optimal ratio at its compute: the option's label."""
    preset = presets.preset("llama3-405b")
    n, d = _n("llama3-405b"), preset.train_tokens
    c = counting.approx_training_flops(n, d)
    past = tuple(bool(d / n > float(law.tokens_per_param(c))) for law in (LAW, laws.CHINCHILLA))
    return {(True, True): "a", (True, False): "b", (False, True): "c", (False, False): "d"}[past]


exercises.register(
    "inference-budgets-1",
    lambda: lifetime.break_even_tokens(LAW, 5e9, _n("llama-7b"), _target_loss("llama-7b")),
    rel_tol=0.02,
    unit="served tokens",
    hint="Both models reach LLaMA-7B's loss L*: D(N) from (eq-inference-budgets-tokens) for N = 5e9 "
    "and LLaMA-7B's own 1T tokens; then T = 6·(N_s·D_s − N_l·D_l) / (2·(N_l − N_s)) with the 5B "
    "model as N_s (lifetime.break_even_tokens).",
)
exercises.register(
    "inference-budgets-2",
    lambda: lifetime.optimal_params(LAW, _target_loss("llama3-8b"), 1e14),
    rel_tol=0.02,
    unit="parameters",
    hint="Target Llama 3 8B's loss under the refit (its counted parameters, 15T tokens); minimise "
    "6·N·D(N) + 2·N·T over N with T = 1e14, on a fine grid above N_min (lifetime.lifetime_flops) "
    "or with lifetime.optimal_params.",
)
exercises.register(
    "inference-budgets-3",
    lambda: lifetime.tokens_to_reach(LAW, 5e9, _target_loss("llama-13b")),
    rel_tol=0.02,
    unit="tokens",
    hint="L* is LLaMA-13B's loss, L(N, 1T) with its counted N; then D = (B / (L* − E − A/N^α))^(1/β) "
    "with N = 5e9. Check first that 5e9 is above N_min = (A/(L* − E))^(1/α).",
)
exercises.register(
    "inference-budgets-4",
    lambda: lifetime.served_tokens_for_optimum(LAW, 4e9, _target_loss("llama-7b")),
    rel_tol=0.02,
    unit="served tokens",
    hint="Differentiate 6·N·D(N) + 2·N·T: with x = A/N^α and u = L* − E − x, dD/dN = −(α/β)·D·x/(N·u), "
    "so the slope is 6·D·(1 − (α/β)·x/u) + 2·T. Set it to zero and solve for T at N = 4e9.",
    kind="derive",
)
exercises.register_choice(
    "inference-budgets-5",
    options={
        "a": "trained past compute-optimal by both laws",
        "b": "past it by the refit, short of it by eq. 10 as printed",
        "c": "short of it by the refit, past it by eq. 10 as printed",
        "d": "short of it by both laws",
    },
    answer=_trained_past_optimum_by_law,
    hint="Compare its D/N with each law's D*/N* = (C/6)^(b−a)/G² at its own compute C = 6·N·D; "
    "the printed law's β < α makes its ratio grow with compute (previous page).",
    kind="predict",
)
