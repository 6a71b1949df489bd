"""Shared test set-up: the network guard for every child process, and the built book.

Network guard
    At start-up this conftest puts ``src/llmscale/_nonetwork`` (which holds a
    ``sitecustomize.py`` guard) at the front of ``PYTHONPATH`` and points
    ``LLMSCALE_NETGUARD_LOG`` at a fresh log file. Every process the session
    starts afterwards inherits both: nbval's kernels (``--nbval-current-env``
    starts ``sys.executable -m ipykernel_launcher`` with this environment), the
    book build, ``python -m llmscale`` subprocesses. A non-loopback connection
    or DNS look-up in any of them raises ``NetworkAccessBlocked`` and is logged;
    at the end of the session a non-empty log fails the run, even if the code
    under test swallowed the exception. The pytest process itself is not
    guarded (its ``sitecustomize`` was imported before this file ran).

Built book
    ``built_book`` builds the HTML book once per session into a temporary
    directory; ``test_book.py`` checks the build and ``test_browser.py`` opens
    the result in Chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUARD_DIR = ROOT / "src" / "llmscale" / "_nonetwork"  # also used by the grader (llmscale.teaching)
GUARD_LOG_ENV = "LLMSCALE_NETGUARD_LOG"


def pytest_configure(config):
    # First on PYTHONPATH, so no other sitecustomize shadows the guard (the guard
    # runs the one it shadows). Idempotent: xdist workers inherit this environment.
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    parts = [p for p in parts if p != str(GUARD_DIR)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), *parts])
    if not os.environ.get(GUARD_LOG_ENV):
        fd, path = tempfile.mkstemp(prefix="netguard-", suffix=".log")
        os.close(fd)
        os.environ[GUARD_LOG_ENV] = path


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):  # xdist worker: the controller checks
        return
    path = os.environ.get(GUARD_LOG_ENV)
    if not path or not os.path.exists(path):
        return
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    # (test_no_network.py gives its deliberate attempts a log file of their own.)
    blocks = [b for b in text.split("\n\n") if b.strip()]
    if blocks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        msg = (
            "network access was attempted during the test session "
            f"(blocked by the network guard, log {path}):\n\n" + "\n\n".join(blocks)
        )
        if reporter is not None:
            reporter.write_sep("=", "NETWORK ACCESS ATTEMPTED", red=True)
            reporter.write_line(msg)
        else:
            print(msg, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def jupyter_book_command() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    return [sys.executable, "-m", "jupyter_book.cli.main"]


def book_build_command(path_output: Path) -> list[str]:
    """The Makefile's build command, with the output redirected to ``path_output``."""
    return [
        *jupyter_book_command(),
        "build",
        str(ROOT),
        "--path-output",
        str(path_output),
        "--config",
        str(ROOT / "book" / "_config.yml"),
        "--toc",
        str(ROOT / "book" / "_toc.yml"),
        "-W",
        "-n",
        "--keep-going",
    ]


@dataclass
class BuiltBook:
    returncode: int
    output: str
    html: Path
    seconds: float
    command: list[str]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    out = tmp_path_factory.mktemp("book")
    cmd = book_build_command(out)
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - start
    return BuiltBook(proc.returncode, proc.stdout, out / "_build" / "html", seconds, cmd)
