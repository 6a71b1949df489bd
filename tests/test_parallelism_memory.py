"""The layout, the pipeline bubble and memory per GPU (`parallelism.layout`, `.schedule`, `.memory`)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale import counting, parallelism, presets, published
from llmscale.config import ModelConfig
from llmscale.parallelism import Layout, layout, memory, schedule

GPT3 = presets.get("gpt3-175b")
MIXTRAL = presets.get("mixtral-8x7b")
# GPT-4 as reported, with 96 heads of 112 (the preset's 84 heads of 128 cannot be split 8 ways).
GPT4_LIKE = presets.get("gpt4-reported").replace(n_heads=96, head_dim=112)


def P(key):
    return published.get(key).value


# --- the pipeline schedules, simulated -------------------------------------------------------------


def _simulate(p, m, kind, v=1, t_f=1.0, t_b=2.0):
    """Run a schedule's per-device order of forwards (F) and backwards (B) with unit-free times and
    no communication cost. Returns (makespan, peak in-flight chunk-microbatches per device)."""
    total = m * v
    if kind == "interleaved":  # Megatron-LM's order: groups of p microbatches, chunk by chunk
        fwd = [((k // (p * v)) * p + k % p, (k // p) % v) for k in range(total)]
        bwd = [((k // (p * v)) * p + k % p, v - 1 - (k // p) % v) for k in range(total)]
    else:
        fwd = [(j, 0) for j in range(m)]
        bwd = [(j, 0) for j in range(m)]
    orders = []
    for d in range(p):
        if kind == "gpipe":
            warm = total
        elif kind == "1f1b":
            warm = min(p - d - 1, total)
        else:
            warm = min(total, 2 * (p - d - 1) + (v - 1) * p)
        ops = [("F", *fwd[k]) for k in range(warm)]
        for i in range(total - warm):
            ops += [("F", *fwd[warm + i]), ("B", *bwd[i])]
        ops += [("B", *bwd[k]) for k in range(total - warm, total)]
        orders.append(ops)
    n_virtual = v * p
    done = {}  # (kind, microbatch, virtual stage) -> finish time
    free = [0.0] * p
    nxt = [0] * p
    spans = [[] for _ in range(p)]
    while any(nxt[d] < len(orders[d]) for d in range(p)):
        progressed = False
        for d in range(p):
            if nxt[d] == len(orders[d]):
                continue
            op, j, c = orders[d][nxt[d]]
            vs = c * p + d
            if op == "F":
                dep = ("F", j, vs - 1) if vs > 0 else None
            else:
                dep = ("B", j, vs + 1) if vs < n_virtual - 1 else ("F", j, vs)
            if dep is not None and dep not in done:
                continue
            start = max(free[d], done[dep] if dep else 0.0)
            end = start + (t_f if op == "F" else t_b) / v
            done[(op, j, vs)] = free[d] = end
            spans[d].append((op, start, end))
            nxt[d] += 1
            progressed = True
        assert progressed, "the schedule deadlocks"
    peaks = []
    for d in range(p):
        events = sorted(
            [(s, 1) for op, s, _ in spans[d] if op == "F"] + [(e, -1) for op, _, e in spans[d] if op == "B"]
        )
        level = peak = 0
        for _, delta in events:
            level += delta
            peak = max(peak, level)
        peaks.append(peak)
    return max(free), peaks


@pytest.mark.parametrize("kind", ["gpipe", "1f1b"])
@pytest.mark.parametrize("p,m", [(2, 2), (4, 4), (4, 9), (8, 8), (3, 17)])
def test_bubble_formula_matches_a_simulated_pipeline(kind, p, m):
    makespan, peaks = _simulate(p, m, kind)
    ideal = m * (1.0 + 2.0)
    assert 1 - ideal / makespan == pytest.approx(schedule.pipeline_bubble(p, m, kind))
    assert (makespan - ideal) / ideal == pytest.approx(schedule.pipeline_bubble_ratio(p, m, kind))
    assert peaks == [schedule.in_flight_microbatches(p, m, kind, stage=d) for d in range(p)]


@pytest.mark.parametrize("p,m,v", [(2, 2, 2), (4, 4, 2), (4, 8, 2), (4, 8, 3), (3, 6, 4)])
def test_interleaved_bubble_and_in_flight_match_megatrons_schedule_simulated(p, m, v):
    makespan, peaks = _simulate(p, m, "interleaved", v)
    ideal = m * 3.0
    assert 1 - ideal / makespan == pytest.approx(schedule.pipeline_bubble(p, m, "interleaved", v))
    assert (makespan - ideal) / ideal == pytest.approx((p - 1) / (v * m))  # Narayanan et al.'s ratio
    assert [pk / v for pk in peaks] == [
        pytest.approx(schedule.in_flight_microbatches(p, m, "interleaved", v, d)) for d in range(p)
    ]


def test_interleaved_first_stage_holds_korthikantis_factor_more_than_1f1b():
    for p, v in [(4, 2), (8, 3), (15, 2)]:
        m = 4 * p  # enough microbatches that the warm-up is not cut short
        ratio = schedule.in_flight_microbatches(p, m, "interleaved", v) / schedule.in_flight_microbatches(p, m)
        assert ratio == pytest.approx(1 + (p - 1) / (p * v))


def test_bubble_limits_and_denominators():
    assert parallelism.pipeline_bubble(1, 1) == 0 and parallelism.pipeline_bubble(1, 100, "gpipe") == 0
    assert schedule.pipeline_bubble(15, 10**9) < 2e-8
    assert schedule.pipeline_bubble(8, 8) == pytest.approx(7 / 15)
    assert schedule.pipeline_bubble_ratio(8, 8) == pytest.approx(7 / 8)
    assert schedule.pipeline_bubble(8, 8, "interleaved", 2) == pytest.approx(7 / 23)
    assert schedule.pipeline_bubble_ratio(8, 8, "interleaved", 2) == pytest.approx(7 / 16)
    assert schedule.pipeline_bubble(4, 2, "gpipe") == pytest.approx(3 / 5)  # GPipe runs with m < p


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 64), st.integers(1, 512), st.integers(2, 8))
def test_bubble_fraction_is_ratio_over_one_plus_ratio_and_shrinks_with_chunks(p, extra, v):
    m = p + extra - 1
    f, r = schedule.pipeline_bubble(p, m), schedule.pipeline_bubble_ratio(p, m)
    assert 0 <= f < 1 and f == pytest.approx(r / (1 + r))
    if p > 1:
        assert schedule.pipeline_bubble(p, m, "interleaved", v) < f
        assert schedule.pipeline_bubble(p, m + 1) < f


def test_bubble_rejects_what_the_schedules_cannot_run():
    with pytest.raises(ValueError, match=r"m=4 < p=8.*gpipe"):
        schedule.pipeline_bubble(8, 4)
    with pytest.raises(ValueError, match="chunks=2 needs schedule='interleaved'"):
        schedule.pipeline_bubble(8, 8, "1f1b", chunks=2)
    with pytest.raises(ValueError, match="chunks >= 2"):
        schedule.pipeline_bubble(8, 8, "interleaved")
    with pytest.raises(ValueError, match="schedule"):
        schedule.pipeline_bubble(8, 8, "zero-bubble")
    with pytest.raises(ValueError, match="p=0"):
        schedule.pipeline_bubble(0, 8)
    with pytest.raises(ValueError, match="stage=8"):
        schedule.in_flight_microbatches(8, 8, stage=8)


# --- the layout --------------------------------------------------------------------------------


def test_layout_defaults_world_size_and_derived_counts():
    lay = Layout()
    assert (lay.dp, lay.tp, lay.pp, lay.ep, lay.zero, lay.microbatches, lay.recompute) == (1, 1, 1, 1, 0, 1, "none")
    lay = Layout(dp=208, tp=8, pp=15, ep=16, zero=1, microbatches=30, microbatch_size=2)
    assert lay.world_size == 24_960 and lay.model_parallel == 120 and lay.expert_data_parallel == 13
    assert lay.batch_sequences == 208 * 30 * 2
    assert lay.bubble() == pytest.approx(14 / 44) and lay.idle_gpus(25_000) == 40
    assert str(lay) == "DP208 × TP8 × PP15, EP16, ZeRO-1, 1F1B, m=30"
    with pytest.raises(AttributeError):
        lay.dp = 4  # frozen


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(dp=0), "dp=0"),
        (dict(tp=True), "tp=True"),
        (dict(pp=1.5), "pp=1.5"),
        (dict(zero=4), "zero=4"),
        (dict(zero=1.0), "zero=1.0"),
        (dict(recompute="partial"), "recompute='partial'"),
        (dict(dp=12, ep=8), "ep=8 does not divide dp=12"),
        (dict(pp=8, microbatches=4), "microbatches=4 < pp=8"),
        (dict(pp=8, microbatches=8, chunks=2), "chunks=2 needs schedule='interleaved'"),
        (dict(pp=8, microbatches=8, schedule="interleaved"), "chunks >= 2"),
        (dict(schedule="zb"), "schedule='zb'"),
        (dict(sequence_parallel=1), "sequence_parallel=1"),
    ],
)
def test_an_invalid_layout_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field.replace("(", r"\(").replace(")", r"\)")):
        Layout(**kwargs)


def test_gpipe_runs_with_fewer_microbatches_than_stages():
    assert Layout(pp=8, microbatches=2, schedule="gpipe").in_flight(0) == 2


@pytest.mark.parametrize(
    "cfg,kwargs,message",
    [
        (presets.get("gpt4-reported"), dict(tp=8), r"tp=8 does not divide n_heads=84 \(the query heads"),
        (MIXTRAL, dict(tp=16), r"tp=16 does not divide n_kv_heads=8 \(the key/value heads"),
        (GPT3, dict(pp=7, microbatches=7), r"pp=7 does not divide n_layers=96"),
        (GPT3, dict(pp=8, microbatches=8, schedule="interleaved", chunks=5), r"pp·chunks = 8·5 does not divide"),
        (MIXTRAL, dict(dp=6, ep=3), r"ep=3 does not divide n_experts=8.*among \[1, 2\]"),
        (GPT3, dict(dp=2, ep=2), r"ep=2 but the model is dense"),
        (GPT3.replace(seq_len=2050), dict(tp=4), r"tp=4 does not divide seq_len=2050"),
        (GPT3.replace(d_ff=1000), dict(tp=16), r"tp=16 does not divide d_ff=1000"),
    ],
)
def test_a_layout_the_model_cannot_take_names_the_field_and_the_fix(cfg, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Layout(**kwargs).check(cfg)
    with pytest.raises(ValueError, match=message):
        layout.validate_for(Layout(**kwargs), cfg)


def test_sequence_parallel_off_lifts_the_sequence_length_rule():
    cfg = GPT3.replace(seq_len=2050)
    assert Layout(tp=4, sequence_parallel=False).check(cfg) == Layout(tp=4, sequence_parallel=False)


def test_a_world_size_that_does_not_fill_the_cluster_is_refused_with_the_idle_count():
    lay = Layout(dp=208, tp=8, pp=15, microbatches=15)
    with pytest.raises(ValueError, match=r"24,960 does not equal n_gpus=25,000.*leaves 40 GPUs idle"):
        lay.check(GPT4_LIKE, n_gpus=25_000)
    assert lay.check(GPT4_LIKE, n_gpus=24_960) is lay
    with pytest.raises(ValueError, match="dp=128"):
        Layout(dp=16, tp=8, pp=8, microbatches=8).check(GPT3, n_gpus=8192)


def test_factorizations_are_exactly_the_products_equal_to_the_gpu_count():
    found = list(Layout.factorizations(48))
    assert all(f.world_size == 48 for f in found)
    expected = [(tp, pp) for tp in range(1, 49) for pp in range(1, 49) if 48 % (tp * pp) == 0]
    assert sorted((f.tp, f.pp) for f in found) == sorted(expected)
    limited = list(Layout.factorizations(48, max_tp=8, max_pp=4, microbatches=4))
    assert {f.tp for f in limited} <= {1, 2, 3, 4, 6, 8} and max(f.pp for f in limited) == 4


def test_gpt4_like_layouts_on_25000_gpus_include_the_reported_tp8_pp15():
    found = list(layout.layouts_for(GPT4_LIKE, 25_000))
    reported = [x for x in found if (x.tp, x.pp) == (8, 15)]
    assert reported and {x.dp for x in reported} == {208}
    assert {x.ep for x in reported} == {1, 2, 4, 8, 16}  # the divisors of 16 experts that divide 208
    assert {x.zero for x in reported} == {0, 1, 2, 3} and {x.recompute for x in reported} == set(layout.RECOMPUTE)
    for x in found:
        assert x.check(GPT4_LIKE) is x and 25_000 * 0.99 <= x.world_size <= 25_000 and x.tp <= 8
    exact = list(layout.layouts_for(GPT4_LIKE, 25_000, max_idle_fraction=0))
    assert exact and all(x.world_size == 25_000 for x in exact)
    assert not any((x.tp, x.pp) == (8, 15) for x in exact)  # 25,000 = 8·3125 has no factor 3


def test_layouts_for_derives_microbatches_from_the_batch():
    found = list(layout.layouts_for(GPT3, 1024, batch_sequences=1536, zero=1, recompute="none"))
    assert found and all(x.batch_sequences == 1536 and x.microbatches >= x.pp for x in found)
    assert any((x.tp, x.pp, x.dp, x.microbatches) == (8, 8, 16, 96) for x in found)
    assert all(x.tp in (1, 2, 3, 4, 6, 8) for x in found)  # 96 heads, 2048 tokens: tp must divide both
    with pytest.raises(ValueError, match="zero=5"):
        list(layout.layouts_for(GPT3, 1024, zero=(1, 5)))


# --- activations per layer (Korthikanti et al. 2022, Table 2) --------------------------------------


def test_table_2_of_korthikanti_at_gpt3_175b():
    s, b, h, a, t = 2048, 1, 12288, 96, 8
    sbh = s * b * h
    assert 5 * a * s / h == 80
    f = memory.activation_bytes_per_layer
    assert f(s, b, h, a) == sbh * (34 + 80)
    assert f(s, b, h, a, tp=t) == sbh * (10 + 24 / t + 80 / t)
    assert f(s, b, h, a, tp=t, sequence_parallel=True) == pytest.approx(sbh * (34 / t + 80 / t))
    assert f(s, b, h, a, tp=t, recompute="selective") == sbh * (10 + 24 / t)
    assert f(s, b, h, a, tp=t, sequence_parallel=True, recompute="selective") == pytest.approx(sbh * 34 / t)
    assert f(s, b, h, a, tp=t, recompute="full") == 2 * sbh
    assert f(s, b, h, a, tp=t, sequence_parallel=True, recompute="full") == 2 * sbh / t


def test_selective_recomputation_saves_what_the_paper_reports_for_gpt3_and_mt_nlg():
    f = memory.activation_bytes_per_layer
    s = P("korthikanti2022.seq_len")
    for key, (h, a) in {
        "korthikanti2022.gpt3_selective_saving": (GPT3.d_model, GPT3.n_heads),
        "korthikanti2022.mt_nlg_selective_saving": (
            P("korthikanti2022.mt_nlg_hidden"),
            P("korthikanti2022.mt_nlg_heads"),
        ),
    }.items():
        saving = 1 - f(s, 1, h, a, recompute="selective") / f(s, 1, h, a)
        assert round(saving, 2) == P(key)
        # ... and sequence parallelism with it cuts tensor parallelism's activations about 5-fold.
        t = P("korthikanti2022.tensor_parallel")
        reduction = f(s, 1, h, a, tp=t) / f(s, 1, h, a, tp=t, sequence_parallel=True, recompute="selective")
        assert round(reduction) == P("korthikanti2022.activation_reduction")


def test_activation_coefficients_are_the_papers_for_a_gpt_layer_and_follow_the_architecture():
    assert memory.activation_coefficients(GPT3) == (10.0, 24.0)
    rep, split = memory.activation_coefficients(presets.get("llama-65b"))  # SwiGLU: four d_ff-wide tensors
    assert rep == 10 and split == pytest.approx(8 + 8 * 22016 / 8192)
    rep, split = memory.activation_coefficients(MIXTRAL)  # 8 KV heads of 32, top-2 of 8 experts
    assert rep == 8 + 2 * 2 and split == pytest.approx(2 + 4 * 8 / 32 + 2 + 2 * 4 * 2 * 14336 / 4096)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 8).map(lambda x: 64 * x),
    st.sampled_from([1, 2, 4, 8]),
    st.sampled_from([1, 2, 4, 8]),
    st.integers(1, 4).map(lambda x: 512 * x),
)
def test_activations_shrink_with_recomputation_and_tensor_parallelism(d_head_units, heads, tp, seq):
    d = d_head_units * heads
    cfg = ModelConfig(n_layers=4, d_model=d, n_heads=heads, vocab_size=1000, seq_len=seq, ffn="gelu")
    if cfg.n_heads % tp:
        return
    by = {r: memory.layer_activation_bytes(cfg, Layout(tp=tp, recompute=r)) for r in layout.RECOMPUTE}
    assert by["none"] > by["selective"] > by["full"]
    assert memory.layer_activation_bytes(cfg, Layout(tp=tp)) == pytest.approx(
        memory.layer_activation_bytes(cfg, Layout()) / tp
    )
    assert memory.layer_activation_bytes(cfg, Layout(tp=tp, sequence_parallel=False)) >= by["none"]


# --- parameters per stage ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpt3-175b", "llama-65b", "mixtral-8x7b", "gpt4-reported", "palm-540b"])
def test_one_gpu_holds_every_parameter_and_stages_add_up(name):
    cfg = presets.get(name)
    assert memory.stage_params(cfg, Layout()).total == counting.param_count(cfg)
    pp = next(p for p in (8, 5, 4, 2) if cfg.n_layers % p == 0)
    lay = Layout(pp=pp, microbatches=pp)
    stages = [memory.stage_params(cfg, lay, i).total for i in range(pp)]
    duplicate = cfg.vocab_size * cfg.d_model if cfg.tie_embeddings else 0  # the LM head's copy of the embedding
    assert sum(stages) == pytest.approx(counting.param_count(cfg) + duplicate, rel=1e-12)
    if cfg.is_moe:
        ep = Layout(dp=cfg.n_experts, ep=cfg.n_experts)
        assert memory.stage_params(cfg, ep).experts == pytest.approx(cfg.n_layers * counting.ffn_params(cfg))


def test_gpt3_first_stage_params_by_hand():
    h, v, s, t = 12288, 50257, 2048, 8
    per_layer = (4 * h * h + 4 * h + 8 * h * h + 5 * h) / t + 4 * h  # split matrices and biases; two LayerNorms whole
    first = 12 * per_layer + v * h / t + s * h  # 96/8 layers, the vocabulary-parallel embedding, learned positions
    last = 12 * per_layer + 2 * h + v * h / t  # the final LayerNorm and the tied LM head's copy
    lay = Layout(dp=16, tp=8, pp=8, microbatches=8)
    assert memory.stage_params(GPT3, lay, 0).total == pytest.approx(first)
    assert memory.stage_params(GPT3, lay, 7).total == pytest.approx(last)


# --- training_bytes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stage,sharded",
    [(0, ()), (1, ("optimizer",)), (2, ("optimizer", "gradients")), (3, ("optimizer", "gradients", "weights"))],
)
@pytest.mark.parametrize("model", [GPT3, 174.6e9])
def test_zero_divides_exactly_its_components_by_dp(stage, sharded, model):
    plain = memory.training_bytes(model, Layout(dp=16, tp=8, pp=8, microbatches=8))
    zero = memory.training_bytes(model, Layout(dp=16, tp=8, pp=8, microbatches=8, zero=stage))
    for part in ("weights", "gradients", "optimizer"):
        assert getattr(zero, part) == pytest.approx(getattr(plain, part) / (16 if part in sharded else 1))
    assert zero.activations == plain.activations  # ZeRO shards state, never activations
    assert plain.optimizer == pytest.approx(6 * plain.weights) and plain.gradients == plain.weights


def test_a_bare_parameter_count_is_split_evenly_and_has_no_activations():
    lay = Layout(dp=10, tp=8, pp=15, zero=2, microbatches=15)
    got = memory.training_bytes(1.2e12, lay)
    want = memory.training_memory_per_gpu(1.2e12, 8, 15, 10, zero_stage=2)
    assert (got.weights, got.gradients, got.optimizer) == (want.weights, want.gradients, want.optimizer)
    assert got.activations == 0 and not got.includes_activations and got.total == want.total
    with pytest.raises(ValueError, match="ep=2 needs the split"):
        memory.training_bytes(1.2e12, Layout(dp=2, ep=2))
    with pytest.raises(ValueError, match="model must be"):
        memory.training_bytes("gpt3-175b", lay)
    with pytest.raises(ValueError, match="layout must be a Layout"):
        memory.training_bytes(GPT3, (16, 8, 8))


@pytest.mark.parametrize("ep,zero", list(itertools.product([1, 2, 8], [0, 1, 2, 3])))
def test_moe_model_state_matches_the_expert_parallel_formula(ep, zero):
    lay = Layout(dp=8, ep=ep, zero=zero)
    got = memory.training_bytes(MIXTRAL, lay, seq_len=4096)
    want = memory.moe_training_memory_per_gpu(
        counting.shared_params(MIXTRAL),
        MIXTRAL.n_experts * counting.expert_params(MIXTRAL),
        data_parallel=8,
        expert_parallel=ep,
        zero_stage=zero,
    )
    for part in ("weights", "gradients", "optimizer"):
        assert getattr(got, part) == pytest.approx(getattr(want, part), rel=1e-12)


def test_1f1b_first_stage_holds_all_layers_of_one_microbatch_whatever_pp():
    # Korthikanti et al. 2022, Section 4.2.3: p microbatches of L/p layers, so s·b·h·L/t·(34 + 5as/h).
    per_layer = memory.activation_bytes_per_layer(2048, 1, 12288, 96, tp=8, sequence_parallel=True)
    for pp in (1, 2, 4, 8):
        got = memory.training_bytes(GPT3, Layout(tp=8, pp=pp, microbatches=64), stage=0).activations
        assert got == pytest.approx(96 * per_layer, rel=2e-3)  # plus embedding and (pp = 1) output terms
    gpipe = memory.training_bytes(GPT3, Layout(tp=8, pp=8, microbatches=64, schedule="gpipe"), stage=0)
    assert gpipe.activations == pytest.approx(64 / 8 * 96 * per_layer, rel=2e-3)


def test_later_1f1b_stages_hold_fewer_microbatches_and_the_first_is_the_peak():
    lay = Layout(dp=16, tp=8, pp=8, microbatches=64)
    acts = [memory.stage_activation_bytes(GPT3, lay, i) for i in range(8)]
    assert all(a > b for a, b in itertools.pairwise(acts[:-1]))
    assert acts[3] / acts[1] == pytest.approx(5 / 7, rel=1e-3)
    peak = memory.training_bytes(GPT3, lay)
    assert peak.stage == 0 and peak.total == max(memory.training_bytes(GPT3, lay, stage=i).total for i in range(8))


def test_recomputation_adds_one_layers_workspace():
    stored = memory.layer_activation_bytes(GPT3, Layout(tp=8, recompute="full"))
    whole = memory.layer_activation_bytes(GPT3, Layout(tp=8))
    full = memory.training_bytes(GPT3, Layout(tp=8, pp=8, microbatches=8, recompute="full"), stage=1).activations
    assert full == pytest.approx(7 * 12 * stored + whole - stored)


def test_gpt3_175b_on_tp8_pp8_dp16_zero1_by_hand():
    lay = Layout(dp=16, tp=8, pp=8, zero=1, microbatches=96)
    got = memory.training_bytes(GPT3, lay, seq_len=2048)
    params = memory.stage_params(GPT3, lay, 0).total
    sbh = 2048 * 12288
    acts = 8 * 12 * sbh * (34 + 80) / 8 + 8 * (8 * 2048 + sbh / 8)  # 8 microbatches of 12 layers, embedding terms
    assert (got.stage, got.weights, got.gradients) == (0, 2 * params, 2 * params)
    assert got.optimizer == pytest.approx(12 * params / 16)
    assert got.activations == pytest.approx(acts)
    assert got.total == pytest.approx(4 * params + 12 * params / 16 + acts)
    assert got.as_dict()["total"] == got.total and got.model_state == pytest.approx(got.total - acts)


def test_training_bytes_checks_the_layout_against_the_model():
    with pytest.raises(ValueError, match="pp=7 does not divide n_layers=96"):
        memory.training_bytes(GPT3, Layout(pp=7, microbatches=7))
    with pytest.raises(ValueError, match="stage=8"):
        memory.training_bytes(GPT3, Layout(pp=8, microbatches=8), stage=8)


def test_the_package_re_exports_layout_and_bubble():
    assert parallelism.Layout is layout.Layout and parallelism.pipeline_bubble is schedule.pipeline_bubble
