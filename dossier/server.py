"""The build server: WeasyPrint and the pipeline kept loaded between two runs of ``build.py``.

A run of ``build.py`` from a fresh process spends half a second loading Python modules before
it can typeset a page, as long as typesetting the one chapter an edit changed. So, as Gradle
and Bazel do, the first run leaves a server behind, in a session of its own: it has loaded
everything a build needs, and waits on a Unix socket. The next run of ``build.py`` connects
and sends its arguments, environment, working folder and umask; the server forks; the fork
takes on the caller's CPU set, priorities and resource limits (read from the caller's process
itself), then its standard input, output and error (the file descriptors themselves, passed
to the fork), and runs the build exactly as ``build.py`` would, printing to the user's
terminal, and sends back the exit status. Every build is a fresh fork of the loaded server,
so nothing one build does stays for the next.

- Stale code is never used: the socket's name is a hash of the pipeline's source files, the
  Python executable, the installed packages and the interpreter's set-up (options, ``PYTHON*``
  variables, locale); after a change to the code, the next run starts a new server, which
  stops the old one. A server also checks, before each build, that no file it loaded a module
  from, and no folder of ``sys.path``, has changed since it started (an editable install, a
  new module on ``PYTHONPATH``, a reinstall of the same version): if one has, it steps aside,
  and the build runs in its caller's own process.
- A caller the fork cannot stand for (other groups, capabilities or namespaces; a lower
  ``nice`` or a higher hard limit than the server's) builds in its own process, and the server
  steps aside for one started by that caller. A caller the server does not answer within
  ``DOSSIER_SERVER_WAIT`` seconds (5) builds in its own process.
- A build whose caller dies (``kill -9``, a closed terminal) is stopped as by Ctrl-C: its
  outputs stay as they were. Ctrl-C, SIGTERM and SIGHUP are passed on; Ctrl-Z suspends the
  build with its caller.
- It stops after ``DOSSIER_SERVER_IDLE`` seconds (15 minutes) without a build, or on
  ``build.py --stop-server``. ``--no-server`` or ``DOSSIER_SERVER=0`` build without it (and
  start none); so does a build on CI (``CI`` set).
- The socket lives in a folder only this user can enter (``$XDG_RUNTIME_DIR`` or ``/tmp``);
  a folder that is not this user's own, or is open to others, is not used. The server serves
  its own user only (the peer's credentials are checked).

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
import time

_STARTED = time.time_ns()  # as good as this process's start: a file changed after is not loaded as it is now
SERVE = "--serve"  # build.py's hidden argument: be the server
IDLE = 15 * 60  # seconds without a build before the server stops
WAIT = 5.0  # seconds a caller waits for the server to take its build before building itself
SERVED = False  # true in a server's fork that is running a build
NOT_USED = ""  # why this build was not served although a server was asked (shown by -v)
_LOCK = -1  # the server's lock, not its builds' to hold
NOT_SERVED = {"watch", "-h", "--help", "--no-server", "--stop-server", SERVE}
_PASSED_ON = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # from the caller to its build
_SAME_CONTEXT = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
                 "Seccomp_filters")
_NAMESPACES = ("mnt", "pid", "net", "ipc", "uts", "user", "cgroup")


def wanted(argv: list[str]) -> bool:
    """Whether this command may go through a server (and start one)."""
    return (os.environ.get("DOSSIER_SERVER", "1") != "0" and not os.environ.get("CI")
            and hasattr(socket, "send_fds") and not NOT_SERVED & set(argv) and not _confined())


def _confined() -> bool:
    """Whether this process runs under a system-call filter (a sandbox's, which no server's
    fork can be shown to share) or a limit on its address space (which a fork of a loaded
    server, already larger, would meet sooner): such a build runs in its own process."""
    import resource

    for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        if resource.getrlimit(limit)[0] != resource.RLIM_INFINITY:
            return True
    try:
        with open("/proc/self/status", encoding="utf-8") as handle:
            return any(line.split() != ["Seccomp:", "0"] for line in handle if line.startswith("Seccomp:"))
    except OSError:
        return True


def _seconds(name: str, default: float) -> float:
    """A number of seconds from the environment; the default if it is not one."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def socket_path(tool_root: str) -> str | None:
    """The server's socket for this code, this interpreter's set-up and this process's context
    (credentials, namespaces, control group), in a folder only this user can use; None if none
    is safe."""
    base = os.environ.get("DOSSIER_SERVER_DIR") or os.path.join(
        os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp", f"dossier-build-{os.getuid()}")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # somebody else's, or open to others: a socket there could be anybody's
    try:
        setup = _hash([interpreter(), _context("self")])[:8]
    except OSError:
        return None  # no /proc: nothing to check a server against
    path = os.path.join(base, f"{_root_key(tool_root)}-{code_key(tool_root)}-{setup}.sock")
    return path if len(path.encode()) < 100 else None  # a socket's path has a length limit


def _hash(value) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def _root_key(tool_root: str) -> str:
    return _hash(tool_root)[:8]


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
    """What a process's Python and libraries were set up with at its start, which a fork cannot
    change: a caller whose differs from a server's has a server of its own."""
    return {"flags": list(sys.flags), "x": sorted(f"{k}={v}" for k, v in sys._xoptions.items()),
            "warnings": list(sys.warnoptions), "path": [os.path.realpath(p) for p in sys.path],
            "fs": sys.getfilesystemencoding(),
            "env": sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(_AT_START) or k in _AT_START_NAMES)}


