"""The training loop and the results cache."""

import json

import pytest

from llmscale import data, experiments, train
from llmscale.config import ModelConfig


@pytest.fixture(scope="module")
def demo_experiment():
    """The `train-demo` experiment: a test fixture, registered for this module only (not in `llmscale list`)."""
    from demo_experiment import DEMO

    experiments.register(DEMO)
    yield DEMO
    experiments.unregister(DEMO.name)


@pytest.fixture(scope="module")
def markov():
    return data.load_corpus("markov", n_tokens=200_000)


def test_training_lowers_validation_loss_and_reports_throughput(markov):
    cfg = ModelConfig(n_layers=2, d_model=64, n_heads=4, vocab_size=markov.vocab_size, seq_len=64)
    hist = train.train(
        cfg, markov.train, markov.val, steps=80, batch_size=16, eval_every=40, progress=False, device="cpu"
    )
    assert hist.eval_steps == [40, 80]
    assert hist.val_loss[-1] < hist.val_loss[0] < 4.2
    assert hist.tokens == 80 * 16 * 64
    assert hist.tokens_per_s > 0 and hist.flops_per_s == pytest.approx(hist.tokens_per_s * hist.flops_per_token)


def test_same_seed_same_losses(markov):
    cfg = ModelConfig(n_layers=1, d_model=32, n_heads=2, vocab_size=markov.vocab_size, seq_len=32)
    a = train.train(cfg, markov.train, markov.val, steps=5, batch_size=4, progress=False, device="cpu")
    b = train.train(cfg, markov.train, markov.val, steps=5, batch_size=4, progress=False, device="cpu")
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    lrs = [train.lr_at(s, 100, 1.0, 10, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))


def test_training_rejects_tokens_outside_the_vocabulary(markov):
    cfg = ModelConfig(n_layers=1, d_model=32, n_heads=2, vocab_size=10, seq_len=32)
    with pytest.raises(ValueError, match="vocab_size"):
        train.train(cfg, markov.train, steps=1, batch_size=2, progress=False, device="cpu")


def test_device_selection_prefers_accelerators_and_rejects_nonsense():
    assert train.select_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="device"):
        train.select_device("gpu0")


def test_results_roundtrip_and_clear_errors(tmp_path, demo_experiment):
    out = experiments.run("train-demo", "tiny", "cpu", directory=tmp_path)
    record = experiments.load("train-demo", "tiny", directory=tmp_path)
    assert record["command"] == "python -m llmscale run train-demo --size tiny"
    assert record["package_version"] and record["data"]["steps"] == 60

    damaged = json.loads(out.read_text())
    damaged["data"]["steps"] = 61
    out.write_text(json.dumps(damaged))
    with pytest.raises(experiments.ResultsError, match="damaged.*python -m llmscale run train-demo --size tiny"):
        experiments.load("train-demo", "tiny", directory=tmp_path)

    stale = json.loads(out.read_text())
    stale["data"]["steps"] = 60
    stale["experiment_version"] = 0
    out.write_text(json.dumps(stale))
    with pytest.raises(experiments.ResultsError, match="stale.*python -m llmscale run train-demo --size tiny"):
        experiments.load("train-demo", "tiny", directory=tmp_path)

    out.write_text("{not json")
    with pytest.raises(experiments.ResultsError, match="damaged"):
        experiments.load("train-demo", "tiny", directory=tmp_path)


def test_missing_result_names_the_command(tmp_path, demo_experiment):
    with pytest.raises(experiments.ResultsError, match="python -m llmscale run train-demo"):
        experiments.load("train-demo", directory=tmp_path)
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.load("no-such-thing")


def test_benchmark_harness_builds_matching_models_and_reports_a_ratio():
    pytest.importorskip("transformers")
    from llmscale.benchmarks import decoder_vs_transformers

    cfg = ModelConfig(n_layers=1, d_model=32, n_heads=2, vocab_size=64, seq_len=16)
    r = decoder_vs_transformers.benchmark(cfg, batch_size=2, steps=2, warmup=1)
    assert r["params"] == 32 * 64 * 2 + 1 * (4 * 32 * 32 + 3 * 32 * cfg.ff_dim + 2 * 32) + 32
    assert r["ratio"] > 0
