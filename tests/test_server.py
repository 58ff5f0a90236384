"""The build server (dossier/server.py): builds handed to a loaded process, as they would run here."""
import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pdfcheck import page_texts

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "tests" / "projects" / "minimal"
SERVED = "building in the build server's process"
sys.path.insert(0, str(REPO))
from dossier import server  # noqa: E402


@pytest.fixture
def env():
    """Builds that use (and start) a server whose socket is in a folder of this test's own
    (a short path: a socket's has a length limit)."""
    folder = Path(tempfile.mkdtemp(prefix="ds-")) / "s"
    (folder.parent / "tmp").mkdir()  # the builds' temporary files, to see that none is left
    environment = {**os.environ, "DOSSIER_SERVER": "1", "DOSSIER_SERVER_DIR": str(folder), "TMPDIR": str(folder.parent / "tmp"),
                   "DOSSIER_SERVER_IDLE": "120", "SOURCE_DATE_EPOCH": "1600000000"}
    environment.pop("CI", None)
    yield environment
    build("--stop-server", env=environment)
    deadline = time.monotonic() + 15  # builds still ending (cleaning up after an interruption)
    while servers(environment) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in servers(environment):  # one that could not be asked
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder.parent, ignore_errors=True)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "minimal"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("output"))
    return root


@pytest.fixture
def long_project(project):
    """A project whose typesetting takes seconds: time to interrupt it."""
    chapter = project / "content" / "01-first.md"
    filler = "\n\n".join(f"Paragraph {i} of a long chapter, with Lithuanian ą, ė, š and ž to draw. " * 4 for i in range(600))
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\n\n" + filler + "\n", encoding="utf-8")
    return project


def build(*args, env, cwd=None):
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def sockets(env) -> list[Path]:
    folder = Path(env["DOSSIER_SERVER_DIR"])
    return sorted(folder.glob("*.sock")) if folder.exists() else []


