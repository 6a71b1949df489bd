"""Gopher and Chinchilla: what DeepMind's papers report, and the replication of Hoffmann et al.

Rae et al. 2021 (Gopher) and Hoffmann et al. 2022 (Training Compute-Optimal Large Language
Models: Chinchilla and the compute-optimal scaling laws): the two models' training compute,
the Gopher budget, and the compute-optimal sizes the paper states in words. Besiroglu et al.
2024 (Chinchilla Scaling: A replication attempt), at the end: how many experiments Hoffmann et
al.'s confidence intervals would need.

The fitted constants of the laws themselves, and the tables of compute-optimal models of
Hoffmann et al., live with the algebra in `llmscale.scaling`. The configurations are the presets
`gopher-280b` and `chinchilla-70b`.
"""

from __future__ import annotations

from . import Figure

FIGURES: dict[str, Figure] = {
    # The two models' training compute.
    "gopher-280b.train_flops": Figure(
        6.31e23,
        "FLOP",
        "Rae et al. 2021, Scaling Language Models: Methods, Analysis & Insights from "
        "Training Gopher, Appendix (compute usage): 6.31E+08 train PFLOPs; the count includes "
        "rematerialisation, padding and repeated computation",
    ),
    "chinchilla-70b.train_flops": Figure(
        5.76e23,
        "FLOP",
        "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, "
        "Section 4 and Figure 2: Chinchilla was trained with Gopher's budget of 5.76 × 10^23 FLOPs",
    ),
    # Hoffmann et al. 2022: compute-optimal sizes.
    "hoffmann.gopher_budget_flops": Figure(
        5.76e23,
        "FLOP",
        "Hoffmann et al. 2022, Table 3 and Figure 2: the FLOPs used to train Gopher, the budget of the 'Gopher unit'",
    ),
    "hoffmann.approach3_gopher_params": Figure(
        40e9,
        "parameters",
        "Hoffmann et al. 2022, Figure 4 caption: 'We project the optimal model "
        "size given the Gopher FLOP budget to be 40B parameters'",
    ),
    "hoffmann.approach1_params_at_1e21": Figure(
        2.86e9,
        "parameters",
        "Hoffmann et al. 2022, Appendix D.4: at 1e21 FLOPs 'we estimate a 2.86 "
        "billion parameter model should be optimal' (Approach 1)",
    ),
    "hoffmann.kaplan_params_at_1e21": Figure(
        4.68e9,
        "parameters",
        "Hoffmann et al. 2022, Appendix D.4: at 1e21 FLOPs, by Kaplan et al. "
        "'the optimal model size should be 4.68 billion parameters'",
    ),
    "hoffmann.approach3_a_p10": Figure(
        0.454,
        "exponent",
        "Hoffmann et al. 2022, Table 2: Approach 3's a = 0.46 with 10th and 90th bootstrap percentiles (0.454, 0.455)",
    ),
    "hoffmann.approach3_a_p90": Figure(
        0.455, "exponent", "Hoffmann et al. 2022, Table 2 (see hoffmann.approach3_a_p10)"
    ),
    # Not from DeepMind: Besiroglu et al. 2024, the replication of Hoffmann et al.'s Approach 3.
    "besiroglu.experiments_for_reported_ci": Figure(
        600_000,
        "experiments",
        "Besiroglu et al. 2024, abstract: intervals as narrow as Hoffmann et "
        "al.'s 'would require over 600,000 experiments'",
    ),
    "besiroglu.experiments_likely_run": Figure(
        500, "experiments", "Besiroglu et al. 2024, abstract: 'while they likely only ran fewer than 500'"
    ),
}
