"""Command line: `python -m llmscale run NAME [--size S] [--device D]`, `list`, `claims`, `presets`,
`plan MODEL --gpus N [--accelerator A] --tokens T --batch B` (the layout planner),
`student [--out DIR]` (the student edition) and `grade NOTEBOOK... [--timeout S] [--csv FILE]`."""

from __future__ import annotations

import argparse
import sys

_NODES = {"a100": "dgx-a100", "a100-80gb": "dgx-a100", "h100": "dgx-h100", "h100-80gb": "dgx-h100"}


def _plan(args) -> int:
    import json
    from pathlib import Path

    from . import presets
    from .config import ModelConfig
    from .parallelism import planner

    path = Path(args.model)
    if path.suffix == ".json" and path.exists():
        try:
            cfg = ModelConfig(**json.loads(path.read_text(encoding="utf-8")))
        except TypeError as err:
            raise SystemExit(f"{path}: {err}; the file holds ModelConfig's fields, e.g. n_layers, d_model") from None
    else:
        cfg = presets.get(args.model)
    node = _NODES.get(args.accelerator.lower())
    if node is None:
        raise SystemExit(f"--accelerator {args.accelerator!r}: choose one of {sorted(_NODES)}")
    cluster = planner.Cluster(args.gpus, node, memory_fraction=args.memory_fraction)
    candidates = planner.plan(
        cfg,
        cluster,
        args.batch,
        args.tokens,
        seq_len=args.seq_len,
        efficiency=args.efficiency,
        include_infeasible=True,
    )
    print(f"{args.model} on {args.gpus:,} GPUs ({cluster.node.name}), {args.tokens:.3g} tokens, batch {args.batch:.3g}")
    print(planner.table(candidates, cluster, args.top))
    print()
    print(planner.explain(candidates, cluster, args.tokens))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmscale", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    run_p = sub.add_parser("run", help="run an experiment and store its result file")
    run_p.add_argument("name")
    run_p.add_argument("--size", default=None, help="tiny, small (the CPU default) or large (GPU)")
    run_p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    run_p.add_argument("--out", default=None, help="folder to write to (default: the package's results)")
    sub.add_parser("list", help="list the experiments")
    c = sub.add_parser("claims", help="print the claims ledger (a Markdown table and the counts per verdict)")
    c.add_argument("--json", action="store_true", help="print the records as JSON instead")
    sub.add_parser("presets", help="print the published models and their parameter counts")
    plan_p = sub.add_parser("plan", help="the feasible training layouts of a model on a cluster, best first")
    plan_p.add_argument("model", help="a preset name (python -m llmscale presets) or a JSON file of ModelConfig fields")
    plan_p.add_argument("--gpus", type=int, required=True, help="GPUs in the cluster, e.g. 2048")
    plan_p.add_argument("--accelerator", default="a100-80gb", help="a100-80gb (DGX A100 nodes) or h100 (DGX H100)")
    plan_p.add_argument("--tokens", type=float, required=True, help="tokens to train on, e.g. 1.4e12")
    plan_p.add_argument("--batch", type=float, required=True, help="global batch in tokens, e.g. 4e6")
    plan_p.add_argument("--seq-len", type=int, default=None, help="tokens per sequence (default: the model's)")
    plan_p.add_argument("--efficiency", type=float, default=0.6, help="fraction of peak the kernels reach (assumed)")
    plan_p.add_argument("--memory-fraction", type=float, default=0.9, help="part of each GPU's memory a run may use")
    plan_p.add_argument("--top", type=int, default=10, help="rows to print")
    student_p = sub.add_parser("student", help="write the student edition of the notebooks (no solutions)")
    student_p.add_argument("--notebooks", default="notebooks", help="the book's notebooks folder")
    student_p.add_argument("--out", default="_build/student/notebooks", help="where to write the edition")
    grade_p = sub.add_parser("grade", help="execute filled-in student notebooks and score their exercises")
    grade_p.add_argument("notebooks", nargs="+", help="filled-in notebooks, e.g. submissions/*/data.ipynb")
    grade_p.add_argument("--timeout", type=float, default=300, help="seconds allowed per notebook")
    grade_p.add_argument("--csv", default="grades.csv", help="where to write one row per student and exercise")
    args = parser.parse_args(argv)

    if args.cmd == "run":
        from pathlib import Path

        from .experiments import get_experiment

        try:
            get_experiment(args.name)
        except ValueError as err:
            parser.error(str(err))

        from . import experiments
        from .train import select_device

        device = str(select_device(args.device))
        out = experiments.run(args.name, args.size, device, Path(args.out) if args.out else None)
        print(f"wrote {out}")
    elif args.cmd == "list":
        from . import experiments

        for name, exp in experiments.all_experiments().items():
            print(f"{name:20s} sizes={','.join(exp.sizes)} (default {exp.default_size})  {exp.description}")
    elif args.cmd == "claims":
        from . import claims

        if args.json:
            print(claims.to_json())
        else:
            print(claims.table())
            print(claims.counts())
    elif args.cmd == "student":
        from . import teaching

        for path in teaching.write_student_edition(args.notebooks, args.out):
            print(f"wrote {path}")
    elif args.cmd == "grade":
        from . import teaching

        teaching.grade(args.notebooks, timeout_s=args.timeout, csv_path=args.csv)
        print(f"wrote {args.csv}")
    elif args.cmd == "plan":
        return _plan(args)
    elif args.cmd == "presets":
        from . import counting, presets

        for p in presets.all_presets():
            print(f"{p.name:18s} {p.released}  {counting.param_count(p.config):>20,d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
