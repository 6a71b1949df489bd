"""The arithmetic of experts: the GPT-4 mixture-of-experts claims, and the page's exercises."""

from __future__ import annotations

import math

from ... import claims, counting, exercises, hardware, presets, published
from ..._validate import optional_positive_int, positive_int, positive_number

# The leak's figures that the preset `gpt4-reported` was built to reproduce (the article's
# "16 experts of about 111B", "about 55B shared for attention", "120 layers").
LEAK_EXPERT_PARAMS = 111e9
LEAK_ATTENTION_PARAMS = 55e9
LEAK_LAYERS = 120


def _gpt4():
    return presets.get("gpt4-reported")


def widths_matching(
    expert_params: float = LEAK_EXPERT_PARAMS,
    attention_params: float = LEAK_ATTENTION_PARAMS,
    n_layers: int = LEAK_LAYERS,
    n_kv_heads: int | None = None,
    head_dim: int = 128,
    ffn: str = "gelu",
) -> tuple[float, float]:
    """The width d and expert width d_ff at which L layers hold `attention_params` of attention
    and one expert `expert_params` (no biases; query width h·d_h = d).

    Attention per layer is 2d² (Q and O) + 2·d·h_kv·d_h (K and V): 4d² for multi-head
    attention (n_kv_heads=None), 2d² + 2·d·d_h for multi-query (n_kv_heads=1). One expert per
    layer is 2·d·d_ff (GELU) or 3·d·d_ff (SwiGLU). The attention figure fixes d; the expert
    figure then fixes d_ff. Returns real numbers, not rounded to a buildable shape.
    """
    n_e = positive_number("expert_params", expert_params, "111e9")
    a = positive_number("attention_params", attention_params, "55e9") / positive_int("n_layers", n_layers, "120")
    kv = optional_positive_int("n_kv_heads", n_kv_heads, "1", none_means="multi-head attention")
    d_h = positive_int("head_dim", head_dim, "128")
    if ffn not in ("gelu", "swiglu"):
        raise ValueError(f"ffn={ffn!r} must be 'gelu' (2 matrices per expert) or 'swiglu' (3)")
    if kv is None:
        d = math.sqrt(a / 4)
    else:  # 2d² + 2·kv·d_h·d − a = 0, the positive root
        w = kv * d_h
        d = (-w + math.sqrt(w * w + 2 * a)) / 2
    matrices = 2 if ffn == "gelu" else 3
    return d, n_e / (n_layers * matrices * d)


def matching_config(n_kv_heads: int | None = None, head_dim: int = 128, ffn: str = "gelu"):
    """GPT-4 as reported rebuilt at `widths_matching`: d rounded to whole heads of `head_dim`
    (a multiple of n_kv_heads of them), d_ff then chosen for that d and rounded to a whole
    number; everything else as the preset `gpt4-reported`."""
    d, _ = widths_matching(n_kv_heads=n_kv_heads, head_dim=head_dim, ffn=ffn)
    group = n_kv_heads or 1
    heads = group * max(1, round(d / (head_dim * group)))
    d_model = heads * head_dim
    d_ff = round(LEAK_EXPERT_PARAMS / (LEAK_LAYERS * (2 if ffn == "gelu" else 3) * d_model))
    return _gpt4().replace(d_model=d_model, n_heads=heads, n_kv_heads=n_kv_heads, d_ff=d_ff, ffn=ffn)


def _b(x: float) -> str:
    return f"{x / 1e9:,.1f}B"


@claims.register(
    "moe-gpt4-experts",
    claims.GPT4_LEAK,
    "GPT-4 is a mixture of experts with 16 experts.",
    16,
    "experts",
    basis="from-claim",
)
def _():
    cfg = _gpt4()
    return cfg.n_experts, (
        f"Checked against itself: {cfg.n_experts} experts in each of the {cfg.n_layers} "
        "feed-forward layers is an input of the preset gpt4-reported, copied from the leak; "
        "nothing public can confirm it. The book adopts it as an assumption."
    )


