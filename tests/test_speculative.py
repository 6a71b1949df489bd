"""Speculative decoding: the formulas, the rejection rule (its output is distributed as the
target's: chi-square tests with fixed seeds and a stated power) and the decoder over KV caches."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats as st

from llmscale.config import ModelConfig
from llmscale.inference import speculative as spec
from llmscale.model import build

# Significance of every goodness-of-fit test here: a correct sampler fails with probability 1e-3
# (and, with fixed seeds, never fails once it passes).
LEVEL = 1e-3

P = torch.tensor([0.40, 0.25, 0.15, 0.10, 0.06, 0.04], dtype=torch.float64)
Q = torch.tensor([0.10, 0.30, 0.30, 0.05, 0.15, 0.10], dtype=torch.float64)


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> tuple[float, float]:
    """Pearson's statistic of `counts` against `probs`, and the critical value at LEVEL."""
    n = counts.sum().item()
    expected = n * probs
    stat = float(((counts - expected) ** 2 / expected).sum())
    return stat, float(st.chi2.ppf(1 - LEVEL, len(probs) - 1))


def power(n: int, probs: torch.Tensor, alternative: torch.Tensor) -> float:
    """Power of the chi-square test at LEVEL with n draws when the draws follow `alternative`:
    the non-central chi-square with λ = n·Σ (alt − p)²/p."""
    df = len(probs) - 1
    crit = st.chi2.ppf(1 - LEVEL, df)
    lam = n * float(((alternative - probs) ** 2 / probs).sum())
    return float(st.ncx2.sf(crit, df, lam))


def draws(sampler, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    p, q = P.expand(n, -1), Q.expand(n, -1)
    drafted = torch.multinomial(q, 1, replacement=True, generator=gen)[:, 0]
    tokens = sampler(p, q, drafted, gen)
    return torch.bincount(tokens, minlength=len(P)).double()


def _rejection(p, q, drafted, gen):
    return spec.rejection_step(p, q, drafted, gen)[0]


def _keep_draft(p, q, drafted, gen):  # no verification at all: the draft's own distribution
    return drafted


def _resample_from_p(p, q, drafted, gen):  # a common bug: on rejection, draw from p, not the residual
    token, accepted = spec.rejection_step(p, q, drafted, gen)
    fallback = torch.multinomial(p, 1, generator=gen)[:, 0]
    return torch.where(accepted, drafted, fallback)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models decode fastest on one thread, and a shared machine does not slow them down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- the formulas ---------------------------------------------------------------------------------


def test_expected_tokens_hand_values_and_limits():
    assert spec.expected_tokens(0.0, 4) == 1.0  # nothing accepted: the target's own token only
    assert spec.expected_tokens(1.0, 4) == 5.0  # everything accepted, plus the bonus token
    assert spec.expected_tokens(0.5, 2) == pytest.approx(1.75)  # 1 + 0.5 + 0.25
    assert spec.expected_tokens(0.8, 0) == 1.0
    assert spec.expected_tokens(1 - 1e-9, 4) == pytest.approx(5.0, rel=1e-6)  # continuous at α → 1
    # Σ_{i=0}^{γ} α^i, the geometric series the closed form sums
    assert spec.expected_tokens(0.7, 6) == pytest.approx(sum(0.7**i for i in range(7)))


def test_speedup_hand_values_and_limits():
    assert spec.speedup(0.5, 2, 0.1) == pytest.approx(1.75 / 1.2)
    assert spec.speedup(0.0, 3, 0.2) == pytest.approx(1 / 1.6)  # α = 0 only costs
    assert spec.speedup(1.0, 4, 0.0) == 5.0  # a free perfect draft: γ + 1 tokens per step
    assert spec.speedup(0.8, 4, 0.05, verify=1.5) == pytest.approx(spec.expected_tokens(0.8, 4) / 1.7)
    assert spec.speedup(0.9, 0, 0.3) == 1.0  # γ = 0 is plain decoding


def test_best_gamma_is_the_argmax_and_zero_for_a_useless_draft():
    for alpha, c in [(0.6, 0.05), (0.8, 0.1), (0.9, 0.02), (0.95, 0.3)]:
        g = spec.best_gamma(alpha, c)
        assert all(spec.speedup(alpha, g, c) >= spec.speedup(alpha, k, c) for k in range(65))
    assert spec.best_gamma(0.0, 0.1) == 0
    assert spec.best_gamma(0.8, 0.1, verify=lambda g: 1 + 0.1 * g) < spec.best_gamma(0.8, 0.1)


def test_overlap_hand_cases():
    assert float(spec.overlap(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0]))) == 0.5
    assert float(spec.overlap(P, P)) == pytest.approx(1.0)
    assert float(spec.overlap(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))) == 0.0
    # 1 − total variation distance
    assert float(spec.overlap(P, Q)) == pytest.approx(1 - 0.5 * float((P - Q).abs().sum()))


