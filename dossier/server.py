"""The build server: WeasyPrint and the pipeline kept loaded between two runs of ``build.py``.

A run of ``build.py`` from a fresh process spends half a second loading Python modules before
it can typeset a page, as long as typesetting the one chapter an edit changed. So, as Gradle
and Bazel do, the first run leaves a server behind, in a session of its own: it has loaded
everything a build needs, and waits on a Unix socket. The next run of ``build.py`` connects
and hands over its arguments, environment, working folder and its standard input, output and
error (the file descriptors themselves); the server forks, and the fork runs the build exactly
as ``build.py`` would, printing to the user's terminal, and sends back the exit status. Every
build is a fresh fork of the loaded server, so nothing one build does stays for the next.

- Stale code is never used: the socket's name is a hash of the pipeline's source files, the
  Python executable and the installed packages; after any change, the next run starts a new
  server, which stops the old one.
- It stops after ``DOSSIER_SERVER_IDLE`` seconds (15 minutes) without a build, or on
  ``build.py --stop-server``. ``--no-server`` or ``DOSSIER_SERVER=0`` build without it (and
  start none); so does a build on CI (``CI`` set).
- The socket lives in a folder only this user can enter (``$XDG_RUNTIME_DIR`` or ``/tmp``);
  a folder that is not this user's own, or is open to others, is not used. The server serves
  its own user only (the peer's credentials are checked).
- Ctrl-C in the terminal reaches the build: the client passes SIGINT, SIGTERM and SIGHUP on.

This module is imported before anything else by ``build.py``, so it imports little.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import struct
import sys

SERVE = "--serve"  # build.py's hidden argument: be the server
IDLE = 15 * 60  # seconds without a build before the server stops
SERVED = False  # true in a server's fork that is running a build
_LOCK = -1  # the server's lock, not its builds' to hold
NOT_SERVED = {"watch", "-h", "--help", "--no-server", "--stop-server", SERVE}


def wanted(argv: list[str]) -> bool:
    """Whether this command may go through a server (and start one)."""
    return (os.environ.get("DOSSIER_SERVER", "1") != "0" and not os.environ.get("CI")
            and hasattr(socket, "send_fds") and not NOT_SERVED & set(argv))


def socket_path(tool_root: str) -> str | None:
    """The server's socket for this code, in a folder only this user can use; None if none is safe."""
    base = os.environ.get("DOSSIER_SERVER_DIR") or os.path.join(
        os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp", f"dossier-build-{os.getuid()}")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # somebody else's, or open to others: a socket there could be anybody's
    path = os.path.join(base, f"{_root_key(tool_root)}-{code_key(tool_root)}.sock")
    return path if len(path.encode()) < 100 else None  # a socket's path has a length limit


def _root_key(tool_root: str) -> str:
    import hashlib

    return hashlib.sha256(tool_root.encode()).hexdigest()[:8]


def code_key(tool_root: str) -> str:
    """A hash of everything the server has loaded: our sources, Python, the installed packages."""
    import hashlib

    digest = hashlib.sha256(f"{sys.executable}\0{sys.version}\0{tool_root}\0".encode())
    package = os.path.join(tool_root, "dossier")
    for name in ["build.py", *sorted(f"dossier/{n}" for n in os.listdir(package) if n.endswith(".py"))]:
        with open(os.path.join(tool_root, name), "rb") as handle:
            digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    for entry in sys.path:  # an installed, removed or upgraded package renames its dist-info
        if entry.endswith("-packages") and os.path.isdir(entry):
            digest.update("\0".join(sorted(os.listdir(entry))).encode())
    return digest.hexdigest()[:16]


# ----- the client: build.py, handing its build over --------------------------------------

def delegate(argv: list[str], tool_root: str) -> int | None:
    """Have a running server build; its exit status, or None if there is no server to ask."""
    path = socket_path(tool_root)
    if path is None:
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
        if _peer_uid(client) != os.getuid():
            client.close()
            return None  # not this user's server: tell it nothing
        request = _message({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "umask": _umask(),
                            "encoding": getattr(sys.stdout, "encoding", None) or "utf-8"})
        socket.send_fds(client, [request], [0, 1, 2])
        replies = client.makefile("rb")
        line = replies.readline()
    except OSError:  # none there (or a dead one's socket), or this process has no stdin/stdout
        client.close()
        return None
    if line.startswith(b"status "):  # the build ended before it began (its error is printed)
        return int(line.split()[1])
    if not line.startswith(b"pid "):
        client.close()
        return None  # it is stopping: build here
    pid = int(line.split()[1])

    def pass_on(number, _frame):
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(number) is not signal.SIG_IGN:  # a build meant to ignore it still does
            signal.signal(number, pass_on)
    try:
        line = replies.readline()
    except OSError:
        line = b""
    if line.startswith(b"status "):
        return int(line.split()[1])
    print("build.py: the build server's process ended before the build did; "
          "the previous outputs are unchanged (run again, or with --no-server)", file=sys.stderr)
    return 2


def start_in_background(script: str, tool_root: str) -> bool:
    """Start a server for the next builds, in a session of its own; False if there is no safe
    place, or one is running or starting already (it holds its lock from its first moment)."""
    path = socket_path(tool_root)
    if path is None or _locked(f"{path}.lock"):
        return False
    import subprocess

    subprocess.Popen([sys.executable, script, SERVE], cwd=tool_root, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    return True


def stop(tool_root: str, keep: str = "") -> int:
    """Stop this tool's servers (those of its earlier code too), but ``keep``; how many there were."""
    path = socket_path(tool_root)
    if path is None:
        return 0
    folder, prefix = os.path.dirname(path), _root_key(tool_root) + "-"
    stopped = 0
    for name in os.listdir(folder):
        other = os.path.join(folder, name)
        if name.startswith(prefix) and name.endswith(".sock") and other != keep:
            stopped += _ask_to_stop(other)
        elif name.startswith(prefix) and name.endswith(".lock") and other != f"{keep}.lock" and not _locked(other):
            try:
                os.unlink(other)  # an earlier code's server has gone
            except OSError:
                pass
    return stopped


def _ask_to_stop(path: str) -> bool:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
        client.sendall(_message({"stop": True}))
        return client.makefile("rb").readline().startswith(b"stopping")
    except OSError:  # a dead server's socket: gone with it
        try:
            os.unlink(path)
        except OSError:
            pass
        return False
    finally:
        client.close()


def _message(request: dict) -> bytes:
    """A request as sent: its length, then its JSON (read back by ``_receive``)."""
    data = json.dumps(request).encode()
    return struct.pack("!I", len(data)) + data


def _locked(lock: str) -> bool:
    """Whether a server holds this lock file."""
    import fcntl

    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----- the server ------------------------------------------------------------------------

def serve(run, tool_root: str, warm_up) -> None:
    """Load everything (``warm_up()``), then fork a process that calls ``run(argv)`` for each
    build asked for, until idle or asked to stop."""
    import gc
    import select
    import time

    import fcntl

    global _LOCK
    path = socket_path(tool_root)
    if path is None:
        return  # no safe place
    _LOCK = os.open(f"{path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(_LOCK, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while this server lives
    except OSError:
        return  # a server for this code is running, or starting
    # Whatever the process that started it ignored, the builds get a shell's usual signals.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    server_pid = os.getpid()
    gc.disable()
    warm_up()
    gc.freeze()  # what is loaded now is shared with every build's fork; none of them walks it
    gc.enable()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = f"{path}.{os.getpid()}"
    listener.bind(temporary)
    listener.listen(8)
    os.replace(temporary, path)  # in place at once, replacing a dead server's socket
    inode = os.stat(path).st_ino
    stop(tool_root, keep=path)  # this tool's servers for code that has changed since
    idle = float(os.environ.get("DOSSIER_SERVER_IDLE", IDLE))
    children: set[int] = set()
    last = time.monotonic()
    try:
        while True:
            for pid in list(children):
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    children.discard(pid)
            if children:
                last = time.monotonic()
            if not _still_ours(path, inode) or (not children and time.monotonic() - last > idle):
                break
            if not select.select([listener], [], [], 1.0)[0]:
                continue
            connection, _ = listener.accept()
            try:
                request, fds = _receive(connection)
            except Exception:  # a malformed request: refused, whatever it carried closed
                connection.close()
                continue
            if request.get("stop"):
                connection.sendall(b"stopping\n")
                connection.close()
                break
            pid = os.fork()
            if pid == 0:
                try:
                    listener.close()
                    os.close(_LOCK)
                    _build(connection, request, fds, run)  # never returns
                finally:
                    os._exit(2)  # never back into the server's loop
            children.add(pid)
            connection.close()
            for fd in fds:
                os.close(fd)
            last = time.monotonic()
    finally:
        if os.getpid() == server_pid:
            if _still_ours(path, inode):
                os.unlink(path)
            listener.close()


def _peer_uid(connection: socket.socket) -> int:
    return struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]


def _answers(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _still_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    """One request: its length, the JSON, and (with a build) the client's stdin, stdout, stderr."""
    uid = _peer_uid(connection)
    connection.settimeout(10)
    data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    try:
        if uid != os.getuid():
            raise ValueError("another user's request")
        while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
            more = connection.recv(1 << 16)
            if not more:
                raise ValueError("a request cut short")
            data += more
        request = json.loads(data[4:].decode())
        if not isinstance(request, dict):
            raise ValueError("not a request")
        if not request.get("stop") and (len(fds) != 3 or not isinstance(request.get("argv"), list)
                                        or not isinstance(request.get("env"), dict)):
            raise ValueError("a build request without its arguments or terminal")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    if request.get("stop"):
        for fd in fds:
            os.close(fd)
        fds = []
    connection.settimeout(None)
    return request, fds


def _build(connection: socket.socket, request: dict, fds: list[int], run) -> None:
    """In the fork: become the client's build, with its terminal, folder and environment."""
    import time

    global SERVED
    SERVED = True
    status = 2
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        encoding = request.get("encoding") or "utf-8"
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", buffering=1 if os.isatty(1) else -1, encoding=encoding, closefd=False)
        sys.stderr = open(2, "w", buffering=1, encoding=encoding, errors="backslashreplace", closefd=False)
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        sys.argv[1:] = request["argv"]
        connection.sendall(f"pid {os.getpid()}\n".encode())
        status = run(request["argv"])
    except KeyboardInterrupt:
        status = 130
    except BaseException as exc:  # SystemExit from argparse carries the status to give
        if isinstance(exc, SystemExit):
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int) and exc.code is not None:
                print(exc.code, file=sys.stderr)
        else:  # as the interpreter would end a build that raised (build.py --debug)
            import traceback

            traceback.print_exc()
            status = 1
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})  # a late Ctrl-C: the status still goes
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        try:
            connection.sendall(f"status {status}\n".encode())
        except OSError:
            pass
        os._exit(status)
