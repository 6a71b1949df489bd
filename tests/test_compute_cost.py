"""Training compute and cost: the run calculator, the papers' figures, the claims, PyTorch's counter."""

import contextlib
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from llmscale import claims, cost, counting, hardware, model, presets, published, units
from llmscale.config import ModelConfig

P = lambda key: published.get(key).value  # noqa: E731


# --- the calculator ---------------------------------------------------------------------------


def test_training_run_of_a_config_uses_the_exact_count_and_estimate():
    cfg = presets.get("llama-7b")
    run = cost.training_run(cfg, 1e12, accelerator="a100", n_gpus=1024, mfu=0.5, price_per_gpu_hour=2.0)
    flops = counting.training_flops(cfg, 1e12)
    est = cost.estimate(flops, "a100", n_gpus=1024, mfu=0.5, price_per_gpu_hour=2.0)
    assert run.flops == pytest.approx(flops)
    assert run.params == counting.param_count(cfg)
    assert (run.gpu_hours, run.days, run.dollars, run.energy_mwh) == pytest.approx(
        (est.gpu_hours, est.days, est.dollars, est.energy_mwh)
    )
    assert run.tokens_per_s_per_gpu * run.gpu_hours * 3600 == pytest.approx(1e12)
    assert "exact" in run.method and "LLaMA" not in run.model


def test_training_run_of_a_parameter_count_uses_6nd():
    run = cost.training_run(65e9, 1.4e12, accelerator="a100", n_gpus=2048, mfu=0.5)
    assert run.flops == pytest.approx(6 * 65e9 * 1.4e12)
    assert run.method == "6·N"


def test_training_run_of_a_preset_name_takes_the_papers_tokens():
    run = cost.training_run("llama-65b", accelerator="a100", n_gpus=2048, mfu=0.5)
    assert run.tokens == presets.preset("llama-65b").train_tokens
    assert run.model == "LLaMA 65B"


def test_training_run_of_a_moe_counts_active_parameters():
    cfg = presets.get("mixtral-8x7b")
    run = cost.training_run(cfg, 1e12)
    assert run.params == counting.active_param_count(cfg) < counting.param_count(cfg)


@pytest.mark.parametrize(
    "args,kwargs,field",
    [
        (("llama-7b",), dict(tokens=-1), "tokens"),
        ((presets.get("llama-7b"),), {}, "tokens"),
        ((presets.get("llama-7b"), 1e12), dict(mfu=0), "mfu"),
        ((presets.get("llama-7b"), 1e12), dict(n_gpus=0), "n_gpus"),
        ((presets.get("llama-7b"), 1e12), dict(accelerator="tpu-v9"), "accelerator"),
        ((presets.get("llama-7b"), 1e12), dict(price_per_gpu_hour=-1), "price_per_gpu_hour"),
        (([1, 2], 1e12), {}, "model"),
        ((True, 1e12), {}, "model"),
        ((7e9, 1e12), dict(context=2048), "context"),
        (("gpt-5",), dict(tokens=1e12), "preset"),
    ],
)
def test_training_run_rejects_bad_input_naming_the_field(args, kwargs, field):
    with pytest.raises(ValueError, match=field):
        cost.training_run(*args, **kwargs)


@settings(max_examples=50, deadline=None)
@given(
    flops=st.floats(1e18, 1e26),
    mfu=st.floats(0.01, 1.0),
    n=st.integers(1, 100_000),
    acc=st.sampled_from(sorted(hardware.ACCELERATORS)),
)
def test_throughput_hours_and_mfu_are_mutually_inverse(flops, mfu, n, acc):
    dtype = "fp16" if acc.startswith("V100") else "bf16"
    hours = cost.gpu_hours(flops, acc, mfu, dtype)
    assert cost.mfu_from_gpu_hours(flops, acc, hours, dtype) == pytest.approx(mfu)
    per_token = 6 * 7e9
    tps = cost.tokens_per_second(per_token, acc, mfu, n_gpus=n, dtype=dtype)
    assert cost.mfu_from_throughput(tps, per_token, acc, n_gpus=n, dtype=dtype) == pytest.approx(mfu)
    days = hours / n / 24
    assert cost.gpus_needed(flops, acc, days, mfu, dtype) == pytest.approx(n)


