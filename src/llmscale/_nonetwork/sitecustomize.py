"""Network guard for every Python process started with this folder on PYTHONPATH.

Python imports ``sitecustomize`` at start-up, so putting ``llmscale/_nonetwork`` on
``PYTHONPATH`` installs this guard in a process before any user code runs.
``tests/conftest.py`` does that for the whole test session, so every kernel
that nbval starts (and every subprocess a test starts) runs guarded.

The guard refuses, with :class:`NetworkAccessBlocked`:

* ``connect``/``connect_ex``/``sendto`` on an ``AF_INET``/``AF_INET6`` socket to
  any address that is not loopback (``127.0.0.0/8``, ``::1``);
* ``socket.getaddrinfo``/``socket.create_connection`` for any host name other
  than ``localhost`` or a loopback address (so no DNS look-up happens either).

Unix sockets and loopback connections are allowed: Jupyter kernels talk to
their client over loopback ZeroMQ (which is C code and does not go through
Python's ``socket`` module anyway).

Every refused attempt is also appended to the file named by the environment
variable ``LLMSCALE_NETGUARD_LOG`` (when set), so that attempts whose exception
was swallowed by the code under test are still seen by the test session.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import traceback

_LOG_ENV = "LLMSCALE_NETGUARD_LOG"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkAccessBlocked(OSError):
    """Raised when code tries to reach the network while the guard is active."""


def _is_loopback_host(host) -> bool:
    if host is None:  # getaddrinfo(None, port): the local wildcard/loopback
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]")
    if host.lower() in _LOOPBACK_NAMES or host == "":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _record(what: str, target) -> None:
    path = os.environ.get(_LOG_ENV)
    if not path:
        return
    stack = "".join(traceback.format_stack(limit=8)[:-2])
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"pid {os.getpid()} {sys.argv[:3]!r}: {what} {target!r}\n{stack}\n")
    except OSError:
        pass


def _refuse(what: str, target):
    _record(what, target)
    raise NetworkAccessBlocked(f"network access blocked by the llmscale network guard: {what} {target!r}")


_orig_connect = socket.socket.connect
_orig_connect_ex = socket.socket.connect_ex
_orig_sendto = socket.socket.sendto
_orig_getaddrinfo = socket.getaddrinfo
_orig_create_connection = socket.create_connection

_INET = {socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET)}


def _check_address(sock, address, what):
    if sock.family in _INET and isinstance(address, tuple) and address:
        if not _is_loopback_host(address[0]):
            _refuse(what, address)


def _guarded_connect(self, address):
    _check_address(self, address, "connect")
    return _orig_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address, "connect_ex")
    return _orig_connect_ex(self, address)


def _guarded_sendto(self, data, *args):
    if args:
        _check_address(self, args[-1], "sendto")
    return _orig_sendto(self, data, *args)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_loopback_host(host):
        _refuse("getaddrinfo", host)
    return _orig_getaddrinfo(host, *args, **kwargs)


def _guarded_create_connection(address, *args, **kwargs):
    if not _is_loopback_host(address[0]):
        _refuse("create_connection", address)
    return _orig_create_connection(address, *args, **kwargs)


def install() -> None:
    if getattr(socket, "_llmscale_netguard", False):
        return
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.socket.sendto = _guarded_sendto
    socket.getaddrinfo = _guarded_getaddrinfo
    socket.create_connection = _guarded_create_connection
    socket.NetworkAccessBlocked = NetworkAccessBlocked
    socket._llmscale_netguard = True


def _chain_other_sitecustomize() -> None:
    """Run the sitecustomize this file shadows, if there is one further on sys.path."""
    here = os.path.dirname(os.path.abspath(__file__))
    me = sys.modules.get(__name__)
    saved = list(sys.path)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        del sys.modules[__name__]
        try:
            import sitecustomize  # noqa: F401  (the shadowed one)
        except ImportError:
            pass
    except Exception:  # a broken shadowed sitecustomize must not break the guard
        pass
    finally:
        sys.path[:] = saved
        if me is not None:
            sys.modules[__name__] = me


install()
_chain_other_sitecustomize()
