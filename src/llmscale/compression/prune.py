"""Pruning: set a fraction of a model's linear weights to zero, chosen by magnitude, by Wanda's score
or by SparseGPT's second-order reconstruction, in an unstructured or an N:M pattern.

- **Magnitude** (the classical baseline): prune the weights of smallest |W_ij|, compared over the
  whole matrix (the comparison group the Wanda paper's magnitude baseline uses, "per layer").
- **Wanda** (Sun et al. 2023): score |W_ij|·‖X_j‖₂, X_j the j-th input feature over the
  calibration tokens, compared *per output row* (the paper's choice: each output keeps the same
  fraction of its inputs). No weight is changed but the pruned ones.
- **SparseGPT** (Frantar & Alistarh 2023): walk the columns of W in order, as GPTQ does, and feed
  each pruned weight's error back into the columns not yet visited through the upper Cholesky
  factor of H⁻¹ (H = 2XᵀX/n, `hessian.inverse_cholesky`), so that the layer's output W X moves as
  little as the second-order model allows. Unstructured masks are chosen adaptively, once per
  block of `blocksize` columns (128 in the paper), over the block's weights by w²/[H⁻¹]_jj²
  (computed on the weights the earlier blocks' updates left); N:M masks per group of M columns.

Patterns: "unstructured" (any weights), "2:4" and "4:8" (N kept in every M consecutive inputs of
each row: the layout NVIDIA's sparse tensor cores run at twice the math rate, 2:4 only). A group
of n candidates prunes ⌊s·n⌋ of them, so the sparsity is exact when s·n is whole.

`prune(model, method, ...)` returns a new model (the original is untouched) whose linear layers
are pruned: every `nn.Linear` of the blocks, never the embeddings or the output head (`lm_head`),
which pruning papers leave dense too. Wanda and SparseGPT go block by block as in both papers'
code: block i is calibrated on the outputs of blocks 0..i−1 *already pruned*, so it sees and
compensates the errors before it; all linear layers of one block share one pass (SparseGPT's
default, not its "true sequential" option). `sparsity_reached` counts the zeros actually there.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .._validate import fraction, positive_int
from . import calibration
from . import hessian as _hessian
from .calibration import LinearStats, linear_layers

SCORES = ("magnitude", "wanda")
PATTERNS = ("unstructured", "2:4", "4:8")
METHODS = ("magnitude", "wanda", "sparsegpt")


# --- arguments -----------------------------------------------------------------------------------


def n_m(pattern: str) -> tuple[int, int] | None:
    """(N, M) of an N:M pattern, N kept in every M; None for "unstructured"."""
    if pattern not in PATTERNS:
        raise ValueError(f"pattern={pattern!r} is not one of {PATTERNS}; e.g. pattern='2:4'")
    if pattern == "unstructured":
        return None
    n, m = (int(v) for v in pattern.split(":"))
    return n, m


def _check_sparsity(sparsity, pattern: str) -> float:
    if not isinstance(sparsity, int | float) or isinstance(sparsity, bool) or not 0 <= sparsity < 1:
        raise ValueError(f"sparsity={sparsity!r} must be a fraction in [0, 1) of the weights to prune, e.g. 0.5")
    nm = n_m(pattern)
    if nm is not None and not math.isclose(sparsity, 1 - nm[0] / nm[1]):
        raise ValueError(
            f"sparsity={sparsity!r} does not match pattern={pattern!r}, which keeps {nm[0]} of every {nm[1]} "
            f"weights; pass sparsity={1 - nm[0] / nm[1]:g} or pattern='unstructured'"
        )
    return float(sparsity)


def _check_weight(weight, pattern: str) -> torch.Tensor:
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.numel() == 0:
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight has shape {shape}; pass a linear layer's weight (out_features, in_features)")
    nm = n_m(pattern)
    if nm is not None and weight.shape[1] % nm[1]:
        raise ValueError(
            f"weight has in_features={weight.shape[1]}, not a multiple of {nm[1]} as pattern={pattern!r} "
            "needs; use pattern='unstructured' or a layer whose width is a multiple of M"
        )
    return weight


def column_norms(inputs, in_features: int) -> torch.Tensor:
    """‖X_j‖₂ per input column (in_features,), float64, from calibration activations (tokens,
    in_features), from those norms themselves (in_features,), or from a `calibration.LinearStats`."""
    if isinstance(inputs, LinearStats):
        norms = inputs.column_norms()
    elif isinstance(inputs, torch.Tensor) and inputs.dim() == 2 and inputs.shape[1] == in_features:
        norms = torch.linalg.vector_norm(inputs.to(torch.float64), dim=0)
    elif isinstance(inputs, torch.Tensor) and inputs.dim() == 1:
        norms = inputs.to(torch.float64)
    else:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(
            f"inputs has shape {shape}; pass calibration activations (tokens, {in_features}), their column "
            "norms (in_features,) or a calibration.LinearStats"
        )
    if norms.shape != (in_features,):
        raise ValueError(f"inputs gives {norms.shape[0]} column norms, the weight has in_features={in_features}")
    return norms


def _layer_hessian(inputs, in_features: int) -> torch.Tensor:
    if isinstance(inputs, LinearStats):
        h = inputs.hessian()
    elif isinstance(inputs, torch.Tensor) and inputs.dim() == 2 and inputs.shape[1] == in_features:
        h = _hessian.hessian(inputs)
    else:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(
            f"inputs has shape {shape}; SparseGPT needs calibration activations (tokens, {in_features}) "
            "or a calibration.LinearStats"
        )
    if h.shape != (in_features, in_features):
        raise ValueError(f"inputs describe {h.shape[0]} input features, the weight has in_features={in_features}")
    return h


# --- masks ---------------------------------------------------------------------------------------


def scores(weight: torch.Tensor, score: str = "magnitude", inputs=None) -> torch.Tensor:
    """Importance of each weight (float64, weight's shape): |W| ("magnitude") or |W|·‖X_j‖₂ ("wanda")."""
    if score not in SCORES:
        raise ValueError(f"score={score!r} is not one of {SCORES}; e.g. score='wanda'")
    magnitude = weight.detach().abs().to(torch.float64)
    if score == "magnitude":
        return magnitude
    if inputs is None:
        raise ValueError(
            "score='wanda' needs inputs: calibration activations (tokens, in_features), their column norms "
            "or a calibration.LinearStats; or use score='magnitude'"
        )
    return magnitude * column_norms(inputs, weight.shape[1])[None, :]


def _lowest(values: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the k lowest entries of each row of `values` (ties broken by position)."""
    order = torch.argsort(values, dim=-1, stable=True)
    pruned = torch.zeros_like(values, dtype=torch.bool)
    pruned.scatter_(-1, order[..., :k], True)
    return pruned


def select(importance: torch.Tensor, pattern: str, sparsity: float, group: str) -> torch.Tensor:
    """Kept-weight mask from an importance matrix: prune the ⌊s·n⌋ least important of each
    comparison group, `group` "layer" (the whole matrix) or "row" (each output row); N:M patterns
    compare within each group of M consecutive inputs of a row whatever `group` says."""
    nm = n_m(pattern)
    rows, cols = importance.shape
    if nm is not None:
        n, m = nm
        pruned = _lowest(importance.reshape(rows, cols // m, m), m - n).reshape(rows, cols)
    elif group == "row":
        pruned = _lowest(importance, int(cols * sparsity))
    elif group == "layer":
        pruned = _lowest(importance.reshape(1, -1), int(rows * cols * sparsity)).reshape(rows, cols)
    else:
        raise ValueError(f"group={group!r} must be 'layer' or 'row'")
    return ~pruned


GROUPS = ("layer", "row")


def _check_group(group, score: str) -> str:
    if group is None:
        return "row" if score == "wanda" else "layer"
    if group not in GROUPS:
        raise ValueError(f"group={group!r} is not one of {GROUPS} or None (each score's paper's choice)")
    return group


def mask(
    weight: torch.Tensor,
    score: str = "magnitude",
    pattern: str = "unstructured",
    sparsity: float = 0.5,
    inputs=None,
    group: str | None = None,
):
    """Boolean mask of the weights KEPT (True) in `weight` (out_features, in_features).

    score "magnitude" compares |W_ij| over the whole matrix; "wanda" compares |W_ij|·‖X_j‖₂ within
    each output row, `inputs` the calibration activations (tokens, in_features), their column norms
    or a `calibration.LinearStats`. pattern "unstructured" prunes ⌊sparsity·n⌋ of each group;
    "2:4" / "4:8" keep N of every M consecutive inputs (sparsity must then be 1 − N/M).
    group: "layer" or "row" overrides the comparison group of unstructured masks (an ablation:
    magnitude per row isolates what Wanda's activation term adds); None keeps the papers' choice.
    """
    if score not in SCORES:
        raise ValueError(f"score={score!r} is not one of {SCORES}; e.g. score='wanda'")
    group = _check_group(group, score)
    sparsity = _check_sparsity(sparsity, pattern)
    weight = _check_weight(weight, pattern)
    importance = scores(weight, score, inputs)
    return select(importance, pattern, sparsity, group)


# --- SparseGPT -----------------------------------------------------------------------------------


@torch.no_grad()
def sparsegpt(
    weight: torch.Tensor,
    inputs,
    pattern: str = "unstructured",
    sparsity: float = 0.5,
    blocksize: int = 128,
    damp: float = 0.01,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pruned weight, kept mask): SparseGPT's column-wise prune-and-update of `weight`
    (out_features, in_features) against calibration `inputs` (activations (tokens, in_features) or
    a `calibration.LinearStats`). The pruned weight is `weight`'s dtype and device; the update is
    computed in float64. Columns no calibration token excites are set to zero (and count as pruned
    first, their score being 0)."""
    sparsity = _check_sparsity(sparsity, pattern)
    weight = _check_weight(weight, pattern)
    blocksize = positive_int("blocksize", blocksize, "128")
    fraction("damp", damp, "0.01", allow_zero=True)
    nm = n_m(pattern)
    if nm is not None and blocksize % nm[1]:
        raise ValueError(f"blocksize={blocksize} must be a multiple of M={nm[1]} for pattern={pattern!r}")
    rows, cols = weight.shape
    h = _layer_hessian(inputs, cols).to(device=weight.device)
    u, dead = _hessian.inverse_cholesky(h, damp)
    w = weight.detach().to(torch.float64).clone()
    w[:, dead] = 0
    kept = torch.ones_like(w, dtype=torch.bool)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        w1 = w[:, i1:i2].clone()
        u1 = u[i1:i2, i1:i2]
        d = torch.diag(u1)
        err = torch.zeros_like(w1)
        if nm is None:
            # The block's mask at once, from the weights the earlier blocks' updates left.
            block_kept = select(w1**2 / d[None, :] ** 2, "unstructured", sparsity, "layer")
        else:
            block_kept = torch.ones_like(w1, dtype=torch.bool)
        for i in range(i2 - i1):
            if nm is not None and i % nm[1] == 0:
                n, m = nm
                candidates = w1[:, i : i + m] ** 2 / d[None, i : i + m] ** 2
                block_kept[:, i : i + m] = ~_lowest(candidates, m - n)
            col = w1[:, i]
            q = torch.where(block_kept[:, i], col, torch.zeros_like(col))
            e = (col - q) / d[i]
            w1[:, i:] -= e[:, None] * u1[i, i:][None, :]
            w1[:, i] = q
            err[:, i] = e
        w[:, i1:i2] = w1
        kept[:, i1:i2] = block_kept
        w[:, i2:] -= err @ u[i1:i2, i2:]
    return w.to(weight.dtype), kept


# --- whole models --------------------------------------------------------------------------------


def reconstruction_error(weight: torch.Tensor, pruned: torch.Tensor, inputs: torch.Tensor) -> float:
    """‖W X − Ŵ X‖_F / ‖W X‖_F over calibration activations X (tokens, in_features): the layer-wise
    error every method tries to keep small (SparseGPT minimises its square to second order)."""
    x = inputs.to(torch.float64)
    dense = x @ weight.to(torch.float64).T
    return float(torch.linalg.norm(dense - x @ pruned.to(torch.float64).T) / torch.linalg.norm(dense))


def _prune_layer(layer: nn.Linear, method: str, pattern: str, sparsity: float, stats, blocksize, damp, group):
    w = layer.weight.data
    if method == "sparsegpt":
        pruned, _ = sparsegpt(w, stats, pattern, sparsity, blocksize, damp)
        layer.weight.data.copy_(pruned)
    else:
        keep = mask(w, method, pattern, sparsity, stats, group)
        layer.weight.data.mul_(keep.to(w.dtype))


@torch.no_grad()
def _block_stats(block: nn.Module, layers: dict[str, nn.Linear], run) -> dict[str, LinearStats]:
    """Input statistics of `layers` (modules of `block`) while `run()` feeds the block."""
    with calibration.recording(layers) as stats:
        run()
    return stats


def _check_decoder(model):
    for attr in ("blocks", "embed", "cfg"):
        if not hasattr(model, attr):
            raise ValueError(
                f"model is a {type(model).__name__}; pruning with calibration goes block by block through an "
                "llmscale model.Decoder (blocks, embed, cfg); use method='magnitude' for another module"
            )


@torch.no_grad()
def prune(
    model: nn.Module,
    method: str = "magnitude",
    pattern: str = "unstructured",
    sparsity: float = 0.5,
    calibration: torch.Tensor | None = None,
    *,
    blocksize: int = 128,
    damp: float = 0.01,
    batch_size: int = 8,
    group: str | None = None,
) -> nn.Module:
    """A pruned copy of `model` (the original is untouched): every linear layer of its blocks pruned
    by `method` ("magnitude", "wanda", "sparsegpt") to `pattern` at `sparsity`; embeddings and
    `lm_head` stay dense. Wanda and SparseGPT need `calibration`, token windows (n_windows,
    seq_len), e.g. `calibration.windows(tokens, 128, 128)`, fed `batch_size` windows at a time
    through the blocks in order, each block calibrated on the already pruned blocks' outputs.
    group: the comparison group of magnitude or Wanda masks (`mask`), None for the papers' choice."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {METHODS}; e.g. method='wanda'")
    if method != "sparsegpt":
        _check_group(group, method)
    _check_sparsity(sparsity, pattern)
    positive_int("batch_size", batch_size, "8")
    pruned = copy.deepcopy(model)
    if method == "magnitude":
        for layer in linear_layers(pruned).values():
            _check_weight(layer.weight, pattern)
            _prune_layer(layer, method, pattern, sparsity, None, blocksize, damp, group)
        return pruned
    _check_decoder(pruned)
    if not isinstance(calibration, torch.Tensor) or calibration.dim() != 2:
        shape = tuple(calibration.shape) if isinstance(calibration, torch.Tensor) else calibration
        raise ValueError(
            f"calibration={shape!r}: method={method!r} needs token windows (n_windows, seq_len), "
            "e.g. calibration.windows(corpus.train, 128, 128)"
        )
    for layer in linear_layers(pruned).values():
        _check_weight(layer.weight, pattern)
    was_training = pruned.training
    pruned.eval()
    device = next(pruned.parameters()).device
    idx = calibration.to(device)
    x = pruned.embed(idx)
    if getattr(pruned, "pos_embed", None) is not None:
        x = x + pruned.pos_embed(torch.arange(idx.shape[1], device=device))
    rope = (pruned.rope_cos, pruned.rope_sin) if pruned.cfg.pos == "rope" else None

    def run_block(block, x):
        return torch.cat([block(x[i : i + batch_size], rope) for i in range(0, x.shape[0], batch_size)])

    for block in pruned.blocks:
        layers = linear_layers(block)
        stats = _block_stats(block, layers, lambda block=block, x=x: run_block(block, x))
        for name, layer in layers.items():
            _prune_layer(layer, method, pattern, sparsity, stats[name], blocksize, damp, group)
        x = run_block(block, x)  # the next block's inputs, through this block pruned
    pruned.train(was_training)
    return pruned


def layer_sparsity(model: nn.Module) -> dict[str, float]:
    """Fraction of zero weights in each linear layer `prune` prunes (embeddings and lm_head excluded)."""
    return {name: float((m.weight == 0).float().mean()) for name, m in linear_layers(model).items()}


def sparsity_reached(model: nn.Module) -> float:
    """Zero weights over all weights of the linear layers `prune` prunes: the sparsity actually there."""
    layers = linear_layers(model).values()
    total = sum(m.weight.numel() for m in layers)
    if total == 0:
        raise ValueError("model has no linear layers outside lm_head; pass a model.Decoder")
    return sum(int((m.weight == 0).sum()) for m in layers) / total


def prunable_params(model: nn.Module) -> int:
    """Weights in the linear layers `prune` prunes (biases, embeddings, norms and lm_head excluded)."""
    return sum(m.weight.numel() for m in linear_layers(model).values())
