"""Weight quantization with real packed storage: round-to-nearest, GPTQ, activation-aware scaling
(AWQ-style) and LLM.int8()'s outlier decomposition, and `quantize(model, ...)` that applies them.

A b-bit code q ∈ {0, …, 2ᵇ−1} stands for s·(q − z): one scale s (stored as float16) per tensor,
per output channel or per group of `group_size` consecutive input columns of a row, and a zero
point z, implicit (2ᵇ⁻¹) when symmetric, stored (packed at b bits) when asymmetric. The grid is
GPTQ's (Frantar et al. 2022, `quant.py` of IST-DASLab/gptq): symmetric s = 2·max|w| / (2ᵇ−1),
asymmetric s = (max w − min w) / (2ᵇ−1) with 0 inside the range, so every code is used and any
weight is within s/2 of its dequantized value. Codes are packed 8 to `bits` bytes (2, 3, 4 and
8 bits all truly packed), so `PackedWeight.nbytes` is the storage, not an assumption.

`group_size`: None means one scale per output channel (row), an integer g means groups of g
input columns (it must divide in_features), and the string "tensor" one scale for the whole
tensor. Weights are (out_features, in_features), as `nn.Linear` holds them.

The quantized model's layers (`QuantLinear`) hold only the packed codes, scales and zeros and
dequantize on the fly at each forward pass (no int kernel: the matmul runs in float32 on the
dequantized weight, which shows quality and bytes, not speed).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from .._validate import positive_int, positive_number
from . import hessian as _hessian
from .calibration import linear_layers, linear_stats

BITS = (2, 3, 4, 8)
METHODS = ("rtn", "gptq", "awq", "int8-outlier")
_SCALE_DTYPE = torch.float16
_MIN_SCALE = float(torch.finfo(torch.float16).tiny)  # smallest normal float16 (6.1e-5)


# --- validation ---------------------------------------------------------------------------------


def _check_weight(weight) -> torch.Tensor:
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or not weight.is_floating_point():
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(
            f"weight has shape {shape}; pass a 2-D float tensor (out_features, in_features), e.g. layer.weight"
        )
    if weight.numel() == 0:
        raise ValueError("weight is empty; pass a tensor with at least one element")
    return weight


def _check_bits(bits) -> int:
    if isinstance(bits, bool) or bits not in BITS:
        raise ValueError(f"bits={bits!r} is not supported; choose one of {BITS}")
    return int(bits)


def _resolve_groups(group_size, in_features: int) -> tuple[str, int]:
    """(granularity, columns per group) for a group_size argument."""
    if group_size is None:
        return "channel", in_features
    if group_size == "tensor":
        return "tensor", in_features
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ValueError(
            f"group_size={group_size!r} is invalid; pass None (per output channel), 'tensor' (one scale) "
            "or a positive integer that divides in_features, e.g. group_size=64"
        )
    if in_features % group_size:
        raise ValueError(
            f"group_size={group_size} does not divide in_features={in_features}; choose a divisor, e.g. "
            f"group_size={max(d for d in (32, 64, 128, 16, 8, 1) if in_features % d == 0)}"
        )
    return "group", group_size


def _check_symmetric(symmetric) -> bool:
    if not isinstance(symmetric, bool):
        raise ValueError(f"symmetric={symmetric!r} must be True or False")
    return symmetric


# --- the grid and packing -------------------------------------------------------------------------


def _grid(w: torch.Tensor, bits: int, symmetric: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, zero), each (rows, 1) float64, for the rows of w; the scale is a float16 value
    rounded up, so that quantizing with it keeps every weight within half a step."""
    maxq = 2**bits - 1
    w = w.to(torch.float64)
    zero_t = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
    lo = torch.minimum(w.min(dim=1).values, zero_t)
    hi = torch.maximum(w.max(dim=1).values, zero_t)
    if symmetric:
        amax = torch.maximum(lo.abs(), hi)
        lo, hi = -amax, amax
    flat = (lo == 0) & (hi == 0)
    lo[flat], hi[flat] = -1.0, 1.0
    scale = ((hi - lo) / maxq).clamp(min=_MIN_SCALE)
    s16 = scale.to(_SCALE_DTYPE)
    low = s16.to(torch.float64) < scale
    s16[low] = (scale[low] * (1 + 2.0**-10)).to(_SCALE_DTYPE)  # round up, never below the needed step
    scale = s16.to(torch.float64)
    if symmetric:
        zero = torch.full_like(scale, float(2 ** (bits - 1)))
    else:
        zero = torch.round(-lo / scale).clamp(0, maxq)
    return scale[:, None], zero[:, None]


