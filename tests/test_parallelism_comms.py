"""parallelism.comms: ring collectives under the α–β model, bytes per training step for each
parallelism, the α–β fit, and the collectives lab that measures them on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale import counting, hardware, published
from llmscale.config import ModelConfig
from llmscale.parallelism import comms
from llmscale.parallelism.layout import Layout
from torchrun import run_lab

MiB = 2**20
# A dense decoder small enough to count by hand: L=4, d=64, 4 heads, V=256, S=32, SwiGLU d_ff=256.
DENSE = ModelConfig(n_layers=4, d_model=64, n_heads=4, vocab_size=256, seq_len=32)
# A mixture of experts: L=2, d=32, E=4 experts, k=2, d_ff=64, S=16.
MOE = ModelConfig(n_layers=2, d_model=32, n_heads=4, vocab_size=128, seq_len=16, n_experts=4, top_k=2, d_ff=64)


# --- ring collectives ----------------------------------------------------------------------------


def test_ring_volumes_at_known_points():
    b = 8 * MiB
    # n=2: an all-reduce sends the whole buffer (half in the reduce-scatter, half in the all-gather).
    assert comms.bus_bytes("all_reduce", b, 2) == b
    assert comms.bus_bytes("all_gather", b, 2) == comms.bus_bytes("reduce_scatter", b, 2) == b / 2
    assert comms.bus_bytes("all_to_all", b, 2) == b / 2
    # n -> large: an all-reduce tends to 2·bytes, the others to bytes.
    assert comms.bus_bytes("all_reduce", b, 10**6) == pytest.approx(2 * b, rel=1e-5)
    assert comms.bus_bytes("all_gather", b, 10**6) == pytest.approx(b, rel=1e-5)
    assert comms.bus_bytes("all_reduce", b, 8) == 2 * 7 / 8 * b
    assert comms.bus_bytes("p2p", b, 2) == b
    # One rank moves nothing.
    for kind in ("all_reduce", "all_gather", "reduce_scatter", "all_to_all"):
        assert comms.bus_bytes(kind, b, 1) == 0 and comms.ring_steps(kind, 1) == 0


def test_ring_steps_are_two_n_minus_one_for_all_reduce_and_n_minus_one_for_the_others():
    assert [comms.ring_steps("all_reduce", n) for n in (2, 4, 8)] == [2, 6, 14]
    assert [comms.ring_steps(k, 8) for k in ("all_gather", "reduce_scatter", "all_to_all")] == [7, 7, 7]
    assert comms.ring_steps("p2p", 2) == 1


def test_collective_times_are_steps_times_latency_plus_volume_over_bandwidth():
    b, beta, alpha = 64 * MiB, 25e9, 5e-6
    assert comms.all_reduce_time(b, 8, beta, alpha) == pytest.approx(14 * alpha + 2 * 7 / 8 * b / beta, rel=1e-12)
    assert comms.all_gather_time(b, 8, beta, alpha) == pytest.approx(7 * alpha + 7 / 8 * b / beta, rel=1e-12)
    assert comms.reduce_scatter_time(b, 8, beta, alpha) == comms.all_gather_time(b, 8, beta, alpha)
    assert comms.all_to_all_time(b, 8, beta, alpha) == comms.all_gather_time(b, 8, beta, alpha)
    assert comms.p2p_time(b, beta, alpha) == pytest.approx(alpha + b / beta, rel=1e-12)
    # An all-reduce costs a reduce-scatter plus an all-gather, latency included.
    assert comms.all_reduce_time(b, 8, beta, alpha) == pytest.approx(
        comms.reduce_scatter_time(b, 8, beta, alpha) + comms.all_gather_time(b, 8, beta, alpha), rel=1e-12
    )
    assert comms.all_reduce_time(0, 4, beta, alpha) == 6 * alpha  # an empty buffer pays the latency only
    assert comms.all_reduce_time(b, 1, beta, alpha) == 0.0
    sizes = np.array([1e3, 1e6, 1e9])
    assert np.allclose(comms.all_reduce_time(sizes, 2, 1e9), sizes / 1e9)  # arrays of sizes, for plots


@settings(max_examples=50, deadline=None)
@given(
    size=st.floats(0, 1e12),
    n=st.integers(2, 4096),
    kind=st.sampled_from(("all_reduce", "all_gather", "reduce_scatter", "all_to_all")),
)
def test_ring_volume_is_below_twice_the_buffer_and_grows_with_n(size, n, kind):
    v = comms.bus_bytes(kind, size, n)
    cap = 2 * size if kind == "all_reduce" else size
    assert 0 <= v <= cap
    assert comms.bus_bytes(kind, size, n + 1) >= v


# --- bytes per training step, by hand --------------------------------------------------------------


def test_the_small_dense_config_has_the_parameters_counted_by_hand():
    # Embedding and head 2·256·64; per layer attention 4·64², SwiGLU 3·64·256, two norms 2·64; final norm 64.
    by_hand = 2 * 256 * 64 + 4 * (4 * 64**2 + 3 * 64 * 256 + 2 * 64) + 64
    assert counting.param_count(DENSE) == by_hand == 295_488


def test_step_traffic_of_a_small_dense_layout_matches_the_hand_count():
    lay = Layout(dp=2, tp=2, pp=2, microbatches=4, microbatch_size=2, sequence_parallel=False)
    t = comms.step_traffic(DENSE, lay)
    # Data: each GPU holds N/(tp·pp) = 73,872 parameters; bf16 gradients 147,744 bytes; a 2-way
    # all-reduce sends 2·(1/2) of that.
    assert t["data"].collective == "all_reduce" and t["data"].calls == 1
    assert t["data"].bytes_per_gpu == 147_744
    # Tensor: activations b·s·d·2 = 2·32·64·2 = 8,192 bytes; 2 layers per stage × 4 microbatches ×
    # (2 forward + 2 backward) = 32 all-reduces, each sending 8,192 bytes at tp=2.
    assert t["tensor"].collective == "all_reduce" and t["tensor"].calls == 32
    assert t["tensor"].bytes_per_gpu == 32 * 8_192 == 262_144
    # Pipeline, 2 stages: each stage sends one way, once per microbatch: 4 × 8,192.
    assert t["pipeline"].collective == "p2p" and t["pipeline"].bytes_per_gpu == 32_768
    assert t["expert"].collective == "none" and t["expert"].bytes_per_gpu == 0
    assert comms.step_traffic(DENSE, dp=2, tp=2, pp=2, microbatches=4, microbatch_size=2, sequence_parallel=False) == t


def test_sequence_parallelism_swaps_each_all_reduce_for_a_gather_and_a_scatter_of_the_same_volume():
    base = Layout(dp=2, tp=2, pp=2, microbatches=4, microbatch_size=2, sequence_parallel=False)
    off = comms.step_traffic(DENSE, base)
    on = comms.step_traffic(DENSE, base.replace(sequence_parallel=True))
    assert on["tensor"].collective == "all_gather+reduce_scatter" and on["tensor"].calls == 64
    assert on["tensor"].bytes_per_gpu == off["tensor"].bytes_per_gpu == 262_144
    # Each tp rank sends only its half of the sequence to the next stage.
    assert on["pipeline"].bytes_per_gpu == off["pipeline"].bytes_per_gpu / 2 == 16_384


def test_full_recomputation_adds_the_forward_all_reduces_again_selective_adds_none():
    base = Layout(dp=2, tp=2, pp=2, microbatches=4, microbatch_size=2, sequence_parallel=False)
    full = comms.step_traffic(DENSE, base.replace(recompute="full"))["tensor"]
    selective = comms.step_traffic(DENSE, base.replace(recompute="selective"))["tensor"]
    assert full.calls == 2 * 4 * 6 and full.bytes_per_gpu == 48 * 8_192
    assert selective.bytes_per_gpu == 262_144


def test_zero_stages_keep_the_all_reduce_volume_until_stage_3_which_adds_half():
    v = {z: comms.data_parallel_traffic(DENSE, dp=8, tp=2, pp=2, zero=z) for z in (0, 1, 2, 3)}
    grads = counting.param_count(DENSE) / 4 * 2
    assert v[0].bytes_per_gpu == v[1].bytes_per_gpu == pytest.approx(2 * 7 / 8 * grads, rel=1e-12)
    assert v[2].collective == "reduce_scatter+all_gather" and v[2].bytes_per_gpu == pytest.approx(v[0].bytes_per_gpu)
    assert v[3].calls == 3  # the gradients' reduce-scatter, the parameters' all-gathers forward and backward
    assert v[3].bytes_per_gpu == pytest.approx(1.5 * v[0].bytes_per_gpu, rel=1e-12)
    assert comms.data_parallel_traffic(1e9, dp=1).bytes_per_gpu == 0  # one replica reduces nothing
    # A parameter count is enough for data parallelism: 1e9 bf16 gradients over 2 replicas.
    assert comms.step_traffic(1e9, dp=2)["data"].bytes_per_gpu == 2e9


def test_pipeline_sends_of_the_busiest_stage():
    deep = DENSE.replace(n_layers=8)
    for pp, chunks, per_microbatch in ((2, 1, 1), (4, 1, 2), (4, 2, 4), (2, 2, 3)):
        t = comms.pipeline_parallel_traffic(deep, pp, microbatches=8, chunks=chunks, sequence_parallel=False)
        assert t.calls == 8 * per_microbatch, (pp, chunks)
        assert t.bytes_per_gpu == 8 * per_microbatch * 1 * 32 * 64 * 2
    assert comms.pipeline_parallel_traffic(DENSE, 1, microbatches=8).bytes_per_gpu == 0


def test_moe_step_traffic_matches_the_hand_count_and_the_per_token_all_to_all():
    t = comms.step_traffic(MOE, Layout(dp=4, ep=2))
    shared, one_expert = counting.shared_params(MOE), counting.expert_params(MOE)
    assert (shared, one_expert) == (16_800, 12_288)
    # Shared gradients 33,600 bytes over dp=4: 2·3/4 of them; each GPU's 2 experts' 49,152 bytes
    # over the dp/ep = 2 ranks that hold the same experts: all of them.
    assert t["data"].bytes_per_gpu == 2 * 3 / 4 * 33_600 + 49_152 == 99_552
    # Expert: one microbatch of 16 tokens, each sent to k=2 experts (16·2·32·2 = 2,048 bytes), 4
    # all-to-alls per layer (dispatch and combine, forward and backward) in 2 layers; half leaves the GPU.
    assert t["expert"].collective == "all_to_all" and t["expert"].calls == 8
    assert t["expert"].bytes_per_gpu == 8 * 2_048 / 2 == 8_192
    assert t["expert"].bytes_per_gpu == pytest.approx(comms.all_to_all_bytes(MOE, 16, expert_parallel=2), rel=1e-12)


def test_step_comm_time_puts_tensor_and_expert_on_nvlink_and_data_and_pipeline_on_infiniband():
    node = hardware.DGX_A100
    t = comms.step_traffic(DENSE, Layout(dp=2, tp=2, pp=2, microbatches=4, microbatch_size=2, sequence_parallel=False))
    times = comms.step_comm_time(t, node=node)
    assert times["tensor"] == pytest.approx(262_144 / 300e9, rel=1e-12)
    assert times["data"] == pytest.approx(147_744 / 25e9, rel=1e-12)
    assert times["pipeline"] == pytest.approx(32_768 / 25e9, rel=1e-12)
    # The domain is a parameter: tensor parallelism across nodes is 12× slower on a DGX A100.
    moved = comms.step_comm_time(t, node=node, domains={"tensor": "inter"})
    assert moved["tensor"] == pytest.approx(12 * times["tensor"], rel=1e-12)
    # Latency is paid per ring step: 32 two-rank all-reduces of 2 steps each.
    lat = comms.step_comm_time(t, node=node, intra_latency=1e-6)
    assert lat["tensor"] - times["tensor"] == pytest.approx(64e-6, rel=1e-9)


def test_dgx_bandwidths_per_gpu_per_direction_match_the_datasheets():
    assert hardware.get_node("dgx-a100") is hardware.DGX_A100
    assert hardware.DGX_A100.intra_node_bw_per_direction == 300e9
    assert hardware.DGX_A100.inter_node_bw_per_direction == published.get("dgx-a100.infiniband_bw_per_gpu").value
    assert hardware.DGX_H100.inter_node_bw_per_direction == 50e9
    with pytest.raises(ValueError, match="unknown node"):
        hardware.get_node("dgx-z9")


# --- the α–β fit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", comms.COLLECTIVES)
@pytest.mark.parametrize("n", [2, 4])
def test_fit_recovers_alpha_and_beta_from_exact_model_times(kind, n):
    sizes = [4096 * 4**i for i in range(7)]
    times = [comms.collective_time(kind, s, n, 1.2e9, 40e-6) for s in sizes]
    alpha, beta = comms.fit_alpha_beta(sizes, times, kind=kind, n=n)
    assert alpha == pytest.approx(40e-6, rel=1e-9) and beta == pytest.approx(1.2e9, rel=1e-9)


def test_fit_recovers_alpha_and_beta_within_noise_of_a_few_percent():
    rng = np.random.default_rng(0)
    sizes = np.repeat([4096 * 4**i for i in range(7)], 5)
    times = comms.all_reduce_time(sizes, 2, 1e9, 100e-6) * rng.lognormal(0, 0.03, sizes.size)
    fit = comms.fit_alpha_beta(sizes, times, kind="all_reduce", n=2)
    assert fit.alpha_s == pytest.approx(100e-6, rel=0.1) and fit.beta_bytes_per_s == pytest.approx(1e9, rel=0.1)


def test_fit_with_no_latency_in_the_data_gives_alpha_zero_not_negative():
    sizes = [1e3, 1e4, 1e5]
    times = [s / 2e9 * 0.9 if i == 0 else s / 2e9 for i, s in enumerate(sizes)]  # the least squares α < 0
    alpha, beta = comms.fit_alpha_beta(sizes, times, kind="p2p")
    assert alpha == 0.0 and beta > 0


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda: comms.fit_alpha_beta([1e3, 1e4], [1e-3]), "times_s"),
        (lambda: comms.fit_alpha_beta([1e3, 1e3], [1e-3, 2e-3]), "sizes_bytes"),
        (lambda: comms.fit_alpha_beta([1e3, -1e4], [1e-3, 2e-3]), "sizes_bytes"),
        (lambda: comms.fit_alpha_beta([1e3, 1e4], [2e-3, 1e-3]), "times_s"),  # shrinks with size
        (lambda: comms.fit_alpha_beta([1e3, 1e4], [1e-3, 2e-3], n=1), "n=1"),
        (lambda: comms.fit_alpha_beta([1e3, 1e4], [1e-3, 2e-3], kind="broadcast"), "kind"),
        (lambda: comms.all_reduce_time(-1, 2, 1e9), "bytes"),
        (lambda: comms.all_reduce_time(True, 2, 1e9), "bytes"),
        (lambda: comms.all_reduce_time(1e6, 0, 1e9), "n"),
        (lambda: comms.all_gather_time(1e6, 2, 0), "bandwidth"),
        (lambda: comms.p2p_time(1e6, 1e9, latency=-1e-6), "latency"),
        (lambda: comms.bus_bytes("broadcast", 1e6, 2), "kind"),
        (lambda: comms.data_parallel_traffic(DENSE, dp=4, zero=4), "zero"),
        (lambda: comms.data_parallel_traffic(MOE, dp=6, ep=4), "ep"),
        (lambda: comms.data_parallel_traffic(MOE, dp=6, ep=3), "ep"),  # 3 does not divide 4 experts
        (lambda: comms.tensor_parallel_traffic(1e9, tp=2), "model"),
        (lambda: comms.tensor_parallel_traffic(DENSE, tp=2, recompute="some"), "recompute"),
        (lambda: comms.pipeline_parallel_traffic(DENSE, pp=8), "pp"),
        (lambda: comms.expert_parallel_traffic(DENSE, ep=2), "n_experts"),
        (lambda: comms.step_traffic(1e9, tp=2), "tp"),
        (lambda: comms.step_traffic(DENSE, Layout(dp=2), dp=4), "layout"),
        (lambda: comms.step_traffic(DENSE, Layout(tp=3)), "tp"),  # 3 does not divide 4 heads
        (lambda: comms.step_traffic(DENSE, bogus=1), "bogus"),
        (lambda: comms.step_comm_time({}, intra_bandwidth=1e9), "inter_bandwidth"),
        (lambda: comms.step_comm_time({}, node=hardware.DGX_A100, domains={"tensor": "rack"}), "domains"),
    ],
)
def test_bad_inputs_raise_value_errors_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


# --- the collectives lab -------------------------------------------------------------------------


def test_lab_reference_outputs_are_what_the_collectives_compute_for_three_ranks():
    import torch

    from llmscale.parallelism.labs import collectives as lab

    n, numel, cpu = 3, 12, torch.device("cpu")
    per_rank = {op: [lab._inputs_and_expected(op, numel, r, n, cpu) for r in range(n)] for op in lab.OPS}
    inputs = {op: [x for x, _, _ in v] for op, v in per_rank.items()}
    assert torch.equal(per_rank["all_reduce"][1][2], sum(inputs["all_reduce"]))
    assert torch.equal(per_rank["all_gather"][2][2], torch.cat(inputs["all_gather"]))
    assert torch.equal(per_rank["reduce_scatter"][1][2], sum(inputs["reduce_scatter"])[4:8])
    for r in range(n):  # rank r receives chunk r of every rank
        got = torch.cat([inputs["all_to_all"][j][4 * r : 4 * r + 4] for j in range(n)])
        assert torch.equal(per_rank["all_to_all"][r][2], got)
    assert lab.round_size(4096, 3) == 4104 and lab.parse_size("16MiB") == 16 * MiB
    with pytest.raises(ValueError, match="--sizes"):
        lab.parse_size("lots")


def test_collectives_lab_on_two_ranks_checks_every_collective_and_fits_positive_alpha_beta(tmp_path):
    out = tmp_path / "collectives.json"
    proc, result = run_lab("collectives", 2, "--out", str(out), timeout=90)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert json.loads(out.read_text()) == result
    assert result["world_size"] == 2 and result["backend"] == "gloo"
    assert set(result["ops"]) == set(comms.COLLECTIVES)
    for op, r in result["ops"].items():
        assert r["checked"] is True, op
        assert r["sizes_bytes"][0] == 4096 and r["sizes_bytes"][-1] == 16 * MiB
        assert r["bus_bytes"] == [comms.bus_bytes(op, s, r["n"]) for s in r["sizes_bytes"]]
        alpha, beta = comms.fit_alpha_beta(r["sizes_bytes"], r["times_s"], kind=op, n=r["n"])
        assert alpha > 0 and beta > 0, op  # speeds are not asserted
        assert r["fit"] == {"alpha_s": alpha, "beta_bytes_per_s": beta}


def test_collectives_lab_runs_as_one_process():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [sys.executable, "-m", "llmscale.parallelism.labs.collectives", "--sizes", "4KiB", "64KiB", "--repeats", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr[-4000:]
    from llmscale.parallelism.labs._common import parse_result

    result = parse_result(proc.stdout)
    assert result["world_size"] == 1 and "p2p" not in result["ops"]  # no peer to send to
    assert all(r["checked"] and r["fit"] is None and r["bus_bytes"] == [0.0, 0.0] for r in result["ops"].values())


def test_expert_traffic_with_sequence_parallelism_is_each_ranks_share_of_the_tokens():
    # With sequence parallelism a replica's tp ranks hold 1/tp of the tokens each and send only
    # those; without it each rank holds all of them and is counted as sending them all.
    whole = comms.expert_parallel_traffic(MOE, ep=2, tp=1)
    shared = comms.expert_parallel_traffic(MOE, ep=2, tp=2, sequence_parallel=True)
    unshared = comms.expert_parallel_traffic(MOE, ep=2, tp=2, sequence_parallel=False)
    assert shared.bytes_per_gpu == whole.bytes_per_gpu / 2
    assert unshared.bytes_per_gpu == whole.bytes_per_gpu
    with pytest.raises(ValueError, match="tp"):
        comms.expert_parallel_traffic(MOE, ep=2, tp=0)
