"""Number formats and quantized storage as their authors print them: QLoRA's NF4 constants,
DeepSeek-V3's fp8 blocks, and the Stable Diffusion model that the cost-slimming article says
Qualcomm quantized to run on a phone."""

from __future__ import annotations

from . import Figure

FIGURES: dict[str, Figure] = {
    "qlora.double_quant_bits": Figure(
        0.127,
        "bits per parameter",
        "Dettmers et al. 2023, QLoRA: Efficient Finetuning of Quantized LLMs, §3 (Double Quantization): "
        "quantization constants for blocks of 64 cost 32/64 = 0.5 bits per parameter in fp32, "
        "8/64 + 32/(64·256) = 0.127 bits when double-quantized",
    ),
    "qlora.nf4_block": Figure(64, "weights per block", "Dettmers et al. 2023, QLoRA, §3: NF4 with a block size of 64"),
    "deepseek-v3.fp8_weight_block": Figure(
        128,
        "weights per side",
        "DeepSeek-AI 2024, DeepSeek-V3 Technical Report, §3.3.2: weights are quantized to FP8 (E4M3) "
        "in 128×128 blocks, each with its own scale",
    ),
    "sd1.unet_params": Figure(
        860e6, "parameters", "Stable Diffusion v1 model card (CompVis, 2022): 'a 860M UNet and 123M text encoder'"
    ),
    "sd1.text_encoder_params": Figure(123e6, "parameters", "Stable Diffusion v1 model card: a 123M text encoder"),
    "sd1.qualcomm_format": Figure(
        8,
        "bits",
        "Qualcomm AI Research quantized Stable Diffusion v1.5 from FP32 to INT8 (AI Model Efficiency "
        "Toolkit) for its Snapdragon 8 Gen 2 demonstration of February 2023",
    ),
}
