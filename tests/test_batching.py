"""Continuous batching over a paged KV cache: the budget holds, every request finishes, and
batching changes none of the greedy tokens."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale.config import ModelConfig
from llmscale.inference import batching
from llmscale.model.decoder import build


def _model(**over):
    cfg = ModelConfig(n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, vocab_size=97, seq_len=160, **over)
    # float64: batched and unbatched sums then differ far below any gap between two logits.
    return build(cfg, seed=0, dtype=torch.float64).eval()


def _workload(n=12, seed=0, **kw):
    return batching.make_workload(
        n, 97, seed=seed, prompt_median=12, output_median=8, max_prompt=60, max_output=60, **kw
    )


class _Checked:
    """Wraps an executor: every step, the sequences' block tables are disjoint and within budget."""

    def __init__(self, inner, n_blocks):
        self.inner, self.n_blocks, self.steps = inner, n_blocks, 0

    def __call__(self, items, slots):
        blocks = [b for it in items for b in it.table]
        assert len(blocks) == len(set(blocks)), "two sequences share a block"
        assert len(blocks) <= self.n_blocks and all(0 <= b < self.n_blocks for b in blocks)
        assert len(slots) == len(set(slots)) == sum(len(it.tokens) for it in items)
        self.steps += 1
        return self.inner(items, slots)


def test_block_manager_hands_out_blocks_from_its_free_list_and_refuses_beyond_the_budget():
    m = batching.BlockManager(n_blocks=4, block_size=8)
    m.ensure(0, 17)  # 3 blocks
    assert len(m.tables[0]) == 3 and m.free == 1
    assert m.slots(0, 7, 9) == [m.tables[0][0] * 8 + 7, m.tables[0][1] * 8]
    with pytest.raises(batching.OutOfBlocks):
        m.ensure(1, 9)  # 2 blocks, 1 free: nothing is taken
    assert m.free == 1 and 1 not in m.tables
    m.release(0)
    assert m.free == 4 and m.peak == 3


@pytest.mark.parametrize("policy", batching.POLICIES)
def test_greedy_tokens_equal_recomputation_for_every_request(policy):
    model = _model()
    reqs = _workload(8)
    result = batching.serve_model(policy, model, reqs, n_blocks=64, block_size=8, max_batch=3)
    for r in reqs:
        assert list(result.outputs[r.id]) == batching.greedy_recompute(model, r.prompt, r.max_new_tokens), r.id


def test_greedy_tokens_equal_generate_with_the_kv_cache():
    generate = pytest.importorskip("llmscale.inference.generation").generate
    model = _model()
    reqs = _workload(6, seed=3)
    result = batching.serve_model("continuous", model, reqs, n_blocks=64, block_size=8, max_batch=4)
    for r in reqs:
        out = generate(model, torch.tensor([r.prompt]), r.max_new_tokens)
        assert list(result.outputs[r.id]) == out[0, len(r.prompt) :].tolist(), r.id


def test_learned_positions_and_multi_query_attention_are_served_exactly():
    cfg = ModelConfig(
        n_layers=2,
        d_model=32,
        n_heads=4,
        n_kv_heads=1,
        vocab_size=97,
        seq_len=160,
        pos="learned",
        norm="layernorm",
        ffn="gelu",
    )
    model = build(cfg, seed=1, dtype=torch.float64).eval()
    reqs = _workload(5, seed=2)
    result = batching.serve_model("continuous", model, reqs, n_blocks=40, block_size=4, max_batch=3)
    for r in reqs:
        assert list(result.outputs[r.id]) == batching.greedy_recompute(model, r.prompt, r.max_new_tokens)


