"""The mixture-of-experts layer: routing, capacity and dropping, router losses, dispatch, training."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale import data, model, train
from llmscale.config import ModelConfig
from llmscale.model import moe

BASE = dict(n_layers=1, d_model=16, n_heads=2, vocab_size=50, seq_len=16, d_ff=24)


def _layer(seed=0, dispatch="sorted", **changes):
    torch.manual_seed(seed)
    return moe.MoELayer(ModelConfig(**{**BASE, **changes}), dispatch=dispatch)


@pytest.mark.parametrize("dispatch", moe.DISPATCHES)
@pytest.mark.parametrize("gating", ["topk-softmax", "softmax-topk"])
@pytest.mark.parametrize("ffn,bias", [("swiglu", False), ("gelu", True), ("relu", False)])
def test_one_expert_equals_the_dense_feed_forward_with_the_same_weights(dispatch, gating, ffn, bias):
    cfg = ModelConfig(**{**BASE, "ffn": ffn, "bias": bias, "gating": gating})
    torch.manual_seed(0)
    dense = model.FeedForward(cfg)
    layer = moe.MoELayer(cfg.replace(n_experts=1, top_k=1), dispatch=dispatch)
    layer.experts[0].load_state_dict(dense.state_dict())
    x = torch.randn(3, 7, 16)
    torch.testing.assert_close(layer(x), dense(x), rtol=0, atol=1e-6)
    assert layer.stats.dropped == 0 and layer.stats.tokens_per_expert.tolist() == [21]


def test_gradients_reach_the_router_through_the_gate_weights():
    layer = _layer(n_experts=4, top_k=2)
    layer(torch.randn(32, 16)).square().sum().backward()
    assert layer.router.weight.grad.abs().sum() > 0


def test_top1_mixtral_gating_trains_the_router_only_through_the_router_losses():
    # Softmax over one chosen logit is 1: the output does not depend on the router's value.
    x = torch.randn(32, 16)
    mixtral = _layer(n_experts=4, top_k=1, gating="topk-softmax")
    mixtral(x).square().sum().backward(retain_graph=True)
    assert torch.count_nonzero(mixtral.router.weight.grad) == 0
    mixtral.stats.balance_loss.backward()
    assert mixtral.router.weight.grad.abs().sum() > 0
    switch = _layer(n_experts=4, top_k=1, gating="softmax-topk")
    switch(x).square().sum().backward()
    assert switch.router.weight.grad.abs().sum() > 0


def test_capacity_is_the_ceiling_of_factor_times_tokens_times_k_over_experts():
    assert moe.capacity(1024, 8, 2, 1.25) == 320
    assert moe.capacity(100, 1, 1, 1.1) == 110  # not 111 from 110.00000000000001
    assert moe.capacity(10, 4, 1, 1.0) == 3  # ceil(2.5)
    assert moe.capacity(10, 4, 1, None) is None


# Four tokens, four experts, top-2, capacity factor 1 -> capacity ceil(4·2/4) = 2 per expert.
FIRST, SECOND = [0, 0, 0, 1], [1, 1, 2, 0]
# Expert 0's queue: first choices of tokens 0, 1, 2, then token 3's second choice: keeps 0 and 1.
# Expert 1's queue: token 3's first choice, then second choices of tokens 0 and 1: keeps 3 and 0.
# Expert 2: token 2's second choice. Dropped: (token 2, slot 0), (token 3, slot 1), (token 1, slot 1).
KEPT = {(0, 0), (1, 0), (3, 0), (0, 1), (2, 1)}


def test_dispatch_plan_drops_the_latest_assignments_of_full_experts():
    plan = moe.plan_dispatch(torch.tensor([FIRST, SECOND]).t(), n_experts=4, capacity_=2)
    assert set(zip(plan.token.tolist(), plan.slot.tolist())) == KEPT
    assert plan.tokens_per_expert.tolist() == [4, 3, 1, 0]
    assert plan.kept_per_expert.tolist() == [2, 2, 1, 0]
    assert plan.expert.tolist() == sorted(plan.expert.tolist())  # grouped by expert
    assert moe.dropped_count(plan.tokens_per_expert, 2) == 3


@pytest.mark.parametrize("dispatch", moe.DISPATCHES)
def test_capacity_overflow_drops_exactly_the_predicted_tokens(dispatch):
    layer = _layer(d_model=4, n_heads=1, n_experts=4, top_k=2, capacity_factor=1.0, dispatch=dispatch)
    with torch.no_grad():
        layer.router.weight.copy_(torch.eye(4))  # logits = x
    x = torch.zeros(4, 4)
    for t, (a, b) in enumerate(zip(FIRST, SECOND)):
        x[t, a], x[t, b] = 2.0, 1.0  # first choice a, second b
    y = layer(x)
    w = torch.softmax(torch.tensor([2.0, 1.0]), 0)
    expected = torch.zeros(4, 4)
    for t, s in KEPT:
        e = (FIRST, SECOND)[s][t]
        expected[t] += w[s] * layer.experts[e](x[t : t + 1])[0]
    torch.testing.assert_close(y, expected)
    assert layer.stats.dropped == 3 and layer.stats.capacity == 2
    assert layer.stats.dropped_fraction == pytest.approx(3 / 8)


def test_a_token_whose_every_choice_is_dropped_gets_zero_expert_output():
    layer = _layer(d_model=4, n_heads=1, n_experts=2, top_k=1, capacity_factor=1.0)
    with torch.no_grad():
        layer.router.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
    x = torch.randn(6, 4)
    x[:, 0] = 10.0  # all six tokens pick expert 0; capacity 3
    y = layer(x)
    assert layer.stats.capacity == 3 and layer.stats.dropped == 3
    assert torch.equal(y[3:], torch.zeros(3, 4)) and (y[:3].abs().sum(dim=1) > 0).all()


def test_balance_loss_is_one_for_uniform_routing_and_grows_as_load_concentrates():
    T, E, k = 64, 8, 2
    uniform = moe.balance_loss(torch.full((T, E), 1 / E), torch.full((E,), T * k // E), k)
    assert uniform.item() == pytest.approx(1.0, abs=1e-6)
    losses = []
    for share in [1 / E, 0.3, 0.5, 0.8, 1.0]:
        # a fraction `share` of all assignments and of the probability goes to expert 0
        probs = torch.full((T, E), (1 - share) / (E - 1))
        probs[:, 0] = share
        counts = torch.tensor([share] + [(1 - share) / (E - 1)] * (E - 1)) * T * k
        losses.append(moe.balance_loss(probs, counts, k).item())
    assert losses[0] == pytest.approx(1.0, abs=1e-6)
    assert all(a < b for a, b in zip(losses, losses[1:]))
    assert losses[-1] == pytest.approx(E)  # total collapse: the loss equals E


def test_z_loss_is_the_mean_squared_logsumexp():
    logits = torch.randn(10, 6)
    manual = torch.stack([torch.log(torch.exp(row).sum()) ** 2 for row in logits]).mean()
    torch.testing.assert_close(moe.z_loss(logits), manual)
    assert moe.z_loss(torch.zeros(3, 8)).item() == pytest.approx(math.log(8) ** 2)


@settings(max_examples=40, deadline=None)
@given(
    n_experts=st.sampled_from([2, 3, 8, 16]),
    top_k=st.integers(1, 3),
    tokens=st.integers(1, 70),
    capacity_factor=st.sampled_from([None, 0.25, 0.5, 1.0, 1.25, 2.0]),
    gating=st.sampled_from(["topk-softmax", "softmax-topk"]),
    ffn_bias=st.sampled_from([("swiglu", False), ("gelu", True), ("relu", True)]),
    seed=st.integers(0, 9),
)
def test_grouped_dispatch_equals_the_naive_loop_in_values_and_gradients(
    n_experts, top_k, tokens, capacity_factor, gating, ffn_bias, seed
):
    top_k = min(top_k, n_experts)
    cfg = dict(
        n_experts=n_experts,
        top_k=top_k,
        capacity_factor=capacity_factor,
        gating=gating,
        ffn=ffn_bias[0],
        bias=ffn_bias[1],
    )
    x = torch.randn(tokens, 16, generator=torch.Generator().manual_seed(seed))
    results = {}
    for dispatch in moe.DISPATCHES:
        layer = _layer(seed, dispatch, **cfg)
        y = layer(x)
        (y.square().sum() + layer.stats.balance_loss + layer.stats.z_loss).backward()
        results[dispatch] = (y, layer.stats, [p.grad for p in layer.parameters()])
    y_ref, stats_ref, grads_ref = results["loop"]
    for dispatch in ("sorted", "batched"):
        y, stats, grads = results[dispatch]
        torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-6)
        assert torch.equal(stats.tokens_per_expert, stats_ref.tokens_per_expert)
        assert torch.equal(stats.kept_per_expert, stats_ref.kept_per_expert)
        for g, g_ref in zip(grads, grads_ref):
            if g_ref is None:
                assert g is None or torch.count_nonzero(g) == 0
            else:
                torch.testing.assert_close(g, g_ref, rtol=1e-4, atol=1e-6)
    assert int(stats_ref.tokens_per_expert.sum()) == tokens * top_k
    if stats_ref.capacity is not None:
        assert int(stats_ref.kept_per_expert.max()) <= stats_ref.capacity


def test_expected_drop_fraction_of_a_uniform_router():
    # Two tokens, two experts, one slot each: both pick the same expert half the time, losing one of two.
    assert moe.expected_drop_fraction_uniform(2, 2, 1, 1.0) == pytest.approx(0.25)
    assert moe.expected_drop_fraction_uniform(512, 8, 2, None) == 0.0
    # Monte Carlo with random top-k sets agrees
    gen = torch.Generator().manual_seed(0)
    T, E, k, cf = 256, 8, 2, 1.0
    cap = moe.capacity(T, E, k, cf)
    drops = []
    for _ in range(400):
        choice = torch.rand(T, E, generator=gen).topk(k, dim=-1).indices
        drops.append(moe.dropped_count(torch.bincount(choice.reshape(-1), minlength=E), cap) / (T * k))
    mc = sum(drops) / len(drops)
    assert mc == pytest.approx(moe.expected_drop_fraction_uniform(T, E, k, cf), rel=0.05)


def test_load_entropy_is_one_for_uniform_and_zero_for_collapse():
    assert moe.load_entropy([5, 5, 5, 5]) == pytest.approx(1.0)
    assert moe.load_entropy([20, 0, 0, 0]) == pytest.approx(0.0)
    assert 0 < moe.load_entropy([10, 5, 3, 2]) < 1


def test_decoder_exposes_router_losses_and_statistics():
    cfg = ModelConfig(
        n_layers=2,
        d_model=32,
        n_heads=4,
        vocab_size=50,
        seq_len=16,
        n_experts=4,
        top_k=2,
        capacity_factor=1.0,
        router_aux_loss_coef=0.1,
        router_z_loss_coef=0.01,
    )
    m = model.build(cfg, seed=0)
    x = torch.randint(0, 50, (3, 16))
    m(x, x)
    stats = m.moe_stats()
    assert len(stats) == 2 and all(int(s.tokens_per_expert.sum()) == 3 * 16 * 2 for s in stats)
    expected = sum(0.1 * s.balance_loss + 0.01 * s.z_loss for s in stats)
    torch.testing.assert_close(m.aux_loss, expected)
    dense = model.build(cfg.replace(n_experts=1, top_k=1), seed=0)
    dense(x, x)
    assert dense.aux_loss is None and dense.moe_stats() == []


def test_moe_decoder_trains_and_logs_the_load(markov_small):
    cfg = ModelConfig(
        n_layers=2,
        d_model=32,
        n_heads=4,
        vocab_size=markov_small.vocab_size,
        seq_len=32,
        d_ff=64,
        n_experts=4,
        top_k=2,
        capacity_factor=1.5,
    )
    hist = train.train(
        cfg,
        markov_small.train,
        markov_small.val,
        steps=30,
        batch_size=8,
        eval_every=15,
        eval_batches=4,
        progress=False,
        device="cpu",
        log_every=10,
    )
    assert hist.val_loss[-1] < hist.val_loss[0] < math.log(markov_small.vocab_size) + 0.1
    assert len(hist.aux_loss) == len(hist.train_loss) and all(a > 0 for a in hist.aux_loss)
    assert all(sum(layer) == 8 * 32 * 2 for step in hist.expert_load for layer in step)


def test_router_loss_coefficient_changes_the_objective_not_the_logged_loss(markov_small):
    cfg = ModelConfig(
        n_layers=1, d_model=32, n_heads=4, vocab_size=markov_small.vocab_size, seq_len=32, d_ff=64, n_experts=4, top_k=2
    )
    run = dict(steps=3, batch_size=4, progress=False, device="cpu")
    on = train.train(cfg, markov_small.train, **run)
    off = train.train(cfg.replace(router_aux_loss_coef=0.0, router_z_loss_coef=0.0), markov_small.train, **run)
    assert on.train_loss[0] == off.train_loss[0]  # same start: the logged loss is the cross-entropy
    assert off.aux_loss == [0.0] * 3 and on.aux_loss[0] > 0
    assert on.train_loss[-1] != off.train_loss[-1]  # the router losses changed the updates


@pytest.fixture(scope="module")
def markov_small():
    return data.load_corpus("markov", n_tokens=100_000)


@pytest.mark.parametrize(
    "changes,field",
    [
        (dict(capacity_factor=0.0), "capacity_factor"),
        (dict(capacity_factor=-1.25), "capacity_factor"),
        (dict(capacity_factor=True), "capacity_factor"),
        (dict(capacity_factor="1.25"), "capacity_factor"),
        (dict(capacity_factor=math.inf), "capacity_factor"),
        (dict(router_aux_loss_coef=-0.01), "router_aux_loss_coef"),
        (dict(router_z_loss_coef=math.nan), "router_z_loss_coef"),
        (dict(gating="sinkhorn"), "gating"),
        (dict(n_experts=4, top_k=5), "top_k"),
    ],
)
def test_bad_moe_configs_raise_clear_errors(changes, field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{**BASE, "n_experts": 4, "top_k": 2, **changes})


def test_bad_dispatch_and_capacity_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="dispatch"):
        moe.MoELayer(ModelConfig(**BASE, n_experts=2), dispatch="einsum")
    with pytest.raises(ValueError, match="capacity_factor"):
        moe.capacity(10, 2, 1, 0)


def test_a_short_balance_run_is_the_prefix_of_a_long_one():
    # The balance page re-runs the start of a stored run live: the constant learning rate after
    # warm-up must make the first steps independent of the run's length.
    from llmscale.experiments import moe_balance

    short = moe_balance.balance_run("tiny", "switch-top1", aux=False, steps=11)
    longer = moe_balance.balance_run("tiny", "switch-top1", aux=False, steps=21)
    assert short.steps == [1, 11] and longer.steps == [1, 11, 21]
    assert short.expert_load == longer.expert_load[:2] and short.train_loss == longer.train_loss[:2]


def test_capacity_sweep_restores_the_layers_and_drops_less_with_more_capacity():
    cfg = ModelConfig(n_layers=2, d_model=32, n_heads=4, vocab_size=50, seq_len=16, n_experts=4, top_k=2)
    net = model.build(cfg, seed=0)
    batches = [(torch.randint(0, 50, (2, 16)), torch.randint(0, 50, (2, 16))) for _ in range(2)]
    sweep = moe.capacity_sweep(net, batches, [None, 0.5, 1.0, 4.0])
    drops = [sum(row["dropped_fraction"]) for row in sweep]
    assert drops[0] == 0 and drops[1] >= drops[2] >= drops[3] == 0 and drops[1] > 0
    assert sweep[0]["loss"] == sweep[3]["loss"]  # c = 4 ≥ E/k: nothing can be dropped
    assert all(layer.capacity_factor is None for layer in net.modules() if isinstance(layer, moe.MoELayer))
    with pytest.raises(ValueError, match="capacity_factor"):
        moe.capacity_sweep(net, batches, [0.0])
    with pytest.raises(ValueError, match="n_experts"):
        moe.capacity_sweep(model.build(cfg.replace(n_experts=1, top_k=1)), batches, [1.0])


# --- load metrics, and the summaries of the stored moe-balance run ----------------------------


def test_load_imbalance_is_one_for_even_load_and_e_over_k_for_collapse():
    assert moe.load_imbalance([5, 5, 5, 5]) == 1.0
    assert moe.load_imbalance([0, 0, 1024, 0, 0, 0, 0, 0]) == 8.0  # top-1: every token to one expert
    assert moe.load_imbalance(torch.tensor([64, 64, 0, 0])) == 2.0  # top-2 of 4: one pair takes all
    assert moe.load_imbalance([3, 1, 0, 4]) == 2.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=2, max_size=12).filter(lambda v: sum(v) > 0))
def test_load_imbalance_is_the_capacity_factor_that_drops_nothing(loads):
    # Top-1 routing of T = Σ n_i tokens: capacity ⌈c·T/E⌉ drops nothing at c = ρ, something below max n_i.
    counts = torch.tensor(loads)
    rho = moe.load_imbalance(loads)
    assert moe.dropped_count(counts, moe.capacity(sum(loads), len(loads), 1, rho)) == 0
    assert moe.dropped_count(counts, max(loads) - 1) > 0
    assert rho >= 1.0


def test_bad_loads_raise_errors_naming_the_field():
    for bad in ([], [0, 0, 0], [4, -1, 2]):
        with pytest.raises(ValueError, match="tokens_per_expert"):
            moe.load_imbalance(bad)


_RUN = {  # the layout of one run of the stored moe-balance results, with numbers worked by hand
    "steps": [1, 11, 21, 31],
    "expert_load": [
        [[2, 2, 2, 2], [4, 0, 0, 4]],
        [[8, 0, 0, 0], [2, 2, 2, 2]],
        [[3, 3, 1, 1], [2, 2, 2, 2]],
        [[2, 2, 2, 2], [4, 4, 0, 0]],
    ],
    "val_loss": [4.0, 3.5],
    "capacity_sweep": [
        {"capacity_factor": None, "dropped_fraction": [0.0, 0.0], "loss": 3.0},
        {"capacity_factor": 1.0, "dropped_fraction": [0.1, 0.3], "loss": 3.25},
    ],
}


def test_balance_summaries_of_a_run_by_hand():
    from llmscale.experiments import moe_balance

    shares = moe_balance.load_shares(_RUN, 11)
    assert shares.tolist() == [[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]
    rho, entropy = moe_balance.imbalance(_RUN)
    assert rho.tolist() == [2.0, 4.0, 1.5, 2.0]  # the worse layer each time
    assert entropy[0] == pytest.approx(0.5) and entropy[1] == 0.0 and entropy[3] == pytest.approx(0.5)
    late = moe_balance.late_balance(_RUN)  # last quarter: step 31 only
    assert (late.rho, late.val_loss) == (2.0, 3.5) and late.entropy == pytest.approx(0.5)
    assert moe_balance.dropped_fraction(_RUN, 1.0) == pytest.approx(0.2)
    assert moe_balance.dropped_fraction(_RUN, None) == 0.0
    assert moe_balance.capacity_sweep_loss(_RUN, None) == 3.0
    assert moe_balance.capacity_loss_change(_RUN, 1.0) == 0.25
    with pytest.raises(ValueError, match="step=12"):
        moe_balance.load_shares(_RUN, 12)
    with pytest.raises(ValueError, match="capacity_factor=1.25"):
        moe_balance.dropped_fraction(_RUN, 1.25)


def test_stored_balance_run_shows_the_switch_collapse_at_step_21_in_every_seed():
    from llmscale import experiments
    from llmscale.experiments import moe_balance

    data = experiments.load("moe-balance")["data"]
    runs = data["runs"]
    assert len(data["seeds"]) >= 3 and all([r["seed"] for r in runs[name]] == data["seeds"] for name in runs)
    first = runs["switch-top1/no-aux"][0]
    i = first["steps"].index(21)
    rho, entropy = moe_balance.imbalance(first)
    assert rho[i] == 8.0 and entropy[i] == 0.0  # seed 0: one expert took every token
    for off, on in zip(runs["switch-top1/no-aux"], runs["switch-top1/aux"]):
        assert moe_balance.load_shares(off, 21).max() > 0.95
        assert moe_balance.late_balance(off).rho > moe_balance.late_balance(on).rho


def test_over_seeds_gives_mean_sd_and_standard_error():
    from llmscale.experiments import moe_balance

    s = moe_balance.over_seeds([1.0, 2.0, 3.0, 6.0])
    assert s.mean == 3.0 and s.sd == pytest.approx((14 / 3) ** 0.5) and s.se == pytest.approx(s.sd / 2)
    assert (s.low, s.high) == (1.0, 6.0) and s.values == (1.0, 2.0, 3.0, 6.0)
    with pytest.raises(ValueError, match="values"):
        moe_balance.over_seeds([1.0])


def test_balance_experiment_trains_every_setting_once_per_seed(monkeypatch):
    from llmscale.experiments import moe_balance

    calls = []

    def fake_run(size, gating, aux, seed, device):
        calls.append((gating, aux, seed))
        return {"seed": seed}

    monkeypatch.setattr(moe_balance, "_one_run", fake_run)
    monkeypatch.setattr(moe_balance, "_sweep", lambda net, size, device: [])
    data = moe_balance._balance("tiny", "cpu")
    assert data["seeds"] == list(moe_balance.SEEDS) and len(moe_balance.SEEDS) >= 3
    assert sorted(calls) == sorted(
        (g, aux, seed) for g in moe_balance.GATINGS for aux in (True, False) for seed in moe_balance.SEEDS
    )
    for name, per_seed in data["runs"].items():
        assert [r["seed"] for r in per_seed] == list(moe_balance.SEEDS), name
