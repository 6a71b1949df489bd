"""Tensor and sequence parallelism (Megatron-LM) with DTensor: the book's decoder split over a mesh.

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.tensor_parallel

Each block's attention and feed-forward are split the Megatron way (Shoeybi et al. 2019): the
first matrix of each (the fused QKV projection; SwiGLU's gate and up) by columns, so every rank
holds whole heads and a slice of the hidden width, the second (the output projection; down) by
rows, so each rank's output is a partial sum that one all-reduce completes. Two plans run:

* ``tp``: the residual stream is replicated; per layer 2 all-reduces forward (after attention,
  after the feed-forward) and 2 backward (the gradients of their inputs).
* ``tp+sp``: sequence parallelism (Korthikanti et al. 2022) shards the residual stream, the norms
  and the embedding output along the sequence; each all-reduce becomes an all-gather before the
  column-split matrix and a reduce-scatter after the row-split one, forward and backward, and the
  head's logits stay split over the vocabulary for `loss_parallel`'s cross-entropy.

Every collective carries one activation of b·s·h values (the all-gather's output, the
reduce-scatter's and the all-reduce's input). `CommDebugMode` counts them per layer; the lab
compares counts and sizes with that formula, and the loss, logits and every parameter's
gradient with the unsplit model built from the same seed in the same process (asserted).

The fused QKV weight is stored [all q heads | all k heads | all v heads]: split by columns as is,
rank 0 would get every query head and no value head. The lab permutes its rows so that each
rank's slice is [its q heads | its k heads | its v heads] and sets the local attention's head
counts to n_heads/t and kv_heads/t (the book's attention reshapes with its `n_heads`), then
permutes the gradient back before comparing. `llmscale.model` is not changed. (Key/value heads
are split too, so t must divide n_kv_heads; Megatron replicates them when it does not.)

What the counting shows beyond the formula:

* SwiGLU's gate and up are two matrices here, not one: each ColwiseParallel module fed a plain
  tensor would all-reduce its own input gradient (3 backward all-reduces a layer, measured).
  The plan hands both one replicated DTensor (`PrepareModuleInput` on the feed-forward), so
  their gradients are summed locally and all-reduced once, as with Megatron's fused matrix.
* Under sequence parallelism the norms' weights are replicated but see a sequence shard: their
  gradients come out partial, and one all-reduce of d values per norm makes them whole (the
  lab does it inside the count, as an optimizer step would need it).
* Outside the layers (sequence parallelism only): the embedding's output is reduce-scattered
  (all-gathered in backward), the head's input all-gathered (reduce-scattered in backward), and
  `loss_parallel` all-reduces three values per token (max, sum of exponentials, target logit).

Float32 and float64 only: in bfloat16 each rank rounds its partial sum before the all-reduce,
which differs from the unsplit sum by about one bfloat16 step (measured 3e-3 on the logits), so
equality within bfloat16's tolerance fails for a reason that is not a bug. The bytes scale with
the element size (float64: twice float32's).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections import defaultdict

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import DTensor, Replicate, Shard
from torch.distributed.tensor.debug import CommDebugMode
from torch.distributed.tensor.parallel import (
    ColwiseParallel,
    PrepareModuleInput,
    RowwiseParallel,
    SequenceParallel,
    loss_parallel,
    parallelize_module,
)

from llmscale import model as book_model
from llmscale.config import ModelConfig
from llmscale.parallelism.labs import _common

SIZES = dict(n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, vocab_size=128, seq_len=32, batch=4)
PLANS = ("tp", "tp+sp")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Per layer, Megatron's count: (collective, pass) -> how many, each of one b·s·h activation.
MEGATRON_PER_LAYER = {
    "tp": {("all_reduce", "forward"): 2, ("all_reduce", "backward"): 2},
    "tp+sp": {
        ("all_gather", "forward"): 2,
        ("reduce_scatter", "forward"): 2,
        ("all_gather", "backward"): 2,
        ("reduce_scatter", "backward"): 2,
    },
}
_COLLECTIVES = {
    "all_reduce": "all_reduce",
    "all_gather_into_tensor": "all_gather",
    "reduce_scatter_tensor": "reduce_scatter",
    "all_to_all_single": "all_to_all",
    "broadcast": "broadcast",
}
_BLOCK = re.compile(r"\bblocks\.(\d+)\b")


def config(sizes: dict = SIZES) -> ModelConfig:
    """The small decoder every plan splits (untied embeddings: the head is split on its own)."""
    return ModelConfig(**{k: v for k, v in sizes.items() if k != "batch"}, tie_embeddings=False)


def check_divisible(cfg: ModelConfig, tp: int) -> None:
    """Raise ValueError unless t splits heads, key/value heads, feed-forward width, vocabulary and sequence."""
    for field, value in (
        ("n_heads", cfg.n_heads),
        ("kv_heads", cfg.kv_heads),
        ("ff_dim", cfg.ff_dim),
        ("vocab_size", cfg.vocab_size),
        ("seq_len", cfg.seq_len),
    ):
        if value % tp:
            raise ValueError(
                f"{field}={value} is not divisible by the tensor-parallel degree {tp}; "
                f"choose a model whose {field} is a multiple of {tp} or run on fewer ranks"
            )


def qkv_permutation(n_heads: int, kv_heads: int, head_dim: int, tp: int) -> torch.Tensor:
    """Row order of the fused QKV weight that puts [q_r | k_r | v_r] in the r-th of t column slices."""
    q, k = n_heads * head_dim, kv_heads * head_dim
    rows = torch.arange(q + 2 * k)
    q_rows, k_rows, v_rows = rows[:q], rows[q : q + k], rows[q + k :]
    parts = []
    for r in range(tp):
        for block, width in ((q_rows, q // tp), (k_rows, k // tp), (v_rows, k // tp)):
            parts.append(block[r * width : (r + 1) * width])
    return torch.cat(parts)


def _localize_attention(decoder: torch.nn.Module, tp: int) -> torch.Tensor:
    """Permute each block's QKV rows for column splitting and set the local head counts; return the permutation."""
    cfg = decoder.cfg
    perm = qkv_permutation(cfg.n_heads, cfg.kv_heads, cfg.head_dim_, tp).to(decoder.embed.weight.device)
    with torch.no_grad():
        for block in decoder.blocks:
            qkv = block.attn.qkv
            qkv.weight.copy_(qkv.weight[perm])
            if qkv.bias is not None:
                qkv.bias.copy_(qkv.bias[perm])
            block.attn.n_heads //= tp
            block.attn.kv_heads //= tp
    return perm


