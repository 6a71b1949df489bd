"""Exercises of the page Scaling laws."""

from .. import scaling
from . import register

register("scaling-laws-1",
         lambda: float(scaling.BESIROGLU.compute_optimal(1e24)[0]),
         rel_tol=0.02, unit="parameters",
         hint="N*(C) = G·(C/6)^a with G = (αA/βB)^(1/(α+β)) and a = β/(α+β), using the refit's "
              "constants (scaling.BESIROGLU).")
register("scaling-laws-2",
         lambda: float(scaling.KAPLAN.compute_optimal(5.76e23)[0]
                       / scaling.BESIROGLU.compute_optimal(5.76e23)[0]),
         rel_tol=0.02, unit="ratio",
         hint="Kaplan: N_opt = 1.3e9·(C_min / 1 PF-day)^0.73 with C_min = C/2 and 1 PF-day = 8.64e19 "
              "FLOPs; divide by the refit's N*(C) at the same C.")
register("scaling-laws-3",
         lambda: float(scaling.CHINCHILLA.tokens_per_param(1e25) / scaling.BESIROGLU.tokens_per_param(1e25)),
         rel_tol=0.02, unit="ratio",
         hint="D*/N* = (C/6)^(b−a) / G² for each law; the rounded fit's β = 0.28 < α = 0.34 makes its "
              "ratio grow with C.")
