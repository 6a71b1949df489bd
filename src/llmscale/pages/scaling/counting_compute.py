"""Counting compute: the LiGO compute claims, GPT-3's compute revisited, and the page's exercises."""

from __future__ import annotations

from ... import claims, cost, counting, exercises, presets, published

REVISITS = ("growth-gpt3-compute",)  # GPT-3's training compute, checked on Parameter growth


HOURS_PER_MONTH = 365.25 * 24 / 12


def _p(key: str) -> float:
    return published.get(key).value


# --- GPT-3 175B on 10,000 V100s -------------------------------------------------------------

def gpt3_flops() -> float:
    """GPT-3 175B's training compute as its paper prints it (Table D.1), FLOPs."""
    return _p("gpt3-175b.train_flops")


def gpt3_gpu_hours() -> float:
    """V100-hours GPT-3 175B needed at the 24.6 TFLOP/s per GPU that OpenAI reported."""
    return gpt3_flops() / _p("gpt3-175b.tflops_per_gpu") / 3600.0


def lambda_price_per_v100_hour() -> float:
    """The V100 price behind Lambda's $4.6M estimate: $4.6M over 355 V100-years."""
    return _p("gpt3-175b.lambda_cost_dollars") / (_p("gpt3-175b.lambda_v100_years") * 365.25 * 24)


def gpt3_dollars() -> float:
    """GPT-3 175B's run priced at Lambda's V100 price, dollars."""
    return gpt3_gpu_hours() * lambda_price_per_v100_hour()


# --- GPT-4 as reported ------------------------------------------------------------------------

def gpt4_flops() -> float:
    """6·N_active·D for GPT-4 as reported: the preset's active parameters and 13T tokens."""
    p = presets.preset("gpt4-reported")
    return counting.approx_training_flops(counting.active_param_count(p.config), p.train_tokens)


def gpt4_days_mid() -> float:
    return (_p("gpt4.train_days_low") + _p("gpt4.train_days_high")) / 2


def gpt4_mfu_mid() -> float:
    return (_p("gpt4.mfu_low") + _p("gpt4.mfu_high")) / 2


def gpt4_gpu_hours(days: float | None = None) -> float:
    """A100-hours of the reported run: 25,000 GPUs for `days` (default the middle of 90-100)."""
    return _p("gpt4.n_gpus") * (gpt4_days_mid() if days is None else days) * 24


# --- PaLM 540B's energy -----------------------------------------------------------------------

def palm_chip_hours() -> float:
    """TPU v4 chip-hours of PaLM 540B's run (two phases, downtime included)."""
    return (_p("palm-540b.chips_phase1") * _p("palm-540b.hours_phase1")
            + _p("palm-540b.chips_phase2") * _p("palm-540b.hours_phase2"))


def palm_energy_mwh() -> float:
    """PaLM 540B's energy at the wall: chip-hours × measured system power per chip × PUE, MWh."""
    return cost.energy_mwh(palm_chip_hours(), _p("palm-540b.system_watts_per_chip"), _p("palm-540b.pue"))


# ==============================================================================================
# Page "Counting compute"
# ==============================================================================================

@claims.register("compute-ligo-flops", claims.LIGO_HALF_COST,
          "Growing BERT-Base from BERT-Small with LiGO saves 44.7% of the FLOPs of training it from scratch.",
          0.447, "fraction of FLOPs saved", rel_tol=0.01)
def _():
    saved = _p("ligo.bert_base_flops_saving")
    return saved, (f"The paper reports {saved:.1%} for BERT-Base. A published measurement, not a "
                   "computation: the FLOPs LiGO saves depend on how quickly the grown model reaches the "
                   "scratch model's loss, which no formula gives.")


@claims.register("compute-ligo-halves-llm-compute", claims.LIGO_HALF_COST,
          "LiGO halves the compute cost of training large language models.",
          0.5, "fraction of FLOPs saved", rel_tol=None)
def _():
    headline = _p("ligo.headline_saving")
    bert = _p("ligo.bert_base_flops_saving")
    grown = counting.param_count(presets.get("gpt2-medium"))
    gpt3 = counting.param_count(presets.get("gpt3-175b"))
    return None, (f"The paper's abstract says 'up to {headline:.0%}' and its BERT-Base result is {bert:.1%}; "
                  f"its largest grown language models (BERT-Large, GPT-2 Medium, about {grown / 1e9:.2f}B "
                  f"parameters) are {gpt3 / grown:,.0f}× smaller than GPT-3. Nothing measured says what "
                  "LiGO saves at LLM scale.")


# ==============================================================================================
# Page "What training costs"
# ==============================================================================================

# --- seed 000: GPT-4 ----------------------------------------------------------------------------

# --- seed 003 -----------------------------------------------------------------------------------

def _gpt3_gpu_count_note() -> str:
    n = _p("gpt3-175b.n_gpus")
    mfu = cost.implied_mfu(gpt3_flops(), "v100", n, _p("gpt3-175b.train_days"), dtype="fp16")
    return (f"Patterson et al. report {n:,.0f} V100s for GPT-3 175B's {_p('gpt3-175b.train_days')} days; "
            f"with the paper's {gpt3_flops():.3g} FLOPs that is {mfu:.1%} MFU, a plausible figure for V100s. "
            "A published count, checked for plausibility, not derived.")


# --- seed 004 -----------------------------------------------------------------------------------


def _attention_equals_weights(name: str) -> float:
    """Context at which the attention FLOPs of a token equal its weight FLOPs (forward)."""
    cfg = presets.get(name)
    weights = counting.flops_per_token(cfg, context=0)
    per_key = counting.flops_per_token(cfg, context=1) - weights  # 2·2·L·h·d_h
    return weights / per_key


exercises.register("counting-compute-1",
         lambda: counting.training_flops(presets.get("llama-13b"), 1e12),
         rel_tol=0.01, unit="FLOP",
         hint="Per token: 6 FLOPs per weight the token multiplies (attention, SwiGLU's three matrices, "
              "the LM head) plus 3·2·2·L·S·h·d_h for the attention scores and values; times 1e12 tokens. "
              "6·N·D alone comes out a few percent low.")
exercises.register("counting-compute-2",
         lambda: _attention_equals_weights("gpt3-175b"),
         rel_tol=0.01, unit="tokens",
         hint="Set 2·2·L·S·h·d_h equal to 2 × (weights a token multiplies) and solve for S: "
              "about 6·d for a GPT block with 12·d² weights per layer.")
exercises.register("counting-compute-3",
         lambda: 8 * 1024 * counting.flops_per_token(presets.get("gpt2-small"), context=1024, training=True),
         rel_tol=0.001, unit="FLOP",
         hint="Forward: 2·(12·L·d² + V·d) + 2·2·L·S·d per token; training is 3× forward; times 8·1024 tokens.")
