"""Knowledge distillation: the soft-target loss of Hinton et al. (2015) and a training-loop hook.

A student learns from a teacher's output distribution softened by a temperature T as well as from
the hard next token. With p = softmax(z_teacher / T) and q = softmax(z_student / T),

    loss = α · T² · KL(p ‖ q) + (1 − α) · CE(y, softmax(z_student))                 (eq. distill)

in nats per token. The T² keeps the soft term's gradient the same size as T changes: the gradient
of KL(p ‖ q) in the student's logits is (q − p) / T, and for large T that difference itself shrinks
as 1/T, so without T² the soft targets would fade from the update (Hinton et al., Section 2).

`soft_target_loss(student_logits, teacher_logits, targets, temperature, alpha)` is the formula;
`distillation_cost(teacher_params, student_params, tokens)` is the bill in FLOPs, the teacher's
forward passes beside the student's training; `Distiller(teacher, temperature, alpha)` is the
hook `llmscale.train.train(..., loss_fn=...)` calls with each batch: it runs the teacher (no
gradient) and returns the objective, and it counts the tokens it showed the teacher so that the
teacher's forward FLOPs can be reported apart from the student's training FLOPs (`teacher_flops`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import counting
from .._validate import positive_number
from ..model.decoder import Decoder


def _check_temperature_alpha(temperature: float, alpha: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not temperature > 0:
        raise ValueError(f"temperature={temperature!r} must be a number > 0, e.g. temperature=2.0 (1 is no softening)")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
        raise ValueError(
            f"alpha={alpha!r} must be a number in [0, 1] (the weight of the soft term; 0 is plain "
            "cross-entropy, 1 soft targets only), e.g. alpha=0.5"
        )


def _widened(logits: torch.Tensor) -> torch.Tensor:
    # softmax of bf16/fp16 logits divided by T loses the small differences the soft term is made of
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def kl_soft(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over tokens of KL(softmax(teacher / T) ‖ softmax(student / T)), nats (no T² factor).

    Logits are (..., V) with the same shape; every leading position is one token."""
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student_logits has shape {tuple(student_logits.shape)} but teacher_logits has "
            f"{tuple(teacher_logits.shape)}; both must be (..., vocab) over the same tokens and vocabulary"
        )
    _check_temperature_alpha(temperature, 0.0)
    v = student_logits.shape[-1]
    log_q = F.log_softmax(_widened(student_logits).reshape(-1, v) / temperature, dim=-1)
    log_p = F.log_softmax(_widened(teacher_logits).reshape(-1, v) / temperature, dim=-1)
    # kl_div(input=log q, target=log p, log_target=True) = Σ p (log p − log q); "batchmean" divides
    # by the number of rows, the tokens, as the cross-entropy's mean does.
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)


def soft_target_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float = 2.0,
    alpha: float = 0.5,
) -> torch.Tensor:
    """(eq. distill) α·T²·KL(p_T ‖ q_T) + (1 − α)·CE(targets, q_1), mean nats per token.

    student_logits and teacher_logits: (B, S, V) or (N, V); targets: token ids of the leading shape."""
    _check_temperature_alpha(temperature, alpha)
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student_logits has shape {tuple(student_logits.shape)} but teacher_logits has "
            f"{tuple(teacher_logits.shape)}; the student and teacher must share the vocabulary and see the same tokens"
        )
    if tuple(targets.shape) != tuple(student_logits.shape[:-1]):
        raise ValueError(
            f"targets has shape {tuple(targets.shape)} but the logits are {tuple(student_logits.shape)}; "
            "targets must have the logits' shape without the last (vocabulary) axis"
        )
    v = student_logits.shape[-1]
    hard = F.cross_entropy(student_logits.reshape(-1, v), targets.reshape(-1))
    if alpha == 0.0:
        return hard
    soft = kl_soft(student_logits, teacher_logits, temperature) * temperature**2
    return alpha * soft + (1.0 - alpha) * hard


class Distiller:
    """The loss hook for `train.train(..., loss_fn=Distiller(teacher, T, alpha))`.

    Called as hook(x, y, logits) with the batch's input ids x, targets y and the student's logits;
    it runs the teacher on x without gradients (in eval mode) and returns eq. distill. It counts
    the tokens the teacher has seen (`teacher_tokens`), so `teacher_flops(seq_len)` is the
    teacher's forward compute, which the student's `History.train_flops` does not include.
    """

    def __init__(self, teacher: Decoder, temperature: float = 2.0, alpha: float = 0.5):
        _check_temperature_alpha(temperature, alpha)
        if not isinstance(teacher, Decoder):
            raise ValueError(f"teacher must be an llmscale Decoder, got {type(teacher).__name__}")
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.teacher_tokens = 0
        self.calls = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        if logits.shape[-1] != self.teacher.cfg.vocab_size:
            raise ValueError(
                f"the student's vocabulary ({logits.shape[-1]}) differs from the teacher's "
                f"({self.teacher.cfg.vocab_size}); build the student with the teacher's vocab_size"
            )
        teacher_device = next(self.teacher.parameters()).device
        if teacher_device != x.device:
            self.teacher.to(x.device)
        with torch.no_grad():
            teacher_logits, _ = self.teacher(x)
        self.teacher_tokens += x.numel()
        self.calls += 1
        return soft_target_loss(logits, teacher_logits.to(logits.dtype), y, self.temperature, self.alpha)

    def teacher_flops(self, seq_len: int) -> float:
        """Forward FLOPs the teacher has spent so far (tokens × forward FLOPs per token at seq_len)."""
        return self.teacher_tokens * counting.flops_per_token(self.teacher.cfg, context=seq_len, training=False)


# --- the bill -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistillationCost:
    """FLOPs of distilling a teacher into a student on `tokens` tokens: the teacher runs forward
    on every student token (2·N_teacher per token), the student trains (6·N_student per token)."""

    teacher_params: float
    student_params: float
    tokens: float
    teacher_flops: float
    student_flops: float

    @property
    def total_flops(self) -> float:
        return self.teacher_flops + self.student_flops

    @property
    def teacher_share(self) -> float:
        """Fraction of the distillation's FLOPs spent in the teacher's forward passes."""
        return self.teacher_flops / self.total_flops

    @property
    def teacher_over_student(self) -> float:
        """Teacher forward FLOPs over the student's own training FLOPs: N_T / (3·N_S)."""
        return self.teacher_flops / self.student_flops


def distillation_cost(teacher_params: float, student_params: float, tokens: float) -> DistillationCost:
    """C = 2·N_T·D + 6·N_S·D, the attention terms left out (a few percent at
    2k context)."""
    n_t = positive_number("teacher_params", teacher_params, "100e9")
    n_s = positive_number("student_params", student_params, "50e6")
    d = positive_number("tokens", tokens, "1e12")
    if n_s >= n_t:
        raise ValueError(
            f"student_params={n_s:g} must be smaller than teacher_params={n_t:g}; distillation shrinks a model"
        )
    return DistillationCost(n_t, n_s, d, 2 * n_t * d, counting.approx_training_flops(n_s, d))
