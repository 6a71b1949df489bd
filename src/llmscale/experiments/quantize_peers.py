"""The experiment `quantize-peers`: the book's quantizers beside library ones, on the same weights.

Peers, each run on the CPU on the trained compression models (`compression_models.load`):

- torchao's int8 weight-only (`quantize_(model, Int8WeightOnlyConfig())`, the linear layers but
  the head), applied to the book's decoder itself: validation loss against fp32 and against
  the book's int8 round-to-nearest per channel (`quantize.quantize(model, "rtn", 8)`), and how
  far its dequantized weights lie from the book's, in quantization steps;
- llm-compressor's GPTQ (`oneshot` with a `GPTQModifier`, int4 symmetric, groups of 64: 128
  does not divide the models' width of 192), on the model exported to a local Hugging Face
  checkpoint (`model.hf.save_pretrained`, no tokenizer: a word-level one over the token ids is
  built in memory, as `oneshot` asks for one), with the same calibration windows as the book's
  GPTQ (`compression_models.calibration_windows`, 32 × 128 tokens): validation loss of both,
  RTN's, and each layer's output error tr(ΔW H ΔWᵀ)/2 under the fp32 model's Hessian
  (`quantize.output_error`). llm-compressor orders the columns by decreasing diag H with static
  groups by default (`actorder="static"`), so the book's GPTQ runs both ways: in its own column
  order and with act_order=True, the peer's algorithm.

Neither library is a dependency of the book. Run it in a throwaway environment that has them
(CPU torch 2.13 as the book pins it), from the repository root:

    python3 -m venv /tmp/peers
    /tmp/peers/bin/pip install torch==2.13.0 torchao==0.18.0 llmcompressor==0.14.0.1 -c <(echo torch==2.13.0)
    PYTHONPATH=src /tmp/peers/bin/python -m llmscale run quantize-peers

GPTQModel 7.7.0 asks for torch >= 2.14.1 (7.6.0 installs beside torch 2.13); see the note
stored in the results. Each peer that fails to import is recorded as such, not raised.
"""

from __future__ import annotations

import copy
import importlib.metadata
import tempfile
import time
from pathlib import Path

import torch

from ..compression import quantize as q
from ..compression.calibration import linear_layers, linear_stats
from ..measure import torch_threads
from . import Experiment
from . import compression_models as cm

LANGUAGES = ("english", "markov")
GPTQ = {"bits": 4, "group_size": 64, "symmetric": True, "damp": 0.01, "block_size": 128}
N_CALIBRATION = 32
NOTES = {
    "gptqmodel": "GPTQModel 7.7.0 (the newest on PyPI) requires torch>=2.14.1: with the book's torch 2.13 "
    "pinned, pip reports ResolutionImpossible. 7.6.0 installs beside torch 2.13 in an environment of its "
    "own (its pins differ from llm-compressor's); it is not run here.",
}


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _torchao(model, language: str, fp32_loss: float) -> dict:
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    ao = copy.deepcopy(model)
    quantize_(
        ao,
        Int8WeightOnlyConfig(),
        filter_fn=lambda m, name: isinstance(m, torch.nn.Linear) and not name.endswith("lm_head"),
    )
    book = q.quantize(model, "rtn", 8)
    ao_loss, book_loss = cm.val_loss(ao, language), cm.val_loss(book, language)
    steps = []
    for name, layer in linear_layers(model).items():
        mine = q.pack(layer.weight, 8)
        theirs = ao.get_submodule(name).weight.dequantize().float()
        steps.append(float(((theirs - mine.dequantize()).abs() / mine.step()).max()))
    return {
        "version": _version("torchao"),
        "config": "Int8WeightOnlyConfig(), every linear layer but the head",
        "loss": ao_loss,
        "book_rtn8_loss": book_loss,
        "relative_increase": ao_loss / fp32_loss - 1,
        "book_relative_increase": book_loss / fp32_loss - 1,
        "max_weight_difference_in_book_steps": max(steps),
    }


def _word_level_tokenizer(vocab_size: int):
    """A tokenizer over the token ids themselves ("0", "1", ...), made in memory: llm-compressor's
    `oneshot` asks for a processor, and the book's models have none to download."""
    import transformers
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel

    vocab = {str(i): i for i in range(vocab_size)}
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="0")), unk_token="0", pad_token="0"
    )


def _hf_val_loss(hf_model, language: str, batch_size: int = 32) -> float:
    windows = cm.validation_windows(language)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, windows.shape[0], batch_size):
            w = windows[i : i + batch_size]
            logits = hf_model(input_ids=w[:, :-1]).logits.float()
            total += float(
                torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction="sum"
                )
            )
            count += w[:, 1:].numel()
    return total / count


def _hf_weight(hf_model, cfg, name: str) -> torch.Tensor:
    """The HF model's weight for the book's layer `name` (q, k and v stacked for the fused qkv)."""
    i, kind = int(name.split(".")[1]), ".".join(name.split(".")[2:])
    layer = hf_model.model.layers[i]
    if kind == "attn.qkv":
        a = layer.self_attn
        return torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight], 0).detach().float()
    module = {
        "attn.out": layer.self_attn.o_proj,
        "ffn.gate": layer.mlp.gate_proj,
        "ffn.up": layer.mlp.up_proj,
        "ffn.down": layer.mlp.down_proj,
    }[kind]
    return module.weight.detach().float()


