"""The data-parallel labs (DDP, ZeRO-1, FSDP2) under torchrun: equal to one process, bytes as counted.

Three torchrun launches (DDP on 2 and 4 ranks, ZeRO/FSDP on 2) and three plain processes (each
lab as one process, one with a wrong --world-size): about 40 s on two idle cores. The rest runs
in this process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
from torch.distributed.tensor.debug import CommDebugMode

from llmscale.parallelism.labs import data_parallel, zero
from llmscale.parallelism.labs._common import parse_result
from torchrun import run_lab


def _passed(proc) -> None:
    assert proc.returncode == 0, proc.stdout[-4000:]


def _check_ddp(r: dict, nproc: int) -> None:
    assert r["world_size"] == nproc and r["batch_per_rank"] == r["batch"] // nproc
    assert r["losses_equal"] and r["grads_equal"] and r["params_equal"] and r["replicas_identical"]
    assert r["grad_max_rel_diff"] <= data_parallel.RTOL
    assert r["param_max_abs_diff"] <= r["param_bound"]
    # Every step all-reduces each float32 gradient exactly once: 4 bytes per parameter.
    assert r["grad_bytes_per_replica"] == 4 * r["n_params"] == 4 * r["n_params_counted"]
    assert r["allreduce_over_grad_bytes"] == [1.0] * r["steps"]
    assert r["counter_matches_hook"]
    assert r["comms_formula"]["all_reduce"]["measured_over_formula"] == 1.0


def test_ddp_on_two_ranks_trains_like_one_process_and_all_reduces_each_gradient_once():
    proc, r = run_lab("data_parallel", 2, "--world-size", "2", "--bucket-cap-mb", "0.05", timeout=90)
    _passed(proc)
    _check_ddp(r, 2)
    # The first step uses one bucket; then DDP rebuilds them under the 0.05 MB cap.
    assert r["buckets_per_step"][0] == 1 and r["buckets_per_step"][-1] >= 2
    assert all(b <= 0.05e6 + 4 * 4096 for b in r["per_step"][-1]["bucket_bytes"])


def test_ddp_on_four_ranks_trains_like_one_process():
    proc, r = run_lab("data_parallel", 4, "--world-size", "4", timeout=120)
    _passed(proc)
    _check_ddp(r, 4)


def _plain_process(lab: str, *args: str) -> dict:
    cmd = [sys.executable, "-m", f"llmscale.parallelism.labs.{lab}", "--steps", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = parse_result(proc.stdout)
    assert r["world_size"] == 1
    return r


def test_ddp_as_one_plain_process_equals_the_reference_bit_for_bit():
    r = _plain_process("data_parallel")
    assert r["loss_max_abs_diff"] == 0 and r["grad_max_abs_diff"] == 0 and r["param_max_abs_diff"] == 0


def test_zero_and_fsdp_as_one_plain_process_equal_the_reference_bit_for_bit():
    r = _plain_process("zero")
    z, f = r["zero1"], r["fsdp2"]
    assert z["loss_max_abs_diff"] == 0 and z["param_max_abs_diff_vs_one_process"] == 0
    assert z["optimizer_state_bytes_per_rank"] == [z["optimizer_state_bytes_unsharded"]]
    assert f["loss_max_abs_diff"] == 0 and f["param_max_abs_diff_vs_one_process"] == 0
    assert f["param_bytes_per_rank"] == [f["param_bytes"]]
    assert f["collectives_per_step"] == [{}, {}]  # nothing to gather or scatter in a world of one


def test_zero1_and_fsdp2_on_two_ranks_shard_state_and_train_like_one_process():
    proc, r = run_lab("zero", 2, "--world-size", "2", timeout=120)
    _passed(proc)
    z, f = r["zero1"], r["fsdp2"]
    # ZeRO-1: the state is split by whole parameters, never worse than 1/N + the largest one's.
    per_rank, full = z["optimizer_state_bytes_per_rank"], z["optimizer_state_bytes_unsharded"]
    assert sum(per_rank) == full
    assert max(per_rank) <= full / 2 + z["largest_param_state_bytes"]
    assert z["optimizer_state_imbalance"] < 1.05
    assert z["params_equal_unsharded_adamw"] and z["losses_equal"]
    assert z["param_broadcast_bytes_per_step"] == [z["param_bytes"]] * r["steps"]
    assert z["comms_formula"]["all_reduce"]["measured_over_formula"] == 1.0
    # FSDP2: every tensor divides by 2, so each rank holds half of everything.
    half = f["param_bytes"] / 2
    assert all(abs(b - half) <= 0.01 * half for b in f["param_bytes_per_rank"])
    assert f["grad_bytes_per_rank"] == [f["param_bytes"] // 2] * 2
    assert f["collectives_per_step"] == [f["expected_per_step"]] * r["steps"]
    assert f["comms_formula"]["reduce_scatter"]["measured_over_formula"] == 1.0
    assert f["comms_formula"]["all_gather"]["measured_over_formula"] < 1.0  # the root is gathered once
    assert f["losses_equal"] and f["first_step_grads_equal"]


def test_a_wrong_world_size_stops_the_lab_with_a_clear_error_before_any_process_group():
    cmd = [sys.executable, "-m", "llmscale.parallelism.labs.data_parallel", "--world-size", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "RESULT" not in proc.stdout
    assert "--world-size 2 but the launcher started 1 process(es)" in proc.stderr
    assert "torchrun --nproc_per_node=2" in proc.stderr


def test_a_batch_that_does_not_split_over_the_ranks_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="batch=7 .* multiple of 2"):
        data_parallel.check_layout(7, 2)
    assert data_parallel.check_layout(8, 4) == 2
    monkeypatch.setenv("WORLD_SIZE", "2")  # as under torchrun: the check runs before any process group
    with pytest.raises(ValueError, match="multiple of 2"):
        zero.main(["--batch", "7"])
    with pytest.raises(ValueError, match="part"):
        zero.main(["--part", "zero3"])


@pytest.fixture
def world_of_one(tmp_path):
    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("lab", [data_parallel, zero], ids=["data_parallel", "zero"])
def test_collective_counter_counts_what_comm_debug_mode_counts_and_the_full_buffers(world_of_one, lab):
    x = torch.ones(10)

    def collectives():
        dist.all_reduce(x)
        dist.broadcast(x, src=0)
        out = torch.empty(10)
        dist.all_gather_into_tensor(out, x)
        dist.reduce_scatter_tensor(torch.empty(10), out)

    with CommDebugMode() as reference:
        collectives()
    with lab.CollectiveCounter() as counter:
        collectives()
    summary = counter.summary()
    assert sum(v["count"] for v in summary.values()) == reference.get_total_counts() == 4
    assert summary == {
        name: {"count": 1, "bytes": 40} for name in ("all_gather", "all_reduce", "broadcast", "reduce_scatter")
    }


def test_collective_counter_leaves_the_gradients_bit_identical():
    # Why the labs do not use CommDebugMode itself: its module hooks reorder gradient sums.
    cfg = data_parallel.model_config()
    x, y = data_parallel.global_batch(cfg, 4, 0, 0)
    a = data_parallel.build(cfg, seed=0)
    b = data_parallel.build(cfg, seed=0)
    with data_parallel.CollectiveCounter():
        a(x, y)[1].backward()
    b(x, y)[1].backward()
    assert data_parallel.grad_differences(a, b) == (0.0, 0.0)


def test_global_batch_is_fixed_by_seed_and_step_and_ranks_take_disjoint_rows():
    cfg = data_parallel.model_config()
    x, y = data_parallel.global_batch(cfg, 8, 3, 1)
    assert torch.equal(x, data_parallel.global_batch(cfg, 8, 3, 1)[0])
    assert not torch.equal(x, data_parallel.global_batch(cfg, 8, 4, 1)[0])
    assert torch.equal(x[:, 1:], y[:, :-1])  # next-token targets
    rows = [data_parallel.rank_rows(x, r, 4) for r in range(4)]
    assert torch.equal(torch.cat(rows), x)
