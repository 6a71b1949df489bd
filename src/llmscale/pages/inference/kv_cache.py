"""The KV cache: the page's claims (GPT-4's multi-query attention and its 32k context) and exercises,
and the helpers the page computes with (FLOPs per generated token, the longest context a GPU holds)."""

from __future__ import annotations

import math

from ... import claims, counting, exercises, hardware, presets, published
from ..._validate import positive_int, positive_number
from ...inference import kv_cache, serving_cost

MODELS = ("llama-65b", "llama3-70b", "gpt3-175b", "gpt4-reported", "deepseek-v3")  # the page's table


def gpt4_mqa():
    """GPT-4 as reported with the leak's multi-query attention (one key/value head)."""
    return presets.get("gpt4-reported").replace(n_kv_heads=int(published.get("serving.gpt4_kv_heads").value))


def flops_per_generated_token(cfg, context: int, use_cache: bool = True) -> float:
    """Forward matmul FLOPs to produce the token after `context` tokens: with the cache one token
    meets `context` + 1 keys; without it all context + 1 tokens are recomputed, each meeting all
    of them (the kernel computes the full square, masked or not)."""
    t = positive_int("context", context, "255") + 1
    if use_cache:
        return counting.flops_per_token(cfg, context=t)
    return t * counting.flops_per_token(cfg, context=t)


def longest_context(cfg, accelerator="a100-80gb", batch: int = 1, bytes_per_value: float = 2) -> int:
    """The most tokens per sequence whose cache, for `batch` sequences, fits on one GPU beside the
    weights (every parameter at bytes_per_value): ⌊(M − N·b) / (B · bytes per token)⌋, 0 if the
    weights alone do not fit. Activations and the framework's buffers are left out."""
    acc = hardware.get(accelerator)
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    batch = positive_int("batch", batch, "8")
    free = acc.hbm_bytes - counting.param_count(cfg) * b
    return max(0, math.floor(free / (batch * kv_cache.bytes_per_token(cfg, b))))


@claims.register(
    "kv-gpt4-uses-mqa",
    claims.GPT4_LEAK,
    "OpenAI uses multi-query attention in GPT-4, like many others.",
    True,
    "yes/no",
    basis="none",
)
def _():
    return None, (
        "No public source describes GPT-4's attention; the book takes one key/value head as the "
        "leak's assumption on the serving pages, and checks below only what MQA would buy."
    )


@claims.register(
    "kv-gpt4-mqa-shrinks-cache",
    claims.GPT4_LEAK,
    "With multi-query attention the model needs only one key/value head, which considerably "
    "reduces the memory of the KV cache (checked: the cache shrinks by the head count h/h_kv).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    mha, mqa = presets.get("gpt4-reported"), gpt4_mqa()
    ratio = kv_cache.bytes_per_token(mha) / kv_cache.bytes_per_token(mqa)
    s = int(published.get("serving.gpt4_context").value)
    return ratio == mha.n_heads and ratio > 1, (
        f"For GPT-4 as reported ({mha.n_layers} layers, {mha.n_heads} heads of {mha.head_dim_}), bf16: "
        f"{kv_cache.bytes_per_token(mha) / 1e6:.2f} MB per token with one key/value head per query head, "
        f"{kv_cache.bytes_per_token(mqa) / 1e3:.1f} kB with one: {ratio:.0f}× less, "
        f"{kv_cache.bytes_per_sequence(mha, s) / 1e9:.1f} GB against "
        f"{kv_cache.bytes_per_sequence(mqa, s) / 1e9:.2f} GB per {s:,}-token sequence. "
        "The head count is the preset's (from the leak's shape), so the factor inherits its assumption."
    )


def gpt4_32k_on_40gb() -> tuple[int, int]:
    """(most 32k-token sequences whose MQA cache fits beside GPT-4's bf16 weights on the leak's 128
    A100-40GB, the leak's batch of sequences in flight)."""
    n_gpus = int(published.get("gpt4.serving_gpus").value)
    fits = serving_cost.max_concurrent_sequences(gpt4_mqa(), "a100-40gb", n_gpus, 32768)
    return fits, int(published.get("serving.gpt4_batch").value)


@claims.register(
    "kv-gpt4-32k-not-on-a100-40gb",
    claims.GPT4_LEAK,
    "Despite multi-query attention, GPT-4 with 32k context cannot run on 40 GB A100s (checked: at "
    "the leak's batch, on its 128-GPU cluster, weights and cache split freely).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    fits, batch = gpt4_32k_on_40gb()
    cfg = gpt4_mqa()
    per_seq = kv_cache.bytes_per_sequence(cfg, 32768)
    return fits < batch, (
        f"One 32,768-token sequence caches {per_seq / 1e9:.2f} GB with one key/value head (bf16). Beside "
        f"{counting.param_count(cfg) * 2 / 1e12:.2f} TB of weights, 128 A100-40GB hold the cache of {fits:,} "
        f"such sequences, fewer than the {batch:,} the leak's serving batch keeps in flight: at that batch "
        "32k does not fit, though a batch of a few hundred would (in 40 GB per GPU with one head "
        "replicated over the 8 tensor-parallel ranks, fewer still)."
    )


exercises.register(
    "kv-cache-1",
    lambda: kv_cache.bytes_per_sequence(presets.get("llama3-70b"), 8192) / 2**30,
    rel_tol=0.005,
    unit="GiB",
    hint="L·2·h_kv·d_h·b bytes per token with Llama 3 70B's L = 80, h_kv = 8, d_h = 128, b = 2, "
    "times 8,192 tokens; 1 GiB = 2^30 bytes.",
)
exercises.register(
    "kv-cache-2",
    lambda: longest_context(presets.get("llama-7b"), "a100-80gb", batch=4),
    rel_tol=0.002,
    unit="tokens",
    hint="(80·2^30 − N·2) / (4 · L·2·h·d_h·2) with LLaMA-7B's N from counting.param_count, L = 32, "
    "h·d_h = 4096 (multi-head attention), rounded down.",
    kind="derive",
)


def generation_flops(cfg, prompt_len: int, new_tokens: int, use_cache: bool = True) -> float:
    """Forward FLOPs of the steps that produce `new_tokens` tokens after a prompt of `prompt_len`:
    the i-th new token comes from the query at position prompt_len − 1 + i (with the cache, the
    prompt's other tokens, fed once, are left out)."""
    p = positive_int("prompt_len", prompt_len, "512")
    n = positive_int("new_tokens", new_tokens, "512")
    return sum(flops_per_generated_token(cfg, p - 1 + i, use_cache) for i in range(n))


exercises.register(
    "kv-cache-3",
    lambda: (
        generation_flops(presets.get("gpt2-small"), 512, 512, use_cache=False)
        / generation_flops(presets.get("gpt2-small"), 512, 512)
    ),
    rel_tol=0.005,
    unit="×",
    hint="Each step's ratio is t, the tokens its query meets (from 512 to 1,023); summed, the ratio is "
    "the mean of t weighted by the cached step's FLOPs C(t), which grow with t: a little above the "
    "plain mean. Use generation_flops(cfg, 512, 512, use_cache) for both.",
    kind="predict",
)