# What is read from the environment when Python, the C library, fontconfig and Pango start,
# not at each build: a caller with other values gets a server started with them.
_AT_START = ("PYTHON", "LD_", "GLIBC_", "MALLOC_", "FONTCONFIG_", "FC_", "PANGO", "G_")
_AT_START_NAMES = {"LANG", "LC_ALL", "LC_CTYPE", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                   "XDG_CONFIG_DIRS", "XDG_DATA_DIRS"}


# ----- the client: build.py, handing its build over --------------------------------------

def delegate(argv: list[str], tool_root: str) -> int | None:
    """Have a running server build; its exit status, or None if there is no server to ask, or
    it cannot take this build (``NOT_USED`` says why)."""
    global NOT_USED
    # Until the build's process is known, a Ctrl-C waits: then it goes to the build, or, if
    # this process builds after all, it stops this one.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _PASSED_ON)
    path = socket_path(tool_root)
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        path, NOT_USED = None, "its standard input, output or error is closed"
    if path is None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = None
    try:
        client.settimeout(_seconds("DOSSIER_SERVER_WAIT", WAIT))
        client.connect(path)
        server_pid, uid, _ = _peer(client)
        if uid != os.getuid() or _context(server_pid) != _context("self"):  # tell it nothing
            NOT_USED = "what answers on the build server's socket is not in this process's context"
            raise ConnectionRefusedError(NOT_USED)
        client.sendall(_message({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "umask": _umask(),
                                 "interpreter": interpreter(), "streams": [_stream(s) for s in (sys.stdin, sys.stdout, sys.stderr)]}))
        line = _read_line(client, time.monotonic() + _seconds("DOSSIER_SERVER_WAIT", WAIT))
        if line.startswith(b"pid "):
            pid = int(line.split()[1])
        elif line:
            NOT_USED = line.decode(errors="replace").strip()
        else:
            NOT_USED = "the build server closed the connection"
    except TimeoutError:
        NOT_USED = "the build server did not answer in time"
    except InterruptedError:
        pass  # Ctrl-C while waiting: said below
    except (OSError, ValueError):  # none there, or a dead one's socket, or not ours (said above)
        pass
    if pid is None:
        client.close()
        return _not_served(held)
    return _follow(client, pid, held)


def _not_served(held) -> int | None:
    """None, for this process to build; unless a signal came meanwhile: then its end."""
    pending = _pending()
    if signal.SIGINT in pending:  # the user pressed Ctrl-C: this build stops here
        print("interrupted; the previous outputs are unchanged", file=sys.stderr)
        return 130
    for number in pending:  # SIGTERM, SIGHUP: as they end a build
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return None