def test_geometric_acceptances_follow_the_formula():
    acc = spec.geometric_acceptances(0.7, 4, 20_000, seed=0)
    mean = sum(a + 1 for a in acc) / len(acc)
    assert mean == pytest.approx(spec.expected_tokens(0.7, 4), rel=0.02)


@pytest.mark.parametrize(
    "call",
    [
        lambda: spec.expected_tokens(1.5, 4),
        lambda: spec.expected_tokens(-0.1, 4),
        lambda: spec.expected_tokens(True, 4),
        lambda: spec.expected_tokens(0.5, -1),
        lambda: spec.expected_tokens(0.5, 2.5),
        lambda: spec.speedup(0.5, 4, -0.1),
        lambda: spec.speedup(0.5, 4, 0.1, verify=0),
        lambda: spec.best_gamma(0.5, 0.1, max_gamma=0),
        lambda: spec.overlap(torch.ones(3) / 3, torch.ones(4) / 4),
        lambda: spec.rejection_step(P, Q * 2, torch.tensor(0)),
        lambda: spec.rejection_step(P, Q, torch.tensor([0, 1])),
        lambda: spec.geometric_acceptances(0.5, 4, 0),
    ],
)
def test_bad_arguments_raise_value_errors(call):
    with pytest.raises(ValueError):
        call()


# --- the rejection rule ------------------------------------------------------------------------


N_DRAWS = 200_000


def test_rejection_sampler_output_is_distributed_as_the_target():
    """200,000 draws, chi-square at level 1e-3. Power against the draft's own q (no
    verification) and against resampling from p on rejection: above 0.999999; against a
    sampler that returns the draft's token 2% of the time (0.98·p + 0.02·q): above 0.99."""
    stat, crit = chi_square(draws(_rejection, N_DRAWS, seed=0), P)
    assert stat < crit
    alt_bug = torch.minimum(P, Q) + (1 - spec.overlap(P, Q)) * P
    assert power(N_DRAWS, P, Q) > 0.999999
    assert power(N_DRAWS, P, alt_bug) > 0.999999
    assert power(N_DRAWS, P, 0.98 * P + 0.02 * Q) > 0.99


@pytest.mark.parametrize("wrong", [_keep_draft, _resample_from_p])
def test_the_chi_square_test_rejects_wrong_samplers(wrong):
    stat, crit = chi_square(draws(wrong, N_DRAWS, seed=0), P)
    assert stat > crit


def test_acceptance_rate_of_the_rule_is_the_overlap():
    gen = torch.Generator().manual_seed(1)
    q = Q.expand(N_DRAWS, -1)
    drafted = torch.multinomial(q, 1, generator=gen)[:, 0]
    _, accepted = spec.rejection_step(P.expand(N_DRAWS, -1), q, drafted, gen)
    alpha = float(spec.overlap(P, Q))
    se = math.sqrt(alpha * (1 - alpha) / N_DRAWS)
    assert abs(accepted.double().mean().item() - alpha) < 5 * se


def test_residual_is_a_distribution_and_p_when_the_draft_is_exact():
    r = spec.residual(P, Q)
    assert float(r.sum()) == pytest.approx(1.0)
    assert torch.all(r[Q >= P] == 0)
    assert torch.equal(spec.residual(P, P), P)


# --- the decoder over KV caches ----------------------------------------------------------------


def tiny_model(seed: int, n_layers: int = 1, d_model: int = 16, vocab: int = 5, sharp: float = 8.0):
    cfg = ModelConfig(n_layers=n_layers, d_model=d_model, n_heads=2, vocab_size=vocab, seq_len=32, d_ff=32)
    model = build(cfg, seed=seed).double().eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(sharp)  # peaked distributions, far from uniform
    return model


