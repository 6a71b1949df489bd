"""inference.kv_cache: bytes of the K/V cache and of serving, by hand and against the built model."""

import math

import pytest

from llmscale import counting, measure, presets
from llmscale.config import ModelConfig
from llmscale.inference import kv_cache

LLAMA_13B = presets.get("llama-13b")


def test_llama13b_kv_cache_of_one_full_context_by_hand():
    # 40 layers × (K and V) × 40 heads × 128 values × 2,048 tokens × 2 bytes (fp16)
    by_hand = 40 * 2 * 40 * 128 * 2048 * 2
    assert by_hand == 1_677_721_600
    assert kv_cache.kv_cache_bytes(LLAMA_13B) == by_hand
    assert kv_cache.kv_cache_bytes(LLAMA_13B, context=2048, batch=1, bytes_per_value=2) == by_hand
    assert kv_cache.kv_cache_bytes_per_token(LLAMA_13B) == 40 * 2 * 40 * 128 * 2 == 819_200


def test_kv_cache_grows_with_tokens_batch_and_bytes_per_value():
    per_token = kv_cache.kv_cache_bytes_per_token(LLAMA_13B, bytes_per_value=1)
    assert kv_cache.kv_cache_bytes(LLAMA_13B, context=1000, batch=3, bytes_per_value=1) == 3000 * per_token
    assert kv_cache.kv_cache_bytes(LLAMA_13B, 1000, 3, bytes_per_value=0.5) == 1500 * per_token


def test_grouped_query_attention_shrinks_the_cache_by_heads_over_kv_heads():
    mixtral = presets.get("mixtral-8x7b")  # 32 query heads share 8 key/value heads
    full = mixtral.replace(n_kv_heads=None)
    assert kv_cache.kv_cache_bytes(full) == (mixtral.n_heads // mixtral.kv_heads) * kv_cache.kv_cache_bytes(mixtral)
    assert kv_cache.kv_cache_bytes(mixtral.replace(n_kv_heads=1)) * mixtral.kv_heads == kv_cache.kv_cache_bytes(mixtral)


@pytest.mark.parametrize("name", ["gpt2-small", "llama-13b", "mixtral-8x7b", "gpt4-reported"])
def test_kv_values_per_token_are_the_key_and_value_columns_of_the_built_model(name):
    # The cache holds exactly what each layer's qkv projection writes beside the queries.
    cfg = presets.get(name)
    net = measure.meta_decoder(cfg)
    kv_columns = sum(b.attn.qkv.out_features - b.attn.n_heads * b.attn.head_dim for b in net.blocks)
    assert kv_cache.kv_cache_bytes_per_token(cfg, bytes_per_value=1) == kv_columns


def test_serving_bytes_are_weights_plus_cache_and_fit_the_v100s_the_page_says():
    m13 = kv_cache.serving_bytes(LLAMA_13B)
    assert m13.weights_bytes == 2 * counting.param_count(LLAMA_13B) == 26_031_728_640
    assert m13.kv_cache_bytes == kv_cache.kv_cache_bytes(LLAMA_13B)
    assert m13.total_bytes == m13.weights_bytes + m13.kv_cache_bytes
    assert m13.devices_needed(32e9) == 1 and m13.devices_needed(16e9) == 2
    assert kv_cache.serving_bytes(presets.get("llama-65b")).devices_needed(32e9) == 5
    batch8 = kv_cache.serving_bytes(LLAMA_13B, context=512, batch=8, bytes_per_value=1)
    assert batch8.weights_bytes == counting.param_count(LLAMA_13B)
    assert batch8.kv_cache_bytes == kv_cache.kv_cache_bytes(LLAMA_13B, 512, 8, 1)
    assert m13.devices_needed(m13.total_bytes) == 1 and m13.devices_needed(math.nextafter(m13.total_bytes, 0)) == 2


def test_bad_kv_cache_arguments_raise_errors_naming_the_field():
    with pytest.raises(ValueError, match="context"):
        kv_cache.kv_cache_bytes(LLAMA_13B, context=0)
    with pytest.raises(ValueError, match="context"):
        kv_cache.kv_cache_bytes(LLAMA_13B, context=True)
    with pytest.raises(ValueError, match="context"):
        kv_cache.kv_cache_bytes(LLAMA_13B, context=2048.5)
    with pytest.raises(ValueError, match="batch"):
        kv_cache.kv_cache_bytes(LLAMA_13B, batch=-1)
    with pytest.raises(ValueError, match="bytes_per_value"):
        kv_cache.serving_bytes(LLAMA_13B, bytes_per_value=0)
    with pytest.raises(ValueError, match="cfg"):
        kv_cache.kv_cache_bytes("llama-13b")
    encoder_decoder = ModelConfig(n_layers=6, n_encoder_layers=6, d_model=512, n_heads=8, vocab_size=100, seq_len=64)
    with pytest.raises(ValueError, match="n_encoder_layers"):
        kv_cache.kv_cache_bytes(encoder_decoder)
    with pytest.raises(ValueError, match="hbm_bytes"):
        kv_cache.serving_bytes(LLAMA_13B).devices_needed(0)


def test_kv_cache_is_arithmetic_without_torch():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(kv_cache))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name == "torch" or name.startswith("torch.") for name in names)


def test_decode_reads_deepseek_style_experts_leading_dense_layers_and_shared_experts():
    from llmscale import counting, presets
    from llmscale.inference import decode

    cfg = presets.get("deepseek-v3")
    embed = cfg.vocab_size * cfg.d_model
    # One token reads exactly its active parameters, less the input embedding (a row lookup);
    # a huge batch touches every expert: all parameters less the embedding.
    assert decode.decode_weight_params(cfg, 1) == pytest.approx(counting.active_param_count(cfg) - embed, rel=1e-12)
    assert decode.decode_weight_params(cfg, 10**7) == pytest.approx(counting.param_count(cfg) - embed, rel=1e-9)
