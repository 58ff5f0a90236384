"""The build server: WeasyPrint and the pipeline kept loaded between two runs of ``build.py``.

A run of ``build.py`` from a fresh process spends half a second loading Python modules before
it can typeset a page, as long as typesetting the one chapter an edit changed. So, as Gradle
and Bazel do, the first run leaves a server behind, in a session of its own: it has loaded
everything a build needs, and waits on a Unix socket. The next run of ``build.py`` connects
and hands over its arguments, environment, working folder, umask, CPU set, priority and
resource limits, and its standard input, output and error (the file descriptors themselves);
the server forks, the fork takes all of that on and runs the build exactly as ``build.py``
would, printing to the user's terminal, and sends back the exit status. Every build is a fresh
fork of the loaded server, so nothing one build does stays for the next.

- Stale code is never used: the socket's name is a hash of the pipeline's source files, the
  Python executable and the installed packages; after any change, the next run starts a new
  server, which stops the old one. A server also checks, before each build, that no file it
  loaded a module from has changed since (an editable install, a reinstall of the same
  version): if one has, it steps aside, and the build runs in its caller's own process.
- A caller whose interpreter is set up differently (``-X`` options, ``PYTHON*`` variables,
  ``sys.path``, the locale), or whose limits the fork cannot take on, builds in its own
  process; so does one the server does not answer within ``DOSSIER_SERVER_WAIT`` seconds (5).
- A build whose caller dies (``kill -9``, a closed terminal) is stopped as by Ctrl-C: its
  outputs stay as they were.
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
WAIT = 5.0  # seconds a caller waits for the server to take its build before building itself
SERVED = False  # true in a server's fork that is running a build
NOT_USED = ""  # why this build was not served although a server was asked (shown by -v)
_LOCK = -1  # the server's lock, not its builds' to hold
NOT_SERVED = {"watch", "-h", "--help", "--no-server", "--stop-server", SERVE}
_PASSED_ON = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # from the caller to its build


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
    """A hash of what the server loads: our sources, Python, the installed packages."""
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


def interpreter() -> dict:
    """What a process's Python was set up with at its start, which a fork cannot change: a
    caller whose differs from the server's builds in its own process."""
    return {"flags": list(sys.flags), "x": sorted(f"{k}={v}" for k, v in sys._xoptions.items()),
            "warnings": list(sys.warnoptions), "path": [os.path.realpath(p) for p in sys.path],
            "fs": sys.getfilesystemencoding(),
            "env": sorted(f"{k}={v}" for k, v in os.environ.items()
                          if k.startswith("PYTHON") or k in ("LANG", "LC_ALL", "LC_CTYPE"))}


def process_settings() -> dict:
    """What a process has from its parent besides its environment, which a fork takes on."""
    import resource

    return {"umask": _umask(), "affinity": sorted(os.sched_getaffinity(0)),
            "nice": os.getpriority(os.PRIO_PROCESS, 0),
            "limits": {name: list(resource.getrlimit(getattr(resource, name)))
                       for name in dir(resource) if name.startswith("RLIMIT_")}}


# ----- the client: build.py, handing its build over --------------------------------------

