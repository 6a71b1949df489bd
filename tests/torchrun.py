"""Launch a lab under torchrun from a test, with a hard timeout, and prove no process is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import psutil

from llmscale.parallelism.labs._common import parse_result, torchrun_command

MARK = "LLMSCALE_LAB_RUN"


def _marked(run_id: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter():
        try:
            if p.environ().get(MARK) == run_id:
                out.append(p)
        except (psutil.Error, OSError):
            continue
    return out


def run_lab(lab: str, nproc: int, *args: str, timeout: float = 180, max_restarts: int = 0, env: dict | None = None):
    """Run `torchrun ... -m llmscale.parallelism.labs.<lab> args`; return (completed process, result
    dict or None). Kills the whole process group on timeout and fails if any process of the run
    survives it."""
    run_id = uuid.uuid4().hex
    full_env = {
        **os.environ,
        MARK: run_id,
        "OMP_NUM_THREADS": "1",
        "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1",  # restarts resume reliably only with it
        **(env or {}),
    }
    cmd = torchrun_command(lab, nproc, *args, max_restarts=max_restarts)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"{lab} ran past {timeout} s:\n{out[-4000:]}") from None
    finally:
        deadline = time.time() + 10
        while _marked(run_id) and time.time() < deadline:
            time.sleep(0.2)
        strays = _marked(run_id)
        for p in strays:
            p.kill()
    assert not strays, f"{lab} left {len(strays)} processes behind: {[p.pid for p in strays]}"
    result = None
    if proc.returncode == 0:
        result = parse_result(out)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, ""), result
