"""What serving costs: the page's claims (the prices, layouts and bills of serving) and exercises."""

from __future__ import annotations

from ... import claims, counting, exercises, hardware, presets, published
from ...inference import kv_cache, serving_cost

REVISITS = ("moe-gpt4-serving-node", "moe-gpt4-inference-cost")  # checked on The arithmetic of experts

A100_HOUR = "gpt4.price_per_a100_hour"  # the leak's $1 per A100-hour
H100_HOUR = "serving.price_per_h100_hour"  # the leak's $2 per H100-hour
BYTES = {"bf16": 2, "fp8": 1}  # weights and cache stored in the dtype the matmuls run in


def _fig(key: str) -> float:
    return published.get(key).value


def gpt4_served():
    """GPT-4 as reported, with the leak's multi-query attention (one key/value head)."""
    return presets.get("gpt4-reported").replace(n_kv_heads=int(_fig("serving.gpt4_kv_heads")))


def leak_layout(
    accelerator: str = "a100",
    dtype: str = "bf16",
    *,
    sequences: int | None = None,
    context: int | None = None,
    dollars_per_gpu_hour: float | None = None,
    efficiency: float = 1.0,
    cfg=None,
) -> serving_cost.LayoutCost:
    """The leak's serving layout (8-way tensor × 16-way pipeline) on `accelerator`, priced from the
    roofline: `sequences` in flight (None: the leak's 4,096) in 16 micro-batches, `context`
    tokens each (None: 8,192), at the leak's GPU-hour price for the chip (None) and `efficiency`."""
    if dtype not in BYTES:
        raise ValueError(f"dtype={dtype!r} must be one of {sorted(BYTES)}")
    tp, pp = int(_fig("gpt4.serving_tensor_parallel")), int(_fig("gpt4.serving_pipeline_parallel"))
    sequences = int(_fig("serving.gpt4_batch")) if sequences is None else sequences
    if sequences % pp:
        raise ValueError(f"sequences={sequences} must split into {pp} micro-batches; use a multiple of {pp}")
    if dollars_per_gpu_hour is None:
        dollars_per_gpu_hour = _fig(H100_HOUR if hardware.get(accelerator).name.startswith("H100") else A100_HOUR)
    return serving_cost.layout_cost(
        gpt4_served() if cfg is None else cfg,
        accelerator,
        tp,
        pp,
        sequences // pp,
        int(_fig("serving.gpt4_context")) if context is None else context,
        dollars_per_gpu_hour,
        bytes_per_value=BYTES[dtype],
        dtype=dtype,
        efficiency=efficiency,
    )


def _usd(x: float) -> str:
    return f"${x:.5f}"


@claims.register(
    "serve-gpt4-a100-price",
    claims.GPT4_LEAK,
    "Serving GPT-4 8k on 128 A100s costs about $0.0049 per 1,000 tokens, at good utilisation and "
    "large batches (checked as attainable: at least the roofline's floor).",
    _fig("serving.gpt4_price_a100"),
    "USD per 1,000 generated tokens",
    basis="derived",
    bound="<=",
)
def _():
    ideal = leak_layout("a100")
    need = serving_cost.efficiency_for_price(_fig("serving.gpt4_price_a100"), ideal)
    return ideal.dollars_per_1k, (
        f"The roofline's floor (efficiency 1, bf16, MQA, the leak's {ideal.concurrent:,} sequences in "
        f"flight at {ideal.context:,} tokens, $1 per A100-hour) is {_usd(ideal.dollars_per_1k)} per "
        f"1,000 generated tokens ({ideal.tokens_per_s:,.0f} tokens/s, {ideal.bound}-bound); the claimed "
        f"price needs {need:.0%} of both roofs. The SemiAnalysis original's '$0.0049 cents' would be "
        f"{_fig('serving.gpt4_price_a100') / 100 / ideal.dollars_per_1k:.1%} of the floor: impossible."
    )


