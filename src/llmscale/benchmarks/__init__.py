"""Benchmarks: scripts that time the book's code side by side with a peer in one process and
print the ratio (`python -m llmscale.benchmarks.decoder_vs_transformers`,
`python -m llmscale.benchmarks.moe_dispatch`). Timings depend on the machine: they are never tests."""
