"""Claims about scaling laws, compute-optimal training and inference budgets.

Mostly from 001_e46dd29df1d9f1d9.txt (Malay, on LLaMA), one from 000_4ec7ba283c4a0447.txt
(Persian, GPT-4's leak). Losses are predicted by the refit of Chinchilla's law (Besiroglu et al.
2024) on one data set; the models were trained on different data, so predicted losses compare
scale (N and D), not data or architecture. Qualitative claims are recorded as claimed = 1
("holds") and computed = 1 or 0 by the check described in the note.
"""

from __future__ import annotations

import math

from .. import budgets, counting, hardware, presets, published, scaling
from . import register

LLAMA = "001_e46dd29df1d9f1d9.txt"
GPT4 = "000_4ec7ba283c4a0447.txt"
LAW = scaling.BESIROGLU
HOLDS = "1 = holds"
FP16_BYTES = 2
# Which page shows which claims.
LAWS_PAGE = ("laws-hoffmann-10b-200b", "laws-smaller-model-fixed-compute", "laws-7b-improves-after-1t",
             "laws-llama13b-beats-gpt3", "laws-llama65b-vs-chinchilla-palm",
             "laws-gpt4-tokens-per-active-param")
BUDGETS_PAGE = ("laws-smaller-cheaper-lifetime", "laws-llama-overtrained", "laws-llama13b-tenth-of-gpt3",
                "laws-llama13b-one-v100")


def _n(name: str) -> float:
    return float(counting.param_count(presets.get(name)))


def _d(name: str) -> float:
    return float(presets.preset(name).train_tokens)


def _loss(name: str) -> float:
    return float(LAW.loss(_n(name), _d(name)))


def _serving_bytes(name: str, dtype_bytes: int = FP16_BYTES) -> tuple[float, float]:
    """Weights and the KV cache of one full-context sequence, in bytes."""
    cfg = presets.get(name)
    weights = counting.param_count(cfg) * dtype_bytes
    kv_cache = 2 * cfg.n_layers * cfg.kv_heads * cfg.head_dim_ * cfg.seq_len * dtype_bytes
    return float(weights), float(kv_cache)


@register("laws-llama13b-tenth-of-gpt3", LLAMA,
          "LLaMA-13B beats GPT-3 with a tenth of its parameters (it is 10 times smaller).",
          10, "× fewer parameters", rel_tol=0.3)
def _():
    n13, n3 = _n("llama-13b"), _n("gpt3-175b")
    ratio = n3 / n13
    return ratio, (f"GPT-3 has {n3 / 1e9:.1f}B parameters, LLaMA-13B {n13 / 1e9:.1f}B: {ratio:.1f}× "
                   f"fewer. 'Ten times' is the one-significant-figure rounding (tolerance 30%); it "
                   f"understates the gap.")


@register("laws-llama13b-beats-gpt3", LLAMA,
          "LLaMA-13B outperforms GPT-3 (175B) on most benchmarks.",
          None, "nats/token (predicted loss, LLaMA-13B − GPT-3)", rel_tol=None)
def _():
    l13, l3 = _loss("llama-13b"), _loss("gpt3-175b")
    c13 = counting.approx_training_flops(_n("llama-13b"), _d("llama-13b"))
    c3 = counting.approx_training_flops(_n("gpt3-175b"), _d("gpt3-175b"))
    ahead = "GPT-3" if l3 < l13 else "LLaMA-13B"
    return l13 - l3, (f"Benchmarks are not computable here. On one data set the refit law predicts "
                      f"{l13:.3f} nats/token for LLaMA-13B ({_d('llama-13b') / 1e12:.1f}T tokens) and "
                      f"{l3:.3f} for GPT-3 ({_d('gpt3-175b') / 1e9:.0f}B tokens): from N and D alone "
                      f"{ahead} is ahead by {abs(l13 - l3):.3f}, with LLaMA-13B trained on "
                      f"{c13 / c3:.0%} of GPT-3's compute (6·N·D). LLaMA-13B's wins must come from "
                      f"its data and architecture, which the law does not see.")


@register("laws-llama13b-one-v100", LLAMA, "LLaMA-13B can run on a single V100 GPU.",
          1, "V100 GPUs (32 GB)", rel_tol=0.0)