@claims.register(
    "moe-gpt4-top2",
    claims.GPT4_LEAK,
    "Two experts are routed to per forward pass.",
    2,
    "experts per token",
    basis="from-claim",
)
def _():
    cfg = _gpt4()
    return cfg.top_k, (
        f"Checked against itself: top_k={cfg.top_k} is an input of the preset gpt4-reported, "
        "copied from the leak. 'Per forward pass' means per token and per layer: each token of "
        "each layer picks its own two."
    )


@claims.register(
    "moe-gpt4-expert-params",
    claims.GPT4_LEAK,
    "Each expert holds about 111B parameters (its MLPs).",
    111e9,
    "parameters",
    basis="from-claim",
)
def _():
    cfg = _gpt4()
    n = counting.expert_params(cfg)
    mats = 3 if cfg.ffn == "swiglu" else 2
    return n, (
        f"Checked against itself: one expert's feed-forward blocks in all {cfg.n_layers} layers, "
        f"{cfg.n_layers}·{mats}·d·d_ff with d={cfg.d_model:,}, d_ff={cfg.ff_dim:,}: {_b(n)}; the "
        "preset's width was chosen so that this reproduces the leak's 111B. What the article's "
        "figures do test is their sum (moe-gpt4-total)."
    )


@claims.register(
    "moe-gpt4-attention-params",
    claims.GPT4_LEAK,
    "About 55B parameters are shared, for attention.",
    55e9,
    "parameters",
    basis="from-claim",
)
def _():
    cfg = _gpt4()
    n = counting.param_breakdown(cfg).attention
    mqa = counting.param_breakdown(cfg.replace(n_kv_heads=1)).attention
    alt = matching_config(n_kv_heads=1)
    alt_n = counting.param_breakdown(alt).attention
    return n, (
        f"Checked against itself: the preset's multi-head attention, 4·d² in each of "
        f"{cfg.n_layers} layers with d={cfg.d_model:,}, holds {_b(n)}; d was chosen for it. "
        f"The article also says GPT-4 uses multi-query attention. At the preset's d_ff = 4·d "
        f"that would leave {_b(mqa)}, but the two statements conflict only under that "
        f"assumption: with multi-query attention, d={alt.d_model:,} and GELU experts of "
        f"d_ff={alt.ff_dim:,} ({alt.ff_dim / alt.d_model:.2f}·d) hold {_b(alt_n)} of attention "
        f"and {_b(counting.expert_params(alt))} per expert."
    )


@claims.register(
    "moe-gpt4-total",
    claims.GPT4_LEAK,
    "GPT-4 has about 1.8 trillion parameters in 120 layers.",
    1.8e12,
    "parameters",
    basis="derived",
)
def _():
    cfg = _gpt4()
    n = counting.param_count(cfg)
    b = counting.param_breakdown(cfg)
    parts = cfg.n_experts * LEAK_EXPERT_PARAMS + LEAK_ATTENTION_PARAMS  # the article's own figures
    return n, (
        f"This checks the article's internal consistency, not GPT-4: the preset reproduces the "
        f"leak's 16 experts of 111B and 55B of attention (both assumed), and the equation "
        f"N = N_s + E·N_e adds them up with what the article leaves out, embeddings "
        f"({_b(b.embeddings)}, for the cl100k vocabulary) and norms: {n / 1e12:.3f}T. The "
        f"article's figures alone give {parts / 1e12:.3f}T."
    )


@claims.register(
    "moe-gpt4-active-params",
    claims.GPT4_LEAK,
    "Each forward pass (one generated token) uses only about 280B parameters.",
    280e9,
    "parameters",
    basis="derived",
)
def _():
    cfg = _gpt4()
    n = counting.active_param_count(cfg)
    alt = counting.active_param_count(matching_config(n_kv_heads=1))
    return n, (
        f"This checks the article's internal consistency, not GPT-4: from the assumed 111B per "
        f"expert and 55B of attention, 2 experts × {_b(counting.expert_params(cfg))} + "
        f"{_b(counting.shared_params(cfg))} shared (attention, embeddings, routers, norms) = "
        f"{_b(n)}. The multi-query shape that also matches both figures gives {_b(alt)}."
    )


