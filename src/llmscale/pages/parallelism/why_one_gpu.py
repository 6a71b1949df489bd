"""Why one GPU is not enough: the page's small model, its saved-activation counter and exercises."""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.checkpoint import checkpoint

from ... import exercises, hardware, model, presets, published
from ...config import ModelConfig
from ...measure import SavedActivations
from ...parallelism import Layout, memory

# The page's decoder (3.7M parameters), trained in fp32 on the CPU like the book's other models,
# and the batch it measures: 4 sequences of 256 tokens.
BOOK_MODEL = dict(n_layers=4, d_model=256, n_heads=4, vocab_size=512, seq_len=256)
BATCH = 4

# fp32 training as the book runs it on a CPU: 4-byte weights and gradients, AdamW's two 4-byte
# moments, no master copy.
FP32_WEIGHT_BYTES, FP32_GRAD_BYTES, FP32_ADAMW_BYTES = 4, 4, 8


def book_config(**changes) -> ModelConfig:
    """The page's decoder configuration, with `changes` applied."""
    return ModelConfig(**{**BOOK_MODEL, **changes})


class TaggedBlock(nn.Module):
    """A decoder block that names itself to a `SavedActivations` and, with `recompute`, runs under
    `torch.utils.checkpoint` (full recomputation: only the block's input is saved)."""

    def __init__(self, block: nn.Module, recorder: SavedActivations | None, name: str, recompute: bool):
        super().__init__()
        self.block, self.recorder, self.name, self.recompute = block, recorder, name, recompute

    def forward(self, x, rope):
        previous = self.recorder.part if self.recorder else None
        if self.recorder:
            self.recorder.part = self.name
        try:
            if self.recompute:
                # The reentrant form saves its inputs with save_for_backward, so the hooks see them.
                return checkpoint(self.block, x, rope, use_reentrant=True)
            return self.block(x, rope)
        finally:
            if self.recorder:
                self.recorder.part = previous


def wrap_blocks(net: nn.Module, recorder: SavedActivations | None = None, recompute: bool = False) -> nn.Module:
    """Replace each block of the decoder `net` by a `TaggedBlock` (in place); returns `net`."""
    net.blocks = nn.ModuleList(
        TaggedBlock(b, recorder, f"block {i}", recompute) for i, b in enumerate(list(net.blocks))
    )
    return net


def saved_bytes(cfg: ModelConfig, tokens: torch.Tensor, *, recompute: bool = False, attention: str = "math"):
    """Bytes autograd saves in one forward pass of a freshly built decoder for `cfg` on `tokens`,
    by part ({"block 0": ..., "outside the blocks": ...}); the backward pass then runs and frees them.
    attention: "math" (scores stored, as Korthikanti et al. count) or "default" (PyTorch's choice)."""
    net = model.build(cfg, seed=0, device=tokens.device)
    recorder = SavedActivations([*net.parameters(), *net.buffers()])
    wrap_blocks(net, recorder, recompute)
    kernel = sdpa_kernel(SDPBackend.MATH) if attention == "math" else contextlib.nullcontext()
    with kernel, recorder.hooks():
        _, loss = net(tokens, tokens)
    loss.backward()
    return dict(recorder.by_part)


def fp32_coefficients(cfg: ModelConfig) -> tuple[float, float, float]:
    """(replicated, tensor_split, scores) bytes per s·b·h of one of `cfg`'s layers trained in fp32
    without dropout, from `memory.activation_coefficients` (16-bit, with dropout masks):
    twice the 16-bit values less the two dropout masks; an RMSNorm also saves its normalised
    output (4 bytes) and its reciprocal RMS (4 bytes per token, 4/h per s·b·h), two norms per
    layer; the scores keep the softmax output alone, 4 bytes each
    (no dropout mask, no dropout output), so the score term is 4·a·s/h."""
    replicated, split = memory.activation_coefficients(cfg)
    norm_outputs = 2 * (4 + 4 / cfg.d_model) if cfg.norm == "rmsnorm" else 0
    return 2 * (replicated - 2) + norm_outputs, 2 * split, 4.0


def fp32_layer_activation_bytes(cfg: ModelConfig, batch: int, seq_len: int | None = None) -> float:
    """Bytes one layer of `cfg` saves for backward in fp32 with scores stored (`fp32_coefficients`)."""
    s = cfg.seq_len if seq_len is None else seq_len
    replicated, split, scores = fp32_coefficients(cfg)
    no_scores = memory.activation_bytes_per_layer(
        s, batch, cfg.d_model, cfg.n_heads, recompute="selective", replicated=replicated, tensor_split=split
    )
    return no_scores + scores * cfg.n_heads * float(s) * s * batch


# The page's three large models; GPT-4's preset has 84 heads, the stand-in 96 (same width and parameters).
def large_models() -> dict[str, ModelConfig]:
    """GPT-3 175B, LLaMA-65B and the 96-head stand-in for GPT-4 as reported, by display name."""
    from dataclasses import replace

    return {
        "GPT-3 175B": presets.get("gpt3-175b"),
        "LLaMA-65B": presets.get("llama-65b"),
        "GPT-4 (reported, 96 heads)": replace(presets.get("gpt4-reported"), n_heads=96),
    }


def min_gpus_for_model_state(cfg: ModelConfig, accelerator: str = "a100") -> int:
    """A100s (or another accelerator's) whose HBM the mixed-precision model state alone fills."""
    state = memory.training_bytes(cfg, Layout()).model_state
    return math.ceil(state / hardware.get(accelerator).hbm_bytes)


# --- exercises ------------------------------------------------------------------------------------


def _llama_sequences_per_gpu() -> int:
    # ZeRO-3 over LLaMA's 2,048 GPUs, full recomputation: activations grow linearly with the batch.
    cfg = presets.get("llama-65b")
    dp = int(published.get("llama-65b.n_gpus").value)
    one = memory.training_bytes(cfg, Layout(dp=dp, zero=3, recompute="full"))
    per_sequence = one.activations
    return math.floor((hardware.get("a100").hbm_bytes - one.model_state) / per_sequence)


exercises.register(
    "why-one-gpu-1",
    _llama_sequences_per_gpu,
    rel_tol=0.0,
    unit="sequences of 2,048 tokens",
    hint="With ZeRO-3 over 2,048 GPUs each holds 1/2048 of the 16 bytes per parameter; the rest of "
    "80 GiB goes to activations, which with full recomputation are linear in the sequences b: "
    "training_bytes(cfg, Layout(dp=2048, zero=3, recompute='full')).activations per sequence.",
    kind="derive",
)


def _sequence_ratio() -> float:
    # 512-token sequences, 2 of them: the same tokens as the page's 4 × 256.
    cfg = book_config()
    longer = book_config(seq_len=512)
    return fp32_layer_activation_bytes(longer, 2) / fp32_layer_activation_bytes(cfg, BATCH)


exercises.register(
    "why-one-gpu-2",
    _sequence_ratio,
    rel_tol=0.01,
    unit="(ratio)",
    hint="Everything but the scores is proportional to the tokens s·b, which do not change; the "
    "score term 4·a·s/h per s·b·h doubles with s. Per s·b·h: (88 + 4·a·512/h)/(88 + 4·a·256/h).",
    kind="predict",
)

exercises.register(
    "why-one-gpu-3",
    lambda: min_gpus_for_model_state(presets.get("llama3-405b")),
    rel_tol=0.0,
    unit="A100-80GB",
    hint="16 bytes per parameter (mixed-precision AdamW) over 80 GiB = 80·2**30 bytes, rounded up.",
)