def full_logits(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(ids)[0][0, -1]


def test_speculative_sampling_equals_the_target_distribution_over_two_tokens():
    """The joint law of two generated tokens (25 cells) over 1,500 runs with γ = 2 (caches rolled
    back after rejections), chi-square at level 1e-3. Power against the draft's own joint law:
    above 0.9999; against a sampler whose output is the draft's one time in five (0.8·p + 0.2·q):
    above 0.9999 too."""
    target, draft = tiny_model(0, n_layers=2), tiny_model(1)
    prompt = torch.tensor([[1, 3, 0]])
    # exact joint of the target: p(a)·p(b | a)
    p1 = torch.softmax(full_logits(target, prompt), -1)
    q1 = torch.softmax(full_logits(draft, prompt), -1)
    joint = torch.zeros(5, 5, dtype=torch.float64)
    joint_draft = torch.zeros(5, 5, dtype=torch.float64)
    for a in range(5):
        ids = torch.cat([prompt, torch.tensor([[a]])], 1)
        joint[a] = p1[a] * torch.softmax(full_logits(target, ids), -1)
        joint_draft[a] = q1[a] * torch.softmax(full_logits(draft, ids), -1)
    n = 1500
    counts = torch.zeros(25, dtype=torch.float64)
    tried = accepted = 0
    for seed in range(n):
        out, stats = spec.speculative_generate(target, draft, prompt, 2, gamma=2, temperature=1.0, seed=seed)
        counts[out[0, -2] * 5 + out[0, -1]] += 1
        tried, accepted = tried + stats.tried, accepted + stats.accepted
    probs = joint.flatten()
    stat, crit = chi_square(counts, probs)
    assert stat < crit
    assert power(n, probs, joint_draft.flatten()) > 0.9999
    assert power(n, probs, 0.8 * probs + 0.2 * joint_draft.flatten()) > 0.9999
    assert 0 < accepted < tried  # the draft is neither useless nor perfect here


def test_measured_acceptance_rate_matches_the_overlap_on_the_same_contexts():
    target, draft = tiny_model(0, n_layers=2), tiny_model(1)
    prompt = torch.tensor([[2]])
    tried = accepted = 0
    overlap_sum = 0.0
    for seed in range(40):
        _, s = spec.speculative_generate(target, draft, prompt, 30, gamma=3, seed=seed)
        tried, accepted, overlap_sum = tried + s.tried, accepted + s.accepted, overlap_sum + s.overlap_sum
    alpha, expected = accepted / tried, overlap_sum / tried
    assert abs(alpha - expected) < 4 * math.sqrt(expected * (1 - expected) / tried)


@pytest.mark.parametrize("gamma", [0, 1, 3, 6])
def test_greedy_speculative_output_equals_greedy_target_output(gamma):
    from llmscale.inference import generate

    target, draft = tiny_model(0, n_layers=2, vocab=11), tiny_model(1, vocab=11)
    prompt = torch.tensor([[4, 1, 7]])
    out, stats = spec.speculative_generate(target, draft, prompt, 25, gamma=gamma, temperature=0.0)
    assert torch.equal(out, generate(target, prompt, 25, temperature=0.0))
    assert stats.new_tokens == 25


def test_a_perfect_draft_is_always_accepted():
    target = tiny_model(0, n_layers=2, vocab=11)
    for temperature in (0.0, 1.0):
        _, stats = spec.speculative_generate(target, target, torch.tensor([[3]]), 24, 3, temperature, seed=0)
        assert stats.accepted == stats.drafted and stats.rounds == 6  # 24 tokens in γ + 1 = 4 a round


def test_speculative_generate_rejects_bad_input():
    target, draft = tiny_model(0), tiny_model(1)
    with pytest.raises(ValueError, match="batch"):
        spec.speculative_generate(target, draft, torch.zeros(2, 3, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="vocab_size"):
        spec.speculative_generate(target, tiny_model(1, vocab=7), torch.zeros(1, 3, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="seq_len"):
        spec.speculative_generate(target, draft, torch.zeros(1, 3, dtype=torch.long), 40)
    with pytest.raises(ValueError, match="gamma"):
        spec.speculative_generate(target, draft, torch.zeros(1, 3, dtype=torch.long), 4, gamma=-1)


def test_the_experiments_pair_is_trained_once_then_loaded_from_the_cache(tmp_path, monkeypatch):
    from llmscale.experiments import speculative_decoding as exp

    monkeypatch.setenv("LLMSCALE_CACHE", str(tmp_path))
    target, draft, info = exp.trained_pair("markov", "tiny", seed=0)
    assert len(list((tmp_path / "speculative").glob("*.pt"))) == 2
    again, _, info_again = exp.trained_pair("markov", "tiny", seed=0)
    assert info_again == info
    assert all(torch.equal(a, b) for a, b in zip(target.state_dict().values(), again.state_dict().values()))
    point = exp.decode_point(target, draft, "markov", "tiny", gamma=3, temperature=1.0, seed=0)
    assert point["tried"] > 0 and 1 <= point["tokens_per_round"] <= 4
    assert sum(point["accepted_histogram"]) == point["rounds"]
    with pytest.raises(ValueError, match="language"):
        exp.corpus("klingon")


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_measure_costs_times_each_step_as_decoding_spends_it(temperature):
    target, draft = tiny_model(0, n_layers=2), tiny_model(1, n_layers=1)
    context = torch.randint(0, target.cfg.vocab_size, (1, 8), generator=torch.Generator().manual_seed(0))
    costs = spec.measure_costs(target, draft, context, gammas=(1, 3), repeats=3, temperature=temperature)
    assert set(costs.verify_s) == {1, 3} and costs.context == 8
    assert costs.target_s > 0 and costs.draft_s > 0 and all(s > 0 for s in costs.verify_s.values())
    with pytest.raises(ValueError, match="temperature"):
        spec.measure_costs(target, draft, context, gammas=(1,), repeats=3, temperature=-1.0)
