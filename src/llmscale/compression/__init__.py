"""Compression and growth: smaller models, cheaper training.

`calibration` (what a linear layer sees: per-layer input statistics gathered over calibration
tokens), `hessian` (the second-order statistics GPTQ and SparseGPT share), `formats` (bytes per
weight in each number format, with group scales; what fits which GPU: arithmetic), `quantize`
(round-to-nearest, GPTQ, activation-aware scaling, outlier decomposition, packed storage), `prune`
(magnitude, Wanda, SparseGPT; unstructured and N:M masks), `sparse_speed` (what 2:4 sparsity buys
on a GPU, by the roofline: arithmetic), `distill` (the soft-target loss, a hook of the training
loop), `grow` (LiGO and the growth baselines: stacking, Net2Net) and `savings` (FLOPs to reach a
loss, and the saving of one run over another: arithmetic).
"""
