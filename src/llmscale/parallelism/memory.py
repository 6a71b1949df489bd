"""Memory per GPU in training: model state (weights, gradients, optimizer state) and activations.

Model state under tensor, pipeline and data parallelism with ZeRO sharding (Rajbhandari et al.
2020), and for a mixture of experts whose experts are also split over the data-parallel ranks
(expert parallelism, Lepikhin et al. 2021). Activations per Korthikanti et al. 2022 ("Reducing
Activation Recomputation in Large Transformer Models", Section 4 and Table 2), with tensor and
sequence parallelism, selective or full recomputation, and the microbatches a pipeline schedule
keeps in flight (`schedule.in_flight_microbatches`).

`training_bytes(model, layout)` puts them together for a `ModelConfig` (stage by stage) or a bare
parameter count; `training_memory_per_gpu` and `moe_training_memory_per_gpu` are the model-state
parts alone. Bytes are decimal counts; `llmscale.units` formats them (GiB = 2**30).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import counting
from .._validate import boolean, choice, is_number, non_negative_int, non_negative_number, positive_int, positive_number
from ..config import ModelConfig
from .layout import RECOMPUTE, Layout, validate_for

# Mixed-precision AdamW (ZeRO paper, Section 3.1): bf16 weights and gradients, and an fp32
# master copy of the weights plus Adam's two fp32 moments: 2 + 2 + (4 + 4 + 4) bytes per parameter.
WEIGHT_BYTES_BF16 = 2
GRAD_BYTES_BF16 = 2
OPTIMIZER_BYTES_ADAM_FP32 = 12


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes per GPU of model state in training: weights, gradients and optimizer state."""

    weights: float
    gradients: float
    optimizer: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer


def training_memory_per_gpu(
    n_params: float,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    data_parallel: int = 1,
    zero_stage: int = 0,
    weight_bytes: float = WEIGHT_BYTES_BF16,
    grad_bytes: float = GRAD_BYTES_BF16,
    optimizer_bytes: float = OPTIMIZER_BYTES_ADAM_FP32,
) -> TrainingMemory:
    """Model-state bytes per GPU when `n_params` are split evenly over tensor × pipeline ranks.

    ZeRO stage 1 also shards the optimizer state over the data-parallel ranks, stage 2 the
    gradients too, stage 3 the weights too (Rajbhandari et al. 2020). Activations are not counted.
    """
    n_params = positive_number("n_params", n_params, "1.8e12")
    tp = positive_int("tensor_parallel", tensor_parallel, "8")
    pp = positive_int("pipeline_parallel", pipeline_parallel, "15")
    dp = positive_int("data_parallel", data_parallel, "208")
    if zero_stage not in (0, 1, 2, 3) or isinstance(zero_stage, bool):
        raise ValueError(f"zero_stage={zero_stage!r} must be 0, 1, 2 or 3 (0: no sharding over data parallel)")
    for name, value in (
        ("weight_bytes", weight_bytes),
        ("grad_bytes", grad_bytes),
        ("optimizer_bytes", optimizer_bytes),
    ):
        non_negative_number(name, value, "2")
    per_rank = n_params / (tp * pp)
    return TrainingMemory(
        weights=per_rank * weight_bytes / (dp if zero_stage >= 3 else 1),
        gradients=per_rank * grad_bytes / (dp if zero_stage >= 2 else 1),
        optimizer=per_rank * optimizer_bytes / (dp if zero_stage >= 1 else 1),
    )


@dataclass(frozen=True)
class ExpertParallelMemory:
    """Model-state bytes per GPU of a mixture of experts: the shared parameters' and the experts'."""

    shared: TrainingMemory
    experts: TrainingMemory

    @property
    def weights(self) -> float:
        return self.shared.weights + self.experts.weights

    @property
    def gradients(self) -> float:
        return self.shared.gradients + self.experts.gradients

    @property
    def optimizer(self) -> float:
        return self.shared.optimizer + self.experts.optimizer

    @property
    def total(self) -> float:
        return self.shared.total + self.experts.total