def _codes(w: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, bits: int) -> torch.Tensor:
    return torch.clamp(torch.round(w.to(torch.float64) / scale) + zero, 0, 2**bits - 1)


def pack_codes(codes: torch.Tensor, bits: int) -> torch.Tensor:
    """Integer codes in [0, 2ᵇ) packed 8 to `bits` bytes (uint8, ceil(n/8)·bits bytes)."""
    bits = _check_bits(bits)
    c = codes.reshape(-1).to(torch.int64)
    if c.numel() and (int(c.min()) < 0 or int(c.max()) >= 2**bits):
        raise ValueError(f"codes must lie in [0, {2**bits}) for bits={bits}")
    pad = (-c.numel()) % 8
    c = torch.cat([c, c.new_zeros(pad)]).view(-1, 8)
    shifts = torch.arange(8, device=c.device, dtype=torch.int64) * bits
    word = (c << shifts).sum(dim=1)  # 8·bits ≤ 64 bits
    out = torch.stack([(word >> (8 * k)) & 0xFF for k in range(bits)], dim=1)
    return out.to(torch.uint8).reshape(-1)


def unpack_codes(packed: torch.Tensor, bits: int, n: int) -> torch.Tensor:
    """The first n codes (int64) of a `pack_codes` byte string."""
    bits = _check_bits(bits)
    b = packed.to(torch.int64).view(-1, bits)
    word = (b << (8 * torch.arange(bits, device=b.device, dtype=torch.int64))).sum(dim=1)
    shifts = torch.arange(8, device=b.device, dtype=torch.int64) * bits
    return ((word[:, None] >> shifts) & (2**bits - 1)).reshape(-1)[:n]


