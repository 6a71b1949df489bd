"""PaLM 540B: what Chowdhery et al. 2022 report (PaLM: Scaling Language Modeling with Pathways).

Training compute three ways (Tables 21 and 22), throughput and FLOPs utilisation (Section 4.1
and Appendix B), the two phases of TPU v4 chips and hours, and the energy and emissions of the
run (Appendix B). The configuration is the preset `palm-540b`. GPT-3's throughput per GPU, which
this paper quotes, is in `gpt3.py`.
"""

from __future__ import annotations

from . import Figure

_PALM_B = "Chowdhery et al. 2022, PaLM: Scaling Language Modeling with Pathways, Appendix B"

FIGURES: dict[str, Figure] = {
    # Training compute.
    "palm-540b.train_flops": Figure(
        2.56e24,
        "FLOP",
        _PALM_B + ", Table 22: 2.56 × 10^24 train FLOPs (non-attention + attention, no rematerialisation)",
    ),
    "palm-540b.train_flops_6nd": Figure(
        2.5272e24, "FLOP", "Chowdhery et al. 2022, Table 21: 2527.2 zettaFLOPs, the approximation 2 × 3 × m × t"
    ),
    "palm-540b.train_pf_days": Figure(29_600, "PF-day", _PALM_B + ", Table 22: 29,600 PetaFLOP/s-days"),
    "palm-540b.flops_per_token": Figure(
        3.28e12, "FLOP/token", _PALM_B + ", Table 22: 3.28 TFLOPs per token (non-attention + attention)"
    ),
    # Throughput and utilisation.
    "palm-540b.tokens_per_s": Figure(
        238.3e3, "token/s", "Chowdhery et al. 2022, Section 4.1 and Appendix B: 238.3K tokens/sec"
    ),
    "palm-540b.mfu": Figure(0.462, "fraction", _PALM_B + ": MFU 46.2% with self-attention"),
    "palm-540b.mfu_no_attention": Figure(0.457, "fraction", _PALM_B + ": MFU 45.7% without self-attention"),
    "palm-540b.hfu": Figure(
        0.578, "fraction", _PALM_B + ": hardware FLOPs utilisation 57.8% (rematerialisation included)"
    ),
    # Chips and hours, in two phases.
    "palm-540b.chips_phase1": Figure(6144, "TPU v4 chip", _PALM_B + ": 6144 TPU v4 chips for 1200 hours"),
    "palm-540b.hours_phase1": Figure(1200, "hour", _PALM_B + ": 6144 TPU v4 chips for 1200 hours"),
    "palm-540b.chips_phase2": Figure(3072, "TPU v4 chip", _PALM_B + ": 3072 TPU v4 chips for 336 hours"),
    "palm-540b.hours_phase2": Figure(336, "hour", _PALM_B + ": 3072 TPU v4 chips for 336 hours"),
    # Energy and emissions.
    "palm-540b.system_watts_per_chip": Figure(378.5, "W", _PALM_B + ": 378.5 W measured system power per TPU v4 chip"),
    "palm-540b.pue": Figure(1.08, "ratio", _PALM_B + ": Oklahoma datacenter, PUE 1.08"),
    "palm-540b.tco2e_per_mwh": Figure(0.079, "tCO2e/MWh", _PALM_B + ": 0.079 tCO2e/MWh"),
    "palm-540b.tco2e": Figure(271.43, "tCO2e", _PALM_B + ": total effective emissions 271.43 tCO2e"),
}