def moe_training_memory_per_gpu(
    shared_params: float,
    expert_params: float,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    data_parallel: int = 1,
    expert_parallel: int = 1,
    zero_stage: int = 0,
    weight_bytes: float = WEIGHT_BYTES_BF16,
    grad_bytes: float = GRAD_BYTES_BF16,
    optimizer_bytes: float = OPTIMIZER_BYTES_ADAM_FP32,
) -> ExpertParallelMemory:
    """Model-state bytes per GPU of a mixture of experts with `expert_parallel`-way expert parallelism.

    shared_params: the parameters every token uses (attention, embeddings, routers, norms);
    expert_params: those of all experts of all layers (E·N_e). Both are split over the
    tensor × pipeline ranks. The shared ones are replicated over the `data_parallel` ranks, as in
    `training_memory_per_gpu`. The experts are split `expert_parallel` ways across the data-parallel
    ranks (each rank holds E/ep of them), so each expert shard is replicated over dp/ep ranks, its
    expert-data-parallel group, and ZeRO shards the experts' state over that group (as DeepSpeed-MoE
    does). Without ZeRO the experts' weights, gradients and optimizer state all shrink by ep; with
    ZeRO stage 1 their optimizer state, already sharded over all dp ranks, stays the same.
    expert_parallel=1 gives `training_memory_per_gpu(shared_params + expert_params, ...)`.
    """
    shared_params = non_negative_number("shared_params", shared_params, "57.7e9")
    expert_params = positive_number("expert_params", expert_params, "1.78e12")
    dp = positive_int("data_parallel", data_parallel, "208")
    ep = positive_int("expert_parallel", expert_parallel, "16")
    if dp % ep:
        raise ValueError(
            f"expert_parallel={ep} does not divide data_parallel={dp}; the experts are split over "
            f"the data-parallel ranks, so choose a divisor of {dp} (see expert_parallel_degrees)"
        )
    kw = dict(zero_stage=zero_stage, weight_bytes=weight_bytes, grad_bytes=grad_bytes, optimizer_bytes=optimizer_bytes)
    experts = training_memory_per_gpu(expert_params / ep, tensor_parallel, pipeline_parallel, dp // ep, **kw)
    if shared_params == 0:
        shared = TrainingMemory(0.0, 0.0, 0.0)
    else:
        shared = training_memory_per_gpu(shared_params, tensor_parallel, pipeline_parallel, dp, **kw)
    return ExpertParallelMemory(shared=shared, experts=experts)


def expert_parallel_degrees(n_experts: int, data_parallel: int) -> list[int]:
    """The expert-parallel degrees ep that split `n_experts` evenly (E/ep whole experts per rank)
    over ranks that divide the `data_parallel` ranks evenly: the common divisors of E and dp."""
    e = positive_int("n_experts", n_experts, "16")
    dp = positive_int("data_parallel", data_parallel, "208")
    return [ep for ep in range(1, min(e, dp) + 1) if e % ep == 0 and dp % ep == 0]


# --- activations (Korthikanti et al. 2022) -----------------------------------------------------

# Bytes per s·b·h of one GPT layer's stored activations (16-bit values, 1-byte dropout masks),
# Korthikanti et al. 2022, Section 4.1. Tensor parallelism leaves 10 whole: the two layer-norm
# inputs (4), the inputs of the QKV projection and of the MLP (2 + 2), the two dropout masks
# (1 + 1). It splits 24: Q and K (4), V (2), the output projection's input (2), the GELU's
# input and output (8 + 8). The attention scores add 5·a·s/h (softmax output 2, its dropout
# mask 1, the dropout's output 2, per score), also split by tensor parallelism.
ACTIVATION_REPLICATED_GPT = 10.0
ACTIVATION_TENSOR_SPLIT_GPT = 24.0
ACTIVATION_SCORES = 5.0


def activation_bytes_per_layer(
    seq_len: int,
    microbatch_size: int,
    d_model: int,
    n_heads: int,
    *,
    tp: int = 1,
    sequence_parallel: bool = False,
    recompute: str = "none",
    replicated: float = ACTIVATION_REPLICATED_GPT,
    tensor_split: float = ACTIVATION_TENSOR_SPLIT_GPT,
) -> float:
    """Bytes one GPU stores for one transformer layer and one microbatch (Korthikanti et al. 2022, Table 2).

    s = seq_len, b = microbatch_size (sequences), h = d_model, a = n_heads, t = tp:
    no parallelism s·b·h·(34 + 5·a·s/h); tensor parallel s·b·h·(10 + 24/t + 5·a·s/(h·t));
    tensor + sequence parallel s·b·h·(34/t + 5·a·s/(h·t)); selective recomputation drops the
    5·a·s/h term; full recomputation keeps the layer's input, 2·s·b·h (Table 2's row, which has no
    sequence parallelism; with it the input is sharded, 2·s·b·h/t). `replicated` and
    `tensor_split` are the 10 and 24 of the paper's GPT layer (`activation_coefficients` gives
    them for another architecture).
    """
    s = positive_int("seq_len", seq_len, "2048")
    b = positive_int("microbatch_size", microbatch_size, "1")
    h = positive_int("d_model", d_model, "12288")
    a = positive_int("n_heads", n_heads, "96")
    t = positive_int("tp", tp, "8")
    sequence_parallel = boolean("sequence_parallel", sequence_parallel)
    recompute = choice("recompute", recompute, RECOMPUTE)
    replicated = non_negative_number("replicated", replicated, "10")
    tensor_split = non_negative_number("tensor_split", tensor_split, "24")
    sbh = float(s) * b * h
    if recompute == "full":
        return 2 * sbh / (t if sequence_parallel else 1)
    scores = 0.0 if recompute == "selective" else ACTIVATION_SCORES * a * s / h
    if sequence_parallel:
        return sbh * (replicated + tensor_split + scores) / t
    return sbh * (replicated + (tensor_split + scores) / t)


def activation_coefficients(cfg: ModelConfig) -> tuple[float, float]:
    """(replicated, tensor_split): the paper's 10 and 24 for the layer `cfg` describes, per s·b·h.

    Korthikanti et al. count a GPT layer (multi-head attention, a GELU MLP of width 4·h, dropout).
    The same accounting for other layers: Q and the output projection's input scale with the
    query width n_heads·d_h, K and V with the key/value width (grouped-query attention stores
    less); the MLP's hidden activations with d_ff (two tensors of width d_ff for GELU or ReLU,
    four for SwiGLU: gate, up, SiLU output, product). A mixture of experts sends each token to
    k = top_k experts, so its MLP input (2 bytes per value) and hidden activations count k times
    (balanced routing, no padding to capacity; router logits are left out). The layer norms'
    inputs and the dropout masks are counted as in the paper, whatever the model's norm and
    dropout. GPT-3 gives exactly (10, 24); a GELU layer with selective recomputation and sequence
    parallelism gives (18 + 4·d_ff/h)/t, the formula of Megatron-LM's own memory estimator.
    """
    cfg = counting.check_decoder_only(cfg, "activation counts")
    h = cfg.d_model
    q_width, kv_width = cfg.n_heads * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
    k = cfg.top_k if cfg.is_moe else 1
    hidden_tensors = 4 if cfg.ffn == "swiglu" else 2
    replicated = 4 + 2 + 1 + 2 * k + 1  # norm inputs, QKV input, attention dropout mask, MLP input(s), MLP dropout mask
    tensor_split = (2 * q_width + 4 * kv_width + 2 * q_width) / h + 2 * hidden_tensors * k * cfg.ff_dim / h
    return float(replicated), tensor_split


def layer_activation_bytes(cfg: ModelConfig, layout: Layout, seq_len: int | None = None) -> float:
    """Bytes one GPU stores for one of `cfg`'s layers and one microbatch under `layout`
    (`activation_bytes_per_layer` with `activation_coefficients(cfg)`; h = d_model, a = n_heads)."""
    validate_for(layout, cfg, seq_len=seq_len)
    s = cfg.seq_len if seq_len is None else positive_int("seq_len", seq_len, "2048")
    replicated, split = activation_coefficients(cfg)
    return activation_bytes_per_layer(
        s,
        layout.microbatch_size,
        cfg.d_model,
        cfg.n_heads,
        tp=layout.tp,
        sequence_parallel=layout.sequence_parallel,
        recompute=layout.recompute,
        replicated=replicated,
        tensor_split=split,
    )


# --- one pipeline stage of a ModelConfig ---------------------------------------------------------


@dataclass(frozen=True)
class StageParams:
    """Parameters one GPU of a pipeline stage holds: `shared` (replicated over dp) and `experts`
    (replicated over the dp/ep ranks of an expert-data-parallel group)."""

    shared: float
    experts: float

    @property
    def total(self) -> float:
        return self.shared + self.experts


def _stage(layout: Layout, stage) -> int:
    stage = non_negative_int("stage", stage, "0 (the first stage)")
    if stage >= layout.pp:
        raise ValueError(f"stage={stage} is out of range for pp={layout.pp}; choose 0 <= stage <= {layout.pp - 1}")
    return stage


def stage_params(cfg: ModelConfig, layout: Layout, stage: int = 0) -> StageParams:
    """Parameters per GPU on pipeline stage `stage` (0 = first) of `cfg` under `layout`.

    Each stage holds L/pp layers. Attention, dense feed-forward and expert matrices are split over
    the tp ranks, experts also over ep; layer norms and routers are replicated over tp (as in
    Megatron-LM; biases are counted as split, a negligible error). The first stage also holds the
    token embedding (vocabulary-parallel, split over tp) and any learned positions; the last the
    final norm and the LM head, which with tied embeddings and pp > 1 is a second copy of the
    embedding (Megatron-LM keeps one on each end and all-reduces their gradients). With pp = 1 and
    tp = ep = 1 the total is `counting.param_count(cfg)`.
    """
    validate_for(layout, cfg)
    stage = _stage(layout, stage)
    tp, ep = layout.tp, layout.ep
    breakdown = counting.param_breakdown(cfg)
    norm = breakdown.norms / (2 * cfg.n_layers + 1)  # one norm's parameters (2 per layer + the final one)
    layers = cfg.n_layers // layout.pp
    per_layer = counting.attention_params(cfg) / tp + 2 * norm + counting.router_params(cfg)
    if not cfg.is_moe:
        per_layer += counting.ffn_params(cfg) / tp
    experts = layers * cfg.n_experts * counting.ffn_params(cfg) / (tp * ep) if cfg.is_moe else 0.0
    shared = layers * per_layer
    token_embedding = cfg.vocab_size * cfg.d_model
    if stage == 0:
        shared += token_embedding / tp + (cfg.seq_len * cfg.d_model if cfg.pos == "learned" else 0)
    if stage == layout.pp - 1:
        shared += norm
        if not cfg.tie_embeddings or layout.pp > 1:
            shared += token_embedding / tp
    return StageParams(shared=shared, experts=experts)


def stage_activation_bytes(cfg: ModelConfig, layout: Layout, stage: int = 0, seq_len: int | None = None) -> float:
    """Activation bytes per GPU on pipeline stage `stage` at its peak, under `layout`'s schedule.

    L/pp layers × `layer_activation_bytes` × the microbatches in flight (`Layout.in_flight`: p on
    the first stage of 1F1B, m with GPipe). The first stage adds, per microbatch in flight, the
    token ids (8·s·b, int64) and the embedding's dropout mask (s·b·h, /t with sequence
    parallelism); the last stage adds, per microbatch in flight (1, or m with GPipe), the inputs
    of the final norm and of the LM head (4·s·b·h, /t with sequence parallelism) and the fp32
    logits of the loss (4·s·b·V/t): Korthikanti et al. 2022, Section 4.3. With recomputation one
    layer's activations are rebuilt during its backward pass: that workspace (one microbatch, one
    layer, the activations recomputation dropped) is added too.
    """
    validate_for(layout, cfg, seq_len=seq_len)
    stage = _stage(layout, stage)
    s = cfg.seq_len if seq_len is None else positive_int("seq_len", seq_len, "2048")
    b, h, tp = layout.microbatch_size, cfg.d_model, layout.tp
    sp_split = tp if layout.sequence_parallel else 1
    per_layer = layer_activation_bytes(cfg, layout, s)
    in_flight = layout.in_flight(stage)
    total = per_layer * (cfg.n_layers // layout.pp) * in_flight
    if layout.recompute != "none":
        total += layer_activation_bytes(cfg, layout.replace(recompute="none"), s) - per_layer
    if stage == 0:
        total += in_flight * (8.0 * s * b + float(s) * b * h / sp_split)
    if stage == layout.pp - 1:
        outputs = layout.microbatches if layout.schedule == "gpipe" else 1
        total += outputs * (4.0 * s * b * h / sp_split + 4.0 * s * b * cfg.vocab_size / tp)
    return total


# --- everything per GPU -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingBytes:
    """Bytes per GPU in training: weights, gradients, optimizer state, activations; `total` their sum.

    stage: the pipeline stage they describe (None for a bare parameter count, split evenly);
    includes_activations: False when the model was a bare parameter count (no shapes, no activations).
    """

    weights: float
    gradients: float
    optimizer: float
    activations: float
    stage: int | None = None
    includes_activations: bool = True

    @property
    def model_state(self) -> float:
        """Weights + gradients + optimizer state."""
        return self.weights + self.gradients + self.optimizer

    @property
    def total(self) -> float:
        return self.model_state + self.activations

    def as_dict(self) -> dict[str, float]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "activations": self.activations,
            "total": self.total,
        }


def training_bytes(
    model: ModelConfig | float,
    layout: Layout,
    *,
    seq_len: int | None = None,
    stage: int | None = None,
    weight_bytes: float = WEIGHT_BYTES_BF16,
    grad_bytes: float = GRAD_BYTES_BF16,
    optimizer_bytes: float = OPTIMIZER_BYTES_ADAM_FP32,
) -> TrainingBytes:
    """Bytes per GPU of training `model` with `layout`: weights, gradients, optimizer, activations.

    Mixed-precision Adam by default (2 + 2 + 12 bytes per parameter). ZeRO (`layout.zero`) shards
    over the dp ranks the optimizer state (stage 1), the gradients too (2), the weights too (3;
    the layer gathered for compute is not counted); the experts' state over their dp/ep ranks.

    model: a `ModelConfig`, counted stage by stage (`stage_params`, `stage_activation_bytes`;
    sequences of `seq_len` tokens, default cfg.seq_len, `layout.microbatch_size` per microbatch,
    `layout.schedule`'s microbatches in flight). `stage` picks one pipeline stage; None returns
    the stage with the largest total (the first, for 1F1B). Or a parameter count, split evenly
    over tp·pp (as `training_memory_per_gpu`); it has no shapes, so activations are 0 and
    `includes_activations` is False, and ep must be 1.
    """
    if not isinstance(layout, Layout):
        raise ValueError(f"layout must be a Layout, got {type(layout).__name__}; e.g. Layout(dp=16, tp=8, pp=8)")
    for name, value in (
        ("weight_bytes", weight_bytes),
        ("grad_bytes", grad_bytes),
        ("optimizer_bytes", optimizer_bytes),
    ):
        non_negative_number(name, value, "2")
    if is_number(model):
        if layout.ep > 1:
            raise ValueError(
                f"Layout.ep={layout.ep} needs the split between shared and expert parameters: pass the "
                "ModelConfig, or use moe_training_memory_per_gpu(shared_params, expert_params, ...)"
            )
        state = training_memory_per_gpu(
            model, layout.tp, layout.pp, layout.dp, layout.zero, weight_bytes, grad_bytes, optimizer_bytes
        )
        return TrainingBytes(state.weights, state.gradients, state.optimizer, 0.0, None, False)
    if not isinstance(model, ModelConfig):
        raise ValueError(
            f"model must be a ModelConfig or a parameter count, got {type(model).__name__}; "
            'e.g. presets.get("gpt3-175b") or 175e9'
        )
    cfg = model
    validate_for(layout, cfg, seq_len=seq_len)
    stages = range(layout.pp) if stage is None else [_stage(layout, stage)]
    records = [_stage_bytes(cfg, layout, i, seq_len, (weight_bytes, grad_bytes, optimizer_bytes)) for i in stages]
    return max(records, key=lambda r: r.total)


def _stage_bytes(cfg: ModelConfig, layout: Layout, stage: int, seq_len, bytes_per_param) -> TrainingBytes:
    params = stage_params(cfg, layout, stage)
    per_replica = params.total
    per_zero_shard = params.shared / layout.dp + params.experts / layout.expert_data_parallel
    weight, grad, optimizer = bytes_per_param
    return TrainingBytes(
        weights=weight * (per_zero_shard if layout.zero >= 3 else per_replica),
        gradients=grad * (per_zero_shard if layout.zero >= 2 else per_replica),
        optimizer=optimizer * (per_zero_shard if layout.zero >= 1 else per_replica),
        activations=stage_activation_bytes(cfg, layout, stage, seq_len),
        stage=stage,
    )