@dataclass
class PackedWeight:
    """A quantized (out, in) weight as stored: packed codes, float16 scales, packed zeros.

    scales has shape (rows, n_groups) ((1, 1) per tensor); zeros is None when symmetric.
    """

    codes: torch.Tensor  # uint8, ceil(out·in / 8)·bits bytes
    scales: torch.Tensor  # float16
    zeros: torch.Tensor | None  # uint8, packed at `bits`, one per scale; None when symmetric
    bits: int
    shape: tuple[int, int]
    granularity: str  # "tensor", "channel" or "group"
    group_size: int  # input columns per scale ("channel": in_features)
    symmetric: bool = True
    extra: dict = field(default_factory=dict, repr=False)

    @property
    def numel(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes actually stored: codes, scales and zeros."""
        zeros = 0 if self.zeros is None else self.zeros.numel()
        return self.codes.numel() + self.scales.numel() * self.scales.element_size() + zeros

    @property
    def bits_per_weight(self) -> float:
        """Effective bits per weight, scales and zeros included."""
        return 8 * self.nbytes / self.numel

    def int_codes(self) -> torch.Tensor:
        """The codes as an (out, in) int64 tensor."""
        return unpack_codes(self.codes, self.bits, self.numel).view(self.shape)

    def _expand(self, t: torch.Tensor) -> torch.Tensor:
        rows, cols = self.shape
        if self.granularity == "tensor":
            return t.reshape(1, 1).expand(rows, cols)
        return t.reshape(rows, -1).repeat_interleave(self.group_size, dim=1)

    def dequantize(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """s·(q − z), the (out, in) weight the codes stand for."""
        q = self.int_codes().to(torch.float64)
        scale = self._expand(self.scales.to(torch.float64))
        if self.zeros is None:
            zero = float(2 ** (self.bits - 1))
        else:
            zero = self._expand(unpack_codes(self.zeros, self.bits, self.scales.numel()).to(torch.float64))
        return (scale * (q - zero)).to(dtype)

    def step(self) -> torch.Tensor:
        """The quantization step s of every weight, (out, in) float64."""
        return self._expand(self.scales.to(torch.float64))


def _packed(codes, scale, zero, bits, shape, granularity, group_size, symmetric) -> PackedWeight:
    """Assemble a PackedWeight from (rows, cols) codes and (rows·n_groups, 1) scales and zeros."""
    rows = shape[0]
    n_groups = 1 if granularity == "tensor" else shape[1] // group_size
    scales = scale.reshape(1 if granularity == "tensor" else rows, n_groups).to(_SCALE_DTYPE)
    zeros = None if symmetric else pack_codes(zero.reshape(-1).round().to(torch.int64), bits)
    return PackedWeight(
        pack_codes(codes.to(torch.int64), bits), scales, zeros, bits, tuple(shape), granularity, group_size, symmetric
    )


# --- round to nearest ---------------------------------------------------------------------------------


def pack(weight: torch.Tensor, bits: int, group_size=None, symmetric: bool = True) -> PackedWeight:
    """Round-to-nearest quantization of `weight` (out, in), packed. See the module docstring for
    group_size (None: per output channel; an int: groups of input columns; "tensor")."""
    weight = _check_weight(weight)
    bits, symmetric = _check_bits(bits), _check_symmetric(symmetric)
    rows, cols = weight.shape
    granularity, g = _resolve_groups(group_size, cols)
    w = weight.detach().to(torch.float64)
    if granularity == "tensor":
        scale, zero = _grid(w.reshape(1, -1), bits, symmetric)
        codes = _codes(w, scale, zero, bits)
    else:
        blocks = w.reshape(rows * (cols // g), g)
        scale, zero = _grid(blocks, bits, symmetric)
        codes = _codes(blocks, scale, zero, bits).reshape(rows, cols)
    return _packed(codes, scale, zero, bits, (rows, cols), granularity, g, symmetric)


def rtn(weight: torch.Tensor, bits: int, group_size=None, symmetric: bool = True) -> torch.Tensor:
    """Round-to-nearest: the dequantized weight (same shape and dtype); `pack` gives the stored form."""
    return pack(weight, bits, group_size, symmetric).dequantize(weight.dtype)


# --- GPTQ ---------------------------------------------------------------------------------------------


def _layer_hessian(weight, inputs, hessian) -> torch.Tensor:
    if (inputs is None) == (hessian is None):
        raise ValueError(
            "pass exactly one of inputs (calibration activations, (tokens, in_features)) and hessian "
            "(2·XᵀX/n, (in_features, in_features), e.g. calibration.linear_stats(...)[name].hessian())"
        )
    if inputs is not None:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2 or inputs.shape[1] != weight.shape[1]:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(
                f"inputs has shape {shape}; pass calibration activations (tokens, in_features={weight.shape[1]})"
            )
        return _hessian.hessian(inputs)
    cols = weight.shape[1]
    if not isinstance(hessian, torch.Tensor) or tuple(hessian.shape) != (cols, cols):
        shape = tuple(hessian.shape) if isinstance(hessian, torch.Tensor) else type(hessian).__name__
        raise ValueError(f"hessian has shape {shape}; pass the (in_features, in_features) = ({cols}, {cols}) matrix")
    return hessian.to(torch.float64)


def gptq_pack(
    weight: torch.Tensor,
    inputs: torch.Tensor | None = None,
    bits: int = 4,
    group_size=None,
    symmetric: bool = True,
    damp: float = 0.01,
    block_size: int = 128,
    act_order: bool = False,
    *,
    hessian: torch.Tensor | None = None,
) -> PackedWeight:
    """GPTQ (Frantar et al. 2022), packed: quantize the columns of `weight` one at a time, feeding
    each column's rounding error back into the columns not yet quantized through the inverse
    Hessian of the layer-wise loss ‖WX − ŴX‖², H = 2XᵀX/n (from `inputs` (tokens, in_features)
    or given as `hessian`), dampened by damp·mean(diag H). Updates are applied lazily, a block of
    `block_size` columns at a time. With groups, a group's grid is set when its first column is
    reached, from the weights as the updates of the earlier blocks left them (as the paper's code
    does); with act_order the
    columns go in order of decreasing diag H and the groups' grids are fixed from the original
    weights first ("static groups"), so that every group is still a run of consecutive columns.
    """
    weight = _check_weight(weight)
    bits, symmetric = _check_bits(bits), _check_symmetric(symmetric)
    positive_int("block_size", block_size, "128")
    if not isinstance(act_order, bool):
        raise ValueError(f"act_order={act_order!r} must be True or False")
    rows, cols = weight.shape
    granularity, g = _resolve_groups(group_size, cols)
    h = _layer_hessian(weight, inputs, hessian).to(weight.device)
    w = weight.detach().to(torch.float64).clone()

    perm = torch.arange(cols, device=w.device)
    if act_order:
        perm = torch.argsort(torch.diag(h), descending=True)
        w, h = w[:, perm], h[perm][:, perm]
    u, dead = _hessian.inverse_cholesky(h, damp)
    w[:, dead] = 0.0

    # grids: per tensor and per channel from the whole (original) weight; per group either
    # static (act_order) or set when the group's first column comes up
    n_groups = cols // g if granularity == "group" else 1
    scales = torch.zeros(rows if granularity != "tensor" else 1, n_groups, dtype=torch.float64, device=w.device)
    zeros = torch.zeros_like(scales)
    original = w[:, torch.argsort(perm)]  # columns back in their own order
    if granularity == "tensor":
        s, z = _grid(original.reshape(1, -1), bits, symmetric)
        scales[:], zeros[:] = s, z
    elif granularity == "channel":
        s, z = _grid(original, bits, symmetric)
        scales[:, 0], zeros[:, 0] = s[:, 0], z[:, 0]
    elif act_order:
        s, z = _grid(original.reshape(rows * n_groups, g), bits, symmetric)
        scales[:], zeros[:] = s.view(rows, n_groups), z.view(rows, n_groups)
    group_of = perm // g if granularity == "group" else torch.zeros(cols, dtype=torch.int64, device=w.device)

    codes = torch.zeros(rows, cols, dtype=torch.float64, device=w.device)
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        w1 = w[:, i1:i2].clone()
        err1 = torch.zeros_like(w1)
        u1 = u[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = i1 + i
            grp = int(group_of[col])
            if granularity == "group" and not act_order and col % g == 0:
                # the grid is read from W as the earlier blocks' lazy updates left it, not from the
                # in-block working copy: what the paper's code does, and on ill-conditioned
                # Hessians at 2 bits markedly better (the in-block values can run wide)
                s, z = _grid(w[:, col : col + g], bits, symmetric)
                scales[:, grp], zeros[:, grp] = s[:, 0], z[:, 0]
            s = scales[:, grp : grp + 1] if granularity != "tensor" else scales[:1, :1]
            z = zeros[:, grp : grp + 1] if granularity != "tensor" else zeros[:1, :1]
            x = w1[:, i : i + 1]
            q = _codes(x, s, z, bits)
            codes[:, col] = q[:, 0]
            err = (x[:, 0] - (s * (q - z))[:, 0]) / u1[i, i]
            w1[:, i:] -= err[:, None] * u1[i, i:][None, :]
            err1[:, i] = err
        w[:, i2:] -= err1 @ u[i1:i2, i2:]

    codes = codes[:, torch.argsort(perm)]
    return _packed(codes, scales.reshape(-1, 1), zeros.reshape(-1, 1), bits, (rows, cols), granularity, g, symmetric)


def gptq(
    weight: torch.Tensor,
    inputs: torch.Tensor | None = None,
    bits: int = 4,
    group_size=None,
    symmetric: bool = True,
    damp: float = 0.01,
    block_size: int = 128,
    act_order: bool = False,
    *,
    hessian: torch.Tensor | None = None,
) -> torch.Tensor:
    """GPTQ: the dequantized weight (same shape and dtype); `gptq_pack` gives the stored form."""
    packed = gptq_pack(weight, inputs, bits, group_size, symmetric, damp, block_size, act_order, hessian=hessian)
    return packed.dequantize(weight.dtype)


def output_error(weight: torch.Tensor, approx: torch.Tensor, hessian: torch.Tensor) -> float:
    """Mean over calibration tokens of ‖(W − Ŵ)x‖², from H = 2XᵀX/n: tr(ΔW H ΔWᵀ)/2."""
    delta = (weight.detach().to(torch.float64) - approx.detach().to(torch.float64)).to(hessian.device)
    return float(torch.einsum("ij,jk,ik->", delta, hessian.to(torch.float64), delta) / 2)


# --- activation-aware scaling (AWQ-style) -----------------------------------------------------


@dataclass
class AWQResult:
    """The searched per-input-channel scale s = mean|x|^α (normalised), the packed Q(W·diag s),
    the chosen α and the layer's output error at each α of the grid."""

    packed: PackedWeight
    input_scale: torch.Tensor  # s, (in_features,); the layer computes Q(W s) (x / s)
    alpha: float
    alphas: list[float]
    errors: list[float]

    def dequantize(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The effective weight Q(W·diag s)·diag(1/s)."""
        return (self.packed.dequantize(torch.float64) / self.input_scale.to(torch.float64)[None, :]).to(dtype)


def awq_search(
    weight: torch.Tensor,
    abs_mean: torch.Tensor,
    hessian: torch.Tensor,
    bits: int = 4,
    group_size=None,
    symmetric: bool = True,
    n_grid: int = 20,
) -> AWQResult:
    """Activation-aware scaling (Lin et al. 2023): for α in {0, 1/n_grid, …}, scale input channel
    j of W by s_j = mean|x_j|^α (normalised by √(max s · min s), as llm-awq does), round to nearest,
    and keep the α whose Q(W s)/s gives the smallest output error on the calibration tokens
    (measured through H = 2XᵀX/n, see `output_error`). α = 0 is plain RTN, so the search never does
    worse than RTN on its calibration set. Weight clipping (llm-awq's auto_clip) is not done."""
    weight = _check_weight(weight)
    bits = _check_bits(bits)
    positive_int("n_grid", n_grid, "20")
    cols = weight.shape[1]
    if abs_mean.shape != (cols,):
        raise ValueError(f"abs_mean has shape {tuple(abs_mean.shape)}; pass mean |x| per input column, ({cols},)")
    h = _layer_hessian(weight, None, hessian)
    x_mag = abs_mean.to(torch.float64).clamp(min=1e-8)
    w = weight.detach().to(torch.float64)
    best = None
    alphas, errors = [], []
    for k in range(n_grid):
        alpha = k / n_grid
        s = x_mag.pow(alpha).clamp(min=1e-4)
        s = s / torch.sqrt(s.max() * s.min())
        s = s.to(_SCALE_DTYPE).to(torch.float64)  # the scale is stored in float16
        packed = pack(w * s[None, :], bits, group_size, symmetric)
        approx = packed.dequantize(torch.float64) / s[None, :]
        err = output_error(w, approx, h)
        alphas.append(alpha)
        errors.append(err)
        if best is None or err < best[0]:
            best = (err, alpha, s, packed)
    _, alpha, s, packed = best
    return AWQResult(packed, s, alpha, alphas, errors)


def awq(
    weight: torch.Tensor,
    inputs: torch.Tensor,
    bits: int = 4,
    group_size=None,
    symmetric: bool = True,
    n_grid: int = 20,
) -> torch.Tensor:
    """AWQ-style scaling then RTN: the effective dequantized weight, from calibration `inputs`
    (tokens, in_features); `awq_search` gives the packed form and the scales."""
    h = _layer_hessian(_check_weight(weight), inputs, None)
    res = awq_search(
        weight, inputs.detach().abs().to(torch.float64).mean(dim=0), h, bits, group_size, symmetric, n_grid
    )
    return res.dequantize(weight.dtype)


# --- the modules that compute with packed weights -------------------------------------------------


class QuantLinear(nn.Module):
    """A linear layer that stores a PackedWeight (and, for AWQ, the input scale s as float16) and
    dequantizes it at every forward pass; y = (x / s) Ŵᵀ + b. In a deployment 1/s is folded into
    the layer before (a norm's weight); here it is kept, and counted, in the layer."""

    def __init__(self, packed: PackedWeight, bias: torch.Tensor | None = None, input_scale: torch.Tensor | None = None):
        super().__init__()
        self.bits, self.shape = packed.bits, packed.shape
        self.granularity, self.group_size, self.symmetric = packed.granularity, packed.group_size, packed.symmetric
        self.in_features, self.out_features = packed.shape[1], packed.shape[0]
        self.register_buffer("codes", packed.codes)
        self.register_buffer("scales", packed.scales)
        self.register_buffer("zeros", packed.zeros)
        self.register_buffer("input_scale", None if input_scale is None else input_scale.to(_SCALE_DTYPE))
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)

    @property
    def packed(self) -> PackedWeight:
        return PackedWeight(
            self.codes,
            self.scales,
            self.zeros,
            self.bits,
            self.shape,
            self.granularity,
            self.group_size,
            self.symmetric,
        )

    def weight_bytes(self) -> int:
        """Bytes the layer stores: packed weight, input scale, bias."""
        extra = 0 if self.input_scale is None else self.input_scale.numel() * self.input_scale.element_size()
        bias = 0 if self.bias is None else self.bias.numel() * self.bias.element_size()
        return self.packed.nbytes + extra + bias

    def effective_weight(self) -> torch.Tensor:
        """Ŵ diag(1/s): the float weight this layer applies."""
        w = self.packed.dequantize(torch.float32)
        if self.input_scale is not None:
            w = w / self.input_scale.to(torch.float32)[None, :]
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.packed.dequantize(x.dtype)
        if self.input_scale is not None:
            x = x / self.input_scale.to(x.dtype)
        return nn.functional.linear(x, w, self.bias)

    def extra_repr(self) -> str:
        g = self.granularity if self.granularity != "group" else f"group {self.group_size}"
        return f"{self.in_features} -> {self.out_features}, {self.bits} bits, {g}, symmetric={self.symmetric}"


class Int8OutlierLinear(nn.Module):
    """LLM.int8() (Dettmers et al. 2022): int8 weights, one scale per output row (vector-wise);
    at each forward pass the input columns in which any token reaches `threshold` in magnitude
    are multiplied in 16-bit (float16-rounded activations), the rest with int8 activations, one
    absmax scale per token. Simulated in float32 (the products of int8 codes are exact in it)."""

    def __init__(self, packed: PackedWeight, bias: torch.Tensor | None = None, threshold: float = 6.0):
        super().__init__()
        if packed.bits != 8 or packed.granularity != "channel":
            raise ValueError("Int8OutlierLinear needs an 8-bit per-channel PackedWeight; pack(w, 8)")
        self.inner = QuantLinear(packed, bias)
        self.threshold = positive_number("threshold", threshold, "6.0")
        self.last_outlier_columns = 0

    def weight_bytes(self) -> int:
        return self.inner.weight_bytes()

    def effective_weight(self) -> torch.Tensor:
        return self.inner.effective_weight()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        w = self.inner.packed.dequantize(torch.float32)
        outliers = (x2.abs() >= self.threshold).any(dim=0)
        self.last_outlier_columns = int(outliers.sum())
        regular = x2.masked_fill(outliers[None, :], 0.0).to(torch.float32)
        step = (regular.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-12)
        x8 = torch.round(regular / step).clamp(-127, 127) * step
        x16 = (x2 * outliers[None, :]).to(torch.float16).to(torch.float32)
        y = nn.functional.linear(x8 + x16, w, self.inner.bias)
        return y.reshape(*shape[:-1], w.shape[0]).to(x.dtype)


# --- the whole model -----------------------------------------------------------------------------------


def model_bytes(model: nn.Module) -> int:
    """Bytes of the model's weights as held: every parameter (once, at its dtype) and every
    quantized layer's packed storage; buffers that are recomputed (RoPE tables) are not counted."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel() * p.element_size()
    for m in model.modules():
        if isinstance(m, QuantLinear):
            total += m.weight_bytes() - (0 if m.bias is None else m.bias.numel() * m.bias.element_size())
    return total


def quantized_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The QuantLinear / Int8OutlierLinear layers of a quantized model by name (not the
    QuantLinear an Int8OutlierLinear holds inside)."""
    found = {n: m for n, m in model.named_modules() if isinstance(m, (QuantLinear, Int8OutlierLinear))}
    return {
        n: m
        for n, m in found.items()
        if not (n.endswith(".inner") and isinstance(found.get(n[:-6]), Int8OutlierLinear))
    }


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def _stages(names: list[str]) -> list[list[str]]:
    """Layers in forward order, grouped when they read the same input (a block's gate and up)."""
    stages: list[list[str]] = []
    for name in names:
        if stages and name.endswith(".up") and stages[-1][-1] == name[: -len("up")] + "gate":
            stages[-1].append(name)
        else:
            stages.append([name])
    return stages


def quantize(
    model: nn.Module,
    method: str = "rtn",
    bits: int = 4,
    group_size=None,
    symmetric: bool = True,
    calibration: torch.Tensor | None = None,
    *,
    damp: float = 0.01,
    block_size: int = 128,
    act_order: bool = False,
    sequential: bool = True,
    n_grid: int = 20,
    threshold: float = 6.0,
    include_head: bool = False,
) -> nn.Module:
    """A NEW model (the original untouched) whose linear layers are quantized by `method`:

    "rtn" round to nearest; "gptq" (calibration needed: token windows (n, seq_len)); "awq"
    (activation-aware scaling then RTN; calibration needed); "int8-outlier" (LLM.int8(): bits=8,
    per channel, `threshold` on activations). The embedding and the output head stay as they are
    unless include_head (the head only; the embedding is never quantized here).

    GPTQ runs sequentially by default, as the paper does: each layer's Hessian comes from the
    inputs it receives when every layer before it is already quantized (a block's gate and up
    share theirs); sequential=False takes every layer's statistics from the original model in
    one pass. AWQ takes its statistics from the original model (as llm-awq's search does)."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not a quantization method; choose one of {METHODS}")
    bits = _check_bits(bits)
    _check_symmetric(symmetric)
    if method == "int8-outlier" and (bits != 8 or group_size is not None):
        raise ValueError("method='int8-outlier' is 8-bit and per output channel; pass bits=8, group_size=None")
    if method in ("gptq", "awq"):
        if calibration is None:
            raise ValueError(
                f"method={method!r} needs calibration token windows (n_windows, seq_len), e.g. "
                "compression_models.calibration_windows(language)"
            )
    qmodel = copy.deepcopy(model)
    qmodel.eval()
    for p in qmodel.parameters():
        p.requires_grad_(False)
    layers = linear_layers(qmodel, include_head=include_head)
    for layer in layers.values():
        _resolve_groups(group_size, layer.in_features)  # fail before any work is done

    def bias(layer):
        return None if layer.bias is None else layer.bias.detach()

    if method in ("rtn", "int8-outlier"):
        for name, layer in layers.items():
            packed = pack(layer.weight, bits, group_size, symmetric)
            new = (
                QuantLinear(packed, bias(layer))
                if method == "rtn"
                else Int8OutlierLinear(packed, bias(layer), threshold)
            )
            _set_module(qmodel, name, new)
        return qmodel

    if method == "awq":
        stats = linear_stats(qmodel, calibration, layers)
        for name, layer in layers.items():
            st = stats[name]
            res = awq_search(layer.weight, st.abs_mean(), st.hessian(), bits, group_size, symmetric, n_grid)
            _set_module(qmodel, name, QuantLinear(res.packed, bias(layer), res.input_scale))
        return qmodel

    # GPTQ
    stages = _stages(list(layers)) if sequential else [list(layers)]
    for stage in stages:
        current = {n: qmodel.get_submodule(n) for n in stage}
        stats = linear_stats(qmodel, calibration, current)
        for name in stage:
            layer = current[name]
            packed = gptq_pack(
                layer.weight,
                None,
                bits,
                group_size,
                symmetric,
                damp,
                block_size,
                act_order,
                hessian=stats[name].hessian(),
            )
            _set_module(qmodel, name, QuantLinear(packed, bias(layer)))
    return qmodel
