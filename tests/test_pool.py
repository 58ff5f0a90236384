"""The typesetting processes: jobs and their errors come back to the build; a crashed worker is
an error naming its part; an interrupted or finished build leaves no process behind, nothing in
the temporary folder, and the last good PDF as it was."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dossier.typeset import parts as typeset
from dossier.typeset.pool import Pool

REPO = Path(__file__).resolve().parent.parent
needs_ps = pytest.mark.skipif(shutil.which("ps") is None, reason="needs ps")


def test_results_in_order_and_errors_raised_where_the_job_was_asked_for():
    with Pool(2) as pool:
        futures = [pool.submit(divmod, *job) for job in [(9, 4), (10, 3), (7, 7)]]
        assert [future.result() for future in futures] == [(2, 1), (3, 1), (1, 0)]
        with pytest.raises(ZeroDivisionError):
            pool.submit(divmod, 1, 0).result()
        assert pool.submit(pow, 2, 10).result() == 1024  # still working after an error


def test_a_crashed_worker_is_an_error_naming_its_part_and_the_pool_works_again(tmp_path, monkeypatch):
    part = typeset.Part("lithuania", "chapter", "<p>x</p>", source="content/02-lithuania.md")
    monkeypatch.setattr(typeset, "in_worker", _crash)
    with Pool(1) as pool:
        with pytest.raises(RuntimeError, match="content/02-lithuania.md"):
            typeset.typeset_parts([part], tmp_path / "x.html", [tmp_path], tmp_path / "cache", b"", pool)
        assert pool.submit(pow, 2, 3).result() == 8  # made anew for the next build (watch)


def _crash(*_args):
    os._exit(3)


def _group(pgid: int) -> list[str]:
    lines = subprocess.run(["ps", "-eo", "pgid=,args="], capture_output=True, text=True).stdout.splitlines()
    return [line for line in lines if line.split(None, 1)[0] == str(pgid)]


@needs_ps
def test_a_process_that_forgets_to_close_its_pool_still_ends_and_leaves_nothing(tmp_path):
    code = "import sys; sys.path.insert(0, sys.argv[1]); from dossier.typeset.pool import Pool; p = Pool(); print(p.submit(abs, -1).result())"
    process = subprocess.Popen([sys.executable, "-c", code, str(REPO)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    out, err = process.communicate(timeout=60)  # does not hang waiting for the workers
    assert process.returncode == 0 and out.strip() == "1", err
    _no_process_left(process.pid)
    assert list(tmp_path.iterdir()) == []  # its temporary folder too


def _no_process_left(pgid: int) -> None:
    """The fork server and the workers end once they see their build's process gone."""
    deadline = time.monotonic() + 30
    while _group(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group(pgid) == []


@needs_ps
@pytest.mark.parametrize("number, status", [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)])
def test_ctrl_c_or_sigterm_during_a_build_stops_everything_cleanly(tmp_path, number, status):
    root = tmp_path / "dossier"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".git", ".venv", "output", "tests", "bench", "__pycache__", "docs"))
    (root / "output").mkdir()
    (root / "output" / "dossier.pdf").write_bytes(b"the last good PDF")  # and no cache: every part is typeset
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # As a terminal's Ctrl-C does: SIGINT to the whole process group, once parts are being laid out
    # (WeasyPrint has copied a part's fonts into the pool's temporary folder).
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "pdf", "--root", str(root)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True, env={**os.environ, "TMPDIR": str(scratch)},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not any(p.is_dir() for p in scratch.glob("dossier-typeset-*/*")):
        assert process.poll() is None and time.monotonic() < deadline, "the build ended before it typeset anything"
        time.sleep(0.01)
    if number == signal.SIGINT:
        os.killpg(process.pid, number)  # as a terminal's Ctrl-C does: to the whole process group
    else:
        process.send_signal(number)  # as a service manager or `kill` does: to the build alone
    out, err = process.communicate(timeout=60)
    assert process.returncode == status, (out, err)
    assert "interrupted; the previous outputs are unchanged" in err and "Traceback" not in err
    assert (root / "output" / "dossier.pdf").read_bytes() == b"the last good PDF"
    _no_process_left(process.pid)
    assert [p.name for p in scratch.iterdir()] == []


@needs_ps
@pytest.mark.parametrize("args", [["--no-such-option"], ["pdf", "--root", "/no/such/dossier"]])
def test_a_build_that_stops_before_typesetting_leaves_no_process(args):
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    out, err = process.communicate(timeout=60)
    assert process.returncode in (1, 2) and "Traceback" not in err, err
    _no_process_left(process.pid)


def test_a_long_temporary_folder_path_is_no_obstacle(tmp_path):
    """The fork server's socket lives in the temporary folder, and a socket's path is limited to
    107 bytes: a build under a long TMPDIR still typesets, and leaves that folder empty."""
    scratch = tmp_path / ("t" * 90)
    scratch.mkdir()
    root = tmp_path / "minimal"
    shutil.copytree(REPO / "tests" / "projects" / "minimal", root)
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "pdf", "--root", str(root)], capture_output=True,
                            text=True, env={**os.environ, "TMPDIR": str(scratch)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert list(scratch.iterdir()) == []