def _follow(client: socket.socket, pid: int, held) -> int | None:
    """Hand the build's process this terminal, pass signals on, and wait for its status; None
    if it gave up waiting for this process (stopped meanwhile), which then builds itself."""
    global NOT_USED
    forwarded = []
    before = {n: signal.getsignal(n) for n in (*_PASSED_ON, signal.SIGTSTP, signal.SIGCONT)}

    def pass_on(number, _frame):
        forwarded.append(number)
        _signal(pid, number)

    def suspend(_number, _frame):  # Ctrl-Z: the build stops with this process, and goes on with it
        _signal(-pid, signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)
        signal.signal(signal.SIGTSTP, suspend)

    for number in _PASSED_ON:
        if signal.getsignal(number) is not signal.SIG_IGN:  # a build meant to ignore it still does
            signal.signal(number, pass_on)
    if signal.getsignal(signal.SIGTSTP) is signal.SIG_DFL:
        signal.signal(signal.SIGTSTP, suspend)
        signal.signal(signal.SIGCONT, lambda _n, _f: _signal(-pid, signal.SIGCONT))
    try:
        client.settimeout(None)
        # The build begins now, and only now (this process will not build too), with this
        # process's terminal: passed to the build's process itself, never held by the server.
        socket.send_fds(client, [b"go\n"], [0, 1, 2])
        started = _read_line(client) == b"started\n"
    except OSError:
        started = False
    if not started:  # it did not begin: nothing was done, and this process builds
        client.close()
        for number, handler in before.items():
            signal.signal(number, handler)
        NOT_USED = "the build server's process stopped waiting for this one"
        return _not_served(held)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C held until now goes to the build
        line = _read_line(client)
    except OSError:
        line = b""
    if line.startswith(b"status "):
        return int(line.split()[1])
    if forwarded and forwarded[-1] != signal.SIGINT:  # a signal that ended the build ends this process too
        signal.signal(forwarded[-1], signal.SIG_DFL)
        os.kill(os.getpid(), forwarded[-1])
    print("build.py: the build server's process ended before the build did; "
          "the previous outputs are unchanged (run again, or with --no-server)", file=sys.stderr)
    return 2


def flush_streams() -> None:
    """What is buffered for stdout and stderr, written before a process ends with os._exit."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except (ProcessLookupError, PermissionError):
        pass


def _pending() -> set[int]:
    """The signals held back while waiting for the server, and not meant to be ignored."""
    return {n for n in signal.sigpending() & set(_PASSED_ON) if signal.getsignal(n) is not signal.SIG_IGN}


def _read_line(client: socket.socket, deadline: float | None = None) -> bytes:
    """One line from the server (b"" if it closed); by ``deadline``, looking every tenth of a
    second whether Ctrl-C was pressed meanwhile (InterruptedError)."""
    data = b""
    while not data.endswith(b"\n"):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if _pending():
                raise InterruptedError
            client.settimeout(min(0.1, left))
        try:
            chunk = client.recv(256)
        except socket.timeout:
            if deadline is None:
                raise  # the socket's own timeout: given up
            continue
        if not chunk:
            return data
        data += chunk
    return data


def _stream(stream) -> dict | None:
    """How this process writes (or reads) a standard stream, for the build's process to do the same."""
    if stream is None:
        return None
    import io

    return {"encoding": stream.encoding, "errors": stream.errors, "line_buffering": stream.line_buffering,
            "write_through": getattr(stream, "write_through", False),
            "unbuffered": isinstance(getattr(stream, "buffer", None), io.RawIOBase)}


def start_in_background(script: str, tool_root: str) -> bool:
    """Start a server for the next builds, in a session of its own; False if there is no safe
    place, or one is running or starting already. The lock is taken here and handed to the
    server, so that no build ending meanwhile starts a second one."""
    path = socket_path(tool_root)
    lock = -1 if path is None else _take_lock(f"{path}.lock")
    if lock < 0:
        return False
    import subprocess

    # With this interpreter's own options (-X, -W, ...), given as they were, so that its builds
    # are set up as ours; the script by a path that does not depend on the folder.
    options = sys.orig_argv[1:len(sys.orig_argv) - len(sys.argv)]
    command = [sys.executable, *options, os.path.abspath(script), SERVE, str(lock)]
    try:
        started = subprocess.Popen(command, cwd=tool_root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True, pass_fds=[lock])
        _write_pid(lock, started.pid)
    finally:
        os.close(lock)  # the server holds it now
    return True


def stop(tool_root: str, keep: str = "") -> int:
    """Stop this tool's servers, but ``keep`` and (if it is given) those of the same code, and
    clear what dead ones left; how many were stopped."""
    path = socket_path(tool_root)
    if path is None:
        return 0
    folder = os.path.dirname(path)
    prefix = os.path.basename(keep).rsplit("-", 1)[0] + "-" if keep else None  # the same code: left alone
    names = [n for n in os.listdir(folder) if n.startswith(_root_key(tool_root) + "-")
             and not (prefix and n.startswith(prefix))]
    stopped = sum(_ask_to_stop(os.path.join(folder, n)) for n in names if n.endswith(".sock"))
    for name in names:
        if name.endswith(".lock"):
            socket_name = os.path.join(folder, name[:-len(".lock")])
            if not os.path.exists(socket_name):
                stopped += _stop_loading(os.path.join(folder, name))
            _clear_if_dead(socket_name, create=False)
    return stopped