def processes() -> dict[int, int]:
    """Every process's parent."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return parents


def children(pid: int) -> list[int]:
    return [child for child, parent in processes().items() if parent == pid]


def servers(env) -> list[int]:
    """The build servers (running, or loading) whose socket folder is this test's; not their
    forks, which look the same."""
    found = []
    parents = processes()
    for pid in parents:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if server.SERVE.encode() in command and f"DOSSIER_SERVER_DIR={env['DOSSIER_SERVER_DIR']}".encode() in environ:
            found.append(pid)
    return [pid for pid in found if parents.get(pid) not in found]


def wait_for(condition, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds} s for {what}")


def wait_for_server(env) -> Path:
    return wait_for(lambda: next((s for s in sockets(env) if server._answers(str(s))), None), "a build server")


def start_served(project, env, **popen):
    """A served build of ``project`` and the server's process building it, once it typesets."""
    (pid,) = servers(env)
    before = set(children(pid))
    client = subprocess.Popen([sys.executable, str(REPO / "build.py"), "pdf", "--root", str(project)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    fork = wait_for(lambda: next(iter(set(children(pid)) - before), None), "the build's process")
    wait_for(lambda: children(fork), "its typesetting process")  # forked as the build begins
    time.sleep(0.5)  # reading the book, and typesetting
    return client, fork


def test_a_build_starts_a_server_and_the_next_is_served_with_the_same_pdf(env, project):
    first = build("pdf", "-v", "--root", str(project), env=env)
    assert first.returncode == 0, first.stderr
    assert "starting a build server" in first.stdout
    assert SERVED not in first.stdout
    wait_for_server(env)
    alone = page_texts(project / "output" / "dossier.pdf")
    shutil.rmtree(project / "output" / ".cache")  # every part typeset again, by the server's fork
    served = build("pdf", "-v", "--force", "--root", str(project), env=env)
    assert served.returncode == 0, served.stderr
    assert SERVED in served.stdout
    assert "starting a build server" not in served.stdout  # one is running
    assert "wrote" in served.stdout and "dossier.pdf" in served.stdout
    assert "parts typeset: 4 of 4" in served.stdout
    assert page_texts(project / "output" / "dossier.pdf") == alone


def test_a_served_build_reports_bad_input_like_any_build(env, project):
    build("pdf", "--root", str(project), env=env)
    wait_for_server(env)
    pdf = project / "output" / "dossier.pdf"
    before = pdf.read_bytes()
    chapter = sorted((project / "content").glob("*.md"))[0]
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nA claim [@nosuchkey].\n", encoding="utf-8")
    result = build("pdf", "-v", "--root", str(project), env=env)
    assert SERVED in result.stdout
    assert result.returncode == 1
    assert f"{chapter.name}:" in result.stderr and "unknown citation key 'nosuchkey'" in result.stderr
    assert "Traceback" not in result.stderr
    assert pdf.read_bytes() == before
    bad = build("pdf", "--no-such-option", env=env)  # argparse's own exit status, through the server
    assert bad.returncode == 2 and "unrecognized arguments" in bad.stderr


def test_a_served_build_has_the_callers_folder_and_environment(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    result = build("pdf", "-v", "--root", "minimal", env={**env, "SOURCE_DATE_EPOCH": "0"}, cwd=project.parent)
    assert result.returncode == 0, result.stderr
    assert SERVED in result.stdout
    assert "wrote minimal/output/dossier.pdf" in result.stdout  # paths shown from the caller's folder
    from pypdf import PdfReader

    assert PdfReader(project / "output" / "dossier.pdf").metadata["/CreationDate"].startswith("D:19700101")


def test_a_served_build_has_the_callers_priority_and_limits(env, long_project):
    build("html", "--root", str(long_project), env=env)
    wait_for_server(env)
    (pid,) = servers(env)
    nice = os.getpriority(os.PRIO_PROCESS, pid) + 3
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    io = server._IOPRIO.get(os.uname().machine)
    idle_class = 3 << 13  # ionice -c3

    def as_a_user_might():
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 512), hard))
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        if io:
            ctypes.CDLL(None).syscall(io[0], 1, 0, idle_class)

    client, fork = start_served(long_project, env, preexec_fn=as_a_user_might)
    try:
        assert os.getpriority(os.PRIO_PROCESS, fork) == nice
        assert resource.prlimit(fork, resource.RLIMIT_NOFILE) == (min(soft, 512), hard)
        assert os.sched_getscheduler(fork) == os.SCHED_BATCH
        if io:
            assert ctypes.CDLL(None).syscall(io[1], 1, fork) == idle_class
    finally:
        client.send_signal(signal.SIGINT)
        client.communicate(timeout=120)


def test_a_caller_in_another_context_is_never_served_by_a_server_of_this_one(env, project):
    """A server started by a process that may not gain privileges (no_new_privs, as sandboxes
    set it) is not one for a process that may, nor the other way round: each has its own."""
    def no_new_privileges():
        ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS

    def confined(*args):
        return subprocess.run([sys.executable, str(REPO / "build.py"), *args, "--root", str(project)], env=env,
                              capture_output=True, text=True, preexec_fn=no_new_privileges, timeout=120)

    confined("html")
    wait_for_server(env)
    result = build("html", "-v", "--force", "--root", str(project), env=env)
    assert result.returncode == 0, result.stderr
    assert SERVED not in result.stdout and "starting a build server" in result.stdout
    wait_for(lambda: len(sockets(env)) == 2 and all(server._answers(str(s)) for s in sockets(env)), "a server of its own")
    assert SERVED in build("html", "-v", "--force", "--root", str(project), env=env).stdout
    assert SERVED in confined("html", "-v", "--force").stdout  # by its own


def left_in_tmp(env) -> list[str]:
    return [p.name for p in Path(env["TMPDIR"]).iterdir() if not p.name.startswith("dossier-warm-up-")]