@claims.register(
    "moe-gpt4-active-flops",
    claims.GPT4_LEAK,
    "Each forward pass (one generated token) takes about 560 TFLOP.",
    560e12,
    "FLOP per token",
    basis="derived",
)
def _():
    cfg = _gpt4()
    c = counting.flops_per_token(cfg, context=0)
    c8k = counting.flops_per_token(cfg, context=cfg.seq_len)
    return c, (
        f"2 FLOP per active weight: {c / 1e9:,.0f} GFLOP per token ({c8k / 1e9:,.0f} GFLOP "
        f"with attention over a full {cfg.seq_len:,}-token context), so '560' is right in "
        f"GFLOP and 1,000× too large in TFLOP. The article's gloss, 'tera floating-point "
        "operations per second', is a rate, which a count per token cannot be."
    )


@claims.register(
    "moe-gpt4-dense-flops",
    claims.GPT4_LEAK,
    "A purely dense model of 1.8T parameters would need about 3,700 TFLOP per forward pass.",
    3700e12,
    "FLOP per token",
    basis="derived",
)
def _():
    cfg = _gpt4()
    n = counting.param_count(cfg)
    c = 2 * n
    return c, (
        f"2·N with N = {n / 1e12:.3f}T: {c / 1e12:,.2f} TFLOP = {c / 1e9:,.0f} GFLOP per token. "
        "As with the 560, the article's figure is right in GFLOP and 1,000× too large in TFLOP."
    )


@claims.register(
    "moe-gpt4-dense-vs-moe",
    claims.GPT4_LEAK,
    "A dense 1.8T model would need 3,700/560 times the FLOPs of the mixture per token.",
    # The article states 3,700 and 560, two figures of two significant digits; their ratio,
    # 6.607..., means 6.6 at that precision, and that is the figure the ledger checks.
    float(f"{3700 / 560:.2g}"),
    "ratio",
    basis="derived",
    digits=2,
)
def _():
    cfg = _gpt4()
    ratio = counting.param_count(cfg) / counting.active_param_count(cfg)
    return ratio, (
        f"Total over active parameters of the preset, {ratio:.3f}, against 3,700/560 = "
        f"{3700 / 560:.3f} from the article's two 2-digit figures, that is 6.6 at their "
        "precision (±0.05). The ratio survives the figures' wrong unit, since both are off by "
        "the same factor of 1,000. Like moe-gpt4-total it checks the article's internal "
        "consistency: the preset reproduces its 111B and 55B."
    )


@claims.register(
    "moe-gpt4-serving-node",
    claims.GPT4_LEAK,
    "In inference each node of 8 GPUs holds about 130B parameters (120 layers on 15 nodes).",
    130e9,
    "parameters",
    basis="derived",
)
def _():
    cfg = _gpt4()
    nodes = published.get("gpt4.serving_nodes_for_layers").value
    per_layer = counting.attention_params(cfg) + cfg.n_experts * counting.ffn_params(cfg) + counting.router_params(cfg)
    per_node = cfg.n_layers / nodes * per_layer
    gpus = published.get("gpt4.serving_gpus").value
    even = counting.param_count(cfg) / (gpus / 8)
    return per_node, (
        f"{cfg.n_layers / nodes:.0f} layers of {_b(per_layer)} each (all 16 experts): "
        f"{_b(per_node)} per node; spread evenly over all {gpus / 8:.0f} nodes of the "
        f"{gpus:.0f} GPUs it would be {_b(even)}. The article's 130B is high by "
        f"{130e9 / per_node - 1:.0%}."
    )


