"""The arithmetic of experts: the GPT-4 mixture-of-experts claims, and the page's exercises."""

from __future__ import annotations

from ... import claims, counting, exercises, hardware, presets, published
from ...parallelism import memory

# The article's figures are "about" (تقریباً / حدود) values with two or three significant
# digits; we accept 5% for them, the precision the rest of the ledger uses for rounded counts.
ROUNDED = 0.05


def _gpt4():
    return presets.get("gpt4-reported")


def _b(x: float) -> str:
    return f"{x / 1e9:,.1f}B"


@claims.register(
    "moe-gpt4-experts",
    claims.GPT4_LEAK,
    "GPT-4 is a mixture of experts with 16 experts.",
    16,
    "experts",
    basis="derived",
)
def _():
    cfg = _gpt4()
    return cfg.n_experts, (
        f"An input of our configuration ({cfg.n_experts} experts in each of its "
        f"{cfg.n_layers} feed-forward layers), taken from the leak: nothing public "
        "can confirm it."
    )


@claims.register(
    "moe-gpt4-top2",
    claims.GPT4_LEAK,
    "Two experts are routed to per forward pass.",
    2,
    "experts per token",
    basis="derived",
)
def _():
    cfg = _gpt4()
    return cfg.top_k, (
        f"An input of our configuration (top_k={cfg.top_k}); 'per forward pass' means "
        "per token and per layer: each token of each layer picks its own two."
    )


@claims.register(
    "moe-gpt4-expert-params",
    claims.GPT4_LEAK,
    "Each expert holds about 111B parameters (its MLPs).",
    111e9,
    "parameters",
    basis="derived",
)
def _():
    cfg = _gpt4()
    n = counting.expert_params(cfg)
    mats = 3 if cfg.ffn == "swiglu" else 2
    return n, (
        f"One expert's feed-forward blocks in all {cfg.n_layers} layers, "
        f"{cfg.n_layers}·{mats}·d·d_ff with d={cfg.d_model:,}, d_ff={cfg.ff_dim:,}: {_b(n)}. Circular: "
        "we chose d so that this matches; the test is the total (moe-gpt4-total)."
    )


@claims.register(
    "moe-gpt4-attention-params",
    claims.GPT4_LEAK,
    "About 55B parameters are shared, for attention.",
    55e9,
    "parameters",
    basis="derived",
)
def _():
    cfg = _gpt4()
    n = counting.param_breakdown(cfg).attention
    mqa = counting.param_breakdown(cfg.replace(n_kv_heads=1)).attention
    return n, (
        f"Multi-head attention, 4·d² in each of {cfg.n_layers} layers: {_b(n)}. The article "
        f"also says GPT-4 uses multi-query attention, which would leave {_b(mqa)}: the two "
        "statements cannot both hold."
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
    parts = 16 * 111e9 + 55e9  # the article's own figures
    adds_up = "add up" if abs(parts / 1.8e12 - 1) <= ROUNDED else "do not add up"
    return n, (
        f"16 experts × 111B + 55B of attention = {parts / 1e12:.3f}T from the article's own "
        f"figures; our configuration adds embeddings and norms: {n / 1e12:.3f}T. The "
        f"article's parts {adds_up} to its total."
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
    mqa = counting.active_param_count(cfg.replace(n_kv_heads=1))
    return n, (
        f"2 experts × {_b(counting.expert_params(cfg))} + {_b(counting.shared_params(cfg))} "
        f"shared (attention, embeddings, routers, norms) = {_b(n)}. With multi-query "
        f"attention it would be {_b(mqa)}."
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
    3700 / 560,
    "ratio",
    basis="derived",
)
def _():
    cfg = _gpt4()
    ratio = counting.param_count(cfg) / counting.active_param_count(cfg)
    return ratio, (
        f"Total over active parameters, {ratio:.2f}: the ratio of the article's two FLOP "
        "figures survives their wrong unit, since both are off by the same factor of 1,000."
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
    cfg = _gpt4()
    tp = int(published.get("gpt4.tensor_parallel").value)
    pp = int(published.get("gpt4.pipeline_parallel").value)
    dp = int(published.get("gpt4.n_gpus").value) // (tp * pp)
    hbm = hardware.get("a100").hbm_bytes

    def state(e):  # model state per GPU with ZeRO-1, bytes
        n = counting.param_count(cfg.replace(n_experts=e))
        return memory.training_memory_per_gpu(n, tp, pp, dp, zero_stage=1).total

    more = 2 * cfg.n_experts
    verdict = "exceeds" if state(more) > hbm else "fits in"
    return None, (
        f"Nothing public measures GPT-4's generalisation or convergence. What can be computed: "
        f"with {more} experts of the same size the model would hold "
        f"{counting.param_count(cfg.replace(n_experts=more)) / 1e12:.1f}T parameters for the "
        f"same {_b(counting.active_param_count(cfg))} active, and its model state (bf16 "
        f"weights and gradients, Adam state sharded by ZeRO-1) would take "
        f"{state(more) / 1e9:,.0f} GB per GPU in the reported {tp}×{pp} layout "
        f"({cfg.n_experts} experts: {state(cfg.n_experts) / 1e9:,.0f} GB), which {verdict} an "
        f"A100's {hbm / 1e9:.0f} GB. The page 'What experts buy' measures the loss side at "
        "small scale."
    )


@claims.register(
    "moe-gpt4-simple-routing",
    claims.GPT4_LEAK,
    "GPT-4's routing algorithm is relatively simple.",
    None,
    "—",
    basis="none",
)
def _():
    return None, (
        "Not checkable: no detail is given. The chapter's router (top-k of a linear "
        "layer's logits, softmax over the chosen) is the simple kind such a statement "
        "would describe."
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
