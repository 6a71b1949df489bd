"""Training throughput of the book's decoder against Hugging Face's `LlamaForCausalLM`.

`python -m llmscale.benchmarks.decoder_vs_transformers [--device cpu] [--steps 20]` builds both models from the same
LLaMA-style configuration (the same parameter count, checked), trains each for the same
steps on the same batches with AdamW, and prints median tokens/s and the ratio. A benchmark,
not a test: timings depend on the machine and on what else it runs.
"""

from __future__ import annotations

import argparse
import functools
import statistics

import torch

from .. import counting, measure
from ..config import ModelConfig
from ..model import build

SIZES = {
    "small": ModelConfig(n_layers=4, d_model=256, n_heads=8, vocab_size=2048, seq_len=256),
    "medium": ModelConfig(n_layers=8, d_model=512, n_heads=8, vocab_size=8192, seq_len=512),
    "large": ModelConfig(n_layers=16, d_model=1024, n_heads=16, n_kv_heads=4, vocab_size=32000, seq_len=1024),
}


def hf_llama(cfg: ModelConfig):
    """The `transformers` LlamaForCausalLM with the same shapes as `cfg` (SDPA attention): heads,
    key/value heads, head width, feed-forward width, tied or untied embeddings, RoPE base, norm ε."""
    import transformers

    hf_cfg = transformers.LlamaConfig(
        hidden_size=cfg.d_model,
        intermediate_size=cfg.ff_dim,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.kv_heads,
        head_dim=cfg.head_dim_,
        vocab_size=cfg.vocab_size,
        max_position_embeddings=cfg.seq_len,
        tie_word_embeddings=cfg.tie_embeddings,
        rms_norm_eps=cfg.norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta},
        attention_bias=False,
        mlp_bias=False,
    )
    return transformers.LlamaForCausalLM._from_config(hf_cfg, attn_implementation="sdpa")


def benchmark(cfg: ModelConfig, batch_size: int, steps: int = 20, warmup: int = 3, device: str = "cpu") -> dict:
    """Median training tokens/s of llmscale's decoder and of LlamaForCausalLM, same config and batches."""
    dev = torch.device(device)
    ours = build(cfg, seed=0).to(dev)
    theirs = hf_llama(cfg).to(dev)
    n_theirs = sum(p.numel() for p in theirs.parameters())
    if n_theirs != counting.param_count(cfg):
        raise RuntimeError(f"parameter counts differ: llmscale {counting.param_count(cfg)}, HF {n_theirs}")
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, cfg.vocab_size, (batch_size, cfg.seq_len + 1), generator=gen).to(dev) for _ in range(4)]
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda")

    def make_step(model, forward):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step(i):
            b = batches[i % len(batches)]
            with autocast:
                loss = forward(model, b[:, :-1], b[:, 1:])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return step

    def ours_forward(m, x, y):
        return m(x, y)[1]

    def hf_forward(m, x, y):
        logits = m(input_ids=x, use_cache=False).logits
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))

    result = {}
    # Alternate single steps of the two models, so that drift in the machine's load (large on
    # shared VMs) falls on both alike; compare medians of the per-step times.
    step_ours, step_hf = make_step(ours, ours_forward), make_step(theirs, hf_forward)
    for i in range(warmup):
        step_ours(i)
        step_hf(i)
    t_ours, t_hf = [], []
    for i in range(steps):
        t_ours.append(measure.timed(functools.partial(step_ours, i), dev)[1])
        t_hf.append(measure.timed(functools.partial(step_hf, i), dev)[1])
    tokens = batch_size * cfg.seq_len
    result["llmscale_tokens_per_s"] = tokens / statistics.median(t_ours)
    result["hf_llama_tokens_per_s"] = tokens / statistics.median(t_hf)
    result["ratio"] = result["llmscale_tokens_per_s"] / result["hf_llama_tokens_per_s"]
    result["params"] = counting.param_count(cfg)
    result["threads"] = torch.get_num_threads()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    cfg = SIZES[args.size]
    r = benchmark(cfg, args.batch_size, args.steps, device=args.device)
    print(f"config: {cfg}")
    print(f"device={args.device} threads={r['threads']} params={r['params']:,} batch={args.batch_size}")
    print(f"llmscale Decoder     : {r['llmscale_tokens_per_s']:10,.0f} tokens/s")
    print(f"HF LlamaForCausalLM  : {r['hf_llama_tokens_per_s']:10,.0f} tokens/s")
    print(f"ratio (llmscale / HF): {r['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
