"""Unit conversions and number formatting used across the book."""

from __future__ import annotations

SECONDS_PER_DAY = 86_400.0
PF_DAY = 1e15 * SECONDS_PER_DAY  # FLOPs in one petaFLOP/s-day
GiB = 2**30  # bytes in a gibibyte: the unit of the "GB" vendors print for HBM capacity


def pf_days(flops: float) -> float:
    """FLOPs expressed in petaFLOP/s-days (the unit of the GPT-3 paper)."""
    return flops / PF_DAY


def human(n: float, digits: int = 3) -> str:
    """A count in short scale: 174.6e9 -> '175B', 65e6 -> '65.0M'."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}g}{suffix}"
    return f"{n:.{digits}g}"