def _():
    v100 = hardware.V100_SXM2
    weights, kv = _serving_bytes("llama-13b")
    need = weights + kv
    cards = math.ceil(need / v100.hbm_bytes)
    small = published.get("v100.hbm_bytes_16gb").value
    w65, kv65 = _serving_bytes("llama-65b")
    seq = presets.get("llama-13b").seq_len
    return cards, (f"In fp16 its {_n('llama-13b') / 1e9:.1f}B weights take {weights / 1e9:.1f} GB and "
                   f"the KV cache of one full {seq}-token context {kv / 1e9:.2f} GB: "
                   f"{need / 1e9:.1f} GB fit one {v100.hbm_bytes / 1e9:.0f} GB V100 with "
                   f"{(v100.hbm_bytes - need) / 1e9:.1f} GB to spare. The {small / 1e9:.0f} GB V100 would "
                   f"need {math.ceil(need / small)}; LLaMA-65B ({(w65 + kv65) / 1e9:.0f} GB) needs "
                   f"{math.ceil((w65 + kv65) / v100.hbm_bytes)} of the 32 GB ones.")


@register("laws-llama65b-vs-chinchilla-palm", LLAMA,
          "LLaMA-65B is competitive with Chinchilla-70B and PaLM-540B.",
          None, "nats/token (predicted loss, LLaMA-65B − Chinchilla)", rel_tol=None)
def _():
    l65, lc, lp = _loss("llama-65b"), _loss("chinchilla-70b"), _loss("palm-540b")
    c65 = counting.approx_training_flops(_n("llama-65b"), _d("llama-65b"))
    cp = counting.approx_training_flops(_n("palm-540b"), _d("palm-540b"))
    return l65 - lc, (f"Benchmarks are not computable here. From N and D the refit law predicts "
                      f"{l65:.3f} nats/token for LLaMA-65B, {lc:.3f} for Chinchilla-70B (both "
                      f"{_d('llama-65b') / 1e12:.1f}T tokens) and {lp:.3f} for PaLM-540B "
                      f"({_d('palm-540b') / 1e9:.0f}B tokens, {cp / c65:.1f}× LLaMA-65B's compute): "
                      f"within {max(abs(l65 - lc), abs(l65 - lp)):.3f} nats of both, so 'competitive' "
                      f"is what scale predicts.")


@register("laws-hoffmann-10b-200b", LLAMA,
          "Hoffmann et al. (2022) recommend training a 10B model on 200B tokens.",
          200e9, "tokens", rel_tol=0.05)
def _():
    n = 10e9
    d1 = scaling.APPROACH_1.optimal_tokens(n)
    d2 = scaling.APPROACH_2.optimal_tokens(n)
    d_eq10 = float((n / scaling.CHINCHILLA.G) ** (1 / scaling.CHINCHILLA.a)) / n
    d_refit = float((n / LAW.G) ** (1 / LAW.a)) / n
    return d1, (f"Approach 1's frontier (fitted to their Table 3) gives {d1 / 1e9:.0f}B tokens for 10B "
                f"parameters, Approach 2's {d2 / 1e9:.0f}B; the rounded parametric fit (eq. 10) would "
                f"say {d_eq10 / 1e9:.0f}B, the refit {d_refit / 1e9:.0f}B.")


@register("laws-7b-improves-after-1t", LLAMA,
          "The performance of a 7B model keeps improving even after 1T tokens.",
          None, "nats/token (predicted loss, 1T − 2T tokens)", rel_tol=None)
def _():
    n = _n("llama-7b")
    l1, l2 = float(LAW.loss(n, 1e12)), float(LAW.loss(n, 2e12))
    floor = LAW.E + LAW.A / n**LAW.alpha
    return l1 - l2, (f"The law's loss falls with D by construction, so it cannot test this; it "
                     f"predicts {l1 - l2:.3f} nats/token less at 2T tokens than at 1T, "
                     f"{(l1 - l2) / (l1 - floor):.0%} of what remains above the 7B model's "
                     f"infinite-data floor {floor:.3f}. LLaMA's own training curves are the evidence.")