def _ask_to_stop(path: str) -> bool:
    """Whether the server at ``path`` stopped when asked (it has removed its files when it says so)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(10)
    try:
        client.connect(path)
        client.sendall(_message({"stop": True}))
        if _read_line(client).startswith(b"stopping"):
            return True
    except OSError:
        pass
    finally:
        client.close()
    _clear_if_dead(path)
    return False


def _stop_loading(lock: str) -> bool:
    """Stop a server still loading (it holds its lock, and has no socket yet)."""
    if not _locked(lock):
        return False
    try:
        with open(lock, encoding="ascii") as handle:
            pid = int(handle.read().strip() or 0)
        if pid > 0 and _locked(lock):  # still held by its writer: the pid is not another's yet
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):  # gone within 5 s: then what it left (if stopped before it could clean up) is cleared
                if not _locked(lock):
                    break
                time.sleep(0.1)
            return True
    except (OSError, ValueError):
        pass
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


def _write_pid(lock: int, pid: int) -> None:
    os.ftruncate(lock, 0)
    os.pwrite(lock, f"{pid}\n".encode(), 0)


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


def _message(request: dict) -> bytes:
    """A request as sent: its length, then its JSON (read back by ``_receive``)."""
    data = json.dumps(request).encode()
    return struct.pack("!I", len(data)) + data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----- the server ------------------------------------------------------------------------

def serve(run, tool_root: str, warm_up, lock: int | None = None) -> None:
    """Load everything (``warm_up()``), then fork a process that calls ``run(argv)`` for each
    build asked for, until idle, asked to stop, or stale. ``lock``: the server's lock, taken
    by the build that started it."""
    import ctypes  # noqa: F401  (for the forks: what _take_on uses, loaded once)
    import gc
    import resource  # noqa: F401
    import select

    global _LOCK
    path = socket_path(tool_root)
    if path is None:
        return  # no safe place
    if lock is None:
        lock = _take_lock(f"{path}.lock")
        if lock >= 0:
            _write_pid(lock, os.getpid())
    elif not _is_lock_of(lock, f"{path}.lock"):  # a set-up that names another socket than its starter's
        return
    if lock < 0:
        return  # a server for this code is running, or starting
    _LOCK = lock
    # Whatever the process that started it ignored, the builds get a shell's usual signals.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD, signal.SIGIO, signal.SIGTSTP):
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    server_pid = os.getpid()
    own = interpreter()
    before = _loaded_files(tool_root)
    gc.disable()

    def stop_loading(_number, _frame):  # --stop-server while it loads: leave, cleaning up after the warm-up
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_loading)
    try:
        warm_up()
    except SystemExit:
        _leave(path, None)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.enable()
    gc.collect()  # the rehearsal's garbage, before the rest is frozen
    gc.freeze()  # what is loaded now is shared with every build's fork; none of them walks it
    loaded = _loaded_files(tool_root)
    if _changed_while_loading(before, loaded) or socket_path(tool_root) != path:
        _leave(path, None)
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = f"{path}.{os.getpid()}"
    listener.bind(temporary)
    listener.listen(8)
    os.replace(temporary, path)  # in place at once, replacing a dead server's socket
    inode = os.stat(path).st_ino
    stop(tool_root, keep=path)  # this tool's servers for code that has changed since
    idle = _seconds("DOSSIER_SERVER_IDLE", IDLE)
    children: dict[int, int] = {}  # a build's process: its caller's
    last = time.monotonic()
    try:
        while True:
            for pid, caller in list(children.items()):
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    del children[pid]
                elif not _alive(caller):  # a build suspended with its caller (Ctrl-Z), which was then killed:
                    _signal(-pid, signal.SIGCONT)  # woken, it sees its caller gone, and stops
                    _signal(pid, signal.SIGCONT)
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
            if not refusal:
                taken_on, told = os.pipe()
                pid = os.fork()
                if pid == 0:
                    try:
                        listener.close()
                        os.close(_LOCK)
                        os.close(taken_on)
                        _build(connection, request, run, told)  # never returns
                    finally:
                        os._exit(2)  # never back into the server's loop
                os.close(told)
                children[pid] = request["caller"]
                last = time.monotonic()
                # A fork that cannot stand for its caller has told it so: make way for a
                # server the caller starts, which can.
                leaving = not _read_byte(taken_on)
                os.close(taken_on)
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
    finally:
        if os.getpid() == server_pid:
            if inode is not None:  # not left yet
                _leave(path, inode)
            listener.close()


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead and not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def _is_lock_of(fd: int, lock: str) -> bool:
    try:
        return os.stat(lock).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False


def _read_byte(fd: int) -> bytes:
    import select

    if not select.select([fd], [], [], 6 * WAIT)[0]:
        return b""
    try:
        return os.read(fd, 1)
    except OSError:
        return b""


def _leave(path: str, inode: int | None) -> None:
    """Remove this server's socket (if it is still this server's), then its lock file; once only:
    after, the names may be a new server's."""
    if inode is not None and _still_ours(path, inode):
        os.unlink(path)
    if _is_lock_of(_LOCK, f"{path}.lock"):
        os.unlink(f"{path}.lock")  # still held: a server starting now makes a new one


