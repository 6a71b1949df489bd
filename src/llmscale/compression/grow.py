"""Growing a trained small decoder into a larger one: LiGO and the baselines it is compared with.

- `ligo(small, large_cfg, ...)`: the LiGO operator (Wang et al. 2023). Every weight of the large
  model is a linear map of the small model's weights, factored into depth and width growth:
  W_l = A_out,l · (Σ_j c_l,j · W_j) · A_in,lᵀ. Depth: each large layer l is a combination of the
  small model's layers j, with its own coefficients c_l,j per module (q, k, v, out, gate, up,
  down, the two norms). Width: an expansion A = [I; B] copies the small units and adds learned
  combinations of them, tied as in the paper's code: one expansion of the residual width for the
  embedding, every norm, every matrix that reads or writes the residual stream and the LM head;
  per large layer one each for the queries, keys, values (the output projection reads the
  values' one) and the feed-forward width. The operator (`LiGO`) is trained for about 100 steps
  on the grown model's training loss, gradients flowing into its parameters only
  (`train_operator`), then materialised into an ordinary `Decoder` that trains on normally.
- `net2net(small, large_cfg)`: function-preserving growth (Net2Net's Net2WiderNet, bert2BERT's
  function-preserving initialisation): each unit is copied, the weights that read the copies are
  split so they sum to the original; new layers are copies whose output projections are zero, so
  each is the identity on the residual stream. The grown model computes the small one's function.
- `stack(small, large_cfg)`: StackBERT's depth growth, large layer l a copy of small layer
  l mod L_small, with the width (if it grows) grown as in `net2net`.

The growth is exact only where the architecture allows it: RMSNorm (and LayerNorm) average over
the residual width, so function-preserving width growth needs the large d_model to be a multiple
of the small one (each unit copied equally often); RoPE rotates pairs within a head at
frequencies set by the head width, so heads are copied whole and head_dim must not change.
Dense, bias-free, untied, multi-head decoders of the book (`ModelConfig` defaults) are supported.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from ..config import ModelConfig
from ..data.batches import Batcher
from ..model.decoder import Decoder, build

# Modules of a block that get their own depth coefficients, in the paper's code's granularity.
BLOCK_MODULES = ("norm1", "q", "k", "v", "out", "norm2", "gate", "up", "down")
DEPTH_INITS = ("stack", "interlace", "rand")
WIDTH_INITS = ("rand", "select")
SPLITS = ("even", "random")


# --- checks ------------------------------------------------------------------------------------


def check_growth(small_cfg: ModelConfig, large_cfg: ModelConfig) -> None:
    """Raise ValueError naming the field unless `large_cfg` can be grown from `small_cfg`."""
    for name, cfg in (("small model", small_cfg), ("large_cfg", large_cfg)):
        if not isinstance(cfg, ModelConfig):
            raise ValueError(f"{name} must be a ModelConfig (or a Decoder), got {type(cfg).__name__}")
        unsupported = (
            ("n_experts", cfg.n_experts != 1, "1 (growth is built for dense decoders)"),
            ("kv_lora_rank", cfg.kv_lora_rank is not None, "None (no latent attention)"),
            ("n_kv_heads", cfg.kv_heads != cfg.n_heads, "None (multi-head attention)"),
            ("bias", cfg.bias, "False"),
            ("tie_embeddings", cfg.tie_embeddings, "False (the LM head grows differently from the embedding)"),
        )
        for field, bad, fix in unsupported:
            if bad:
                raise ValueError(
                    f"{name}: {field}={getattr(cfg, field)!r} is not supported by growth; set {field}={fix}"
                )
    for field in ("vocab_size", "seq_len", "ffn", "norm", "pos"):
        a, b = getattr(small_cfg, field), getattr(large_cfg, field)
        if a != b:
            raise ValueError(
                f"large_cfg.{field}={b!r} differs from the small model's {field}={a!r}; "
                f"growth keeps it: set {field}={a!r}"
            )
    sizes = (
        ("n_layers", small_cfg.n_layers, large_cfg.n_layers),
        ("d_model", small_cfg.d_model, large_cfg.d_model),
        ("n_heads", small_cfg.n_heads, large_cfg.n_heads),
        ("d_ff", small_cfg.ff_dim, large_cfg.ff_dim),
        ("n_heads·head_dim", small_cfg.n_heads * small_cfg.head_dim_, large_cfg.n_heads * large_cfg.head_dim_),
    )
    for field, a, b in sizes:
        if b < a:
            raise ValueError(
                f"large_cfg.{field}={b} is smaller than the small model's {field}={a}; "
                f"growth only adds: choose {field} >= {a}"
            )


def check_function_preserving(small_cfg: ModelConfig, large_cfg: ModelConfig) -> None:
    """Raise ValueError naming the field unless Net2Net-style growth can preserve the function exactly."""
    check_growth(small_cfg, large_cfg)
    if large_cfg.d_model % small_cfg.d_model:
        raise ValueError(
            f"large_cfg.d_model={large_cfg.d_model} is not a multiple of the small model's d_model="
            f"{small_cfg.d_model}: the norm averages over the residual width, so each unit must be copied "
            f"equally often; choose d_model a multiple of {small_cfg.d_model}"
        )
    if large_cfg.head_dim_ != small_cfg.head_dim_:
        raise ValueError(
            f"large_cfg.head_dim={large_cfg.head_dim_} differs from the small model's head_dim="
            f"{small_cfg.head_dim_}: RoPE's frequencies depend on the head width, so heads are copied whole; "
            f"set head_dim={small_cfg.head_dim_} (or n_heads = d_model // {small_cfg.head_dim_})"
        )
    if large_cfg.n_heads % small_cfg.n_heads:
        raise ValueError(
            f"large_cfg.n_heads={large_cfg.n_heads} is not a multiple of the small model's n_heads="
            f"{small_cfg.n_heads}: every head is copied the same number of times; choose n_heads a "
            f"multiple of {small_cfg.n_heads}"
        )


def _small_model(small) -> Decoder:
    if not isinstance(small, Decoder):
        raise ValueError(f"small_model must be an llmscale Decoder, got {type(small).__name__}")
    return small


def _choice(name: str, value, options) -> str:
    if value not in options:
        raise ValueError(f"{name}={value!r} is not one of {options}")
    return value


# --- the LiGO operator -----------------------------------------------------------------------------


def _q_k_v(qkv: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return qkv[:width], qkv[width : 2 * width], qkv[2 * width :]


class LiGO(nn.Module):
    """The LiGO operator from a trained `small` decoder to `large_cfg`: learned depth and width maps.

    Parameters (the only ones trained): `width` (expansions B of shape (large - small, small): the
    residual one "embed", and per large layer "q.l", "k.l", "v.l", "ffn.l"; A = [I; B]) and `depth`
    ((L_large, L_small) coefficients per block module of `BLOCK_MODULES`). The small model's weights
    are buffers. Initialisation as in the paper's code: depth "stack" (StackBERT's one-hot on
    layer l mod L_small, plus uniform noise of `noise` and normalised; "interlace": on l·L_small //
    L_large; "rand": uniform, normalised) and width "rand" (uniform rows normalised to sum to 1;
    "select": a one-hot row on a random unit, plus noise).
    """

    def __init__(
        self,
        small_model: Decoder,
        large_cfg: ModelConfig,
        *,
        depth_init: str = "stack",
        width_init: str = "rand",
        noise: float = 0.03,
        seed: int = 0,
    ):
        super().__init__()
        small = _small_model(small_model)
        s_cfg = small.cfg
        check_growth(s_cfg, large_cfg)
        _choice("depth_init", depth_init, DEPTH_INITS)
        _choice("width_init", width_init, WIDTH_INITS)
        if not (isinstance(noise, (int, float)) and noise >= 0):
            raise ValueError(f"noise={noise!r} must be a number >= 0, e.g. noise=0.03")
        self.small_cfg, self.large_cfg = s_cfg, large_cfg
        gen = torch.Generator().manual_seed(seed)
        state = {k: v.detach().clone().float() for k, v in small.state_dict().items()}
        for name in ("embed.weight", "norm.weight", "lm_head.weight") + (
            ("pos_embed.weight",) if s_cfg.pos == "learned" else ()
        ):
            self.register_buffer(_buf(name), state[name])
        q_small = s_cfg.n_heads * s_cfg.head_dim_
        per_layer: dict[str, list[torch.Tensor]] = {m: [] for m in BLOCK_MODULES}
        for j in range(s_cfg.n_layers):
            p = f"blocks.{j}."
            q, k, v = _q_k_v(state[p + "attn.qkv.weight"], q_small)
            parts = {
                "norm1": state[p + "norm1.weight"],
                "q": q,
                "k": k,
                "v": v,
                "out": state[p + "attn.out.weight"],
                "norm2": state[p + "norm2.weight"],
                "up": state[p + "ffn.up.weight"],
                "down": state[p + "ffn.down.weight"],
            }
            if s_cfg.ffn == "swiglu":
                parts["gate"] = state[p + "ffn.gate.weight"]
            for m, w in parts.items():
                per_layer[m].append(w)
        self.modules_ = tuple(m for m in BLOCK_MODULES if per_layer[m])
        for m in self.modules_:
            # (L_small, numel): the depth combination is one matrix product, (L_large, L_small) @ this
            self.register_buffer(_buf("layers." + m), torch.stack([w.reshape(-1) for w in per_layer[m]]))
        self._shapes = {m: tuple(per_layer[m][0].shape) for m in self.modules_}

        L_s, L_l = s_cfg.n_layers, large_cfg.n_layers
        self.depth = nn.ParameterDict()
        for m in self.modules_:
            self.depth[m] = nn.Parameter(_depth_init(depth_init, L_l, L_s, noise, gen))
        q_large = large_cfg.n_heads * large_cfg.head_dim_
        widths = {"embed": (s_cfg.d_model, large_cfg.d_model)}
        for layer in range(L_l):
            for m in ("q", "k", "v"):
                widths[f"{m}.{layer}"] = (q_small, q_large)
            widths[f"ffn.{layer}"] = (s_cfg.ff_dim, large_cfg.ff_dim)
        self.width = nn.ParameterDict()
        for key, (small_dim, large_dim) in widths.items():
            if large_dim > small_dim:
                self.width[key.replace(".", "_")] = nn.Parameter(
                    _width_init(width_init, large_dim - small_dim, small_dim, noise, gen)
                )
        self._template = build(large_cfg, seed=seed)
        for p in self._template.parameters():
            p.requires_grad_(False)

    # the expansion A = [I; B] on the output side (rows) and on the input side (columns)
    def _b(self, key: str) -> torch.Tensor | None:
        return self.width[key.replace(".", "_")] if key.replace(".", "_") in self.width else None

    @staticmethod
    def _grow_rows(w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        return w if b is None else torch.cat([w, b @ w], dim=0)

    @staticmethod
    def _grow_cols(w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        return w if b is None else torch.cat([w, w @ b.T], dim=1)

    def weights(self) -> dict[str, torch.Tensor]:
        """The large model's weights, by the names of `model.build(large_cfg)`'s parameters
        (differentiable in the operator's parameters)."""
        e = self._b("embed")
        out: dict[str, torch.Tensor] = {}
        out["embed.weight"] = self._grow_cols(self._buffer("embed.weight"), e)
        if self.small_cfg.pos == "learned":
            out["pos_embed.weight"] = self._grow_cols(self._buffer("pos_embed.weight"), e)
        combined = {
            m: (self.depth[m] @ self._buffer("layers." + m)).reshape(self.large_cfg.n_layers, *self._shapes[m])
            for m in self.modules_
        }
        for layer in range(self.large_cfg.n_layers):
            p = f"blocks.{layer}."
            bq, bk, bv, bf = (self._b(f"{m}.{layer}") for m in ("q", "k", "v", "ffn"))
            out[p + "norm1.weight"] = self._grow_rows(combined["norm1"][layer][:, None], e)[:, 0]
            q = self._grow_rows(self._grow_cols(combined["q"][layer], e), bq)
            k = self._grow_rows(self._grow_cols(combined["k"][layer], e), bk)
            v = self._grow_rows(self._grow_cols(combined["v"][layer], e), bv)
            out[p + "attn.qkv.weight"] = torch.cat([q, k, v], dim=0)
            out[p + "attn.out.weight"] = self._grow_rows(self._grow_cols(combined["out"][layer], bv), e)
            out[p + "norm2.weight"] = self._grow_rows(combined["norm2"][layer][:, None], e)[:, 0]
            if "gate" in combined:
                out[p + "ffn.gate.weight"] = self._grow_rows(self._grow_cols(combined["gate"][layer], e), bf)
            out[p + "ffn.up.weight"] = self._grow_rows(self._grow_cols(combined["up"][layer], e), bf)
            out[p + "ffn.down.weight"] = self._grow_rows(self._grow_cols(combined["down"][layer], bf), e)
        out["norm.weight"] = self._grow_rows(self._buffer("norm.weight")[:, None], e)[:, 0]
        out["lm_head.weight"] = self._grow_cols(self._buffer("lm_head.weight"), e)
        return out

    def _buffer(self, name: str) -> torch.Tensor:
        return getattr(self, _buf(name))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """The grown model's (logits, loss) with the operator's current weights (differentiable)."""
        return functional_call(self._template, self.weights(), (idx, targets))

    @torch.no_grad()
    def materialise(self) -> Decoder:
        """A fresh `Decoder` of `large_cfg` holding the operator's current weights (no graph)."""
        model = build(self.large_cfg, seed=None, device=self._buffer("embed.weight").device)
        model.load_state_dict({k: v.detach().clone() for k, v in self.weights().items()}, strict=True)
        return model

    def operator_param_count(self) -> int:
        """Parameters the operator learns (depth coefficients and width expansions)."""
        return sum(p.numel() for p in self.depth.parameters()) + sum(p.numel() for p in self.width.parameters())

    def materialise_flops(self) -> int:
        """Matmul FLOPs of one evaluation of `weights()` (forward), counted from the shapes:
        the depth products (L_large, L_small) @ (L_small, numel) and the width products B·W, W·Bᵀ."""
        s, g = self.small_cfg, self.large_cfg
        L_l, L_s = g.n_layers, s.n_layers
        total = sum(2 * L_l * L_s * math.prod(self._shapes[m]) for m in self.modules_)
        dd = g.d_model - s.d_model
        qs, ql = s.n_heads * s.head_dim_, g.n_heads * g.head_dim_
        fs, fl = s.ff_dim, g.ff_dim

        def cols(rows, n_in, extra):  # W (rows × n_in) @ Bᵀ (n_in × extra)
            return 2 * rows * n_in * extra

        def rows(n_out, cols_, extra):  # B (extra × n_out) @ W (n_out × cols_)
            return 2 * extra * n_out * cols_

        n_emb = s.vocab_size + (s.seq_len if s.pos == "learned" else 0)
        total += cols(n_emb, s.d_model, dd) + cols(s.vocab_size, s.d_model, dd) + rows(s.d_model, 1, dd)
        n_in_ffn = 2 if s.ffn == "swiglu" else 1
        per_layer = 2 * rows(s.d_model, 1, dd)  # two norms
        per_layer += 3 * (cols(qs, s.d_model, dd) + rows(qs, g.d_model, ql - qs))  # q, k, v
        per_layer += cols(s.d_model, qs, ql - qs) + rows(s.d_model, ql, dd)  # out
        per_layer += n_in_ffn * (cols(fs, s.d_model, dd) + rows(fs, g.d_model, fl - fs))  # gate, up
        per_layer += cols(s.d_model, fs, fl - fs) + rows(s.d_model, fl, dd)  # down
        return int(total + L_l * per_layer)


def _buf(name: str) -> str:
    return "small_" + name.replace(".", "_")


def _depth_init(scheme: str, L_large: int, L_small: int, noise: float, gen: torch.Generator) -> torch.Tensor:
    if scheme == "rand":
        w = torch.rand(L_large, L_small, generator=gen)
    else:
        w = torch.rand(L_large, L_small, generator=gen) * noise
        for layer in range(L_large):
            j = layer % L_small if scheme == "stack" else layer * L_small // L_large
            w[layer, j] = 1.0
    return w / w.sum(dim=1, keepdim=True)


def _width_init(scheme: str, extra: int, small_dim: int, noise: float, gen: torch.Generator) -> torch.Tensor:
    if scheme == "rand":
        w = torch.rand(extra, small_dim, generator=gen)
        return w / w.sum(dim=1, keepdim=True)
    w = torch.rand(extra, small_dim, generator=gen) * noise
    w[torch.arange(extra), torch.randint(0, small_dim, (extra,), generator=gen)] = 1.0
    return w


def train_operator(
    operator: LiGO,
    train_tokens,
    *,
    steps: int = 100,
    batch_size: int = 16,
    seq_len: int | None = None,
    lr: float = 1e-3,
    seed: int = 0,
    grad_clip: float | None = 1.0,
    device: str = "cpu",
) -> list[float]:
    """Train the operator's parameters (only) for `steps` Adam steps on the grown model's
    training loss over seeded batches of `train_tokens`; return the loss of each step (nats/token).

    Constant learning rate after a linear warm-up over the first tenth of the steps."""
    if not (isinstance(steps, int) and steps > 0):
        raise ValueError(f"steps={steps!r} must be a positive int, e.g. steps=100")
    if not lr > 0:
        raise ValueError(f"lr={lr!r} must be > 0, e.g. lr=1e-3")
    operator = operator.to(device)
    seq_len = operator.large_cfg.seq_len if seq_len is None else seq_len
    batches = Batcher(train_tokens, batch_size, seq_len, seed=seed, device=torch.device(device))
    params = [p for p in operator.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    warmup = max(1, steps // 10)
    losses = []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / warmup)
        x, y = batches.get_batch(step)
        _, loss = operator(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        losses.append(loss.item())
    return losses


def ligo(
    small_model: Decoder,
    large_cfg: ModelConfig,
    train_tokens=None,
    *,
    steps: int = 100,
    batch_size: int = 16,
    seq_len: int | None = None,
    lr: float = 1e-3,
    seed: int = 0,
    depth_init: str = "stack",
    width_init: str = "rand",
    noise: float = 0.03,
    device: str = "cpu",
) -> Decoder:
    """Grow `small_model` into a `Decoder` of `large_cfg` with LiGO: build the operator, train it
    for `steps` steps on `train_tokens` (steps=0 or train_tokens=None: the untrained operator, its
    initialisation), and materialise it."""
    operator = LiGO(small_model, large_cfg, depth_init=depth_init, width_init=width_init, noise=noise, seed=seed)
    if train_tokens is not None and steps:
        train_operator(
            operator, train_tokens, steps=steps, batch_size=batch_size, seq_len=seq_len, lr=lr, seed=seed, device=device
        )
    return operator.materialise()


# --- function-preserving growth and stacking ------------------------------------------------------


def _unit_map(n_small: int, n_large: int) -> np.ndarray:
    """Large unit j copies small unit j mod n_small (the first n_small units keep their place)."""
    return np.arange(n_large) % n_small


def _head_map(n_heads_small: int, n_heads_large: int, head_dim: int) -> np.ndarray:
    heads = _unit_map(n_heads_small, n_heads_large)
    return (heads[:, None] * head_dim + np.arange(head_dim)[None, :]).reshape(-1)


def _split(mapping: np.ndarray, n_small: int, split: str, rng: np.random.Generator) -> torch.Tensor:
    """Factors for the weights that read copied units: for each small unit its copies' factors sum
    to 1 ("even": 1/copies, Net2Net's division; "random": random positive shares, which keeps the
    function and breaks the copies' symmetry)."""
    if split == "even":
        share = np.ones(len(mapping))
    else:
        share = rng.uniform(0.5, 1.5, size=len(mapping))
    totals = np.bincount(mapping, weights=share, minlength=n_small)
    return torch.tensor(share / totals[mapping], dtype=torch.float32)


def _widen(w: torch.Tensor, rows: np.ndarray | None, cols: np.ndarray | None, col_share=None) -> torch.Tensor:
    if rows is not None:
        w = w[torch.as_tensor(rows)]
    if cols is not None:
        w = w[:, torch.as_tensor(cols)]
        if col_share is not None:
            w = w * col_share[None, :]
    return w


def _grow_preserving(small_model: Decoder, large_cfg: ModelConfig, depth: str, split: str, seed: int) -> Decoder:
    small = _small_model(small_model)
    s = small.cfg
    check_function_preserving(s, large_cfg)
    _choice("split", split, SPLITS)
    rng = np.random.default_rng(seed)
    st = {k: v.detach().float().cpu() for k, v in small.state_dict().items()}
    res = _unit_map(s.d_model, large_cfg.d_model)
    heads = _head_map(s.n_heads, large_cfg.n_heads, s.head_dim_)
    ffn = _unit_map(s.ff_dim, large_cfg.ff_dim)
    q_small = s.n_heads * s.head_dim_

    def reads_res(w, rows=None):  # a matrix that reads the residual stream (its columns)
        return _widen(w, rows, res, _split(res, s.d_model, split, rng))

    new: dict[str, torch.Tensor] = {}
    new["embed.weight"] = _widen(st["embed.weight"], None, res)
    if s.pos == "learned":
        new["pos_embed.weight"] = _widen(st["pos_embed.weight"], None, res)
    for layer in range(large_cfg.n_layers):
        j = layer % s.n_layers
        copy_of_earlier = layer >= s.n_layers
        p, q = f"blocks.{layer}.", f"blocks.{j}."
        new[p + "norm1.weight"] = st[q + "norm1.weight"][torch.as_tensor(res)]
        qw, kw, vw = _q_k_v(st[q + "attn.qkv.weight"], q_small)
        new[p + "attn.qkv.weight"] = torch.cat([reads_res(w, heads) for w in (qw, kw, vw)], dim=0)
        out = _widen(st[q + "attn.out.weight"], res, heads, _split(heads, q_small, split, rng))
        new[p + "norm2.weight"] = st[q + "norm2.weight"][torch.as_tensor(res)]
        if s.ffn == "swiglu":
            new[p + "ffn.gate.weight"] = reads_res(st[q + "ffn.gate.weight"], ffn)
        new[p + "ffn.up.weight"] = reads_res(st[q + "ffn.up.weight"], ffn)
        down = _widen(st[q + "ffn.down.weight"], res, ffn, _split(ffn, s.ff_dim, split, rng))
        if copy_of_earlier and depth == "identity":
            # Net2DeeperNet for a pre-norm residual block: zero writes make the block the identity.
            out, down = torch.zeros_like(out), torch.zeros_like(down)
        new[p + "attn.out.weight"], new[p + "ffn.down.weight"] = out, down
    new["norm.weight"] = st["norm.weight"][torch.as_tensor(res)]
    new["lm_head.weight"] = reads_res(st["lm_head.weight"])
    device = next(small.parameters()).device
    model = build(large_cfg, seed=None, device=device)
    model.load_state_dict({k: v.to(device) for k, v in new.items()}, strict=True)
    return model


def net2net(small_model: Decoder, large_cfg: ModelConfig, *, split: str = "even", seed: int = 0) -> Decoder:
    """Function-preserving growth (Net2Net / bert2BERT's FPI): units and heads copied, their readers
    split (`split`: "even" divides by the copies, "random" draws shares that sum to 1, which breaks
    the copies' symmetry and still preserves the function); layers beyond the small model's are
    copies of layer l mod L_small with zero output projections (identity blocks).
    The grown model's logits equal the small model's (up to float rounding)."""
    return _grow_preserving(small_model, large_cfg, "identity", split, seed)


def stack(small_model: Decoder, large_cfg: ModelConfig, *, split: str = "even", seed: int = 0) -> Decoder:
    """StackBERT: large layer l is a copy of small layer l mod L_small (doubling depth stacks the
    small model on itself); a wider `large_cfg` is widened as in `net2net` first."""
    return _grow_preserving(small_model, large_cfg, "stack", split, seed)


def max_logit_gap(a: Decoder, b: Decoder, tokens: torch.Tensor) -> float:
    """Largest absolute difference of the two models' logits on `tokens` (B, S)."""
    with torch.no_grad():
        return float((a(tokens)[0] - b(tokens)[0]).abs().max())


def grown_loss(model: Decoder, tokens: torch.Tensor) -> float:
    """Mean next-token loss (nats/token) of `model` on token windows (B, S+1)."""
    with torch.no_grad():
        logits, _ = model(tokens[:, :-1])
        return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)))
