"""Splitting one model over many devices.

Arithmetic, no torch: `layout` (the validated `Layout`: dp × tp × pp GPUs, expert parallelism over
the dp ranks, ZeRO stage, microbatches, recomputation, pipeline schedule; `layouts_for` lists the
valid ones for a model and a cluster), `schedule` (the pipeline bubble and the microbatches a stage
keeps in flight), `memory` (bytes per GPU of weights, gradients, optimizer state and activations),
`comms` (the bytes and seconds that parallelism's collectives move, α–β), `planner` (every
feasible layout of a model on a cluster, priced, best first; `python -m llmscale plan`) and
`reliability` (failures, checkpoints, goodput).
`Layout` and `pipeline_bubble` are re-exported here.

The running code (labs in `parallelism.labs`, launched by `torchrun`) wraps a built decoder from
outside; `llmscale.model` never imports `torch.distributed`.
"""

from .layout import Layout
from .schedule import pipeline_bubble

__all__ = ["Layout", "pipeline_bubble"]