def delegate(argv: list[str], tool_root: str) -> int | None:
    """Have a running server build; its exit status, or None if there is no server to ask, or
    it cannot take this build (``NOT_USED`` says why)."""
    global NOT_USED
    # Until the build's process is known, a Ctrl-C waits: then it goes to the build, or, if
    # this process builds after all, it stops this one.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _PASSED_ON)
    path = socket_path(tool_root)
    if path is None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(float(os.environ.get("DOSSIER_SERVER_WAIT", WAIT)))
    pid = None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)  # a terminal to hand over (a build with one closed runs here)
        client.connect(path)
        if _peer_uid(client) != os.getuid():
            raise ConnectionRefusedError("not this user's server")  # tell it nothing
        request = _message({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "interpreter": interpreter(),
                            "process": process_settings(),
                            "encoding": getattr(sys.stdout, "encoding", None) or "utf-8"})
        client.sendall(request)
        replies = client.makefile("rb")
        line = replies.readline()
        if line.startswith(b"pid "):
            pid = int(line.split()[1])
        else:
            NOT_USED = line.decode(errors="replace").strip() or "the build server closed the connection"
    except socket.timeout:
        NOT_USED = "the build server did not answer in time"
    except (OSError, ValueError):  # none there (or a dead one's socket), or no stdin, stdout, stderr
        NOT_USED = ""
    if pid is None:
        client.close()
        pending = {n for n in signal.sigpending() & set(_PASSED_ON) if signal.getsignal(n) is not signal.SIG_IGN}
        if pending:  # the user pressed Ctrl-C meanwhile: this build stops here
            print("interrupted; the previous outputs are unchanged", file=sys.stderr)
            return 130
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return None

    def pass_on(number, _frame):
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            pass

    for number in _PASSED_ON:
        if signal.getsignal(number) is not signal.SIG_IGN:  # a build meant to ignore it still does
            signal.signal(number, pass_on)
    try:
        client.settimeout(None)
        # The build begins now, and only now (this process will not build too), with this
        # process's terminal: passed to the build's process itself, never held by the server.
        socket.send_fds(client, [b"go\n"], [0, 1, 2])
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held until now goes to the build
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

    # With this interpreter's own options (-X, -W, ...), given as they were, so that its builds
    # are set up as ours; the script by a path that does not depend on the folder.
    options = sys.orig_argv[1:len(sys.orig_argv) - len(sys.argv)]
    command = [sys.executable, *options, os.path.abspath(script), SERVE]
    subprocess.Popen(command, cwd=tool_root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    return True


def stop(tool_root: str, keep: str = "") -> int:
    """Stop this tool's servers (those of its earlier code too), but ``keep``, and clear what
    dead ones left; how many were stopped."""
    path = socket_path(tool_root)
    if path is None:
        return 0
    folder, prefix = os.path.dirname(path), _root_key(tool_root) + "-"
    names = [n for n in os.listdir(folder) if n.startswith(prefix) and os.path.join(folder, n) not in (keep, f"{keep}.lock")]
    stopped = sum(_ask_to_stop(os.path.join(folder, n)) for n in names if n.endswith(".sock"))
    for name in names:
        if name.endswith(".lock"):
            _clear_if_dead(os.path.join(folder, name[:-len(".lock")]), create=False)
    return stopped


def _ask_to_stop(path: str) -> bool:
    """Whether the server at ``path`` stopped when asked (it has removed its files when it says so)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    try:
        client.connect(path)
        client.sendall(_message({"stop": True}))
        if client.makefile("rb").readline().startswith(b"stopping"):
            return True
    except OSError:
        pass
    finally:
        client.close()
    _clear_if_dead(path)
    return False


def _clear_if_dead(path: str, create: bool = True) -> None:
    """Remove a server's socket and lock if no server holds the lock: it has died."""
    lock = _take_lock(f"{path}.lock", create)
    if lock < 0:
        return
    try:
        for name in (path, f"{path}.lock"):  # the lock last: while it is held, no server starts here
            try:
                os.unlink(name)
            except FileNotFoundError:
                pass
    finally:
        os.close(lock)


def _take_lock(lock: str, create: bool = True) -> int:
    """The lock file's descriptor, locked, or -1 if a process holds it (or it was just removed)."""
    import fcntl

    try:
        fd = os.open(lock, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
    except OSError:
        return -1
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        now = os.stat(lock)
        if (now.st_dev, now.st_ino) != (os.fstat(fd).st_dev, os.fstat(fd).st_ino):
            raise FileNotFoundError(lock)  # removed by its last holder while this one waited
    except OSError:
        os.close(fd)
        return -1
    return fd


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
    build asked for, until idle, asked to stop, or stale."""
    import gc
    import select
    import time

    global _LOCK
    path = socket_path(tool_root)
    if path is None:
        return  # no safe place
    _LOCK = _take_lock(f"{path}.lock")  # held while this server lives
    if _LOCK < 0:
        return  # a server for this code is running, or starting
    # Whatever the process that started it ignored, the builds get a shell's usual signals.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD, signal.SIGIO):
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    server_pid = os.getpid()
    own = interpreter()
    gc.disable()
    warm_up()
    gc.enable()
    gc.collect()  # the rehearsal's garbage, before the rest is frozen
    gc.freeze()  # what is loaded now is shared with every build's fork; none of them walks it
    loaded = _loaded_files()
    if socket_path(tool_root) != path:  # the code changed while it loaded: this server is stale already
        _leave(path, None)
        return
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
            if inode is None or not _still_ours(path, inode) or (not children and time.monotonic() - last > idle):
                break
            if not select.select([listener], [], [], 1.0)[0]:
                continue
            connection, _ = listener.accept()
            try:
                request = _receive(connection)
            except Exception:  # a malformed request: refused
                connection.close()
                continue
            leaving = bool(request.get("stop")) or _changed(loaded)
            refusal = ("stopping" if request.get("stop") else
                       "the build server is stale: a file it loaded has changed" if leaving else
                       "the build server's Python is set up otherwise" if request.get("interpreter") != own else "")
            if leaving:  # out of the way before saying so: a new server may start at once
                _leave(path, inode)
                inode = None
            if refusal:
                try:
                    connection.sendall(f"{refusal}\n".encode())
                except OSError:
                    pass
                connection.close()
                if leaving:
                    break
                continue
            pid = os.fork()
            if pid == 0:
                try:
                    listener.close()
                    os.close(_LOCK)
                    _build(connection, request, run)  # never returns
                finally:
                    os._exit(2)  # never back into the server's loop
            children.add(pid)
            connection.close()
            last = time.monotonic()
    finally:
        if os.getpid() == server_pid:
            if inode is not None:  # not left yet
                _leave(path, inode)
            listener.close()


def _leave(path: str, inode: int | None) -> None:
    """Remove this server's socket (if it is still this server's), then its lock file; once only:
    after, the names may be a new server's."""
    if inode is not None and _still_ours(path, inode):
        os.unlink(path)
    try:
        if os.stat(f"{path}.lock").st_ino == os.fstat(_LOCK).st_ino:
            os.unlink(f"{path}.lock")  # still held: a server starting now makes a new one
    except FileNotFoundError:
        pass


def _loaded_files() -> dict[str, tuple[int, int, int]]:
    """Every file a loaded module came from, as it was."""
    files = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str) and name not in files:
            try:
                info = os.stat(name)
            except OSError:
                continue
            files[name] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return files