def test_ctrl_c_reaches_a_served_build(env, long_project):
    build("html", "--root", str(long_project), env=env)
    wait_for_server(env)
    client, fork = start_served(long_project, env)
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=120)
    assert client.returncode == 130, err
    assert "interrupted; the previous outputs are unchanged" in err
    assert not (long_project / "output" / "dossier.pdf").exists()
    assert left_in_tmp(env) == []  # the fonts WeasyPrint copied, with the typesetting processes' folder


def test_a_build_whose_caller_is_killed_stops(env, long_project):
    build("html", "--root", str(long_project), env=env)
    wait_for_server(env)
    client, fork = start_served(long_project, env)
    client.kill()  # kill -9: nothing is passed on
    client.communicate(timeout=60)
    wait_for(lambda: fork not in processes(), "the build to stop", seconds=20)
    assert not (long_project / "output" / "dossier.pdf").exists()
    assert left_in_tmp(env) == []
    assert server._answers(str(sockets(env)[0]))  # the server itself goes on


def state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def test_ctrl_z_suspends_a_served_build_and_a_killed_caller_still_ends_it(env, long_project):
    build("html", "--root", str(long_project), env=env)
    wait_for_server(env)
    client, fork = start_served(long_project, env)
    client.send_signal(signal.SIGTSTP)
    wait_for(lambda: state(fork) == "T" and state(client.pid) == "T", "the build and its caller to stop")
    client.kill()
    client.communicate(timeout=60)
    wait_for(lambda: fork not in processes(), "the suspended build to end", seconds=20)
    assert not (long_project / "output" / "dossier.pdf").exists()


def test_a_wedged_server_does_not_hang_stop_server(env, project):
    with wedged_server(env, project) as pid:
        start = time.monotonic()
        result = build("--stop-server", env=env)
        assert time.monotonic() - start < 30
        assert result.returncode == 0
        os.kill(pid, signal.SIGKILL)


def test_a_process_with_a_memory_limit_builds_alone(env, project):
    """A fork of the loaded server is larger from its start than a fresh process: under a limit
    on its address space it could fail where the fresh one succeeds."""
    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, resource.RLIM_INFINITY))

    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "html", "-v", "--force", "--root", str(project)],
                            env=env, capture_output=True, text=True, preexec_fn=limited, timeout=120)
    assert result.returncode == 0, result.stderr
    assert SERVED not in result.stdout and "starting a build server" not in result.stdout


def test_sigterm_ends_a_served_build_as_it_ends_one_in_process(env, long_project):
    build("html", "--root", str(long_project), env=env)
    wait_for_server(env)
    client, fork = start_served(long_project, env)
    client.terminate()
    client.communicate(timeout=60)
    assert client.returncode == -signal.SIGTERM  # as `build.py --no-server` killed by SIGTERM
    assert not (long_project / "output" / "dossier.pdf").exists()
    wait_for(lambda: fork not in processes(), "the build to end")
    assert left_in_tmp(env) == []  # it ended as cleanly as on Ctrl-C


def test_a_caller_with_stdin_closed_builds_itself(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "html", "-v", "--force", "--root", str(project)],
                            env=env, capture_output=True, text=True, preexec_fn=lambda: os.close(0), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "building in this process: its standard input, output or error is closed" in result.stdout


def test_a_served_build_writes_as_its_caller_would(env, tmp_path):
    """The caller's encoding, error handler and buffering of its output, not the server's."""
    root = tmp_path / "pą"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("output"))
    ascii_env = {**env, "PYTHONIOENCODING": "ascii:replace", "PYTHONUNBUFFERED": "1"}
    alone = build("html", "--no-server", "--root", str(root), env=ascii_env)
    build("html", "--root", str(root), env=ascii_env)  # starts a server set up like this
    wait_for_server(ascii_env)
    served = build("html", "-v", "--force", "--root", str(root), env=ascii_env)
    assert served.returncode == 0 and alone.returncode == 0, served.stderr + alone.stderr
    assert SERVED in served.stdout
    assert "p?/output/dossier.html" in served.stdout and "p?/output/dossier.html" in alone.stdout