def test_energy_is_hours_times_watts_times_pue():
    assert cost.energy_mwh(1000, 400, 1.1) == pytest.approx(0.44)
    with pytest.raises(ValueError, match="pue"):
        cost.energy_mwh(1000, 400, 0.9)
    with pytest.raises(ValueError, match="watts"):
        cost.energy_mwh(1000, 0)


# --- the papers' figures, reproduced ------------------------------------------------------------


def test_every_published_figure_has_a_source_and_a_positive_value():
    for key, fig in published.figures().items():
        assert fig.unit and len(fig.source) > 20, key
        assert fig.value > 0 or (fig.unit == "1 = public" and fig.value == 0), key  # 0: not released


@pytest.mark.parametrize("size", ["small", "medium", "large", "xl", "2.7b", "6.7b", "13b", "175b"])
def test_gpt3_table_d1_is_6nd_and_its_pf_days_match_its_flops(size):
    flops, pf_days = P(f"gpt3-{size}.train_flops"), P(f"gpt3-{size}.train_pf_days")
    assert units.pf_days(flops) == pytest.approx(pf_days, rel=0.005)
    n = counting.param_count(presets.get(f"gpt3-{size}"))
    assert counting.approx_training_flops(n, 300e9) == pytest.approx(flops, rel=0.02)


def test_palm_compute_6nd_and_with_attention_match_its_two_tables():
    cfg = presets.get("palm-540b")
    tokens = presets.preset("palm-540b").train_tokens
    assert counting.approx_training_flops(counting.param_count(cfg), tokens) == pytest.approx(
        P("palm-540b.train_flops_6nd"), rel=0.002
    )
    assert counting.flops_per_token(cfg, training=True) == pytest.approx(P("palm-540b.flops_per_token"), rel=0.002)
    assert counting.training_flops(cfg, tokens) == pytest.approx(P("palm-540b.train_flops"), rel=0.002)


def test_palm_mfu_from_its_throughput_reproduces_the_paper():
    n_chips, tps = P("palm-540b.chips_phase1"), P("palm-540b.tokens_per_s")
    no_attention = cost.mfu_from_throughput(tps, 6 * 540e9, "tpuv4", n_chips)  # the paper's own rounding
    with_attention = cost.mfu_from_throughput(
        tps, counting.flops_per_token(presets.get("palm-540b"), training=True), "tpuv4", n_chips
    )
    assert no_attention == pytest.approx(P("palm-540b.mfu_no_attention"), abs=0.0005)
    assert with_attention == pytest.approx(P("palm-540b.mfu"), abs=0.001)


def test_palm_energy_reproduces_its_emissions():
    from llmscale.pages.scaling.training_cost import palm_energy_mwh

    assert palm_energy_mwh() * P("palm-540b.tco2e_per_mwh") == pytest.approx(P("palm-540b.tco2e"), rel=0.001)


def test_llama65b_throughput_gives_the_reported_days_and_gpu_hours():
    tokens = presets.preset("llama-65b").train_tokens
    tps, n = P("llama-65b.tokens_per_s_per_gpu"), P("llama-65b.n_gpus")
    days = tokens / (tps * n) / 86_400
    assert days == pytest.approx(P("llama-65b.train_days"), rel=0.02)
    assert tokens / tps / 3600 == pytest.approx(P("llama-65b.gpu_hours"), rel=0.005)


@pytest.mark.parametrize("size", ["7b", "13b", "33b", "65b"])
def test_llama_energy_is_gpu_hours_times_400w_times_pue(size):
    energy = cost.energy_mwh(P(f"llama-{size}.gpu_hours"), P("llama.gpu_watts"), P("llama.pue"))
    assert energy == pytest.approx(P(f"llama-{size}.energy_mwh"), abs=1)


@pytest.mark.parametrize("size", ["7b", "13b", "33b", "65b"])
def test_llama_implied_mfu_is_plausible(size):
    p = presets.preset(f"llama-{size}")
    flops = counting.training_flops(p.config, p.train_tokens)
    assert 0.40 < cost.mfu_from_gpu_hours(flops, "a100", P(f"llama-{size}.gpu_hours")) < 0.60


