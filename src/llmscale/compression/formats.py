"""What a model weighs: number formats, bits per weight with group scales and zeros, the bytes
of a model's weights, the memory to serve it and the GPUs that hold it. Arithmetic, no torch.

A *format* (`FORMATS`) is how one value is stored: IEEE-style floats (fp32, fp16, bf16, fp8),
integers (int8 down to int2) or a 16-entry lookup table (NF4, QLoRA's 4-bit NormalFloat).
A *scheme* (`Scheme`) adds how a tensor is scaled: the low-bit formats store each value as an
index on a grid that one scale (and, asymmetric, one zero point) maps back to a real number, and
that scale is shared by a *group* of `group_size` consecutive weights along an input row,
by a whole output row (None, per channel) or by the whole tensor ("tensor"), the convention of
`compression.quantize`. Its cost is

    bits per weight = b + (b_scale + b_zero) / g                                   (eq. bits-per-weight)

with b the format's bits, g the group size, b_scale the scale's bits (16 for an fp16 scale) and
b_zero the zero point's (0 when symmetric; by default b, the zero packed like the weights, as
GPTQ's and AWQ's checkpoints store it). int4 with groups of 128 and a 16-bit scale: 4.125 bits.

The bytes of a model count each weight matrix of a `ModelConfig` (`matrix_shapes`) in the
scheme, with groups along its input dimension (a row's last group may be short), and the
vectors (norms, biases) in 16 bits, as quantized checkpoints keep them; the embeddings and the
output head either in the scheme or kept in 16 bits (`keep_embeddings`). From a bare parameter
count every parameter is in the scheme. Bytes are decimal counts; GPU memories are the
`hardware` table's (binary GiB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import counting, hardware
from .._validate import boolean, choice, non_negative_int, positive_int, positive_number
from ..config import ModelConfig
from ..inference import kv_cache

KINDS = ("float", "int", "lookup")
KEPT_BITS = 16  # vectors (norms, biases), and embeddings when kept, beside low-bit weights


@dataclass(frozen=True)
class NumberFormat:
    """One stored value: its bits, its kind ("float", "int", "lookup") and whether a tensor in it
    needs a scale (`scaled`: every format below 16 bits does); floats give their exponent and
    mantissa bits, `max_value` is the largest finite magnitude (for an integer, of its grid)."""

    name: str
    bits: int
    kind: str
    scaled: bool
    max_value: float
    exponent_bits: int = 0
    mantissa_bits: int = 0
    source: str = ""

    @property
    def levels(self) -> int:
        """Distinct codes one value can take: 2^bits."""
        return 2**self.bits

    @property
    def bytes(self) -> float:
        """Bytes of one value, bits/8 (half a byte for a 4-bit format)."""
        return self.bits / 8


_IEEE = "IEEE 754-2008 binary formats"
FORMATS: dict[str, NumberFormat] = {
    f.name: f
    for f in (
        NumberFormat("fp32", 32, "float", False, 3.4028234663852886e38, 8, 23, _IEEE + " (binary32)"),
        NumberFormat("fp16", 16, "float", False, 65504.0, 5, 10, _IEEE + " (binary16)"),
        NumberFormat(
            "bf16",
            16,
            "float",
            False,
            3.3895313892515355e38,
            8,
            7,
            "Google's bfloat16: fp32's exponent, 7 mantissa bits",
        ),
        NumberFormat(
            "fp8-e4m3",
            8,
            "float",
            True,
            448.0,
            4,
            3,
            "Micikevicius et al. 2022, FP8 Formats for Deep Learning: E4M3 (no infinities, max 448)",
        ),
        NumberFormat(
            "fp8-e5m2", 8, "float", True, 57344.0, 5, 2, "Micikevicius et al. 2022, FP8 Formats for Deep Learning: E5M2"
        ),
        NumberFormat("int8", 8, "int", True, 127.0, source="two's-complement 8-bit integer, symmetric grid ±127"),
        NumberFormat("int4", 4, "int", True, 7.0, source="4-bit integer, symmetric grid ±7 (asymmetric: 0..15)"),
        NumberFormat("int3", 3, "int", True, 3.0, source="3-bit integer, symmetric grid ±3 (asymmetric: 0..7)"),
        NumberFormat("int2", 2, "int", True, 1.0, source="2-bit integer, symmetric grid ±1 (asymmetric: 0..3)"),
        NumberFormat(
            "nf4",
            4,
            "lookup",
            True,
            1.0,
            source="Dettmers et al. 2023, QLoRA: 4-bit NormalFloat, 16 quantiles of a normal scaled to [-1, 1]",
        ),
    )
}
ALIASES = {"fp8": "fp8-e4m3", "float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}


def get(name: str) -> NumberFormat:
    """A number format by name or alias ("fp32", "bf16", "fp8", "int4", "nf4", ...)."""
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in FORMATS:
        raise ValueError(f"format={name!r} is unknown; choose one of {sorted(FORMATS) + sorted(ALIASES)}")
    return FORMATS[key]


@dataclass(frozen=True)
class Scheme:
    """A format and how its scales are shared: `group_size` weights along an input row per scale
    (an int), one per output row (None, per channel) or one per tensor ("tensor"); `scale_bits`
    per scale; `symmetric` (no zero point) or not, the zero point `zero_bits` wide (None: the
    format's bits). `group_rows` > 1 makes a group a block of group_rows × group_size weights
    (DeepSeek-V3's fp8 weights: 128 × 128 blocks). Plain 16- and 32-bit floats take no scale:
    leave group_size None."""

    fmt: str
    group_size: int | str | None = None
    scale_bits: float = 16
    symmetric: bool = True
    zero_bits: float | None = None
    label: str = ""
    group_rows: int = 1

    def __post_init__(self):
        f = get(self.fmt)
        object.__setattr__(self, "fmt", f.name)
        boolean("symmetric", self.symmetric)
        positive_number("scale_bits", self.scale_bits, "16")
        if self.group_size is not None and self.group_size != "tensor":
            positive_int("group_size", self.group_size, "128")
        if positive_int("group_rows", self.group_rows, "1") > 1 and not isinstance(self.group_size, int):
            raise ValueError(f"group_rows={self.group_rows} needs an integer group_size (the block's width)")
        if not f.scaled and (self.group_size is not None or not self.symmetric):
            raise ValueError(
                f"{f.name} stores values as they are and carries no scale or zero point; "
                "use group_size=None and symmetric=True"
            )
        if not self.symmetric and f.kind != "int":
            raise ValueError(
                f"format={f.name!r} has no zero point (its grid is symmetric); use symmetric=True or an int format"
            )
        if self.zero_bits is not None:
            positive_number("zero_bits", self.zero_bits, "4")
            if self.symmetric:
                raise ValueError("zero_bits is set but symmetric=True stores no zero point; use symmetric=False")

    @property
    def format(self) -> NumberFormat:
        return get(self.fmt)

    @property
    def name(self) -> str:
        """A short name: the label if given, else e.g. "int4 g128 asym" or "int8 per channel"."""
        if self.label:
            return self.label
        if not self.format.scaled:
            return self.fmt
        group = {None: "per channel", "tensor": "per tensor"}.get(self.group_size, f"g{self.group_size}")
        if self.group_rows > 1:
            group = f"{self.group_rows}×{self.group_size} blocks"
        return f"{self.fmt} {group}" + ("" if self.symmetric else " asym")

    @property
    def overhead_bits_per_group(self) -> float:
        """Bits stored once per group besides its values: the scale, and the zero point if asymmetric."""
        if not self.format.scaled:
            return 0.0
        zero = 0.0 if self.symmetric else (self.format.bits if self.zero_bits is None else self.zero_bits)
        return float(self.scale_bits) + zero

    @property
    def kept_bits(self) -> int:
        """Bits of the tensors a checkpoint keeps unquantized (vectors, embeddings when kept): the
        format's own for a plain float format, 16 beside scaled ones."""
        return self.format.bits if not self.format.scaled else KEPT_BITS

    def bits_per_weight(self, in_features: int | None = None) -> float:
        """(eq. bits-per-weight) b + (b_scale + b_zero)/g. Per channel g is `in_features` (needed);
        per tensor the one scale is left out (a few bytes in millions)."""
        b = float(self.format.bits)
        if not self.format.scaled or self.group_size == "tensor":
            return b
        if self.group_size is None:
            if in_features is None:
                raise ValueError(
                    f"{self.name}: per-channel bits per weight depend on the row length; pass in_features=..."
                )
            g = positive_int("in_features", in_features, "4096")
        else:
            g = self.group_size * self.group_rows
        return b + self.overhead_bits_per_group / g

    def groups(self, rows: int, cols: int) -> int:
        """Scale groups of a (rows × cols) weight, groups running along each row: rows·⌈cols/g⌉
        (blocks: ⌈rows/group_rows⌉·⌈cols/g⌉; 1 per tensor, rows per channel, 0 without a scale)."""
        rows, cols = positive_int("rows", rows, "4096"), positive_int("cols", cols, "4096")
        if not self.format.scaled:
            return 0
        if self.group_size == "tensor":
            return 1
        if self.group_size is None:
            return rows
        return math.ceil(rows / self.group_rows) * math.ceil(cols / self.group_size)

    def tensor_bytes(self, rows: int, cols: int) -> float:
        """Bytes of a (rows × cols) weight in this scheme: its values packed, and one scale (and, if
        asymmetric, one zero point) per group. Integer codes (values, zero points) are packed 8 to b
        bytes, ⌈n/8⌉·b for n codes, as `compression.quantize.pack_codes` stores them; float values
        take n·b/8 bytes, scales ⌈groups·b_scale/8⌉."""
        groups = self.groups(rows, cols)
        scales = math.ceil(groups * float(self.scale_bits) / 8) if self.format.scaled else 0
        zero_bits = self.overhead_bits_per_group - (float(self.scale_bits) if self.format.scaled else 0.0)
        values = _packed_bytes(rows * cols, self.format.bits, codes=self.format.kind != "float")
        return float(values + scales + _packed_bytes(groups, zero_bits))


def _packed_bytes(n: int, bits: float, codes: bool = True) -> int:
    """Bytes of n values of `bits` each: integer codes packed 8 to b bytes (⌈n/8⌉·b, as
    `compression.quantize.pack_codes` stores them), floats n·b/8."""
    if bits == 0 or n == 0:
        return 0
    if codes and float(bits).is_integer():
        return math.ceil(n / 8) * int(bits)
    return math.ceil(n * bits / 8)


def _scheme(scheme) -> Scheme:
    if isinstance(scheme, Scheme):
        return scheme
    if isinstance(scheme, str):
        return SCHEMES[scheme] if scheme in SCHEMES else Scheme(scheme)
    raise ValueError(f"scheme={scheme!r} must be a Scheme or a name such as 'bf16' or 'int4-g128'")


# The schemes the chapter compares, by name. GPTQ and AWQ checkpoints: int4, groups of 128, fp16
# scales, zero points packed in 4 bits; bitsandbytes' NF4: blocks of 64 with an fp32 absmax, or
# with QLoRA's double quantization an 8-bit absmax per block and an fp32 one per 256 blocks.
SCHEMES: dict[str, Scheme] = {
    "fp32": Scheme("fp32"),
    "bf16": Scheme("bf16"),
    "fp16": Scheme("fp16"),
    "fp8-block128": Scheme("fp8-e4m3", 128, 32, group_rows=128),
    "int8-channel": Scheme("int8"),
    "int8-g128": Scheme("int8", 128),
    "int4-g128": Scheme("int4", 128),
    "int4-g128-asym": Scheme("int4", 128, symmetric=False),
    "nf4-b64": Scheme("nf4", 64, 32, label="nf4 blocks of 64"),
    "nf4-b64-dq": Scheme("nf4", 64, 8 + 32 / 256, label="nf4 blocks of 64, double-quantized"),
    "int3-g128": Scheme("int3", 128),
    "int2-g64": Scheme("int2", 64),
}


def bits_per_weight(scheme, in_features: int | None = None) -> float:
    """(eq. bits-per-weight) of a scheme or its name (see `SCHEMES`; a bare format name is that
    format per channel, or as it is for a plain float)."""
    return _scheme(scheme).bits_per_weight(in_features)


@dataclass(frozen=True)
class Matrices:
    """Weight matrices of one kind in a model: `count` of them, each `rows` (outputs) × `cols`
    (inputs); `embedding` marks the token embeddings and the output head."""

    name: str
    count: int
    rows: int
    cols: int
    embedding: bool = False

    @property
    def params(self) -> int:
        return self.count * self.rows * self.cols


def _ffn(prefix: str, cfg: ModelConfig, count: int, width: int) -> list[Matrices]:
    d = cfg.d_model
    up = [Matrices(f"{prefix}.gate", count, width, d)] if cfg.ffn == "swiglu" else []
    return up + [Matrices(f"{prefix}.up", count, width, d), Matrices(f"{prefix}.down", count, d, width)]


def matrix_shapes(cfg: ModelConfig) -> list[Matrices]:
    """Every weight matrix of a decoder-only `cfg`, by kind (q, k, v kept apart: a fused QKV has
    the same rows and the same input width). Their entries, the vectors (norms, biases) and the
    learned positions add up to `counting.param_count(cfg)`."""
    cfg = counting.check_decoder_only(cfg, "weight matrices")
    d, h, L, V = cfg.d_model, cfg.n_heads, cfg.n_layers, cfg.vocab_size
    out: list[Matrices] = [Matrices("embed", 1, V, d, True)]
    if not cfg.tie_embeddings:
        out.append(Matrices("lm_head", 1, V, d, True))
    if cfg.is_mla:
        qk = cfg.head_dim_
        if cfg.q_lora_rank is None:
            out.append(Matrices("attn.q", L, h * qk, d))
        else:
            out += [Matrices("attn.q_down", L, cfg.q_lora_rank, d), Matrices("attn.q_up", L, h * qk, cfg.q_lora_rank)]
        out += [
            Matrices("attn.kv_down", L, cfg.kv_lora_rank + cfg.qk_rope_head_dim_, d),
            Matrices("attn.kv_up", L, h * (cfg.qk_nope_head_dim_ + cfg.v_head_dim_), cfg.kv_lora_rank),
            Matrices("attn.out", L, d, h * cfg.v_head_dim_),
        ]
    else:
        q, kv = h * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
        out += [
            Matrices("attn.q", L, q, d),
            Matrices("attn.k", L, kv, d),
            Matrices("attn.v", L, kv, d),
            Matrices("attn.out", L, d, q),
        ]
        if cfg.pos == "relative":
            out.append(Matrices("attn.relative", L, q, d))
    if cfg.is_moe:
        moe_layers = L - cfg.n_dense_layers
        if cfg.n_dense_layers:
            out += _ffn("ffn", cfg, cfg.n_dense_layers, cfg.ff_dim)
        if cfg.n_shared_experts:
            out += _ffn("shared_experts", cfg, moe_layers, cfg.n_shared_experts * cfg.expert_ff_dim)
        out += _ffn("experts", cfg, moe_layers * cfg.n_experts, cfg.expert_ff_dim)
        out.append(Matrices("router", moe_layers, cfg.n_experts, d))
    else:
        out += _ffn("ffn", cfg, L, cfg.ff_dim)
    return out


@dataclass(frozen=True)
class WeightBytes:
    """Bytes of a model's weights in one scheme: the quantized matrices (values and scales), the
    embeddings and head, and the tensors kept in 16 bits (vectors; embeddings when kept)."""

    scheme: str
    params: int
    matrices_bytes: float
    embedding_bytes: float
    kept_bytes: float

    @property
    def total_bytes(self) -> float:
        return self.matrices_bytes + self.embedding_bytes + self.kept_bytes

    @property
    def bits_per_param(self) -> float:
        """Bits per parameter over the whole model, everything counted."""
        return 8 * self.total_bytes / self.params


def model_bytes(model, scheme, keep_embeddings: bool = False) -> WeightBytes:
    """Bytes of the weights of `model` (a decoder-only `ModelConfig`, or a parameter count) in
    `scheme` (a `Scheme` or a name of `SCHEMES`). With a config every matrix is counted in the
    scheme, groups along its input width, the vectors in 16 bits (in fp32 under the fp32 scheme),
    and the embeddings and head in `scheme.kept_bits` if keep_embeddings; with a parameter count,
    every parameter at the scheme's bits per weight (per channel is refused: it needs the shapes;
    per tensor counts no scale)."""
    s = _scheme(scheme)
    keep = boolean("keep_embeddings", keep_embeddings)
    if isinstance(model, ModelConfig):
        matrices = matrix_shapes(model)
        n = counting.param_count(model)
        vectors = n - sum(m.params for m in matrices)
        mat = sum(m.count * s.tensor_bytes(m.rows, m.cols) for m in matrices if not m.embedding)
        emb_params = sum(m.params for m in matrices if m.embedding)
        if keep:
            emb = emb_params * s.kept_bits / 8
        else:
            emb = sum(m.count * s.tensor_bytes(m.rows, m.cols) for m in matrices if m.embedding)
        return WeightBytes(s.name, n, float(mat), float(emb), vectors * s.kept_bits / 8)
    if isinstance(model, bool) or not isinstance(model, (int, float)):
        raise ValueError(f"model={model!r} must be a ModelConfig or a parameter count such as 7e9")
    if keep:
        raise ValueError("keep_embeddings needs a ModelConfig (a parameter count has no embeddings); pass the config")
    if s.format.scaled and s.group_size is None:
        raise ValueError(f"{s.name} needs each matrix's width; pass a ModelConfig instead of a parameter count")
    n = positive_number("model", model, "7e9")
    return WeightBytes(s.name, int(n), n * s.bits_per_weight() / 8, 0.0, 0.0)


def serving_memory(
    cfg: ModelConfig,
    scheme,
    batch: int = 1,
    context: int | None = None,
    kv_bytes_per_value: float = 2,
    keep_embeddings: bool = False,
) -> kv_cache.ServingMemory:
    """Weights in `scheme` (`model_bytes`) and the KV cache of `batch` sequences of `context`
    tokens (None: cfg.seq_len) at `kv_bytes_per_value` (`kv_cache.bytes_per_sequence`): what a
    served model holds, activations and the framework's buffers left out."""
    cfg = counting.check_decoder_only(cfg, "serving memory")
    batch = positive_int("batch", batch, "1")
    context = cfg.seq_len if context is None else non_negative_int("context", context, "2048")
    weights = model_bytes(cfg, scheme, keep_embeddings).total_bytes
    kv = batch * kv_cache.bytes_per_sequence(cfg, context, kv_bytes_per_value)
    return kv_cache.ServingMemory(weights_bytes=weights, kv_cache_bytes=kv)


def _accelerator(accelerator) -> hardware.Accelerator:
    if isinstance(accelerator, str):
        return hardware.get(accelerator)
    if isinstance(accelerator, hardware.Accelerator):
        return accelerator
    raise ValueError(f"accelerator={accelerator!r} must be a hardware.Accelerator or a name such as 'a100' or 'h100'")


def gpus_needed(
    cfg: ModelConfig,
    scheme,
    accelerator,
    batch: int = 1,
    context: int | None = None,
    kv_bytes_per_value: float = 2,
    keep_embeddings: bool = False,
    usable: float = 1.0,
) -> int:
    """Fewest GPUs of `accelerator` whose memory (a fraction `usable` of each) holds the weights
    in `scheme` and the cache of `batch` sequences of `context` tokens, split freely:
    ⌈(weights + cache) / (usable · HBM)⌉."""
    acc = _accelerator(accelerator)
    u = positive_number("usable", usable, "0.9")
    if u > 1:
        raise ValueError(f"usable={usable!r} is a fraction of each GPU's memory in (0, 1]; e.g. usable=0.9")
    memory = serving_memory(cfg, scheme, batch, context, kv_bytes_per_value, keep_embeddings)
    return memory.devices_needed(acc.hbm_bytes * u)


def fits(cfg: ModelConfig, scheme, accelerator, n_gpus: int = 1, **kwargs) -> bool:
    """Whether `n_gpus` of `accelerator` hold the model in `scheme` (the arguments of `gpus_needed`)."""
    return gpus_needed(cfg, scheme, accelerator, **kwargs) <= positive_int("n_gpus", n_gpus, "1")


def best_scheme_that_fits(cfg: ModelConfig, accelerator, n_gpus: int = 1, schemes=None, **kwargs) -> str | None:
    """The name of the scheme with the most bits per weight (the least lossy) among `schemes`
    (default all of `SCHEMES`) whose model fits `n_gpus` of `accelerator`; None if none does."""
    names = list(SCHEMES) if schemes is None else list(schemes)
    for name in names:
        choice("schemes", name, tuple(SCHEMES))
    ranked = sorted(names, key=lambda x: -model_bytes(cfg, x).total_bytes)
    return next((x for x in ranked if fits(cfg, x, accelerator, n_gpus, **kwargs)), None)
