"""The quantization page's helpers: loss increases averaged over seeds, bits per weight from the
stored bytes, the RTN-against-GPTQ check and its exceptions, the published table as nats; and
the stored sweep agrees with what the quantizer stores for its model."""

from __future__ import annotations

import math

import pytest

from llmscale.experiments import compression_models as cm
from llmscale.experiments import quantization_sweep as exp
from llmscale.pages.compression import quantization as pg
from llmscale.published import gptq as paper


def _row(method, bits, granularity, seed, loss, nbytes=0):
    return {"method": method, "bits": bits, "granularity": granularity, "seed": seed, "act_order": False,
            "loss": loss, "bytes": nbytes}  # fmt: skip


def synthetic(gptq_2bit_loss: float = 1.2) -> dict:
    """One language, float loss 1.0, RTN worse than GPTQ except where gptq_2bit_loss says."""
    main = []
    for granularity in ("channel", "group"):
        for bits, rtn, gptq in ((4, 1.04, 1.01), (2, 1.5, gptq_2bit_loss)):
            main.append(_row("rtn", bits, granularity, 0, rtn, 1000 + bits))
            main += [_row("gptq", bits, granularity, s, gptq + 0.01 * s) for s in (0, 1, 2)]
    main.append(_row("rtn", 8, "channel", 0, 1.001))
    return {"bits": [8, 4, 2], "languages": {"x": {"dense_loss": 1.0, "dense_bytes": 600, "quantized_params": 100,
                                                   "main": main, "act_order": [], "outliers": []}}}  # fmt: skip


def test_increase_averages_seeds_with_a_standard_error():
    mean, se, n = pg.increase("x", "gptq", 4, data=synthetic())
    assert n == 3 and mean == pytest.approx(0.02)
    assert se == pytest.approx(0.01 / math.sqrt(3))
    assert pg.increase("x", "rtn", 4, data=synthetic())[1:] == (0.0, 1)
    with pytest.raises(ValueError, match="no main row"):
        pg.increase("x", "awq", 4, data=synthetic())


def test_bits_per_weight_takes_the_float_rest_out():
    # 600 bytes dense with 100 quantized float32 weights: 200 bytes are the rest; 1004 - 200 bytes
    assert pg.bits_per_weight("x", "rtn", 4, data=synthetic()) == pytest.approx(8 * (1004 - 200) / 100)


def test_gptq_beats_rtn_names_the_exceptions():
    assert pg.gptq_beats_rtn(synthetic()) == (True, [])
    holds, exceptions = pg.gptq_beats_rtn(synthetic(gptq_2bit_loss=1.6))
    assert not holds and exceptions == ["x 2-bit channel", "x 2-bit group"]


def test_int8_relative_increase():
    assert pg.int8_relative_increase("x", data=synthetic()) == pytest.approx(0.001)


def test_published_increase_is_the_log_of_the_perplexity_ratio():
    assert pg.published_increase("fp16") == 0.0
    assert pg.published_increase("rtn-3") == pytest.approx(math.log(25.54 / 5.68))
    assert pg.published_increase("gptq-3", "65b") == pytest.approx(math.log(5.04 / 3.53))
    with pytest.raises(ValueError, match="size"):
        paper.llama_ppl("3b", "fp16")
    with pytest.raises(ValueError, match="scheme"):
        paper.llama_ppl("7b", "rtn-2")


def test_gaussian_rows_need_wider_ranges_as_they_widen():
    assert pg.gaussian_row_range(64) < pg.gaussian_row_range(512) < pg.gaussian_row_range(4096)


@pytest.mark.parametrize("language", cm.LANGUAGES)
def test_stored_sweep_bytes_are_what_the_quantizer_stores(language):
    from llmscale.compression import quantize as Q

    data = pg.stored()
    model = cm.load(language)
    for method, bits, granularity in (("rtn", 4, "channel"), ("rtn", 2, "group"), ("rtn", 8, "tensor")):
        groups = {"tensor": "tensor", "channel": None, "group": data["group_size"]}[granularity]
        row = pg.rows(language, method=method, bits=bits, granularity=granularity, data=data)[0]
        assert Q.model_bytes(Q.quantize(model, method, bits, groups)) == row["bytes"]
    entry = data["languages"][language]
    assert entry["dense_bytes"] == Q.model_bytes(model)
    for method in ("gptq", "awq"):
        for bits in (4, 3, 2):
            seeds = sorted(
                r["seed"] for r in pg.rows(language, method=method, bits=bits, granularity="channel", data=data)
            )
            assert seeds == list(exp.SEEDS)


def test_beats_next_smaller_reads_the_published_table():
    assert pg.beats_next_smaller("rtn-4") == (True, ["13b < 7b", "30b < 13b", "65b < 30b"])
    holds, pairs = pg.beats_next_smaller("rtn-3")
    assert not holds and pairs[0] == "13b >= 7b"


def test_the_sweep_plans_every_method_width_and_seed():
    jobs = exp._jobs("small")
    main = [j for j in jobs if j["table"] == "main" and j["language"] == "markov"]
    for bits in exp.BITS:
        assert {j["granularity"] for j in main if j["method"] == "rtn" and j["bits"] == bits} == set(exp.GRANULARITIES)
        for method in ("gptq", "awq"):
            seeds = sorted({j["seed"] for j in main if j["method"] == method and j["bits"] == bits})
            assert seeds == ([0] if bits == 8 else list(exp.SEEDS))
    planted = [j for j in jobs if j["table"] == "outliers"]
    assert all(j["variant"] == "outliers" for j in planted) and len(planted) == 2 * 8
    assert len({exp._key(j) for j in jobs}) == len(jobs)  # no two tasks share a cache entry