def parallelize(decoder: torch.nn.Module, mesh, plan: str) -> torch.Tensor:
    """Split `decoder` in place over the 1-D `mesh` with plan "tp" or "tp+sp"; return the QKV permutation."""
    _check_plan(plan)
    tp = mesh.size()
    check_divisible(decoder.cfg, tp)
    perm = _localize_attention(decoder, tp)
    swiglu = decoder.cfg.ffn == "swiglu"
    sp = plan == "tp+sp"
    seq = Shard(1)
    for block in decoder.blocks:
        layer_plan = {
            "attn.qkv": ColwiseParallel(),
            "attn.out": RowwiseParallel(output_layouts=seq) if sp else RowwiseParallel(),
            "ffn.up": ColwiseParallel(),
            "ffn.down": RowwiseParallel(output_layouts=seq) if sp else RowwiseParallel(),
        }
        if swiglu:
            layer_plan["ffn.gate"] = ColwiseParallel()
        if not sp:
            # gate and up read the same input: hand them one replicated DTensor, so that the
            # gradients of both are summed locally and all-reduced once (two ColwiseParallel
            # modules on plain tensors would all-reduce one each: 3 backward all-reduces a layer).
            layer_plan["ffn"] = PrepareModuleInput(input_layouts=(Replicate(),), desired_input_layouts=(Replicate(),))
        else:
            layer_plan |= {
                "norm1": SequenceParallel(),
                "norm2": SequenceParallel(),
                # The residual stream arrives split along the sequence: gather it before attention
                # (rope tables are not activations and stay as they are) and the feed-forward.
                "attn": PrepareModuleInput(input_layouts=(seq, None), desired_input_layouts=(Replicate(), None)),
                "ffn": PrepareModuleInput(input_layouts=(seq,), desired_input_layouts=(Replicate(),)),
            }
        parallelize_module(block, mesh, layer_plan)
    if sp:
        outer = {
            "embed": RowwiseParallel(input_layouts=Replicate(), output_layouts=seq),
            "norm": SequenceParallel(),
            "lm_head": ColwiseParallel(input_layouts=seq, output_layouts=Shard(-1), use_local_output=False),
        }
        if decoder.pos_embed is not None:  # learned positions, (S, d): their sequence dimension is 0
            outer["pos_embed"] = RowwiseParallel(input_layouts=Replicate(), output_layouts=Shard(0))
        parallelize_module(decoder, mesh, outer)
    return perm