@claims.register(
    "moe-gpt4-16-not-more",
    claims.GPT4_LEAK,
    "OpenAI chose 16 experts rather than more: more experts would lower the loss but generalise and converge worse.",
    None,
    "—",
    basis="none",
)
def _():
    from . import what_experts_cost as cost  # the costs of more experts, priced on that page

    cfg = _gpt4()
    tp, pp, dp = cost.reported_layout()
    more = cost.expert_count_costs(2 * cfg.n_experts)
    own = cost.expert_count_costs(cfg.n_experts)
    gib, hbm = 2**30, hardware.get("a100").hbm_bytes
    return None, (
        f"Nothing public measures GPT-4's generalisation or convergence. What can be computed: "
        f"with {more.n_experts} experts of the same size the model would hold "
        f"{more.total_params / 1e12:.1f}T parameters for the same {_b(more.active_params)} active. "
        f"With every expert on every data-parallel rank, its model state (bf16 weights and "
        f"gradients, Adam state sharded by ZeRO-1) would take {more.state_without_ep / gib:,.0f} GiB "
        f"per A100 in the reported {tp}×{pp} layout ({cfg.n_experts} experts: "
        f"{own.state_without_ep / gib:,.0f} GiB), more than its {hbm / gib:.0f} GiB; with the experts split "
        f"{more.expert_parallel} ways over the {dp} data-parallel replicas (expert parallelism) it "
        f"would take {more.state_with_ep / gib:,.0f} GiB, and memory in training would allow "
        f"{cost.most_experts_that_fit('training-ep')} experts. Memory alone does not explain "
        f"sixteen; serving constrains more: the reported 128-GPU cluster holds the bf16 weights of "
        f"at most {cost.most_experts_that_fit('serving')} (page 'What experts cost'). The page "
        "'What experts buy' measures the loss side at small scale."
    )


@claims.register(
    "moe-gpt4-simple-routing",
    claims.GPT4_LEAK,
    "GPT-4's routing algorithm is relatively simple.",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, (
        "A judgement with no quantity to compute or look up: 'relatively simple' names no "
        "algorithm. The page 'A mixture-of-experts layer' writes out the simple kind the "
        "published models use (top-k of a linear layer's logits, a softmax)."
    )


@claims.register(
    "moe-gpt4-inference-cost",
    claims.GPT4_LEAK,
    "GPT-4's inference costs about 3 times that of the 175B Davinci model.",
    3,
    "ratio",
    basis="none",
)
def _():
    cfg, gpt3 = _gpt4(), presets.get("gpt3-175b")
    flops = counting.flops_per_token(cfg, context=0) / counting.flops_per_token(gpt3, context=0)
    weights = counting.param_count(cfg) / counting.param_count(gpt3)
    where = "between" if flops < 3 < weights else "outside"
    return flops, (
        f"A cost ratio needs prices and utilisation, which are not public. The FLOPs per "
        f"token give {flops:.2f}× (the computed figure); the weights to hold, and to read "
        f"at each decode step once a batch touches every expert, give {weights:.1f}×. The "
        f"article's 3× lies {where} the two; the page 'What experts cost' shows why a "
        "mixture's serving cost follows its FLOPs only at large batches."
    )


def _experts_for_ratio(ratio: float) -> float:
    # (N_s + E·N_e) / (N_s + k·N_e) = ratio, solved for E with GPT-4's reported shape.
    cfg = presets.get("gpt4-reported")
    r = counting.shared_params(cfg) / counting.expert_params(cfg)
    return ratio * (r + cfg.top_k) - r


exercises.register(
    "expert-arithmetic-1",
    lambda: counting.active_param_count(presets.get("mixtral-8x7b").replace(top_k=1)),
    rel_tol=0.002,
    unit="parameters",
    hint="Shared parameters (embeddings, attention, routers, norms) plus ONE expert: 32 layers "
    "of 3·d·d_ff with d=4096 and d_ff=14336.",
)
exercises.register(
    "expert-arithmetic-2",
    lambda: _experts_for_ratio(10.0),
    rel_tol=0.01,
    unit="experts",
    hint="Solve (N_s + E·N_e) / (N_s + 2·N_e) = 10 for E, with N_s and N_e from "
    "counting.shared_params and counting.expert_params.",
)
exercises.register(
    "expert-arithmetic-3",
    lambda: counting.flops_per_token(presets.get("mixtral-8x7b"), context=0) / 1e9,
    rel_tol=0.01,
    unit="GFLOP",
    hint="2 FLOPs per active weight a token multiplies by: not the input embedding (a lookup), "
    "but the LM head, attention, routers and two experts per layer.",
)
exercises.register(
    "expert-arithmetic-4",
    lambda: (lambda d, d_ff: d_ff / d)(*widths_matching(n_kv_heads=8, head_dim=128, ffn="swiglu")),
    rel_tol=0.005,
    unit="d_ff / d",
    hint="Per layer 2d² + 2·(8·128)·d = 55e9/120: take the positive root for d, then "
    "d_ff = 111e9 / (120·3·d) for SwiGLU experts.",
    kind="derive",
)
