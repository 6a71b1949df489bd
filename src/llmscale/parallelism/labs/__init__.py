"""Lab scripts: each runs one kind of parallelism for real with `torch.distributed`, launched as
users launch it,

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.<name> [options]

or as one process (`python -m llmscale.parallelism.labs.<name>`, a world of one). On CPU they use
gloo, on GPUs NCCL (`--device cuda`). Each checks its result against a single-process
reference, sets a process-group timeout so a rank that never joins a collective cannot hang its
peers, and writes what it measured as JSON (`--out`). Nothing imports a lab script; notebooks
and tests launch them as subprocesses (`_common.torchrun_command` builds the command line).
"""