@claims.register(
    "serve-gpt4-h100-price",
    claims.GPT4_LEAK,
    "Serving GPT-4 8k on 128 H100s costs about $0.0021 per 1,000 tokens (checked as attainable: at "
    "least the roofline's floor, in bf16 like the A100 figure).",
    _fig("serving.gpt4_price_h100"),
    "USD per 1,000 generated tokens",
    basis="derived",
    bound="<=",
)
def _():
    bf16, fp8 = leak_layout("h100", "bf16"), leak_layout("h100", "fp8")
    a100 = leak_layout("a100")
    claimed = _fig("serving.gpt4_price_h100")
    implied = (_fig("serving.gpt4_price_a100") / claimed) * (_fig(H100_HOUR) / _fig(A100_HOUR))
    return bf16.dollars_per_1k, (
        f"At $2 per H100-hour and the A100 figure's batch and context, the bf16 floor is "
        f"{_usd(bf16.dollars_per_1k)} ({bf16.bound}-bound): the claim needs "
        f"{serving_cost.efficiency_for_price(claimed, bf16):.0%} of the roofs. In fp8 (weights and "
        f"cache in one byte) the floor is {_usd(fp8.dollars_per_1k)}, "
        f"{serving_cost.efficiency_for_price(claimed, fp8):.0%} needed. The two prices imply an H100 "
        f"{implied:.1f}× as fast as an A100; the roofline gives "
        f"{bf16.tokens_per_s / a100.tokens_per_s:.2f}× in bf16, {fp8.tokens_per_s / a100.tokens_per_s:.2f}× in fp8."
    )


