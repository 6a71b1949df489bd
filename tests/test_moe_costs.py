"""What experts cost (counting, parallelism.memory and .comms, inference.decode), the MoE claims, and moe-sweep."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale import claims, counting, experiments, presets, published
from llmscale.inference import decode
from llmscale.parallelism import comms, memory

GPT4 = presets.get("gpt4-reported")
MIXTRAL = presets.get("mixtral-8x7b")


# --- expected distinct experts ----------------------------------------------------------------


def _enumerated_distinct_experts(n_experts, top_k, batch):
    """Exact expectation by enumerating every way `batch` tokens can each pick k of E experts."""
    subsets = list(itertools.combinations(range(n_experts), top_k))
    total = 0
    for choice in itertools.product(subsets, repeat=batch):
        total += len(set().union(*choice))
    return total / len(subsets) ** batch


@pytest.mark.parametrize("n_experts,top_k,batch", [(4, 2, 2), (4, 1, 3), (5, 2, 3), (6, 3, 2), (8, 2, 2)])
def test_expected_distinct_experts_equals_exhaustive_enumeration(n_experts, top_k, batch):
    assert decode.expected_distinct_experts(n_experts, top_k, batch) == pytest.approx(
        _enumerated_distinct_experts(n_experts, top_k, batch), rel=1e-12
    )


@pytest.mark.parametrize(
    "n_experts,top_k,batch", [(16, 2, 1), (16, 2, 8), (16, 2, 32), (64, 2, 16), (8, 2, 4), (128, 8, 8)]
)
def test_expected_distinct_experts_matches_a_seeded_simulation(n_experts, top_k, batch):
    mean, sem = decode.simulate_distinct_experts(n_experts, top_k, batch, trials=4000, seed=1)
    exact = decode.expected_distinct_experts(n_experts, top_k, batch)
    assert abs(mean - exact) <= 4 * max(sem, 1 / 4000)  # never tighter than the resolution


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 256), st.data(), st.integers(0, 10_000))
def test_expected_distinct_experts_is_bounded_and_grows_with_the_batch(n_experts, draw, batch):
    top_k = draw.draw(st.integers(1, n_experts))
    touched = decode.expected_distinct_experts(n_experts, top_k, batch)
    assert 0 <= touched <= min(n_experts, top_k * batch) + 1e-9
    assert decode.expected_distinct_experts(n_experts, top_k, batch + 1) >= touched - 1e-12


def test_expected_distinct_experts_limits():
    assert decode.expected_distinct_experts(16, 2, 0) == 0
    assert decode.expected_distinct_experts(16, 2, 1) == pytest.approx(2)
    assert decode.expected_distinct_experts(16, 16, 1) == 16
    assert decode.expected_distinct_experts(16, 2, 10_000) == pytest.approx(16)


# --- memory -----------------------------------------------------------------------------------


def test_training_memory_is_16_bytes_per_parameter_without_sharding():
    m = memory.training_memory_per_gpu(1e9)
    assert m.total == 16e9 and m.weights == 2e9 and m.gradients == 2e9 and m.optimizer == 12e9


@pytest.mark.parametrize(
    "stage,sharded",
    [(0, ()), (1, ("optimizer",)), (2, ("optimizer", "gradients")), (3, ("optimizer", "gradients", "weights"))],
)
def test_zero_stages_shard_what_the_zero_paper_says(stage, sharded):
    plain = memory.training_memory_per_gpu(1.2e12, 8, 15, 10, zero_stage=0)
    zero = memory.training_memory_per_gpu(1.2e12, 8, 15, 10, zero_stage=stage)
    for part in ("weights", "gradients", "optimizer"):
        factor = 10 if part in sharded else 1
        assert getattr(zero, part) == pytest.approx(getattr(plain, part) / factor)
    assert plain.weights == pytest.approx(1.2e12 * 2 / 120)


def test_gpt4_reported_layout_fits_an_a100_only_with_zero_1():
    from llmscale import hardware

    n = counting.param_count(GPT4)
    tp, pp = int(published.get("gpt4.tensor_parallel").value), int(published.get("gpt4.pipeline_parallel").value)
    dp = int(published.get("gpt4.n_gpus").value) // (tp * pp)
    hbm = hardware.get("a100").hbm_bytes
    assert memory.training_memory_per_gpu(n, tp, pp, dp, zero_stage=1).total < hbm
    assert memory.training_memory_per_gpu(n, tp, pp, dp, zero_stage=0).total > hbm


def test_expert_and_shared_params_add_up():
    for cfg in (GPT4, MIXTRAL):
        assert counting.shared_params(cfg) + cfg.n_experts * counting.expert_params(cfg) == counting.param_count(cfg)
        assert counting.shared_params(cfg) + cfg.top_k * counting.expert_params(cfg) == counting.active_param_count(cfg)


# --- all-to-all -------------------------------------------------------------------------------


def test_all_to_all_bytes_follow_the_formula():
    # d·b bytes to k experts and back, twice for the backward pass
    assert comms.all_to_all_bytes_per_token_layer(4096, 2, 2, training=False) == 2 * 2 * 4096 * 2
    assert comms.all_to_all_bytes_per_token_layer(4096, 2, 2, training=True) == 4 * 2 * 4096 * 2
    per_step = comms.all_to_all_bytes(GPT4, 60e6)
    assert per_step == 60e6 * GPT4.n_layers * 4 * GPT4.top_k * GPT4.d_model * 2
    assert comms.all_to_all_bytes(GPT4, 60e6, expert_parallel=1) == 0
    assert comms.all_to_all_bytes(GPT4, 60e6, expert_parallel=16) == pytest.approx(per_step * 15 / 16)


def test_tokens_per_expert_reproduces_the_leaks_7_5_million():
    batch = published.get("gpt4.batch_tokens").value
    per_expert = published.get("gpt4.batch_tokens_per_expert").value
    assert counting.tokens_per_expert(batch, GPT4.n_experts, GPT4.top_k) == per_expert


# --- decode -----------------------------------------------------------------------------------


def test_decode_reads_the_active_weights_at_batch_one_and_all_weights_at_large_batches():
    input_embedding = GPT4.vocab_size * GPT4.d_model  # untied: looked up, not read in full
    assert decode.decode_weight_params(GPT4, 1) == pytest.approx(counting.active_param_count(GPT4) - input_embedding)
    assert decode.decode_weight_params(GPT4, 10**6) == pytest.approx(counting.param_count(GPT4) - input_embedding)
    dense = presets.get("llama-7b")
    assert decode.decode_weight_params(dense, 7) == counting.param_count(dense) - dense.vocab_size * dense.d_model


def test_min_batch_compute_bound_is_the_first_batch_past_the_ridge():
    ridge = 153.0
    b = decode.min_batch_compute_bound(GPT4, ridge)
    assert decode.decode_flops_per_byte(GPT4, b) >= ridge > decode.decode_flops_per_byte(GPT4, b - 1)
    dense_b = decode.min_batch_compute_bound(presets.get("llama-65b"), ridge)
    assert b > 4 * dense_b  # the mixture must amortise all of its experts, not only the active ones


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: decode.expected_distinct_experts(0, 1, 4), "n_experts"),
        (lambda: decode.expected_distinct_experts(8, 9, 4), "top_k=9 exceeds n_experts=8"),
        (lambda: decode.expected_distinct_experts(8, 2, -1), "batch_tokens"),
        (lambda: decode.simulate_distinct_experts(64, 2, 10_000, trials=10_000), "fewer trials"),
        (lambda: counting.expert_params(presets.get("llama-7b")), "dense model has no experts"),
        (lambda: memory.training_memory_per_gpu(1e9, zero_stage=4), "zero_stage"),
        (lambda: memory.training_memory_per_gpu(-1), "n_params"),
        (lambda: memory.training_memory_per_gpu(1e9, tensor_parallel=0), "tensor_parallel"),
        (lambda: memory.moe_training_memory_per_gpu(1e9, 1e10, expert_parallel=0), "expert_parallel"),
        (lambda: memory.expert_parallel_degrees(0, 208), "n_experts"),
        (lambda: comms.all_to_all_bytes_per_token_layer(4096, 2, 0), "bytes_per_value"),
        (lambda: comms.all_to_all_bytes(GPT4, 1e6, expert_parallel=0), "expert_parallel"),
        (lambda: comms.remote_fraction(1.5), "expert_parallel"),
        (lambda: decode.min_batch_compute_bound(GPT4, 1e9, max_batch=1000), "max_batch"),
    ],
)
def test_bad_inputs_are_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- claims -----------------------------------------------------------------------------------


def test_moe_claims_verdicts():
    by_id = {r.id: r for r in claims.evaluate(seed=claims.GPT4_LEAK) if r.id.startswith("moe-")}
    # The article's arithmetic, from the preset built to reproduce two of its figures: derived.
    for cid in ("moe-gpt4-total", "moe-gpt4-active-params", "moe-gpt4-dense-vs-moe"):
        assert (by_id[cid].verdict, by_id[cid].basis) == ("consistent", "derived"), cid
    # Inputs of the preset copied from the leak, or chosen to reproduce it: checked against themselves.
    for cid in ("moe-gpt4-experts", "moe-gpt4-top2", "moe-gpt4-expert-params", "moe-gpt4-attention-params"):
        assert (by_id[cid].verdict, by_id[cid].basis) == ("assumed", "from-claim"), cid
        assert by_id[cid].note.startswith("Checked against itself"), cid
    for cid in ("moe-gpt4-active-flops", "moe-gpt4-dense-flops"):
        assert by_id[cid].verdict == "inconsistent", cid
        assert by_id[cid].claimed / by_id[cid].computed == pytest.approx(1000, rel=0.02), cid
    assert by_id["moe-gpt4-active-flops"].computed == pytest.approx(2 * 280e9, rel=0.01)
    assert by_id["moe-gpt4-serving-node"].verdict == "inconsistent"
    assert by_id["moe-gpt4-16-not-more"].verdict == "unverifiable"
    assert by_id["moe-gpt4-inference-cost"].verdict == "unverifiable"
    assert by_id["moe-gpt4-simple-routing"].verdict == "out of scope"


def test_dense_vs_moe_ratio_is_checked_at_the_two_digits_of_the_articles_figures():
    (r,) = [r for r in claims.evaluate(page="moe/expert_arithmetic") if r.id == "moe-gpt4-dense-vs-moe"]
    assert r.claimed == 6.6 and r.rel_tol == pytest.approx(0.05 / 6.6)  # 3,700/560 at two digits: 6.6 ± 0.05
    assert r.computed == pytest.approx(counting.param_count(GPT4) / counting.active_param_count(GPT4))


# --- the widths that hold the leak's 111B per expert and 55B of attention ---------------------


@pytest.mark.parametrize("n_kv_heads", [None, 1, 8])
@pytest.mark.parametrize("ffn", ["gelu", "swiglu"])
def test_widths_matching_solve_both_leak_figures(n_kv_heads, ffn):
    from llmscale.pages.moe import expert_arithmetic as ea

    d, d_ff = ea.widths_matching(n_kv_heads=n_kv_heads, head_dim=128, ffn=ffn)
    kv_width = d if n_kv_heads is None else n_kv_heads * 128
    assert 120 * (2 * d * d + 2 * d * kv_width) == pytest.approx(55e9, rel=1e-12)
    assert 120 * (2 if ffn == "gelu" else 3) * d * d_ff == pytest.approx(111e9, rel=1e-12)


@pytest.mark.parametrize("n_kv_heads", [None, 1])
@pytest.mark.parametrize("ffn", ["gelu", "swiglu"])
def test_matching_configs_hold_the_leak_figures_by_the_packages_own_count(n_kv_heads, ffn):
    from llmscale.pages.moe import expert_arithmetic as ea

    cfg = ea.matching_config(n_kv_heads=n_kv_heads, ffn=ffn)
    assert cfg.d_model % 128 == 0 and cfg.ffn == ffn and cfg.kv_heads == (n_kv_heads or cfg.n_heads)
    attention = counting.attention_params(cfg) * cfg.n_layers
    assert abs(attention / 55e9 - 1) <= claims.tolerance(55e9)
    assert abs(counting.expert_params(cfg) / 111e9 - 1) <= claims.tolerance(111e9)


def test_widths_matching_rejects_bad_inputs_naming_the_field():
    from llmscale.pages.moe import expert_arithmetic as ea

    for kwargs, field in [
        (dict(ffn="relu"), "ffn"),
        (dict(n_kv_heads=0), "n_kv_heads"),
        (dict(head_dim=0), "head_dim"),
        (dict(attention_params=-1), "attention_params"),
        (dict(n_layers=0), "n_layers"),
    ]:
        with pytest.raises(ValueError, match=field):
            ea.widths_matching(**kwargs)


def test_multi_query_attention_contradicts_55b_only_at_d_ff_4d():
    from llmscale.pages.moe import expert_arithmetic as ea

    at_4d = counting.attention_params(GPT4.replace(n_kv_heads=1)) * GPT4.n_layers
    assert abs(at_4d / 55e9 - 1) > claims.tolerance(55e9)  # the preset's width: far from 55B
    mqa = ea.matching_config(n_kv_heads=1)
    assert 15_000 < mqa.d_model < 15_200 and 1.9 < mqa.ff_dim / mqa.d_model < 2.1  # the reader's d≈15.1k, d_ff≈2d
    assert ea.matching_config().d_model == GPT4.d_model  # multi-head: the preset's own width


# --- expert parallelism: memory and what limits the number of experts -------------------------


def test_expert_parallel_memory_without_ep_is_the_plain_count():
    for stage in (0, 1, 2, 3):
        split = memory.moe_training_memory_per_gpu(50e9, 1.6e12, 8, 15, 208, 1, zero_stage=stage)
        plain = memory.training_memory_per_gpu(1.65e12, 8, 15, 208, zero_stage=stage)
        for part in ("weights", "gradients", "optimizer", "total"):
            assert getattr(split, part) == pytest.approx(getattr(plain, part)), (stage, part)


@pytest.mark.parametrize("ep", [2, 4, 8, 16])
def test_expert_parallelism_divides_the_experts_state_by_ep_except_what_zero_already_sharded(ep):
    shared, experts = 57e9, 1.78e12
    base0 = memory.moe_training_memory_per_gpu(shared, experts, 8, 15, 208, 1, zero_stage=0).experts
    split0 = memory.moe_training_memory_per_gpu(shared, experts, 8, 15, 208, ep, zero_stage=0).experts
    for part in ("weights", "gradients", "optimizer"):  # no ZeRO: all three shrink by ep
        assert getattr(split0, part) == pytest.approx(getattr(base0, part) / ep)
    base1 = memory.moe_training_memory_per_gpu(shared, experts, 8, 15, 208, 1, zero_stage=1)
    split1 = memory.moe_training_memory_per_gpu(shared, experts, 8, 15, 208, ep, zero_stage=1)
    assert split1.experts.weights == pytest.approx(base1.experts.weights / ep)
    assert split1.experts.gradients == pytest.approx(base1.experts.gradients / ep)
    assert split1.experts.optimizer == pytest.approx(base1.experts.optimizer)  # ZeRO-1 had sharded it over dp
    assert split1.shared == base1.shared  # the shared parameters stay on every replica
    # the page's equation (eq-what-experts-cost-memory-ep)
    by_hand = shared / 120 * (4 + 12 / 208) + experts / 120 * (4 / ep + 12 / 208)
    assert split1.total == pytest.approx(by_hand)


def test_expert_parallel_degrees_split_experts_and_replicas_evenly():
    assert memory.expert_parallel_degrees(16, 208) == [1, 2, 4, 8, 16]
    assert memory.expert_parallel_degrees(64, 208) == [1, 2, 4, 8, 16]
    assert memory.expert_parallel_degrees(8, 12) == [1, 2, 4]
    with pytest.raises(ValueError, match="expert_parallel=3 does not divide data_parallel=208"):
        memory.moe_training_memory_per_gpu(1e9, 1e10, 8, 15, 208, 3)
    with pytest.raises(ValueError, match="expert_params"):
        memory.moe_training_memory_per_gpu(1e9, 0, 8, 15, 208, 1)


def test_more_experts_fit_training_memory_once_split_but_not_the_serving_cluster():
    from llmscale import hardware
    from llmscale.pages.moe import what_experts_cost as wc

    hbm = hardware.get("a100").hbm_bytes
    assert hbm == 80 * 2**30
    c16 = wc.expert_count_costs(16)
    assert c16.total_params == counting.param_count(GPT4) and c16.active_params == counting.active_param_count(GPT4)
    assert c16.state_without_ep == pytest.approx(
        memory.training_memory_per_gpu(counting.param_count(GPT4), 8, 15, 208, zero_stage=1).total
    )
    assert c16.expert_parallel == 16 and c16.tokens_per_expert == 7.5e6
    assert wc.most_experts_that_fit("training") == 16
    assert wc.most_experts_that_fit("training-ep") == 256
    assert wc.most_experts_that_fit("serving") == 32  # 128 GPUs hold the bf16 weights of at most 32
    assert wc.expert_count_costs(64).serving_weights_per_gpu == pytest.approx(
        2 * counting.param_count(GPT4.replace(n_experts=64)) / 128
    )
    assert len({wc.expert_count_costs(e).all_to_all for e in wc.EXPERT_COUNTS}) == 1
    with pytest.raises(ValueError, match="memory_kind"):
        wc.most_experts_that_fit("inference")


# --- the moe-sweep experiment -------------------------------------------------------------------


def test_moe_sweep_gives_every_model_the_dense_runs_flops_and_the_same_active_compute():
    from llmscale.experiments import moe_sweep

    for e in moe_sweep.SIZES["small"]["experts"]:
        cfg, dense = moe_sweep.config("small", e, 512), moe_sweep.config("small", 1, 512)
        steps = moe_sweep.steps_at_equal_flops("small", e, 512)
        seq = moe_sweep.SIZES["small"]["seq_len"]
        spent = steps * counting.flops_per_token(cfg, context=seq, training=True)
        budget = moe_sweep.SIZES["small"]["steps"] * counting.flops_per_token(dense, context=seq, training=True)
        assert abs(spent / budget - 1) <= 0.5 / steps  # equal up to rounding to whole steps
        router = 2 * cfg.n_layers * cfg.d_model * cfg.n_experts if cfg.is_moe else 0
        assert counting.flops_per_token(cfg, context=seq) - router == counting.flops_per_token(dense, context=seq)


def test_moe_sweep_tiny_runs_and_repeats_exactly():
    from llmscale.experiments import moe_sweep

    result = moe_sweep._moe_sweep("tiny", "cpu")
    assert [p["n_experts"] for p in result["points"]] == list(moe_sweep.SIZES["tiny"]["experts"])
    for p in result["points"]:
        assert math.isfinite(p["final_val_loss"]) and p["final_val_loss"] < math.log(512) + 0.5
    again = moe_sweep.run_point(
        "tiny", *moe_sweep.SIZES["tiny"]["check"][:1], seed=0, steps=moe_sweep.SIZES["tiny"]["check"][1]
    )
    assert again["val_loss"] == result["check"]["val_loss"]  # same seed, code and thread count
    with pytest.raises(ValueError, match="size="):
        moe_sweep.config("huge", 4, 512)
    with pytest.raises(ValueError, match="n_experts"):
        moe_sweep.config("tiny", 0, 512)


def test_stored_moe_sweep_loads_and_matches_the_code_that_made_it():
    from llmscale.experiments import moe_sweep

    record = experiments.load("moe-sweep")  # refuses a missing, damaged or stale file
    sweep = record["data"]
    assert sweep["experts"] == list(moe_sweep.SIZES[record["size"]]["experts"])
    assert sweep["seeds"] == list(moe_sweep.SIZES[record["size"]]["seeds"])
    for p in sweep["points"]:
        cfg = moe_sweep.config(record["size"], p["n_experts"], 512)
        assert p["n_params"] == counting.param_count(cfg)
        assert p["steps"] == moe_sweep.steps_at_equal_flops(record["size"], p["n_experts"], 512)
