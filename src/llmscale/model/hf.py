"""The book's decoder as a Hugging Face `transformers` model: the same weights in a `LlamaForCausalLM`.

`to_transformers(model)` builds the LLaMA-architecture model of the same shapes (pre-norm RMSNorm,
RoPE, SwiGLU, no biases, grouped key/value heads) and copies every weight, splitting the book's
fused Q/K/V projection into q_proj, k_proj and v_proj; both then give the same logits within float
rounding. `save_pretrained(model, directory)` writes that copy as a local checkpoint
(config.json and model.safetensors, no tokenizer) that serving engines such as vLLM load offline.
Configurations LLaMA cannot express (mixtures of experts, learned positions, GELU or ReLU,
biases, LayerNorm, another attention module) raise a ValueError.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import ModelConfig
from .layers import Attention


def _check_llama(model) -> ModelConfig:
    cfg = model.cfg
    reasons = []
    if cfg.is_moe:
        reasons.append(f"n_experts={cfg.n_experts} (a mixture of experts)")
    if cfg.pos != "rope":
        reasons.append(f"pos={cfg.pos!r}")
    if cfg.ffn != "swiglu":
        reasons.append(f"ffn={cfg.ffn!r}")
    if cfg.bias:
        reasons.append("bias=True")
    if cfg.norm != "rmsnorm":
        reasons.append(f"norm={cfg.norm!r}")
    kinds = {type(block.attn).__name__ for block in model.blocks if type(block.attn) is not Attention}
    if kinds:
        reasons.append(f"attention modules {sorted(kinds)} (e.g. multi-head latent attention)")
    if reasons:
        raise ValueError(
            "LlamaForCausalLM cannot express " + ", ".join(reasons) + "; to_transformers needs a LLaMA-style "
            "config: n_experts=1, pos='rope', ffn='swiglu', bias=False, norm='rmsnorm', multi-head/grouped attention"
        )
    return cfg


def llama_config(cfg: ModelConfig):
    """The `transformers.LlamaConfig` of the same shapes as `cfg` (heads, key/value heads, head width,
    feed-forward width, tied or untied embeddings, RoPE base, norm ε), with no special tokens."""
    import transformers

    return transformers.LlamaConfig(
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
        # The book's vocabularies have no special tokens: without these None, LlamaConfig's
        # defaults make token 2 an end-of-sequence at which `generate` (and vLLM) would stop.
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )


@torch.no_grad()
def to_transformers(model, attn_implementation: str = "sdpa"):
    """A `transformers.LlamaForCausalLM` holding a copy of the book decoder's weights, in eval mode,
    on the model's device and in its dtype."""
    import transformers

    cfg = _check_llama(model)
    param = next(model.parameters())
    hf = transformers.LlamaForCausalLM._from_config(
        llama_config(cfg), attn_implementation=attn_implementation, dtype=param.dtype
    ).to(param.device)
    hf.model.embed_tokens.weight.copy_(model.embed.weight)
    q_width, kv_width = cfg.n_heads * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
    for block, layer in zip(model.blocks, hf.model.layers):
        q, k, v = block.attn.qkv.weight.split([q_width, kv_width, kv_width], dim=0)
        layer.self_attn.q_proj.weight.copy_(q)
        layer.self_attn.k_proj.weight.copy_(k)
        layer.self_attn.v_proj.weight.copy_(v)
        layer.self_attn.o_proj.weight.copy_(block.attn.out.weight)
        layer.input_layernorm.weight.copy_(block.norm1.weight)
        layer.post_attention_layernorm.weight.copy_(block.norm2.weight)
        layer.mlp.gate_proj.weight.copy_(block.ffn.gate.weight)
        layer.mlp.up_proj.weight.copy_(block.ffn.up.weight)
        layer.mlp.down_proj.weight.copy_(block.ffn.down.weight)
    hf.model.norm.weight.copy_(model.norm.weight)
    if not cfg.tie_embeddings:
        hf.lm_head.weight.copy_(model.lm_head.weight)
    return hf.eval()


def save_pretrained(model, directory) -> Path:
    """Write the book decoder as a local Hugging Face checkpoint (config.json + model.safetensors,
    no tokenizer) in `directory`, and return its path."""
    path = Path(directory)
    to_transformers(model).save_pretrained(path)
    return path