@contextlib.contextmanager
def wedged_server(env, project):
    """A server that has stopped answering (SIGSTOP), for the length of the block."""
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    (pid,) = servers(env)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):  # (killed in the block)
            os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_waiting_for_a_wedged_server_is_not_held(env, project, number):
    """Ctrl-C gives "interrupted" and 130, SIGTERM ends the caller as it ends a build; at once,
    not after the 30 s it would have waited for an answer."""
    with wedged_server(env, project):
        client = subprocess.Popen([sys.executable, str(REPO / "build.py"), "pdf", "--root", str(project)],
                                  env={**env, "DOSSIER_SERVER_WAIT": "30"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        client.send_signal(number)
        start = time.monotonic()
        out, err = client.communicate(timeout=60)
        assert time.monotonic() - start < 5
    if number == signal.SIGINT:
        assert client.returncode == 130 and "interrupted" in err
    else:
        assert client.returncode == -signal.SIGTERM


def test_settings_that_are_not_numbers_are_not_fatal(env, project):
    odd = {**env, "DOSSIER_SERVER_WAIT": "5s", "DOSSIER_SERVER_IDLE": "15m"}
    first = build("html", "--root", str(project), env=odd)
    assert first.returncode == 0, first.stderr
    wait_for_server(odd)
    assert SERVED in build("html", "-v", "--force", "--root", str(project), env=odd).stdout


def test_a_caller_the_server_does_not_answer_builds_itself(env, project):
    with wedged_server(env, project):
        result = build("pdf", "-v", "--root", str(project), env={**env, "DOSSIER_SERVER_WAIT": "1"})
    assert result.returncode == 0, result.stderr
    assert "building in this process: the build server did not answer in time" in result.stdout
    assert (project / "output" / "dossier.pdf").exists()
    assert SERVED in build("pdf", "-v", "--force", "--root", str(project), env=env).stdout  # it answers again


def test_a_stale_server_steps_aside(env, project, tmp_path):
    """A module the server loaded changes on disk (an editable install, a package on
    PYTHONPATH, a reinstall of the same version): the server leaves, the build runs alone."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("LOADED = True\n")  # loaded by every process at start
    env = {**env, "PYTHONPATH": str(site)}
    build("html", "--root", str(project), env=env)
    old = wait_for_server(env)
    assert SERVED in build("html", "-v", "--root", str(project), env=env).stdout
    (site / "sitecustomize.py").write_text("LOADED = 'changed'\n")
    result = build("html", "-v", "--force", "--root", str(project), env=env)
    assert result.returncode == 0, result.stderr
    assert "building in this process: the build server is stale" in result.stdout
    assert "starting a build server" in result.stdout  # with what is on disk now
    wait_for(lambda: len(servers(env)) == 1 and server._answers(str(old)), "the new server")
    assert SERVED in build("html", "-v", "--force", "--root", str(project), env=env).stdout


def test_a_new_module_that_hides_a_loaded_one_makes_the_server_stale(env, project, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    env = {**env, "PYTHONPATH": str(site)}
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    (site / "jinja2.py").write_text("raise ImportError('a jinja2 of its own')\n")
    result = build("html", "-v", "--force", "--root", str(project), env=env)
    assert "building in this process: the build server is stale" in result.stdout
    assert result.returncode != 0  # as a fresh process fails with that module first on the path


def test_a_file_changed_while_the_server_loads_makes_it_stale(tmp_path):
    def look(*paths):
        return {str(p): (os.stat(p).st_mtime_ns, os.stat(p).st_size, os.stat(p).st_ino) for p in paths}

    old, new, future = tmp_path / "old.py", tmp_path / "new.py", tmp_path / "future.py"
    for path in (old, new, future):
        path.write_text("x = 1\n")
    os.utime(old, ns=(server._STARTED - 10**10,) * 2)  # from before the loading began
    os.utime(new, ns=(server._STARTED - 10**10,) * 2)
    os.utime(future, ns=(time.time_ns() + 3600 * 10**9,) * 2)  # dated in the future: not a change
    first = look(old, future)
    assert not server._changed_while_loading(first, look(old, new, future))
    new.write_text("x = 2\n")  # loaded while it was being changed
    assert server._changed_while_loading(first, look(old, new, future))
    os.utime(new, ns=(server._STARTED - 10**10,) * 2)
    old.write_text("x = 2\n")  # changed after the first look
    assert server._changed_while_loading(first, look(old, new, future))


def test_a_module_dated_in_the_future_does_not_keep_servers_from_serving(env, project, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    module = site / "sitecustomize.py"
    module.write_text("LOADED = True\n")
    os.utime(module, ns=(time.time_ns() + 3600 * 10**9,) * 2)
    env = {**env, "PYTHONPATH": str(site)}
    assert "starting a build server" in build("html", "--root", str(project), env=env).stdout
    wait_for_server(env)
    assert SERVED in build("html", "-v", "--force", "--root", str(project), env=env).stdout


def test_a_caller_whose_python_is_set_up_otherwise_gets_a_server_of_its_own(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    other = {**env, "PYTHONUTF8": "0" if sys.flags.utf8_mode else "1"}
    result = build("html", "-v", "--force", "--root", str(project), env=other)
    assert result.returncode == 0, result.stderr
    assert SERVED not in result.stdout
    assert "starting a build server" in result.stdout
    wait_for(lambda: len(servers(env)) == 2 and len(sockets(env)) == 2, "a second server, beside the first")
    assert SERVED in build("html", "-v", "--force", "--root", str(project), env=other).stdout
    assert SERVED in build("html", "-v", "--force", "--root", str(project), env=env).stdout


def test_no_server_when_turned_off(env, project):
    for extra, environment in ((["--no-server"], env), ([], {**env, "DOSSIER_SERVER": "0"}), ([], {**env, "CI": "true"})):
        result = build("html", "-v", *extra, "--root", str(project), env=environment)
        assert result.returncode == 0, result.stderr
        assert "build server" not in result.stdout
        assert servers(env) == []  # a server is started before its starter ends, or never
    assert sockets(env) == []


def test_a_server_stops_when_asked_and_when_idle(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    stopped = build("--stop-server", env=env)
    assert "stopped 1 build server" in stopped.stdout
    assert list(Path(env["DOSSIER_SERVER_DIR"]).iterdir()) == []  # its socket and lock gone, as it said
    idle = {**env, "DOSSIER_SERVER_IDLE": "1"}
    build("html", "--root", str(project), env=idle)
    path = wait_for_server(idle)
    wait_for(lambda: not path.exists(), "the idle server to stop", seconds=30)
    wait_for(lambda: not servers(env), "its process to end", seconds=10)


def test_a_server_still_loading_is_stopped_when_asked(env, project):
    assert "starting a build server" in build("html", "--root", str(project), env=env).stdout
    assert servers(env) and not sockets(env)  # loading (it takes a second or more)
    assert build("--stop-server", env=env).stdout.startswith("stopped 1")
    wait_for(lambda: not servers(env), "the server to end", seconds=10)
    assert list(Path(env["DOSSIER_SERVER_DIR"]).iterdir()) == []  # nor its lock left


def test_a_dead_servers_files_are_cleared(env, project):
    build("html", "--root", str(project), env=env)
    path = wait_for_server(env)
    (pid,) = servers(env)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not servers(env), "the server to die")
    assert path.exists()
    result = build("html", "-v", "--root", str(project), env=env)  # builds, and starts a new one
    assert result.returncode == 0, result.stderr
    assert "starting a build server" in result.stdout
    wait_for_server(env)
    assert build("--stop-server", env=env).stdout.startswith("stopped 1")
    assert list(Path(env["DOSSIER_SERVER_DIR"]).iterdir()) == []


def test_changed_code_gets_a_new_server(tmp_path):
    tool = tmp_path / "tool"
    (tool / "dossier").mkdir(parents=True)
    (tool / "build.py").write_text("")
    (tool / "dossier" / "a.py").write_text("x = 1\n")
    before = server.code_key(str(tool))
    (tool / "dossier" / "a.py").write_text("x = 2\n")
    assert server.code_key(str(tool)) != before
    (tool / "dossier" / "a.py").write_text("x = 1\n")
    assert server.code_key(str(tool)) == before


def test_a_socket_folder_others_can_enter_is_not_used(monkeypatch):
    folder = Path(tempfile.mkdtemp(prefix="ds-")) / "open"  # a short path: a socket's has a length limit
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    monkeypatch.setenv("DOSSIER_SERVER_DIR", str(folder))
    assert server.socket_path(str(REPO)) is None
    folder.chmod(0o700)
    assert server.socket_path(str(REPO)).startswith(str(folder))
    shutil.rmtree(folder.parent)


def test_a_process_that_builds_again_sees_changed_fonts(tmp_path):
    """The glyph check's font coverage is remembered in memory by the fonts' content, not by
    their names: the server's forks (and watch) inherit it from earlier builds."""
    from dossier import audit

    other = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not other.exists():
        pytest.skip("no second font on this machine")
    font = tmp_path / "face.ttf"
    shutil.copy(REPO / "fonts" / "CharisSIL-Regular.ttf", font)
    before = audit.font_coverage((font,), tmp_path / "cache")
    shutil.copy(other, font)
    after = audit.font_coverage((font,), tmp_path / "cache")
    assert after != before
    assert ord("ą") in before


def test_a_build_right_after_the_first_does_not_start_a_second_server(env, project):
    first = build("html", "--root", str(project), env=env)
    assert "starting a build server" in first.stdout
    second = build("html", "--root", str(project), env=env)  # the server may still be loading
    assert second.returncode == 0, second.stderr
    assert "starting a build server" not in second.stdout
    wait_for_server(env)
    assert len(servers(env)) == 1


def test_a_reader_that_goes_away_ends_a_build_quietly_served_or_not(env, project):
    """`build.py | head -1`: the build is done, its report cut short, as a shell's tools end."""
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    for extra in ([], ["--no-server"]):
        client = subprocess.Popen([sys.executable, str(REPO / "build.py"), "pdf", "-v", "--force", *extra,
                                   "--root", str(project)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        client.stdout.close()  # before the first line
        err = client.stderr.read().decode()
        assert client.wait(timeout=120) == 128 + signal.SIGPIPE, err
        assert "Traceback" not in err


def test_the_environment_the_libraries_start_with_names_another_server(monkeypatch):
    monkeypatch.setenv("DOSSIER_SERVER_DIR", tempfile.mkdtemp(prefix="ds-"))
    before = server.socket_path(str(REPO))
    monkeypatch.setenv("LD_BIND_NOW", "1")  # read by the dynamic loader when a process starts, never again
    assert server.socket_path(str(REPO)) != before
    monkeypatch.delenv("LD_BIND_NOW")
    monkeypatch.setenv("DOSSIER_SOMETHING", "1")  # read at each build: the same server
    assert server.socket_path(str(REPO)) == before
    shutil.rmtree(os.environ["DOSSIER_SERVER_DIR"])


def test_a_file_saved_in_the_tool_folder_does_not_make_the_server_stale(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    swap = REPO / ".test-server-swap.tmp"  # as an editor's swap file beside pyproject.toml
    swap.write_text("")
    swap.unlink()
    assert SERVED in build("html", "-v", "--force", "--root", str(project), env=env).stdout
