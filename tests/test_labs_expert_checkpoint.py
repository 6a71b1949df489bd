"""The expert-parallel and checkpoint labs, launched under torchrun as a reader would.

Launches (about 5 s each on two cores): expert parallel on 2 ranks; a 2-rank training run that
checkpoints; its checkpoint reloaded on 1 rank; a 2-rank run whose last rank crashes at step 5
and that torchrun restarts once (two attempts).
"""

from __future__ import annotations

import json

import pytest
import torch

from llmscale.parallelism import comms
from llmscale.parallelism.labs import checkpoint as ckpt
from llmscale.parallelism.labs import expert_parallel as ep
from torchrun import run_lab

# --- expert parallelism ---------------------------------------------------------------------------


def test_experts_split_into_contiguous_blocks_one_per_rank():
    assert list(ep.local_experts(8, 2, 0)) == [0, 1, 2, 3]
    assert list(ep.local_experts(8, 2, 1)) == [4, 5, 6, 7]
    assert list(ep.local_experts(4, 1, 0)) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="does not split over 3 ranks"):
        ep.local_experts(4, 3, 0)


def test_expert_parallel_on_two_ranks_equals_one_layer_and_moves_the_formulas_bytes():
    proc, r = run_lab("expert_parallel", 2, "--capacity-factor", "1.0", timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:]
    # outputs, input gradients, router and expert gradients asserted equal inside the lab
    assert r["equal"] is True and r["world_size"] == 2 and r["experts_per_rank"] == 2
    assert max(r["max_abs_diff"].values()) < 1e-5
    assert r["expert_params_per_rank"] * 2 == r["expert_params_total"]  # each rank holds E/2 experts
    # Capacity 1.0 on a 32-token batch per rank: 16 assignments per expert; routing is uneven, so some drop.
    assert r["capacity_per_rank"] == 16 and r["dropped"] > 0
    # The formula counts 2·k·d·b per token each way, doubled for the backward pass; dropped
    # assignments never move, and a kept one moves the formula's share whether or not it leaves the rank.
    per_token = comms.all_to_all_bytes_per_token_layer(32, 2, 4, training=True)
    assert r["formula_bytes_per_token_layer"] == per_token == 1024
    kept = r["assignments"] - r["dropped"]
    assert r["bytes_moved"] == per_token * r["tokens"] * kept / r["assignments"] < r["formula_bytes_all"]
    # The four exchanges (dispatch and combine, forward and backward) carry the same rows.
    assert len(set(r["bytes_remote"].values())) == 1 and len(set(r["bytes_local"].values())) == 1
    assert 0 < r["bytes_remote_total"] < r["bytes_moved"]
    assert r["all_to_all_calls_per_rank"] == 5  # counts, then 2 forward and 2 backward token exchanges
    assert r["bytes_counts"] == 2 * r["n_experts"] * 8  # every rank sends one int64 per expert


# --- checkpoints ----------------------------------------------------------------------------------


def test_checksum_sees_every_bit_and_ignores_dict_order():
    a = {"w": torch.tensor([1.0, 2.0]), "step": 3}
    b = {"step": 3, "w": torch.tensor([1.0, 2.0])}
    assert ckpt.checksum(a) == ckpt.checksum(b)
    flipped = torch.tensor([1.0, 2.0])
    flipped.view(torch.int32)[1] ^= 1  # one bit of the last float
    assert ckpt.checksum({"w": flipped, "step": 3}) != ckpt.checksum(a)
    assert ckpt.checksum({"w": torch.tensor([1.0, 2.0], dtype=torch.float64), "step": 3}) != ckpt.checksum(a)


def test_a_checkpoint_counts_only_once_its_done_file_exists(tmp_path):
    assert ckpt.latest_checkpoint(tmp_path / "missing") is None
    (tmp_path / "step_00002").mkdir()
    (tmp_path / "step_00002" / ckpt.DONE).write_text(json.dumps({"step": 2}))
    (tmp_path / "step_00004").mkdir()  # a save interrupted before rank 0 wrote done.json
    assert ckpt.latest_checkpoint(tmp_path) == (2, tmp_path / "step_00002")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt") / "uninterrupted"
    proc, r = run_lab("checkpoint", 2, "--ckpt-dir", str(folder), timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return folder, r


def test_fsdp2_run_saves_dcp_checkpoints_that_reload_bit_identically_on_the_same_ranks(uninterrupted):
    folder, r = uninterrupted
    assert r["attempt"] == 0 and r["resumed_from_step"] is None and r["checkpoints"] == [2, 4, 6]
    assert r["files_per_checkpoint"] == 3  # one shard file per rank and the metadata
    assert r["reload_same_ranks"]["bit_identical"] is True
    assert r["reload_same_ranks"]["checksum"] == r["final_checksum"]
    assert r["plain_process_max_abs_diff"] <= ckpt.PARAM_ATOL  # FSDP2 trains like one process


def test_checkpoint_saved_on_two_ranks_loads_on_one(uninterrupted):
    folder, saved = uninterrupted
    proc, r = run_lab("checkpoint", 1, "--ckpt-dir", str(folder), "--verify-load", timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert (r["saved_on"], r["loaded_on"], r["step"]) == (2, 1, 6)
    assert r["bit_identical"] is True and r["checksum"] == saved["final_checksum"]


def test_killed_rank_is_restarted_by_torchrun_and_resumes_bit_identically(uninterrupted, tmp_path):
    _, clean = uninterrupted
    proc, r = run_lab(
        "checkpoint", 2, "--ckpt-dir", str(tmp_path / "restart"), "--fail-at-step", "5", timeout=180, max_restarts=1
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "rank 1: exiting at the start of step 5 (attempt 0)" in proc.stdout
    assert r["attempt"] == 1 and r["resumed_from_step"] == 4 and r["steps_run"] == 2
    assert r["final_checksum"] == clean["final_checksum"]  # bit-identical to the uninterrupted run
    assert r["losses"] == {k: v for k, v in clean["losses"].items() if int(k) >= 5}