@register("laws-smaller-model-fixed-compute", LLAMA,
          "For a given compute budget, the best performance comes not from the largest model but "
          "from a smaller model trained on more data (Hoffmann et al. 2022).",
          1, HOLDS, rel_tol=0.0)
def _():
    c = published.get("hoffmann.gopher_budget_flops").value
    n_opt, d_opt = (float(x) for x in LAW.compute_optimal(c))
    l_opt = float(LAW.loss(n_opt, d_opt))
    n_g, d_g, l_g = _n("gopher-280b"), _d("gopher-280b"), _loss("gopher-280b")
    holds = n_opt < n_g and l_opt < l_g
    return float(holds), (f"At Gopher's budget ({c:.3g} FLOPs) the refit's optimum is "
                           f"{n_opt / 1e9:.0f}B parameters on {d_opt / 1e12:.2f}T tokens, predicted "
                           f"loss {l_opt:.3f}, against {l_g:.3f} for Gopher ({n_g / 1e9:.0f}B on "
                           f"{d_g / 1e9:.0f}B tokens) and {_loss('chinchilla-70b'):.3f} for Chinchilla.")


@register("laws-smaller-cheaper-lifetime", LLAMA,
          "A larger model may be cheaper to train to a given performance, but a smaller one trained "
          "longer ends up cheaper because it is cheaper at inference.",
          1, HOLDS, rel_tol=0.0)
def _():
    t = budgets.compare_to_compute_optimal(LAW, _n("llama-7b"), _d("llama-7b"))
    holds = t.extra_training_flops > 0 and 0 < t.break_even_tokens < math.inf
    return float(holds), (f"LLaMA-7B's {t.tokens / 1e12:.0f}T tokens bring it to {t.target_loss:.3f} "
                          f"nats/token; the compute-optimal model of that loss has "
                          f"{t.optimal_params / 1e9:.1f}B parameters and {t.optimal_tokens / 1e9:.0f}B "
                          f"tokens. LLaMA-7B costs {t.extra_training_fraction:.0%} more to train "
                          f"({t.extra_training_flops:.2g} FLOPs) and {t.saving_per_token:.2g} FLOPs less "
                          f"per served token: cheaper in total beyond {t.break_even_tokens / 1e12:.2f}T "
                          f"served tokens.")


@register("laws-llama-overtrained", LLAMA,
          "LLaMA is trained on more tokens than is typically used, to be the best model at a given "
          "inference budget rather than the cheapest to train.",
          1, HOLDS, rel_tol=0.0)
def _():
    parts, holds = [], True
    for name in ["llama-7b", "llama-13b", "llama-33b", "llama-65b"]:
        n, d = _n(name), _d(name)
        optimum = float(LAW.tokens_per_param(counting.approx_training_flops(n, d)))
        holds &= d / n > optimum
        parts.append(f"{presets.preset(name).title} {d / n:.0f} (optimum {optimum:.0f})")
    return float(holds), ("Tokens per parameter, against the refit's compute-optimal ratio at the same "
                          "compute: " + "; ".join(parts) + ". Every model is trained past "
                          "compute-optimality, the small ones far past it.")


@register("laws-gpt4-tokens-per-active-param", GPT4,
          "GPT-4, about 1.8T parameters of which about 280B are used per token, was trained on "
          "about 13T tokens.", None, "tokens per active parameter", rel_tol=None)
def _():
    cfg = presets.get("gpt4-reported")
    active, d = float(counting.active_param_count(cfg)), _d("gpt4-reported")
    c = counting.approx_training_flops(active, d)
    n_opt, d_opt = (float(x) for x in LAW.compute_optimal(c))
    return d / active, (f"Not published by OpenAI. With the leak's figures, {active / 1e9:.0f}B active "
                        f"parameters (our preset) and {d / 1e12:.0f}T tokens make {d / active:.0f} tokens "
                        f"per active parameter; a dense model at that compute ({c:.2g} FLOPs) would be "
                        f"compute-optimal at {n_opt / 1e9:.0f}B parameters and {d_opt / n_opt:.0f} tokens "
                        f"per parameter. Like LLaMA, trained past compute-optimality, as a heavily "
                        f"served model should be (dense-model laws only roughly apply to experts).")
