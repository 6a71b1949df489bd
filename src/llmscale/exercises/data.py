"""Exercises of the page Data."""

from .. import datamix
from . import register

register("data-1",
         lambda: datamix.published_mixture("llama").get("wikipedia", "unique_tokens"),
         rel_tol=0.01, unit="tokens",
         hint="Wikipedia supplies 4.5% of the 1.4T training tokens, seen over 2.45 epochs: "
              "U = w·D / e.")
register("data-2",
         lambda: datamix.effective_tokens(400e9, 100e9),
         rel_tol=0.005, unit="tokens",
         hint="Four epochs are R = 3 repetitions: D' = U + U·R*·(1 − exp(−R/R*)) with R* ≈ 15.39.")
register("data-3",
         lambda: datamix.published_mixture("gpt3").get("webtext2", "implied_epochs"),
         rel_tol=0.02, unit="epochs",
         hint="WebText2 gives 22% of the 300B tokens (normalise the weights, which sum to 101%), "
              "and holds 19B tokens.")
register("data-4",
         lambda: datamix.epochs_at_value(0.5),
         rel_tol=0.01, unit="epochs",
         hint="Solve (1 + R*·(1 − exp(−R/R*))) / (1 + R) = 1/2 for R numerically, then e = 1 + R.")