def _changed(loaded: dict[str, tuple[int, int, int]]) -> bool:
    for name, was in loaded.items():
        try:
            info = os.stat(name)
        except OSError:
            return True
        if (info.st_mtime_ns, info.st_size, info.st_ino) != was:
            return True
    return False


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


def _receive(connection: socket.socket) -> dict:
    """One request: its length, then its JSON."""
    uid = _peer_uid(connection)
    connection.settimeout(WAIT)
    data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    for fd in fds:  # a request carries none
        os.close(fd)
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
    if not request.get("stop") and (not isinstance(request.get("argv"), list) or not isinstance(request.get("env"), dict)
                                    or not isinstance(request.get("process"), dict)):
        raise ValueError("a build request without its arguments")
    connection.settimeout(None)
    return request


def _take_on(process: dict) -> str:
    """In the fork: the caller's CPU set, priority and limits; why not, if it cannot."""
    import resource

    try:
        if set(process["affinity"]) != os.sched_getaffinity(0):
            os.sched_setaffinity(0, process["affinity"])
        if process["nice"] != os.getpriority(os.PRIO_PROCESS, 0):
            os.setpriority(os.PRIO_PROCESS, 0, process["nice"])  # a lower one is not ours to take
        for name, limits in process["limits"].items():
            number = getattr(resource, name, None)
            if number is not None and tuple(limits) != resource.getrlimit(number):
                resource.setrlimit(number, tuple(limits))  # a higher hard limit is not ours to take
        os.umask(process["umask"])
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return f"the build server cannot take on this process's settings ({exc})"
    return ""


def _build(connection: socket.socket, request: dict, run) -> None:
    """In the fork: become the client's build, with its terminal, folder and environment."""
    import time

    global SERVED
    signal.pthread_sigmask(signal.SIG_BLOCK, _PASSED_ON)  # a Ctrl-C passed on early waits for the build
    fds: list[int] = []
    try:
        refusal = _take_on(request["process"])
        connection.sendall(f"{refusal}\n".encode() if refusal else f"pid {os.getpid()}\n".encode())
        connection.settimeout(2 * WAIT)
        if not refusal:
            answer, fds, _, _ = socket.recv_fds(connection, 16, 3)
    except OSError:
        refusal = "gone"
    if refusal or answer != b"go\n" or len(fds) != 3:  # refused, or the caller stopped waiting and builds itself
        os._exit(0)
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
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _PASSED_ON)  # "interrupted" now reaches the caller
        connection.settimeout(None)
        _watch(connection)
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.chdir(request["cwd"])
        sys.argv[1:] = request["argv"]
        status = run(request["argv"])
    except KeyboardInterrupt:
        print("interrupted; the previous outputs are unchanged", file=sys.stderr)
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
    finally:  # a late Ctrl-C, or the caller going: the status still goes
        signal.pthread_sigmask(signal.SIG_BLOCK, {*_PASSED_ON, signal.SIGIO})
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


def _watch(connection: socket.socket) -> None:
    """Stop this build, as Ctrl-C would, when its caller's end of the connection closes: the
    caller was killed, or its terminal closed, and nobody waits for the build any more."""
    import fcntl

    def hung_up(_number=None, _frame=None):
        try:
            gone = connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            gone = False
        except OSError:
            gone = True
        if gone:
            raise KeyboardInterrupt

    signal.signal(signal.SIGIO, hung_up)
    fd = connection.fileno()
    fcntl.fcntl(fd, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
    hung_up()  # gone before the watch began