def _loaded_files(tool_root: str) -> dict[str, tuple[int, int, int]]:
    """Every file a loaded module came from, every library mapped, and every folder modules are
    looked for in (a new module there may hide a loaded one), as they are; not the tool's own
    folder, which is also the default project's (its own modules are in the socket's name)."""
    files = {}
    names = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
    try:  # and the C libraries loaded (Pango, fontconfig, HarfBuzz...): a system upgrade replaces them
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as handle:
            names += sorted({line.split(None, 5)[5].strip() for line in handle
                             if len(line.split(None, 5)) == 6 and line.split(None, 5)[5].startswith("/")})
    except OSError:
        pass
    for name in [*names, *(p for p in sys.path if os.path.realpath(p) != os.path.realpath(tool_root))]:
        if isinstance(name, str) and name and name not in files:
            try:
                info = os.stat(name)
            except OSError:
                continue
            files[name] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return files


def _changed(loaded: dict[str, tuple[int, int, int]]) -> bool:
    """Whether a file has changed since it was loaded."""
    for name, was in loaded.items():
        try:
            info = os.stat(name)
        except OSError:
            return True
        if (info.st_mtime_ns, info.st_size, info.st_ino) != was:
            return True
    return False


def _changed_while_loading(before: dict, after: dict) -> bool:
    """Whether a file changed while the server loaded: one of those loaded before it began, or
    any whose time falls in the loading (from this process's start, less 50 ms for file times
    lagging the clock by a tick; a file dated in the future is not taken as changed)."""
    now = time.time_ns()
    return _changed(before) or any(_STARTED - 50_000_000 <= mtime <= now for mtime, _, _ in after.values())


def _peer(connection: socket.socket) -> tuple[int, int, int]:
    """The connected process's pid, uid and gid."""
    return struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))


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
    """One request: its length, then its JSON; with the caller's pid."""
    caller, uid, _ = _peer(connection)
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
                                    or not isinstance(request.get("umask"), int)
                                    or not isinstance(request.get("streams"), list) or len(request["streams"]) != 3):
        raise ValueError("a build request without its arguments")
    request["caller"] = caller
    connection.settimeout(None)
    return request


# ----- a build, in the server's fork -----------------------------------------------------

def _take_on(caller: int) -> str | None:
    """In the fork: the caller's CPU set, priorities and limits, read from its process; why
    not, if it cannot (or if the caller's credentials, capabilities or namespaces differ);
    None if the caller has gone."""
    import resource

    try:
        if _context(caller) != _context("self"):
            return "the build server cannot stand for this process (its groups, capabilities or namespaces differ)"
        if os.sched_getaffinity(caller) != os.sched_getaffinity(0):
            os.sched_setaffinity(0, os.sched_getaffinity(caller))
        if os.getpriority(os.PRIO_PROCESS, caller) != os.getpriority(os.PRIO_PROCESS, 0):
            os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, caller))  # a lower one is not ours to take
        policy, param = os.sched_getscheduler(caller), os.sched_getparam(caller)
        if (policy, param) != (os.sched_getscheduler(0), os.sched_getparam(0)):
            os.sched_setscheduler(0, policy, param)
        _take_on_io_priority(caller)
        for name in dir(resource):
            if name.startswith("RLIMIT_"):
                number = getattr(resource, name)
                if resource.prlimit(caller, number) != resource.getrlimit(number):
                    resource.setrlimit(number, resource.prlimit(caller, number))  # a higher hard limit is not ours to take
    except (ProcessLookupError, FileNotFoundError):
        return None  # it stopped waiting, and builds itself
    except (OSError, ValueError) as exc:
        return f"the build server cannot take on this process's settings ({exc})"
    return ""