def test_gpt3_row_of_patterson_et_al_is_one_calculation_from_the_papers_compute():
    # C / rate gives the GPU-hours; over the assumed 10,000 GPUs, the 14.8 days; at 330 W and
    # PUE 1.1, the 1,287 MWh. The days and the energy are arithmetic, not separate measurements.
    hours = P("gpt3-175b.train_flops") / P("gpt3-175b.tflops_per_gpu") / 3600
    assert round(hours / P("gpt3-175b.n_gpus") / 24, 1) == P("gpt3-175b.train_days")
    energy = cost.energy_mwh(hours, P("gpt3-175b.system_watts_per_gpu"), P("gpt3-175b.pue"))
    assert round(energy) == P("gpt3-175b.energy_mwh")
    # with the rounded 14.8 days instead, the energy misses the table's figure
    assert round(cost.energy_mwh(P("gpt3-175b.n_gpus") * P("gpt3-175b.train_days") * 24, 330, 1.1)) != 1287
    # the count is the size of the machine Microsoft announced
    assert P("gpt3-175b.n_gpus") == P("gpt3.azure_supercomputer_gpus")


def test_lambda_estimate_is_separate_hours_at_a_higher_rate():
    from llmscale.pages.scaling.training_cost import gpt3_gpu_hours, lambda_tflops_per_v100, lambda_v100_hours

    assert lambda_tflops_per_v100() == pytest.approx(28e12, rel=0.002)
    assert lambda_v100_hours() < gpt3_gpu_hours()
    assert lambda_v100_hours() * 1.48 == pytest.approx(P("gpt3-175b.lambda_cost_dollars"), rel=0.01)


def test_gpt4_leak_is_one_consistent_equation_except_its_price():
    c = P("gpt4.train_flops")
    mfu = cost.implied_mfu(c, "a100", P("gpt4.n_gpus"), 95)
    assert P("gpt4.mfu_low") < mfu < P("gpt4.mfu_high")
    hours_range = [P("gpt4.n_gpus") * d * 24 for d in (P("gpt4.train_days_low"), P("gpt4.train_days_high"))]
    assert P("gpt4.train_dollars") / P("gpt4.price_per_a100_hour") > max(hours_range)


# --- the claims -------------------------------------------------------------------------------

EXPECTED = {  # id: (verdict, basis)
    "cost-gpt4-gpus": ("consistent", "derived"),
    "cost-gpt4-days": ("consistent", "derived"),
    "cost-gpt4-mfu": ("consistent", "derived"),
    "cost-gpt4-dollars": ("inconsistent", "derived"),
    "cost-gpt4-dollars-8-15m": ("inconsistent", "derived"),
    "cost-gpt3-gpus-003": ("consistent", "primary-source"),
    "cost-gpt3-cpu-cores-003": ("consistent", "primary-source"),
    "cost-palm-energy": ("inconsistent", "derived"),
    "cost-palm-duration": ("consistent", "derived"),
    "cost-palm-households": ("consistent", "derived"),
    "cost-openai-loss-2022": ("out of scope", "none"),
    "cost-anthropic-10b": ("out of scope", "none"),
    "cost-azure-16x": ("out of scope", "none"),
    "cost-gpt3-dollars": ("consistent", "primary-source"),
    "cost-gpt3-gpus-004": ("consistent", "primary-source"),
    "cost-gpt3-gpu-type": ("inconsistent", "primary-source"),
    "cost-gpt3-cpu-cores-004": ("consistent", "primary-source"),
    "cost-gpt3-days": ("consistent", "derived"),
    "cost-gpt3-gpu-hours": ("consistent", "derived"),
    "cost-chatgpt-run-millions": ("consistent", "derived"),
    "cost-microsoft-2019": ("out of scope", "none"),
    "cost-microsoft-2023": ("out of scope", "none"),
    "cost-ligo-walltime": ("consistent", "primary-source"),
    "cost-ligo-half-time": ("inconsistent", "primary-source"),
    "compute-ligo-flops": ("consistent", "primary-source"),
    "compute-ligo-halves-llm-compute": ("inconsistent", "primary-source"),
}