def _check_plan(plan: str) -> None:
    if plan not in PLANS:
        raise ValueError(f"plan={plan!r} must be one of {PLANS}")


class CollectiveLog(CommDebugMode):
    """CommDebugMode that also records, per collective, its module, pass and activation bytes.

    Bytes are those of the full activation: the all-gather's output (input × group size), the
    all-reduce's and the reduce-scatter's input.
    """

    def __init__(self, group_size: int):
        super().__init__()
        self.group_size = group_size
        self.records: list[dict] = []
        self.phase: str | None = None  # set to label collectives outside forward and backward
        self.module: str | None = None  # ... and the module they belong to

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = super().__torch_dispatch__(func, types, args, kwargs)
        if any(t is DTensor for t in types) or isinstance(func, torch._ops.HigherOrderOperator):
            return out
        name = _COLLECTIVES.get(func._overloadpacket.__name__)
        if name is not None:
            tensor = args[0]
            nbytes = tensor.numel() * tensor.element_size()
            if name == "all_gather":
                nbytes *= self.group_size
            self.records.append(
                dict(
                    op=name,
                    phase=self.phase or ("backward" if self.advanced_module_tracker.is_bw else "forward"),
                    module=self.module or self.advanced_module_tracker.name,
                    parents=sorted(self.advanced_module_tracker.parents),
                    bytes=nbytes,
                )
            )
        return out


def _layer_of(record: dict) -> int | None:
    for name in [record["module"], *record["parents"]]:
        m = _BLOCK.search(name)
        if m:
            return int(m.group(1))
    return None


def summarize(records: list[dict]) -> dict[str, dict[str, dict]]:
    """Collectives by layer ("0", "1", ... or "outside": embedding, head, loss), then by "op/pass":
    how many and the bytes of each."""
    out: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(lambda: {"count": 0, "bytes": []}))
    for rec in records:
        layer = _layer_of(rec)
        cell = out["outside" if layer is None else str(layer)][f"{rec['op']}/{rec['phase']}"]
        cell["count"] += 1
        cell["bytes"].append(rec["bytes"])
    return {k: {op: dict(v) for op, v in sorted(ops.items())} for k, ops in sorted(out.items())}


def expected_per_layer(plan: str, cfg: ModelConfig, batch: int, itemsize: int, tp: int) -> dict[str, dict]:
    """Megatron's collectives per layer, {"op/pass": {"count", "bytes"}}, each of b·s·h·itemsize bytes.

    With sequence parallelism the norms' weights (replicated, fed a sequence shard) also need
    their gradients all-reduced: one per norm parameter, d·itemsize bytes each. One rank: none.
    """
    _check_plan(plan)
    if tp == 1:
        return {}
    activation = batch * cfg.seq_len * cfg.d_model * itemsize
    out = {f"{op}/{phase}": {"count": n, "bytes": activation} for (op, phase), n in MEGATRON_PER_LAYER[plan].items()}
    if plan == "tp+sp":
        norm_params = 2 * (2 if cfg.norm == "layernorm" and cfg.bias else 1)
        out["all_reduce/gradient_sync"] = {"count": norm_params, "bytes": cfg.d_model * itemsize}
    return out


def matches(measured: dict[str, dict], expected: dict[str, dict]) -> bool:
    """Whether one layer's collectives are exactly the expected ones, count and bytes of each."""
    if set(measured) != set(expected):
        return False
    return all(
        measured[k]["count"] == expected[k]["count"] and set(measured[k]["bytes"]) == {expected[k]["bytes"]}
        for k in expected
    )