def _context(pid) -> list[str]:
    """What a process is allowed to do and see: credentials, capabilities, namespaces, control group."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.split(":")[0] in _SAME_CONTEXT]
    with open(f"/proc/{pid}/cgroup", encoding="utf-8") as handle:
        lines.append(handle.read().strip())
    for name in _NAMESPACES:
        try:
            lines.append(os.readlink(f"/proc/{pid}/ns/{name}"))
        except FileNotFoundError:
            pass
    return lines


_IOPRIO = {"x86_64": (251, 252), "aarch64": (30, 31), "i686": (289, 290)}  # ioprio_set, ioprio_get


def _take_on_io_priority(caller: int) -> None:
    """The caller's I/O priority (``ionice``), where the system call's number is known."""
    numbers = _IOPRIO.get(os.uname().machine)
    if numbers is None:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    theirs, ours = libc.syscall(numbers[1], 1, caller), libc.syscall(numbers[1], 1, 0)  # 1: a process
    if theirs >= 0 and theirs != ours and libc.syscall(numbers[0], 1, 0, theirs) != 0:
        raise OSError(ctypes.get_errno(), "cannot take on its I/O priority")


def _build(connection: socket.socket, request: dict, run, told: int) -> None:
    """In the fork: become the client's build, with its terminal, folder and environment;
    ``told`` hears whether it could."""
    global SERVED
    signal.pthread_sigmask(signal.SIG_BLOCK, _PASSED_ON)  # a Ctrl-C passed on early waits for the build
    fds: list[int] = []
    answer = b""
    refusal = _take_on(request["caller"])
    os.write(told, b"" if refusal else b"y")  # a refusal, not a caller gone: the server makes way
    os.close(told)
    if refusal is None:
        os._exit(0)
    try:
        connection.sendall(f"{refusal}\n".encode() if refusal else f"pid {os.getpid()}\n".encode())
        connection.settimeout(2 * WAIT)
        if not refusal:
            answer, fds, _, _ = socket.recv_fds(connection, 16, 3)
    except OSError:
        pass
    if refusal or answer != b"go\n" or len(fds) != 3:  # refused, or the caller stopped waiting and builds itself
        os._exit(0)
    try:
        connection.sendall(b"started\n")  # from now on, the build is this process's, not its caller's
    except OSError:
        os._exit(0)
    SERVED = True
    status = 2
    try:
        os.setpgid(0, 0)  # a group of its own, with its typesetting processes: Ctrl-Z stops them all
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin, sys.stdout, sys.stderr = (_open_stream(fd, spec) for fd, spec in enumerate(request["streams"]))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _PASSED_ON)  # "interrupted" now reaches the caller
        connection.settimeout(None)
        _watch(connection)
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        sys.argv[1:] = request["argv"]
        status = run(request["argv"])
    except KeyboardInterrupt:  # before the build began (run() has its own ends: build.command)
        print("interrupted; the previous outputs are unchanged", file=sys.stderr)
        status = 130
    except BaseException:  # as the interpreter would end a build that raised (build.py --debug)
        import traceback

        traceback.print_exc()
        status = 1
    finally:  # a late Ctrl-C, or the caller going: the status still goes
        signal.pthread_sigmask(signal.SIG_BLOCK, {*_PASSED_ON, signal.SIGIO})
        flush_streams()
        try:
            connection.sendall(f"status {status}\n".encode())
        except OSError:
            pass
        os._exit(status)


def _open_stream(fd: int, spec: dict | None):
    """A standard stream on ``fd`` that writes (or reads) as the caller's did."""
    if spec is None:
        return None
    import io

    raw = io.FileIO(fd, "r" if fd == 0 else "w", closefd=False)
    binary = raw if spec.get("unbuffered") and fd else (io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw))
    return io.TextIOWrapper(binary, encoding=spec.get("encoding") or "utf-8", errors=spec.get("errors") or "strict",
                            line_buffering=bool(spec.get("line_buffering")), write_through=bool(spec.get("write_through")))


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
