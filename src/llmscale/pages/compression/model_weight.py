"""What a model weighs: the page's claims (the cost-slimming article's storage and quantization
claims) and exercises, and the helpers the page computes with."""

from __future__ import annotations

from datetime import date, timedelta

from ... import claims, exercises, presets, published
from ...compression import formats

MODELS = ("llama-7b", "llama-65b", "llama3-70b", "gpt3-175b", "deepseek-v3", "gpt4-reported")  # the page's tables
SCHEMES = ("fp32", "bf16", "fp8-block128", "int8-channel", "int4-g128", "int3-g128", "int2-g64")
GPUS = ("a100-40gb", "a100-80gb", "h100", "h200")
# ERNIE (Wenxin) 4.0, which the article names, was launched on 17 October 2023: the article is
# not older, and its "less than a year" is read as the year before that day.
ARTICLE_DAY = date(2023, 10, 17)


def frontier(day: date) -> tuple[str, int]:
    """The largest of the book's presets released by `day`: (name, parameters)."""
    released = [p for p in presets.all_presets() if p.released <= day]
    if not released:
        raise ValueError(f"day={day} is before every preset's release; choose a day after 2017-06-12")
    best = max(released, key=lambda p: p.n_params)
    return best.name, best.n_params


def frontier_growth(end: date, days: int = 365) -> float:
    """How many times the largest preset grew in the `days` before `end`."""
    return frontier(end)[1] / frontier(end - timedelta(days=days))[1]


def largest_yearly_growth() -> tuple[float, date]:
    """The largest growth of the frontier over any 365 days among the presets' release dates,
    and the day that window ends."""
    days = sorted({p.released for p in presets.all_presets()})[1:]
    return max((frontier_growth(d), d) for d in days)


def stable_diffusion_params() -> int:
    """Stable Diffusion v1's UNet and text encoder, as its model card gives them."""
    return int(published.get("sd1.unet_params").value + published.get("sd1.text_encoder_params").value)


def _bits(scheme: str) -> int:
    return formats.SCHEMES[scheme].format.bits


@claims.register(
    "weight-precision-storage",
    claims.COST_SLIMMING,
    "The higher a model's precision, the more storage it needs, and quantization reduces the space "
    "the model occupies (checked: for every published model of the page, the weights' bytes fall "
    "with every step down the formats, scales and zero points counted).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    steps = [(a, b) for a, b in zip(SCHEMES, SCHEMES[1:]) if _bits(a) > _bits(b)]
    falls = all(
        formats.model_bytes(presets.get(m), a).total_bytes > formats.model_bytes(presets.get(m), b).total_bytes
        for m in MODELS
        for a, b in steps
    )
    gpt3 = presets.get("gpt3-175b")
    bf16, int4 = (formats.model_bytes(gpt3, s).total_bytes for s in ("bf16", "int4-g128"))
    return falls, (
        f"Bytes are proportional to bits per weight (eq. bits-per-weight), so the claim holds as long "
        f"as the scales cost less than the bits saved: GPT-3 175B weighs {bf16 / 1e9:,.0f} GB in bf16 and "
        f"{int4 / 1e9:,.0f} GB in int4 with fp16 scales per 128 weights ({bf16 / int4:.2f}× less, not 4×). "
        "Whether it keeps its 'inference ability' is measured on the quantization page, not here."
    )


@claims.register(
    "weight-params-100x-a-year",
    claims.COST_SLIMMING,
    "In less than a year the parameter scale of large models grew a hundredfold, and it now "
    "exceeds a trillion (checked: growth of the largest of the book's published models over the "
    "year before the article).",
    100,
    "× in a year",
    basis="derived",
    bound=">=",
)
def _():
    growth = frontier_growth(ARTICLE_DAY)
    before, now = frontier(ARTICLE_DAY - timedelta(days=365)), frontier(ARTICLE_DAY)
    best, end = largest_yearly_growth()
    then_before, then = frontier(end - timedelta(days=365)), frontier(end)
    return growth, (
        f"The largest model among the presets went from {before[0]} ({before[1] / 1e9:,.0f}B) to "
        f"{now[0]} ({now[1] / 1e12:.2f}T, the leak's figure) in the year to {ARTICLE_DAY:%B %Y}: "
        f"{growth:.1f}×. A trillion is passed, but a hundredfold year is {end.year - 1}–{end.year}'s, "
        f"{then_before[0]} to {then[0]} ({best:.0f}×), three years before the article. The presets are "
        "the book's sample, not every model (Switch-C's 1.6T of January 2021 is missing), which could "
        "only shrink the article's window further."
    )


@claims.register(
    "weight-sd-on-phone",
    claims.COST_SLIMMING,
    "Qualcomm AI Research used quantization to keep a model accurate at lower precision, and "
    "deployed Stable Diffusion on Android smartphones for the first time.",
    True,
    "yes/no",
    basis="none",
)
def _():
    n = stable_diffusion_params()
    fp32, int8 = (formats.model_bytes(n, s).total_bytes for s in ("fp32", formats.Scheme("int8", "tensor")))
    return None, (
        "A first and an accuracy kept are not quantities the book can compute, and the article names no "
        f"phone or memory. What quantization did to the bytes is: Stable Diffusion v1's UNet and text "
        f"encoder ({n / 1e6:,.0f}M parameters, its model card) take {fp32 / 1e9:.1f} GB in fp32, "
        f"{int8 / 1e9:.2f} GB in int8, a quarter ({published.get('sd1.qualcomm_format').source})."
    )


exercises.register(
    "model-weight-1",
    lambda: formats.Scheme("int3", 64, symmetric=False, zero_bits=16).bits_per_weight(),
    rel_tol=1e-6,
    unit="bits per weight",
    hint="b + (b_scale + b_zero)/g with b = 3, a 16-bit scale and a 16-bit zero point per group of g = 64.",
)
exercises.register(
    "model-weight-2",
    lambda: formats.gpus_needed(presets.get("deepseek-v3"), "fp8-block128", "h100", batch=16, context=4096),
    rel_tol=0,
    unit="H100s",
    hint="Weights: formats.model_bytes(deepseek-v3, 'fp8-block128'); cache: 16 sequences of 4,096 tokens of "
    "latent attention, L·(d_c + d_R)·2 bytes per token; divide by 80 GiB and round up.",
    kind="derive",
)
exercises.register(
    "model-weight-3",
    lambda: formats.model_bytes(presets.get("llama-7b"), "int4-g128", keep_embeddings=True).bits_per_param,
    rel_tol=0.002,
    unit="bits per parameter",
    hint="The matrices cost 4.125 bits each; the embedding table and the head (2·V·d = 262M of 6.74B "
    "parameters) and the norms cost 16: weight the two by their parameter counts.",
    kind="predict",
)