def _llmcompressor(model, language: str, fp32_loss: float) -> dict:
    import transformers
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import GPTQModifier

    from ..model import hf

    cal = cm.calibration_windows(language, n_windows=N_CALIBRATION)
    # the book's own model, exported to a local folder and read back from it (never from a hub)
    with tempfile.TemporaryDirectory() as tmp:  # oneshot reads the checkpoint's directory again
        path = hf.save_pretrained(model, Path(tmp) / "model")
        peer = transformers.AutoModelForCausalLM.from_pretrained(
            path, dtype=torch.float32, local_files_only=True
        ).eval()
        return _llmcompressor_on(peer, model, language, fp32_loss, cal, oneshot, GPTQModifier, Dataset)


def _llmcompressor_on(peer, model, language, fp32_loss, cal, oneshot, GPTQModifier, Dataset) -> dict:
    exported_loss = _hf_val_loss(peer, language)
    scheme = {"num_bits": GPTQ["bits"], "type": "int", "symmetric": GPTQ["symmetric"]}
    scheme |= {"strategy": "group", "group_size": GPTQ["group_size"]}
    recipe = GPTQModifier(
        config_groups={"group": {"targets": ["Linear"], "weights": scheme}},
        ignore=["lm_head"],
        dampening_frac=GPTQ["damp"],
        block_size=GPTQ["block_size"],
    )
    dataset = Dataset.from_dict({"input_ids": cal.tolist(), "attention_mask": torch.ones_like(cal).tolist()})
    start = time.perf_counter()
    oneshot(
        model=peer,
        dataset=dataset,
        recipe=recipe,
        processor=_word_level_tokenizer(model.cfg.vocab_size),
        num_calibration_samples=cal.shape[0],
        max_seq_length=cal.shape[1],
    )
    peer_seconds = time.perf_counter() - start
    peer_loss = _hf_val_loss(peer, language)

    g, bits = GPTQ["group_size"], GPTQ["bits"]
    start = time.perf_counter()
    book = q.quantize(model, "gptq", bits, g, GPTQ["symmetric"], cal, damp=GPTQ["damp"], block_size=GPTQ["block_size"])
    book_seconds = time.perf_counter() - start
    # llm-compressor's GPTQModifier orders columns by decreasing diag H with static groups by
    # default (actorder="static"): the book's act_order=True is the same algorithm
    ordered = q.quantize(
        model, "gptq", bits, g, GPTQ["symmetric"], cal, damp=GPTQ["damp"], block_size=GPTQ["block_size"], act_order=True
    )
    rtn = q.quantize(model, "rtn", bits, g, GPTQ["symmetric"])
    stats = linear_stats(model, cal)
    layers = {}
    for name, layer in linear_layers(model).items():
        h, w = stats[name].hessian(), layer.weight.detach()
        theirs = _hf_weight(peer, model.cfg, name)
        mine = q.quantized_layers(book)[name].effective_weight()
        mine_ordered = q.quantized_layers(ordered)[name].effective_weight()
        nearest = q.quantized_layers(rtn)[name].effective_weight()
        layers[name] = {
            "peer_gptq": q.output_error(w, theirs, h),
            "book_gptq": q.output_error(w, mine, h),
            "book_gptq_act_order": q.output_error(w, mine_ordered, h),
            "book_rtn": q.output_error(w, nearest, h),
        }
    return {
        "version": _version("llmcompressor"),
        "compressed_tensors_version": _version("compressed-tensors"),
        "transformers_version": _version("transformers"),
        "recipe": f"GPTQModifier int{bits} symmetric, groups of {g}, dampening {GPTQ['damp']}, "
        f"block {GPTQ['block_size']}, lm_head ignored; {N_CALIBRATION} calibration windows of {cal.shape[1]} tokens",
        "exported_fp32_loss": exported_loss,
        "loss": peer_loss,
        "actorder": str(recipe.actorder),
        "book_gptq_loss": cm.val_loss(book, language),
        "book_gptq_act_order_loss": cm.val_loss(ordered, language),
        "book_rtn_loss": cm.val_loss(rtn, language),
        "fp32_loss": fp32_loss,
        "peer_seconds": peer_seconds,
        "book_seconds": book_seconds,
        "layer_output_error": layers,
    }


def _attempt(fn, *args) -> dict:
    try:
        return {"ran": True, **fn(*args)}
    except ImportError as e:
        return {"ran": False, "error": f"{type(e).__name__}: {e}"}


def _run(size: str, device: str) -> dict:
    if device != "cpu":
        raise ValueError(f"device={device!r}: the peers are compared on the CPU; use --device cpu")
    out = {"torch_threads": 1, "notes": NOTES, "languages": {}}
    with torch_threads(1):
        torch.manual_seed(0)
        for language in LANGUAGES:
            model = cm.load(language)
            fp32 = cm.val_loss(model, language)
            out["languages"][language] = {
                "fp32_loss": fp32,
                "entropy_rate": cm.entropy_rate(language),
                "torchao_int8": _attempt(_torchao, model, language, fp32),
                "llmcompressor_gptq": _attempt(_llmcompressor, model, language, fp32),
            }
    return out


EXPERIMENT = Experiment(
    name="quantize-peers",
    version=2,
    sizes=("small",),
    default_size="small",
    description="torchao's int8 weight-only and llm-compressor's GPTQ beside the book's quantizers "
    "(run in a separate environment that has them; see the module docstring)",
    run=_run,
)
