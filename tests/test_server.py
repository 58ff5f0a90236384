"""The build server (dossier/server.py): builds handed to a loaded process, as they would run here."""
import os
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
sys.path.insert(0, str(REPO))
from dossier import server  # noqa: E402


@pytest.fixture
def env():
    """Builds that use (and start) a server whose socket is in a folder of this test's own
    (a short path: a socket's has a length limit)."""
    folder = Path(tempfile.mkdtemp(prefix="ds-")) / "s"
    environment = {**os.environ, "DOSSIER_SERVER": "1", "DOSSIER_SERVER_DIR": str(folder),
                   "DOSSIER_SERVER_IDLE": "120", "SOURCE_DATE_EPOCH": "1600000000"}
    environment.pop("CI", None)
    yield environment
    build("--stop-server", env=environment)
    shutil.rmtree(folder.parent, ignore_errors=True)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "minimal"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("output"))
    return root


def build(*args, env, cwd=None):
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def sockets(env) -> list[Path]:
    folder = Path(env["DOSSIER_SERVER_DIR"])
    return sorted(folder.glob("*.sock")) if folder.exists() else []


def wait_for_server(env) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = sockets(env)
        if found and server._answers(str(found[0])):
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no build server came up")


def test_a_build_starts_a_server_and_the_next_is_served_with_the_same_pdf(env, project):
    first = build("pdf", "-v", "--root", str(project), env=env)
    assert first.returncode == 0, first.stderr
    assert "starting a build server" in first.stdout
    assert "built by the build server" not in first.stdout
    wait_for_server(env)
    alone = page_texts(project / "output" / "dossier.pdf")
    served = build("pdf", "-v", "--force", "--root", str(project), env=env)
    assert served.returncode == 0, served.stderr
    assert "built by the build server" in served.stdout
    assert "starting a build server" not in served.stdout  # one is running
    assert "wrote" in served.stdout and "dossier.pdf" in served.stdout
    assert page_texts(project / "output" / "dossier.pdf") == alone


def test_a_served_build_reports_bad_input_like_any_build(env, project):
    build("pdf", "--root", str(project), env=env)
    wait_for_server(env)
    pdf = project / "output" / "dossier.pdf"
    before = pdf.read_bytes()
    chapter = sorted((project / "content").glob("*.md"))[0]
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nA claim [@nosuchkey].\n", encoding="utf-8")
    result = build("pdf", "-v", "--root", str(project), env=env)
    assert result.returncode == 1
    assert f"{chapter.name}:" in result.stderr and "unknown citation key 'nosuchkey'" in result.stderr
    assert "Traceback" not in result.stderr
    assert pdf.read_bytes() == before
    bad = build("pdf", "--no-such-option", env=env)  # argparse's own exit status, through the server
    assert bad.returncode == 2 and "unrecognized arguments" in bad.stderr


def test_a_served_build_has_the_callers_folder_and_environment(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    result = build("pdf", "--root", "minimal", env={**env, "SOURCE_DATE_EPOCH": "0"}, cwd=project.parent)
    assert result.returncode == 0, result.stderr
    assert "wrote minimal/output/dossier.pdf" in result.stdout  # paths shown from the caller's folder
    from pypdf import PdfReader

    assert PdfReader(project / "output" / "dossier.pdf").metadata["/CreationDate"].startswith("D:19700101")


def test_ctrl_c_reaches_a_served_build(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    client = subprocess.Popen([sys.executable, str(REPO / "build.py"), "pdf", "--root", str(project)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # handed over, and typesetting
    client.send_signal(signal.SIGINT)
    out, err = client.communicate(timeout=120)
    if client.returncode == 0:
        pytest.skip("the build finished before the signal came")
    assert client.returncode == 130, err
    assert "interrupted" in err
    assert not (project / "output" / "dossier.pdf").exists()


def test_no_server_when_turned_off(env, project):
    for extra, environment in ((["--no-server"], env), ([], {**env, "DOSSIER_SERVER": "0"}), ([], {**env, "CI": "true"})):
        result = build("html", *extra, "--root", str(project), env=environment)
        assert result.returncode == 0, result.stderr
        assert "build server" not in result.stdout
    time.sleep(1)
    assert sockets(env) == []


def test_a_server_stops_when_asked_and_when_idle(env, project):
    build("html", "--root", str(project), env=env)
    wait_for_server(env)
    stopped = build("--stop-server", env=env)
    assert "stopped 1 build server" in stopped.stdout
    assert sockets(env) == []
    idle = {**env, "DOSSIER_SERVER_IDLE": "1"}
    build("html", "--root", str(project), env=idle)
    path = wait_for_server(idle)
    deadline = time.monotonic() + 30
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not path.exists()


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


def test_a_socket_folder_others_can_enter_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "open"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    monkeypatch.setenv("DOSSIER_SERVER_DIR", str(folder))
    assert server.socket_path(str(REPO)) is None
    folder.chmod(0o700)
    assert server.socket_path(str(REPO)).startswith(str(folder))


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
    time.sleep(1.5)  # a second server, had one started, would have found the lock and left
    servers = subprocess.run(["pgrep", "-f", f"{REPO / 'build.py'} --serve"], capture_output=True, text=True).stdout.split()
    in_folder = [pid for pid in servers if env["DOSSIER_SERVER_DIR"] in Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")]
    assert len(in_folder) == 1
