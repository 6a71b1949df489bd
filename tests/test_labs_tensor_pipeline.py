"""The tensor/sequence-parallel and pipeline labs under torchrun: equal to one process, collectives
and activations as the formulas count them.

Three launches on 2 ranks (about 40 s on two cores): tensor parallelism with and without sequence
parallelism; GPipe, 1F1B and interleaved 1F1B on stages cut by hand; 1F1B on stages traced by
`pipeline()`. The pieces that need no process group run in this process.
"""

from __future__ import annotations

import pytest
import torch

from llmscale import counting
from llmscale import model as book_model
from llmscale.config import ModelConfig
from llmscale.measure import SavedActivations
from llmscale.model.layers import rope_tables
from llmscale.parallelism.labs import pipeline, tensor_parallel
from torchrun import run_lab


def _passed(proc) -> None:
    assert proc.returncode == 0, proc.stdout[-4000:]


def _config(sizes: dict) -> ModelConfig:
    return ModelConfig(**{k: v for k, v in sizes.items() if k != "batch"}, tie_embeddings=False)


# --- tensor parallelism -------------------------------------------------------------------


def test_qkv_permutation_gives_each_rank_its_own_query_key_and_value_heads():
    h, kv, hd, tp = 4, 2, 3, 2
    perm = tensor_parallel.qkv_permutation(h, kv, hd, tp)
    assert sorted(perm.tolist()) == list(range((h + 2 * kv) * hd))
    q, k = h * hd, kv * hd
    width = len(perm) // tp
    for r in range(tp):
        rows = perm[r * width : (r + 1) * width].tolist()
        own_q = list(range(r * q // tp, (r + 1) * q // tp))
        own_k = list(range(q + r * k // tp, q + (r + 1) * k // tp))
        own_v = list(range(q + k + r * k // tp, q + k + (r + 1) * k // tp))
        assert rows == own_q + own_k + own_v


@pytest.mark.parametrize("permute", [True, False])
def test_column_and_row_split_attention_sums_to_the_whole_only_with_the_permutation(permute):
    # Emulates two tensor-parallel ranks in one process: each runs the book's attention on its
    # slice of the QKV rows and of the output columns; the partial outputs must add up.
    cfg = ModelConfig(n_layers=1, d_model=32, n_heads=4, n_kv_heads=2, vocab_size=16, seq_len=8)
    torch.manual_seed(0)
    full = book_model.Attention(cfg).double()
    x = torch.randn(2, cfg.seq_len, cfg.d_model, dtype=torch.float64)
    rope = tuple(t.double() for t in rope_tables(cfg))
    expected = full(x, rope)
    tp = 2
    perm = tensor_parallel.qkv_permutation(cfg.n_heads, cfg.kv_heads, cfg.head_dim_, tp)
    qkv = full.qkv.weight[perm] if permute else full.qkv.weight
    total = torch.zeros_like(expected)
    for r in range(tp):
        local = book_model.Attention(cfg).double()
        local.n_heads, local.kv_heads = cfg.n_heads // tp, cfg.kv_heads // tp
        rows, cols = qkv.shape[0] // tp, full.out.weight.shape[1] // tp
        with torch.no_grad():
            local.qkv.weight = torch.nn.Parameter(qkv[r * rows : (r + 1) * rows].clone())
            local.out.weight = torch.nn.Parameter(full.out.weight[:, r * cols : (r + 1) * cols].clone())
        total = total + local(x, rope)
    assert torch.allclose(total, expected) == permute


def test_expected_collectives_follow_megatron_and_vanish_on_one_rank():
    cfg = tensor_parallel.config()
    act = 4 * cfg.seq_len * cfg.d_model * 4
    tp = tensor_parallel.expected_per_layer("tp", cfg, batch=4, itemsize=4, tp=2)
    assert tp == {"all_reduce/forward": {"count": 2, "bytes": act}, "all_reduce/backward": {"count": 2, "bytes": act}}
    sp = tensor_parallel.expected_per_layer("tp+sp", cfg, batch=4, itemsize=4, tp=2)
    assert sum(v["count"] for v in sp.values() if v["bytes"] == act) == 8
    assert sp["all_reduce/gradient_sync"] == {"count": 2, "bytes": cfg.d_model * 4}
    assert tensor_parallel.expected_per_layer("tp", cfg, batch=4, itemsize=4, tp=1) == {}
    with pytest.raises(ValueError, match="plan"):
        tensor_parallel.expected_per_layer("dp", cfg, batch=4, itemsize=4, tp=2)


def test_a_degree_that_does_not_split_the_heads_is_refused():
    cfg = ModelConfig(n_layers=1, d_model=48, n_heads=3, vocab_size=32, seq_len=8)
    with pytest.raises(ValueError, match="n_heads=3 is not divisible"):
        tensor_parallel.check_divisible(cfg, 2)


def test_tensor_parallel_on_two_ranks_equals_one_process_with_megatrons_collectives():
    proc, r = run_lab("tensor_parallel", 2, timeout=90)
    _passed(proc)
    act = r["activation_bytes"]
    s = r["sizes"]
    assert act == s["batch"] * s["seq_len"] * s["d_model"] * 4  # b·s·h float32 values
    tp, sp = r["plans"]["tp"], r["plans"]["tp+sp"]
    for plan in (tp, sp):
        assert plan["matches_megatron"] and plan["same_in_every_layer"]
        assert plan["max_abs_diff"]["grads"] < 1e-6 and plan["max_abs_diff"]["logits"] < 1e-5
    # Without sequence parallelism: 2 all-reduces forward and 2 backward, one activation each.
    assert tp["per_layer"] == {
        "all_reduce/forward": {"count": 2, "bytes": [act, act]},
        "all_reduce/backward": {"count": 2, "bytes": [act, act]},
    }
    assert tp["outside_layers"] == {}  # embedding and head replicated: nothing to exchange
    # With it: each all-reduce becomes an all-gather and a reduce-scatter, forward and backward.
    for op in ("all_gather", "reduce_scatter"):
        for phase in ("forward", "backward"):
            assert sp["per_layer"][f"{op}/{phase}"] == {"count": 2, "bytes": [act, act]}
    assert sp["per_layer"]["all_reduce/gradient_sync"]["count"] == 2  # the two norms' weights
    # loss_parallel's cross-entropy: three all-reduces of one value per token.
    assert sp["outside_layers"]["all_reduce/forward"] == {"count": 3, "bytes": [s["batch"] * s["seq_len"] * 4] * 3}


# --- pipeline parallelism -----------------------------------------------------------------


def test_stages_split_the_blocks_consecutively_and_need_one_block_each():
    assert pipeline.stage_layers(5, 2) == [range(0, 3), range(3, 5)]
    assert pipeline.stage_layers(4, 4) == [range(i, i + 1) for i in range(4)]
    with pytest.raises(ValueError, match="every stage needs a block"):
        pipeline.stage_layers(4, 8)


def test_saved_bytes_counter_returns_to_zero_after_backward():
    cfg = pipeline.config()
    decoder = book_model.build(cfg)
    stage = pipeline.Stage(decoder, range(0, 2), first=True, last=False)
    saved = SavedActivations([*decoder.parameters(), *decoder.buffers()])
    idx = torch.randint(cfg.vocab_size, (2, cfg.seq_len))
    with saved.hooks():
        out = stage(idx)
    one = saved.live_bytes
    # at least the inputs of each block's matrix products (norm1 and norm2 outputs, attention
    # output, activation): 4 activations of 2·S·d float32 values in each of 2 blocks
    assert one >= 2 * 4 * 2 * cfg.seq_len * cfg.d_model * 4
    out.sum().backward()
    del out
    assert saved.live_bytes == 0 and saved.peak_bytes == one


def _check_pipeline_run(run: dict, n_params: int) -> None:
    name = run["schedule"]
    assert run["grads_checked"] == n_params  # every parameter's gradient, on the rank that holds it
    assert run["max_abs_diff"]["grads"] < 1e-6 and run["max_abs_diff"]["loss"] < 1e-5
    # Activations held at the peak: exactly the schedule's forwards in flight (in chunks) ...
    assert run["in_flight_peak"] == [round(h * run["chunks"]) for h in run["microbatches_held_formula"]], name
    # ... and the saved bytes say the same, to within the unequal chunks (the last holds the loss).
    for measured, formula in zip(run["microbatches_held"], run["microbatches_held_formula"], strict=True):
        assert abs(measured - formula) <= 0.1, (name, run["microbatches_held"])
    # The bubble formula is a floor averaged over stages (unequal stages and communication only
    # add idle time); 0.05 allows for timing jitter, whose spread between repeats is about that.
    assert 0 < run["idle_fraction_mean"] < 1
    assert run["idle_fraction_mean"] >= run["bubble_formula"] - 0.05, (name, run["idle_fraction"])


def test_pipeline_schedules_on_two_ranks_equal_one_process_and_hold_the_predicted_activations():
    proc, r = run_lab("pipeline", 2, "--schedules", "gpipe", "1f1b", "interleaved", "--repeats", "5", timeout=120)
    _passed(proc)
    n_params = counting.param_count(_config(r["sizes"]))
    runs = {run["schedule"]: run for run in r["runs"]}
    assert set(runs) == {"gpipe", "1f1b", "interleaved"}
    for run in runs.values():
        _check_pipeline_run(run, n_params)
    m = runs["gpipe"]["microbatches"]
    assert runs["gpipe"]["in_flight_peak"] == [m, m]  # GPipe holds every microbatch
    assert runs["1f1b"]["in_flight_peak"] == [2, 1]  # 1F1B: p − r
    assert runs["interleaved"]["stages"] == 4 and runs["interleaved"]["bubble_formula"] == pytest.approx(1 / 9)


def test_pipeline_stages_traced_by_pipeline_api_equal_one_process():
    proc, r = run_lab("pipeline", 2, "--split", "traced", "--schedules", "1f1b", "--repeats", "3", timeout=90)
    _passed(proc)
    assert r["split"] == "traced"
    _check_pipeline_run(r["runs"][0], counting.param_count(_config(r["sizes"])))