def _grads(decoder: torch.nn.Module, perm: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Every parameter's gradient as one whole tensor, QKV rows back in the book's order."""
    out = {}
    for name, p in decoder.named_parameters():
        g = p.grad.full_tensor() if isinstance(p.grad, DTensor) else p.grad
        g = g.detach().clone()
        if perm is not None and name.endswith(("attn.qkv.weight", "attn.qkv.bias")):
            g = g[torch.argsort(perm)]
        out[name] = g
    return out


def _forward_backward(decoder, idx, targets, plan):
    if plan == "tp+sp":  # logits split over the vocabulary: the cross-entropy and its backward under loss_parallel
        with loss_parallel():
            logits, loss = decoder(idx, targets)
            loss.backward()
    else:
        logits, loss = decoder(idx, targets)
        loss.backward()
    return logits, loss


def run_plan(plan: str, cfg: ModelConfig, batch: int, world, dtype, seed: int) -> dict:
    """Split a copy of the decoder with `plan`, run one forward and backward, assert it equals the unsplit one."""
    mesh = init_device_mesh(world.device.type, (world.world_size,))
    reference = book_model.build(cfg, seed=seed, device=world.device, dtype=dtype)
    split = copy.deepcopy(reference)  # the same weights, before the QKV permutation
    g = torch.Generator().manual_seed(seed + 1)
    idx = torch.randint(cfg.vocab_size, (batch, cfg.seq_len), generator=g).to(world.device)
    targets = torch.randint(cfg.vocab_size, (batch, cfg.seq_len), generator=g).to(world.device)
    ref_logits, ref_loss = _forward_backward(reference, idx, targets, "reference")
    ref_grads = _grads(reference, None)

    perm = parallelize(split, mesh, plan)
    log = CollectiveLog(world.world_size)
    with log, warnings.catch_warnings():
        # CommDebugMode's module tracker hooks modules whose inputs need no gradient (the embedding).
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        logits, loss = _forward_backward(split, idx, targets, plan)
        # Replicated weights that saw a sequence shard (the norms under sequence parallelism) end
        # with partial gradients; the optimizer needs them whole: one all-reduce each.
        log.phase = "gradient_sync"
        for name, param in split.named_parameters():
            if isinstance(param.grad, DTensor) and any(pl.is_partial() for pl in param.grad.placements):
                log.module = name
                param.grad = param.grad.redistribute(placements=[Replicate()])
    logits = logits.full_tensor() if isinstance(logits, DTensor) else logits
    loss = loss.full_tensor() if isinstance(loss, DTensor) else loss
    grads = _grads(split, perm)

    # Default tolerances of the dtype: the split model sums the same products in another order.
    torch.testing.assert_close(loss, ref_loss, msg=lambda m: f"{plan}: loss differs: {m}")
    torch.testing.assert_close(logits, ref_logits, msg=lambda m: f"{plan}: logits differ: {m}")
    for name, ref in ref_grads.items():
        torch.testing.assert_close(grads[name], ref, msg=lambda m, name=name: f"{plan}: grad of {name} differs: {m}")
    grad_diff = {name: (grads[name] - ref).abs().max().item() for name, ref in ref_grads.items()}
    diffs = torch.tensor(
        [(loss - ref_loss).abs().item(), (logits - ref_logits).abs().max().item(), max(grad_diff.values())],
        dtype=torch.float64,
        device=world.device,
    )
    dist.all_reduce(diffs, op=dist.ReduceOp.MAX)  # the worst rank (MAX, not AVG: gloo's AVG is unreliable)

    collectives = summarize(log.records)
    layers = [collectives.get(str(i), {}) for i in range(cfg.n_layers)]
    expected = expected_per_layer(plan, cfg, batch, dtype.itemsize, world.world_size)
    return dict(
        loss=ref_loss.item(),
        max_abs_diff=dict(loss=diffs[0].item(), logits=diffs[1].item(), grads=diffs[2].item()),
        worst_grad=max(grad_diff, key=grad_diff.get),
        per_layer=layers[0],
        same_in_every_layer=all(layer == layers[0] for layer in layers),
        expected_per_layer=expected,
        matches_megatron=all(matches(layer, expected) for layer in layers),
        outside_layers=collectives.get("outside", {}),
        placements={
            name: f"{p.placements} grad {p.grad.placements}"
            for name, p in split.named_parameters()
            if isinstance(p, DTensor)
        },
    )


def main(argv: list[str] | None = None) -> dict:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--plan", choices=(*PLANS, "both"), default="both")
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float32")
    args = p.parse_args(argv)
    world = _common.start(args.device, args.timeout)
    try:
        cfg, dtype = config(), DTYPES[args.dtype]
        batch = SIZES["batch"]
        plans = PLANS if args.plan == "both" else (args.plan,)
        result = dict(
            sizes=SIZES,
            dtype=args.dtype,
            activation_bytes=batch * cfg.seq_len * cfg.d_model * dtype.itemsize,
            plans={plan: run_plan(plan, cfg, batch, world, dtype, args.seed) for plan in plans},
        )
        _common.write_result(world, args.out, result)
        return result
    finally:
        _common.finish()


if __name__ == "__main__":
    main()