def test_compute_and_cost_claims_have_the_expected_verdicts_and_bases():
    by_id = {r.id: r for r in claims.evaluate()}
    assert {i for i in by_id if i.startswith("cost-")} == {i for i in EXPECTED if i.startswith("cost-")}
    for claim_id, (verdict, basis) in EXPECTED.items():
        assert (by_id[claim_id].verdict, by_id[claim_id].basis) == (verdict, basis), (claim_id, by_id[claim_id].note)
    assert by_id["cost-palm-energy"].computed == pytest.approx(3.4e6, rel=0.02)  # kWh: 3.4 GWh
    assert by_id["cost-gpt3-gpu-hours"].computed == pytest.approx(3.55e6, rel=0.005)
    assert by_id["cost-gpt4-mfu"].computed == pytest.approx(0.34, abs=0.01)
    # ranges are compared as ranges, the LiGO claim as a bound, the GPU type as yes or no
    assert by_id["cost-gpt4-days"].kind == by_id["cost-gpt4-mfu"].kind == "range"
    assert by_id["cost-gpt4-dollars-8-15m"].kind == by_id["cost-chatgpt-run-millions"].kind == "range"
    assert by_id["cost-ligo-half-time"].kind == "bound" and by_id["cost-ligo-half-time"].computed < 0.5
    assert by_id["cost-gpt3-gpu-type"].kind == "yes/no"


def test_one_equation_claims_say_they_check_the_articles_arithmetic():
    by_id = {r.id: r for r in claims.evaluate(page="scaling/training_cost")}
    for claim_id in ("cost-gpt4-gpus", "cost-gpt4-days", "cost-gpt4-mfu"):
        assert "one equation" in by_id[claim_id].note and "arithmetic" in by_id[claim_id].note
    for claim_id in ("cost-gpt3-days", "cost-gpt3-gpu-hours"):
        assert "assumed" in by_id[claim_id].note


def test_claim_notes_carry_the_computed_numbers():
    by_id = {r.id: r for r in claims.evaluate()}
    r = by_id["cost-gpt3-gpu-hours"]
    assert f"{r.computed / 1e6:.3f}M" in r.note
    assert "GWh" in by_id["cost-palm-energy"].note


# --- PyTorch's own FLOP counter on real presets (meta device: shapes only) ----------------------


def _count(cfg, seq, backend):
    with torch.device("meta"):
        m = model.Decoder(cfg)
        x = torch.randint(0, cfg.vocab_size, (1, seq))
    ctx = sdpa_kernel(backend) if backend is not None else contextlib.nullcontext()
    with ctx, FlopCounterMode(display=False) as counter:
        _, loss = m(x, x)
        loss.backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("name,seq", [("gpt2-small", 1024), ("llama-7b", 256), ("gpt2-medium", 4096)])
def test_training_flops_equal_pytorch_counter_on_published_configs(name, seq):
    cfg = presets.get(name).replace(seq_len=max(seq, presets.get(name).seq_len))
    assert _count(cfg, seq, SDPBackend.MATH) == seq * counting.flops_per_token(cfg, context=seq, training=True)


def test_default_attention_kernel_counts_no_more_than_the_math_kernel():
    # FlopCounterMode has no formula for some fused attention kernels (torch 2.13 on CPU counts 0
    # for them): the book counts under the MATH backend, which runs plain matmuls.
    cfg = ModelConfig(n_layers=2, d_model=64, n_heads=4, vocab_size=97, seq_len=128)
    math_count = _count(cfg, 128, SDPBackend.MATH)
    default = _count(cfg, 128, None)
    weights_only = 128 * counting.flops_per_token(cfg, context=0, training=True)
    assert weights_only <= default <= math_count
    assert math_count - weights_only == 128 * 3 * 2 * 2 * cfg.n_layers * 128 * cfg.d_model
    assert math.isclose(math_count, 128 * counting.flops_per_token(cfg, context=128, training=True))
