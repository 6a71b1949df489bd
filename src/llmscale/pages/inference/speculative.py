"""Speculative decoding: the page's claims (the GPT-4 leak's speculative decoding) and exercises."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from ... import claims, exercises, experiments
from ...inference import speculative as spec

# The reference pair of distributions the page tests the rejection rule on (any pair would do).
P_REF = (0.40, 0.25, 0.15, 0.10, 0.06, 0.04)
Q_REF = (0.10, 0.30, 0.30, 0.05, 0.15, 0.10)
LEVEL = 1e-3  # significance of the page's goodness-of-fit tests


def rejection_fit(n_draws: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Draw `n_draws` tokens from Q_REF, pass them through `spec.rejection_step` against P_REF:
    the token counts, P_REF, the chi-square p-value of the counts against P_REF, and the
    fraction of drafted tokens kept."""
    gen = torch.Generator().manual_seed(seed)
    p = torch.tensor(P_REF, dtype=torch.float64).expand(n_draws, -1)
    q = torch.tensor(Q_REF, dtype=torch.float64).expand(n_draws, -1)
    drafted = torch.multinomial(q, 1, replacement=True, generator=gen)[:, 0]
    tokens, accepted = spec.rejection_step(p, q, drafted, gen)
    counts = np.bincount(tokens.numpy(), minlength=len(P_REF))
    expected = np.array(P_REF)
    p_value = float(stats.chisquare(counts, n_draws * expected).pvalue)
    return counts, expected, p_value, float(accepted.double().mean())


def stored_runs(language: str) -> list[dict]:
    """The stored runs of the experiment `speculative-decoding` for `language`, one per model seed."""
    return experiments.load("speculative-decoding")["data"]["languages"][language]["runs"]


def tokens_per_pass(language: str, gamma: int, mode: str = "sampled") -> float:
    """Mean over the model seeds of the stored new tokens per target (verify) pass at γ."""
    return float(
        np.mean(
            [next(r for r in run[mode] if r["gamma"] == gamma)["tokens_per_round"] for run in stored_runs(language)]
        )
    )


@claims.register(
    "speculative-gpt4-uses",
    claims.GPT4_LEAK,
    "GPT-4's inference possibly uses speculative decoding (the article adds that this is not confirmed)",
    True,
    "yes/no",
    basis="none",
)
def _gpt4_uses():
    return None, (
        "Nothing public says how GPT-4 is served; the article itself calls it unconfirmed. The book "
        "can only say what speculative decoding would buy (this page)."
    )


@claims.register(
    "speculative-gpt4-several-tokens",
    claims.GPT4_LEAK,
    "When the small model's predictions agree with the large model's, several tokens are decoded in one "
    "pass of the large model",
    1,
    "tokens per pass of the target",
    basis="derived",
    bound=">",
)
def _several_tokens():
    markov, english = tokens_per_pass("markov", 4), tokens_per_pass("english", 4)
    return min(markov, english), (
        f"The book's draft and target, γ = 4 drafted tokens, temperature 1: {markov:.2f} new tokens per target "
        f"pass on the Markov language and {english:.2f} on English (stored experiment speculative-decoding, "
        "mean over three model seeds); the smaller is shown. More than one token per pass holds whenever α > 0."
    )


@claims.register(
    "speculative-gpt4-lower-probability",
    claims.GPT4_LEAK,
    "Speculative decoding makes decoding efficient while potentially accepting lower-probability sequences "
    "(its output differs from what the large model alone would produce)",
    True,
    "yes/no",
    basis="derived",
)
def _lower_probability():
    _, _, p_value, _ = rejection_fit()
    differs = p_value < LEVEL
    return differs, (
        "With the rejection rule of Leviathan et al. and Chen et al. (accept with probability min(1, p/q), "
        "else sample from norm(max(0, p − q))) the output is distributed exactly as the target's: 200,000 "
        f"draws through the rule match the target at p = {p_value:.2f} (chi-square; the test's power against "
        "the draft's own distribution is 1), and greedy speculative output equals greedy target output token "
        "for token. Only lenient variants, which accept tokens the target would not have chosen, trade "
        "fidelity for speed; the leak does not say which GPT-4 would use."
    )


exercises.register(
    "speculative-1",
    lambda: spec.expected_tokens(0.8, 6),
    rel_tol=0.001,
    unit="tokens per verify pass",
    hint="(1 − α^(γ+1))/(1 − α) with α = 0.8 and γ = 6: the accepted drafts and the target's own token.",
)
exercises.register(
    "speculative-2",
    lambda: spec.best_gamma(0.8, 0.05),
    rel_tol=0.0,
    unit="drafted tokens",
    hint="Evaluate (1 − α^(γ+1)) / ((1 − α)(γc + 1)) for γ = 1, 2, ... with α = 0.8, c = 0.05: the "
    "gain of one more draft, α^(γ+1)/(1 − α)·…, falls below its cost γc at some γ.",
    kind="derive",
)
exercises.register(
    "speculative-3",
    lambda: float(spec.residual(torch.tensor([0.5, 0.3, 0.2]), torch.tensor([0.25, 0.25, 0.5]))[0]),
    rel_tol=0.001,
    unit="probability",
    hint="After a rejection the token comes from max(0, p − q), normalised: (0.25, 0.05, 0) / 0.3.",
    kind="derive",
)


def over_seeds(language: str, mode: str, key: str) -> tuple[list[int], np.ndarray, np.ndarray]:
    """γ values, and the mean and standard error over the model seeds of a stored quantity
    (`key` of the runs in `mode`, "sampled", "greedy" or "timed")."""
    runs = stored_runs(language)
    gammas = [r["gamma"] for r in runs[0][mode]]
    values = np.array([[r[key] for r in run[mode]] for run in runs])
    return gammas, values.mean(0), values.std(0, ddof=1) / np.sqrt(len(runs))


def stored_costs(language: str) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Per model seed: c (draft step over target step) and, per γ, the verify pass in target steps."""
    runs = stored_runs(language)
    c = np.array([r["draft_step_s"] / r["target_step_s"] for r in runs])
    gammas = [int(g) for g in runs[0]["verify_s"]]
    verify = {g: np.array([r["verify_s"][str(g)] / r["target_step_s"] for r in runs]) for g in gammas}
    return c, verify
