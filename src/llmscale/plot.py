"""One style for every figure: labelled axes with units, a colour-blind-safe palette."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

# Okabe & Ito (2008), the colour-blind-safe palette; yellow last, as it is faint on white.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def use_style() -> None:
    """Apply the book's figure style to matplotlib (idempotent)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 4.2),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.labelsize": 11,
            "legend.frameon": False,
            "font.size": 10,
            "svg.hashsalt": "llmscale",
        }
    )


def figure(
    title: str,
    xlabel: str,
    ylabel: str,
    *,
    xlog: bool = False,
    ylog: bool = False,
    figsize: tuple[float, float] | None = None,
):
    """A new figure and axes with the book's style, a title stating the finding and unit labels."""
    if not xlabel or not ylabel:
        raise ValueError("xlabel and ylabel must be given, with units, e.g. 'parameters (count)'")
    use_style()
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    return fig, ax


def scatter_groups(ax, xs, ys, groups, hollow=()) -> None:
    """Scatter points coloured and shaped by group (in order of first appearance), with a legend
    entry each; groups named in `hollow` are drawn unfilled (e.g. figures that are not published)."""
    order = list(dict.fromkeys(groups))
    for i, group in enumerate(order):
        pts = [(x, y) for x, y, g in zip(xs, ys, groups) if g == group]
        colour = PALETTE[i % 7]  # yellow, the eighth colour, is too faint for markers
        ax.scatter(
            [p[0] for p in pts],
            [p[1] for p in pts],
            label=group,
            color=colour,
            marker=MARKERS[i % len(MARKERS)],
            s=45,
            zorder=3,
            facecolors="none" if group in hollow else colour,
        )