@claims.register(
    "serve-gpt4-128-layout",
    claims.GPT4_LEAK,
    "GPT-4 is served on clusters of 128 GPUs, with 8-way tensor and 16-way pipeline parallelism "
    "(checked: the layout holds the weights and the cache of the leak's batch at 8k).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    lay = leak_layout("a100")
    cfg = gpt4_served()
    least = serving_cost.min_gpus_to_hold(cfg, "a100", lay.context, lay.concurrent)
    mha = serving_cost.max_concurrent_sequences(presets.get("gpt4-reported"), "a100", lay.n_gpus, lay.context)
    return lay.fits and lay.n_gpus == int(_fig("gpt4.serving_gpus")), (
        f"{lay.tensor} × {lay.pipeline} = {lay.n_gpus} A100s (80 GiB) hold {lay.weights_bytes / 1e12:.2f} TB "
        f"of bf16 weights and {lay.kv_bytes / 1e12:.2f} TB of cache for {lay.concurrent:,} sequences of "
        f"{lay.context:,} tokens with multi-query attention; {least} GPUs would be the least that hold "
        f"both. With 84 key/value heads instead of one, {mha:,} such sequences would fit."
    )


@claims.register(
    "serve-gpt3-five-a100",
    claims.COST_SLIMMING,
    "Serving GPT-3 175B after deployment needs at least five A100 GPUs.",
    int(_fig("serving.gpt3_min_a100s")),
    "A100s (80 GiB)",
    basis="derived",
    bound=">=",
)
def _():
    cfg = presets.get("gpt3-175b")
    fp16 = serving_cost.min_gpus_to_hold(cfg, "a100-80gb", cfg.seq_len, 1, 2)
    small = serving_cost.min_gpus_to_hold(cfg, "a100-40gb", cfg.seq_len, 1, 2)
    int8 = serving_cost.min_gpus_to_hold(cfg, "a100-80gb", cfg.seq_len, 1, 1)
    return fp16, (
        f"fp16 weights ({counting.param_count(cfg) * 2 / 1e9:,.0f} GB) and one {cfg.seq_len:,}-token "
        f"cache ({kv_cache.kv_cache_bytes(cfg, cfg.seq_len) / 1e9:.1f} GB) need {fp16} A100s of 80 GiB, "
        f"{small} of 40 GiB; in int8 {int8} of 80 GiB would do, so the claim holds for fp16 only."
    )


@claims.register(
    "serve-ernie-10x",
    claims.COST_SLIMMING,
    "A month after launch ERNIE Bot's inference was made about 10 times faster, and its inference cost cut to a tenth.",
    int(_fig("serving.ernie_speedup")),
    "× throughput",
    basis="none",
)
def _():
    cfg, a100 = presets.get("gpt3-175b"), "a100"
    one = serving_cost.layout_cost(cfg, a100, 8, 1, 1, cfg.seq_len, 1.0)
    batch = next(
        b
        for b in range(1, 4096)
        if serving_cost.layout_cost(cfg, a100, 8, 1, b, cfg.seq_len, 1.0).tokens_per_s >= 10 * one.tokens_per_s
    )
    return None, (
        "ERNIE Bot's size, hardware and throughput are not public. On the same hardware the two "
        "halves say one thing (cost per token is GPU-hours over tokens). What a 10× gain needs, on "
        f"the roofline of a 175B dense model on 8 A100s: a decode batch of {batch} instead of 1 "
        "(batching alone), while int8 weights give at most 2× and a batch-1 latency gain of 10× is "
        "impossible once decoding runs at the memory roof."
    )


def chatgpt_implied(dollars_per_gpu_hour: float, batch: int, context: int | None = None, replica_gpus: int = 8):
    """What $700,000 a day implies if ChatGPT were GPT-3 175B (an assumption: 'GPT-3.5-sized') on
    replicas of `replica_gpus` A100s (tensor-parallel), each decoding `batch` sequences of
    `context` tokens (None: 2,048) at the roofline: (GPUs, tokens per day, $ per 1,000 tokens)."""
    cfg = presets.get("gpt3-175b")
    bill = _fig("serving.chatgpt_dollars_per_day")
    gpus = serving_cost.gpus_for_daily_bill(bill, dollars_per_gpu_hour)
    lay = serving_cost.layout_cost(cfg, "a100", replica_gpus, 1, batch, context or cfg.seq_len, dollars_per_gpu_hour)
    tokens_per_day = gpus / replica_gpus * lay.tokens_per_s * 86400
    return (
        gpus,
        tokens_per_day,
        serving_cost.dollars_per_1k_tokens(replica_gpus, dollars_per_gpu_hour, lay.tokens_per_s),
    )


@claims.register(
    "serve-chatgpt-700k-day",
    claims.LIGO_HALF_COST,
    "It costs OpenAI about $700,000 every day to answer queries with ChatGPT.",
    _fig("serving.chatgpt_dollars_per_day"),
    "USD per day",
    basis="none",
)
def _():
    gpus, tokens, price = chatgpt_implied(_fig(A100_HOUR), 32)
    api = _fig("serving.gpt35_turbo_api_price")
    return None, (
        "ChatGPT's traffic, model and hardware are not public. At the leak's $1 per A100-hour the bill "
        f"rents {gpus:,.0f} A100s; if ChatGPT were GPT-3 175B on 8-A100 replicas decoding 32 sequences "
        f"of 2,048 tokens at the roofline (an assumption), they would generate {tokens / 1e9:,.0f} billion tokens "
        f"a day at {_usd(price)} per 1,000. At OpenAI's API price of ${api} per 1,000 the bill is "
        f"{serving_cost.tokens_per_day_for_bill(_fig('serving.chatgpt_dollars_per_day'), api) / 1e9:,.0f} "
        "billion tokens a day."
    )


# --- exercises ----------------------------------------------------------------------------------


def _fits_on_40gb() -> str:
    lay = leak_layout("a100-40gb")
    return "a" if lay.fits else "b"


exercises.register(
    "serving-cost-1",
    lambda: leak_layout("h100", "fp8", sequences=2048, context=32768).dollars_per_1k,
    rel_tol=0.01,
    unit="USD per 1,000 tokens",
    hint="leak_layout('h100', 'fp8', sequences=2048, context=32768): 16 micro-batches of 128, one byte "
    "per value, $2 per H100-hour, efficiency 1; the price is 128·p/(3600·T)·1000 with T = 128/t.",
)
exercises.register(
    "serving-cost-2",
    lambda: (
        16
        * serving_cost.batch_for_price(
            _fig("serving.gpt4_price_a100"),
            gpt4_served(),
            "a100",
            int(_fig("gpt4.serving_tensor_parallel")),
            int(_fig("gpt4.serving_pipeline_parallel")),
            int(_fig("serving.gpt4_context")),
            _fig(A100_HOUR),
            efficiency=0.5,
        )
    ),
    rel_tol=0.02,
    unit="sequences in flight",
    hint="At half of both roofs each step takes twice as long; serving_cost.batch_for_price with "
    "efficiency=0.5 gives the micro-batch, and 16 micro-batches are in flight.",
    kind="derive",
)
exercises.register_choice(
    "serving-cost-3",
    options={
        "a": "yes: the weights and the cache of all 4,096 sequences fit",
        "b": "no: the cache of 4,096 sequences at 8k no longer fits beside the weights",
    },
    answer=_fits_on_40gb,
    hint="128 × 40 GiB against the bf16 weights plus 4,096 × 8,192 tokens of a one-head cache "
    "(2·L·d_h·b bytes per token).",
    kind="predict",
)
