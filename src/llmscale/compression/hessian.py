"""The second-order statistics that GPTQ and SparseGPT share.

For a linear layer y = W x with calibration inputs X (n tokens × `in_features`), the layer-wise
reconstruction error ‖W X − Ŵ X‖² has Hessian H = 2 XᵀX / n with respect to each row of W (Frantar
et al. 2022, Optimal Brain Compression). Both methods walk the columns of W in order and need the
upper Cholesky factor of H⁻¹, after dampening H so that it is safely positive definite.
"""

from __future__ import annotations

import torch

from .._validate import fraction


def hessian(inputs: torch.Tensor) -> torch.Tensor:
    """H = 2 XᵀX / n (float64) for calibration inputs X of shape (n, in_features)."""
    if inputs.dim() != 2 or inputs.shape[0] == 0:
        raise ValueError(
            f"inputs has shape {tuple(inputs.shape)}; pass calibration activations of shape "
            "(tokens, in_features), e.g. a layer's inputs flattened over batch and sequence"
        )
    x = inputs.to(torch.float64)
    return 2.0 * (x.T @ x) / x.shape[0]


def dampen(h: torch.Tensor, damp: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """(H + λ·mean(diag H)·I with dead inputs fixed, dead mask). A column no calibration token
    ever excited (diag 0) gets diag 1, and the weights reading it are set to zero by the caller."""
    fraction("damp", damp, "0.01", allow_zero=True)
    h = h.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    h.diagonal().add_(damp * torch.mean(torch.diag(h)))
    return h, dead


def inverse_cholesky(h: torch.Tensor, damp: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """(U, dead): U the upper Cholesky factor of (dampened H)⁻¹, so that U[j, j:] holds what
    column j's rounding error is fed back along (its j-th row of the inverse, rescaled)."""
    h, dead = dampen(h, damp)
    lower = torch.linalg.cholesky(h)
    inverse = torch.cholesky_inverse(lower)
    return torch.linalg.cholesky(inverse, upper=True), dead
