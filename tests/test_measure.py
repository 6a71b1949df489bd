"""measure: PyTorch's FLOP counter and meta-device parameter counts against the package's formulas."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmscale import counting, measure, model, presets
from llmscale.config import ModelConfig

TINY = ModelConfig(n_layers=2, d_model=64, n_heads=4, vocab_size=128, seq_len=32)
TINY_MOE = TINY.replace(n_experts=4, top_k=2, d_ff=96)


def _tokens(cfg, batch=2, seed=0):
    return torch.randint(0, cfg.vocab_size, (batch, cfg.seq_len), generator=torch.Generator().manual_seed(seed))


@st.composite
def small_configs(draw):
    n_kv = draw(st.sampled_from([1, 2]))
    n_heads = n_kv * draw(st.integers(1, 3))
    n_experts = draw(st.sampled_from([1, 2, 4]))
    return ModelConfig(
        n_layers=draw(st.integers(1, 3)),
        d_model=n_heads * draw(st.sampled_from([4, 8])),
        n_heads=n_heads,
        n_kv_heads=draw(st.sampled_from([None, n_kv])),
        vocab_size=draw(st.integers(2, 100)),
        seq_len=draw(st.integers(2, 16)),
        d_ff=draw(st.sampled_from([None, 8, 24])),
        ffn=draw(st.sampled_from(["swiglu", "gelu", "relu"])),
        pos=draw(st.sampled_from(["rope", "learned"])),
        tie_embeddings=draw(st.booleans()),
        bias=draw(st.booleans()),
        n_experts=n_experts,
        top_k=draw(st.integers(1, n_experts)),
    )


# --- parameters on the meta device ------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpt2-small", "gpt3-xl", "llama-7b"])
def test_meta_param_count_equals_param_count_for_presets(name):
    cfg = presets.get(name)
    assert measure.meta_param_count(cfg) == counting.param_count(cfg)


def test_meta_counts_of_mixtral_equal_the_package_and_the_released_checkpoint():
    net = measure.meta_decoder(presets.get("mixtral-8x7b"))
    assert all(p.device.type == "meta" for p in net.parameters())
    assert net.num_params() == counting.param_count(presets.get("mixtral-8x7b")) == 46_702_792_704
    assert measure.built_active_param_count(net) == counting.active_param_count(presets.get("mixtral-8x7b"))
    assert measure.built_active_param_count(net) < net.num_params()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs())
def test_meta_counts_equal_the_formulas_for_random_configs(cfg):
    net = measure.meta_decoder(cfg)
    assert net.num_params() == measure.meta_param_count(cfg) == counting.param_count(cfg)
    assert measure.built_active_param_count(net) == counting.active_param_count(cfg)
    if not cfg.is_moe:
        assert measure.built_active_param_count(net) == net.num_params()


def test_built_active_count_measures_the_module_not_the_config():
    # Remove one expert of the first layer after building: the measured count must notice.
    net = measure.meta_decoder(TINY_MOE)
    before = measure.built_active_param_count(net)
    one = sum(p.numel() for p in net.blocks[0].ffn.experts[0].parameters())
    del net.blocks[0].ffn.experts[3]
    assert measure.built_active_param_count(net) == before  # an unchosen expert's worth is not active
    net.blocks[0].ffn.top_k = 1
    assert measure.built_active_param_count(net) == before - one


# --- FLOPs by PyTorch's counter ---------------------------------------------------------------


def test_count_flops_names_operators_as_str_op_and_counts_two_per_multiply_add():
    a, b = torch.ones(3, 5), torch.ones(5, 7)
    assert measure.count_flops(lambda: a @ b) == {"aten.mm": 2 * 3 * 5 * 7}
    assert measure.count_flops(lambda: a + 1) == {}


def test_math_kernel_training_step_equals_flops_per_token_times_tokens():
    net, tokens = model.build(TINY, seed=0), _tokens(TINY)
    counted = measure.step_flops(net, tokens)
    assert set(counted) == {"aten.mm", "aten.bmm"}  # weights, and attention's two products
    assert sum(counted.values()) == tokens.numel() * counting.flops_per_token(TINY, context=TINY.seq_len, training=True)
    assert measure.step_flops(net, tokens, attention="math") == counted


def test_default_cpu_kernel_counts_attention_as_zero():
    # The trap the counting page shows: PyTorch's fused CPU attention kernel has no FLOP formula.
    net, tokens = model.build(TINY, seed=0), _tokens(TINY)
    default = measure.step_flops(net, tokens, attention="default")
    assert "aten.bmm" not in default
    assert sum(default.values()) == tokens.numel() * counting.flops_per_token(TINY, context=0, training=True)
    math_count = measure.step_flops(net, tokens, attention="math")
    assert default["aten.mm"] == math_count["aten.mm"]


def test_forward_count_of_a_sorted_mixture_equals_flops_per_token():
    net, tokens = model.build(TINY_MOE, seed=0), _tokens(TINY_MOE)
    counted = sum(measure.step_flops(net, tokens, training=False).values())
    assert counted == tokens.numel() * counting.flops_per_token(TINY_MOE, context=TINY_MOE.seq_len)
    assert all(p.grad is None for p in net.parameters())  # no backward without training
    for block in net.blocks:
        block.ffn.dispatch = "batched"
    assert sum(measure.step_flops(net, tokens, training=False).values()) > counted  # padding rows


@pytest.mark.parametrize("name,seq,batch", [("gpt2-small", 1024, 2), ("llama-7b", 512, 1)])
def test_meta_step_flops_equals_the_package_count(name, seq, batch):
    cfg = presets.get(name)
    counted = sum(measure.meta_step_flops(cfg, seq, batch=batch).values())
    assert counted == batch * seq * counting.flops_per_token(cfg, context=seq, training=True)
    forward = sum(measure.meta_step_flops(cfg, seq, batch=batch, training=False).values())
    assert 3 * forward == counted


def test_meta_step_flops_defaults_to_one_full_context():
    assert measure.meta_step_flops(TINY) == measure.meta_step_flops(TINY, TINY.seq_len, batch=1)


def test_bad_measure_arguments_raise_errors_naming_the_field():
    net, tokens = model.build(TINY, seed=0), _tokens(TINY)
    with pytest.raises(ValueError, match="attention='flash'"):
        measure.step_flops(net, tokens, attention="flash")
    with pytest.raises(ValueError, match="attention"):
        measure.count_flops(lambda: None, attention=None)
    with pytest.raises(ValueError, match="tokens"):
        measure.step_flops(net, tokens.float())
    with pytest.raises(ValueError, match="tokens"):
        measure.step_flops(net, tokens[0])
    with pytest.raises(ValueError, match="training"):
        measure.step_flops(net, tokens, training="yes")
    with pytest.raises(ValueError, match="seq_len=64 exceeds cfg.seq_len=32"):
        measure.meta_step_flops(TINY, 64)
    with pytest.raises(ValueError, match="seq_len"):
        measure.meta_step_flops(TINY, 0)
    with pytest.raises(ValueError, match="batch"):
        measure.meta_step_flops(TINY, batch=0)
    with pytest.raises(ValueError, match="cfg"):
        measure.meta_param_count("gpt2-small")
    with pytest.raises(ValueError, match="net"):
        measure.built_active_param_count(torch.nn.Linear(2, 2))


# --- time and threads -------------------------------------------------------------------------


def test_torch_threads_sets_and_restores_the_thread_count():
    before = torch.get_num_threads()
    with measure.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with measure.torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        with measure.torch_threads(0):
            pass


def test_timed_returns_the_result_and_a_duration():
    out, seconds = measure.timed(lambda: 6 * 7)
    assert out == 42 and seconds >= 0


def test_saved_activations_counts_each_storage_once_leaves_parameters_out_and_forgets_freed_ones():
    from llmscale.measure import SavedActivations

    w = torch.nn.Parameter(torch.randn(8, 8))
    x = torch.randn(4, 8, requires_grad=True)
    rec = SavedActivations([w])
    with rec.hooks():
        rec.part = "matmul"
        h = x @ w  # saves x and w: only x counts
        rec.part = "relu"
        y = torch.relu(h).sum()  # saves the relu output
    assert rec.by_part == {"matmul": 4 * 8 * 4, "relu": 4 * 8 * 4}
    assert rec.live_bytes == rec.peak_bytes == 2 * 4 * 8 * 4
    y.backward()
    del y, h
    assert rec.live_bytes == 0 and rec.peak_bytes == 2 * 4 * 8 * 4
