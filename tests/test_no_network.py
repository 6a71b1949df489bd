"""Notebooks run offline: their execution opens no network connection.

How it is enforced (see tests/conftest.py and src/llmscale/_nonetwork/sitecustomize.py):
the test session puts a ``sitecustomize`` guard on ``PYTHONPATH`` for every
process it starts, so each kernel nbval starts to re-execute a notebook refuses
non-loopback connections and DNS look-ups and logs the attempt; a non-empty log
fails the session. The notebooks themselves are executed once, by nbval
(``make test``); the tests here prove that the guard blocks what it must, lets
through what the kernel needs, and is really installed in a kernel started the
way nbval starts one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager

from conftest import GUARD_DIR, GUARD_LOG_ENV, ROOT

PROBE = textwrap.dedent(
    """
    import socket, urllib.request
    results = {}
    def attempt(name, fn):
        try:
            fn()
            results[name] = "connected"
        except Exception as exc:  # the guard's error, possibly wrapped (URLError)
            results[name] = type(exc).__name__ + ": " + str(exc)

    attempt("create_connection", lambda: socket.create_connection(("example.com", 80), timeout=5))
    attempt("urlopen", lambda: urllib.request.urlopen("https://pypi.org/simple/", timeout=5))
    attempt("connect_ip", lambda: socket.socket().connect(("93.184.216.34", 80)))
    attempt("dns", lambda: socket.getaddrinfo("huggingface.co", 443))

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    attempt("loopback", lambda: socket.create_connection(server.getsockname(), timeout=5).close())
    attempt("localhost", lambda: socket.getaddrinfo("localhost", 80))
    server.close()
    print(repr(results))
    """
)

BLOCKED = ("create_connection", "urlopen", "connect_ip", "dns")
ALLOWED = ("loopback", "localhost")


def _guarded_env(log: Path) -> dict[str, str]:
    env = dict(os.environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), *parts])
    env[GUARD_LOG_ENV] = str(log)  # a log of its own: these attempts are deliberate
    return env


def _check(results: dict, log: Path) -> None:
    for name in BLOCKED:
        assert "network access blocked by the llmscale network guard" in results[name], (
            f"{name} was not blocked: {results[name]}"
        )
    for name in ALLOWED:
        assert results[name] == "connected", f"{name} should be allowed: {results[name]}"
    logged = log.read_text(encoding="utf-8")
    for needle in ("example.com", "pypi.org", "93.184.216.34", "huggingface.co"):
        assert needle in logged, f"attempt on {needle} was not logged:\n{logged}"
    assert "127.0.0.1" not in logged and "'localhost'" not in logged


def test_guard_blocks_network_in_a_python_subprocess(tmp_path):
    log = tmp_path / "netguard.log"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=_guarded_env(log),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    _check(eval(proc.stdout.strip().splitlines()[-1]), log)


def test_session_puts_the_guard_on_every_child_process():
    """conftest.py wires the guard for nbval's kernels (they inherit this environment)."""
    parts = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    assert str(GUARD_DIR) in parts, "tests/conftest.py did not put the guard on PYTHONPATH"
    assert parts[0] == str(GUARD_DIR), "another sitecustomize could shadow the guard"
    assert os.environ.get(GUARD_LOG_ENV), "no network-attempt log configured"
    assert (GUARD_DIR / "sitecustomize.py").is_file()


def test_notebook_execution_opens_no_network_connection(tmp_path):
    """A notebook run in a kernel started like nbval's (current env) is guarded."""
    log = tmp_path / "netguard.log"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import socket\nprint(getattr(socket, '_llmscale_netguard', False))"),
        nbformat.v4.new_code_cell(PROBE),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}

    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", GUARD_LOG_ENV)}
    os.environ.update(_guarded_env(log))
    try:
        # Exactly how nbval --nbval-current-env starts its kernel: this interpreter,
        # this process's environment.
        km = KernelManager(
            kernel_name=CURRENT_ENV_KERNEL_NAME,
            kernel_spec_manager=NbvalKernelspecManager(),
        )
        NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    out0 = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert out0.strip() == "True", f"guard not installed in the kernel: {nb.cells[0].outputs}"
    out1 = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    _check(eval(out1.strip().splitlines()[-1]), log)


def test_make_test_executes_every_notebook_with_nbval():
    """`make test` runs strict nbval over notebooks/, in kernels that inherit the guard."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        ini = tomllib.load(fh)["tool"]["pytest"]["ini_options"]
    addopts = ini.get("addopts", "")
    if isinstance(addopts, list):
        addopts = " ".join(addopts)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    flags = (recipe + " " + addopts).split()
    assert "--nbval" in flags, "make test does not run nbval"
    assert "--nbval-lax" not in flags, "nbval must compare outputs (strict mode)"
    assert "--nbval-current-env" in flags, "nbval must start kernels from this environment"
    # pytest collects notebooks/ and loads tests/conftest.py (the guard) from testpaths.
    testpaths = ini.get("testpaths", [])
    assert "notebooks" in testpaths and "tests" in testpaths, testpaths