def test_a_tight_block_budget_preempts_recomputes_and_still_finishes_with_the_same_tokens():
    model = _model()
    reqs = _workload(10, seed=5)
    ample = batching.serve_model("continuous", model, reqs, n_blocks=200, block_size=4, max_batch=8)
    longest = max(batching.BlockManager(1, 4).blocks_for(r.final_length) for r in reqs)
    n_blocks = longest + 3
    executor = _Checked(batching.PagedModelExecutor(model, n_blocks, 4), n_blocks)
    tight = batching.serve("continuous", executor, reqs, n_blocks, block_size=4, max_batch=8, seq_len=model.cfg.seq_len)
    assert tight.n_preemptions > 0
    assert tight.peak_blocks <= n_blocks
    assert tight.outputs == ample.outputs
    assert all(len(tight.outputs[r.id]) == r.max_new_tokens for r in reqs)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    seed=st.integers(0, 10**6),
    block_size=st.sampled_from([1, 2, 4, 16]),
    spare=st.integers(0, 40),
    max_batch=st.integers(1, 12),
    rate=st.one_of(st.none(), st.floats(0.5, 1000.0)),
    policy=st.sampled_from(batching.POLICIES),
)
def test_the_scheduler_never_exceeds_its_block_budget_and_finishes_every_request(
    n, seed, block_size, spare, max_batch, rate, policy
):
    reqs = batching.make_workload(
        n, 50, seed=seed, prompt_median=10, output_median=10, max_prompt=50, max_output=50, rate_per_s=rate
    )
    manager = batching.BlockManager(1, block_size)
    need = max(manager.blocks_for(r.final_length) for r in reqs)
    if policy == "static":  # a padded batch of one: longest prompt + longest output
        need = manager.blocks_for(max(len(r.prompt) for r in reqs) + max(r.max_new_tokens for r in reqs))
    n_blocks = need + spare
    sim = batching.CostModelExecutor(1e6, 1e3, 1e6, 1e12, 1e10, overhead_s=1e-3)
    checked = _Checked(sim, n_blocks)
    res = batching.serve(policy, checked, reqs, n_blocks, block_size=block_size, max_batch=max_batch)
    assert res.peak_blocks <= n_blocks
    assert res.generated_tokens == sum(r.max_new_tokens for r in reqs)
    assert {k: len(v) for k, v in res.outputs.items()} == {r.id: r.max_new_tokens for r in reqs}
    assert res.mean_batch <= max_batch
    fractions = res.utilization + res.padding_waste + res.reservation_waste + res.fragmentation_waste
    assert fractions == pytest.approx(1.0)
    assert all(res.ttft_s[p] >= 0 for p in batching.PERCENTILES)
    if policy == "continuous":
        assert res.padding_waste == res.reservation_waste == 0
        # Only the last block of each sequence is partly empty.
        assert res.fragmentation_waste < 1.0 if block_size > 1 else res.fragmentation_waste == 0


def test_continuous_batching_beats_static_on_a_skewed_workload_in_simulation():
    cfg = ModelConfig(n_layers=32, d_model=4096, n_heads=32, vocab_size=32000, seq_len=4096)
    from llmscale import hardware

    sim = batching.cost_model(cfg, hardware.get("a100"))
    reqs = batching.make_workload(
        256, 100, seed=0, prompt_median=200, output_median=150, max_prompt=1000, max_output=1000
    )
    static = batching.serve("static", sim, reqs, n_blocks=20000, block_size=16, max_batch=32)
    cont = batching.serve("continuous", sim, reqs, n_blocks=20000, block_size=16, max_batch=32)
    assert cont.tokens_per_s > 1.5 * static.tokens_per_s
    assert cont.utilization > static.utilization


def test_workload_is_seeded_skewed_and_within_its_caps():
    a, b = _workload(50, seed=1, rate_per_s=10.0), _workload(50, seed=1, rate_per_s=10.0)
    assert a == b and a != _workload(50, seed=2, rate_per_s=10.0)
    outs = sorted(r.max_new_tokens for r in a)
    assert all(1 <= len(r.prompt) <= 60 and 1 <= r.max_new_tokens <= 60 for r in a)
    assert outs[-1] > 3 * outs[len(outs) // 2]  # a long tail
    arrivals = [r.arrival_s for r in a]
    assert arrivals == sorted(arrivals) and arrivals[0] > 0
    assert all(r.arrival_s == 0 for r in _workload(5))


def test_bad_inputs_name_the_field_and_the_fix():
    model = _model()
    with pytest.raises(ValueError, match="n_blocks"):
        batching.serve_model("continuous", model, _workload(3), n_blocks=1, block_size=2)
    with pytest.raises(ValueError, match="policy"):
        batching.serve_model("fifo", model, _workload(3), n_blocks=64)
    with pytest.raises(ValueError, match="seq_len"):
        batching.serve_model("continuous", model, [batching.Request(0, (1,) * 150, 20)], n_blocks=100)
    with pytest.raises(ValueError, match="rate_per_s"):
        batching.make_workload(4, 10, rate_per_s=0)
    with pytest.raises(ValueError, match="n_experts"):
        moe = ModelConfig(n_layers=1, d_model=32, n_heads=4, vocab_size=97, seq_len=64, n_experts=4, top_k=2)
        batching.PagedModelExecutor(build(moe), 8, 4)


def test_histogram_percentiles_interpolate_inside_prometheus_buckets():
    buckets = {"0.1": 2, "0.2": 6, "0.5": 10, "+Inf": 10}
    assert batching.histogram_percentile(buckets, 50) == pytest.approx(0.1 + 0.1 * 3 / 4)
    assert batching.histogram_percentile(buckets, 10) == pytest.approx(0.05)
    assert batching.histogram_percentile({"1.0": 1, "+Inf": 4}, 99) == 1.0  # the open top bucket
    with pytest.raises(ValueError, match="empty"):
        batching.histogram_percentile({"+Inf": 0}, 50)
