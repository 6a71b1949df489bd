"""Splitting one model over many devices: `memory` (model state per GPU under tensor, pipeline
and data parallelism with ZeRO) and `comms` (the bytes that parallelism moves).

Arithmetic, no torch. The running code (labs launched by `torchrun`) wraps a built decoder from
outside; `llmscale.model` never imports `torch.distributed`.
"""
