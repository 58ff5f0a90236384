"""The typesetting processes: jobs and their errors come back to the build; an interrupted or
abandoned build leaves no process behind and the last good PDF as it was."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dossier.workers import Workers

REPO = Path(__file__).resolve().parent.parent


def test_results_in_order_and_errors_raised_where_the_job_was_asked_for():
    with Workers(2) as workers:
        futures = [workers.start(divmod, *job) for job in [(9, 4), (10, 3), (7, 7)]]
        assert [future.result() for future in futures] == [(2, 1), (3, 1), (1, 0)]
        with pytest.raises(ZeroDivisionError):
            workers.start(divmod, 1, 0).result()
        assert workers.start(pow, 2, 10).result() == 1024  # still working after an error


def _group(pgid: int) -> list[str]:
    lines = subprocess.run(["ps", "-eo", "pgid=,args="], capture_output=True, text=True).stdout.splitlines()
    return [line for line in lines if line.split(None, 1)[0] == str(pgid)]


def test_a_process_that_forgets_to_close_them_still_ends():
    code = "import sys; sys.path.insert(0, sys.argv[1]); from dossier.workers import Workers; w = Workers(); print(w.start(abs, -1).result())"
    process = subprocess.Popen([sys.executable, "-c", code, str(REPO)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    out, err = process.communicate(timeout=60)  # does not hang waiting for the workers
    assert process.returncode == 0 and out.strip() == "1", err
    time.sleep(0.5)
    assert _group(process.pid) == []  # and leaves none of them behind


@pytest.mark.skipif(shutil.which("ps") is None, reason="needs ps")
def test_ctrl_c_during_a_build_stops_everything_cleanly(tmp_path):
    root = tmp_path / "dossier"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".git", ".venv", "output", "tests", "bench", "__pycache__"))
    first = subprocess.run([sys.executable, str(REPO / "build.py"), "pdf", "--root", str(root)], capture_output=True, timeout=300)
    assert first.returncode == 0
    before = (root / "output" / "dossier.pdf").read_bytes()
    (root / "content" / "01-context.md").write_text((root / "content" / "01-context.md").read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    shutil.rmtree(root / "output" / ".cache")  # so that every part is typeset again
    # As a terminal's Ctrl-C does: SIGINT to the whole process group, in the middle of typesetting.
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), "pdf", "--root", str(root)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(1.5)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "interrupted; the previous outputs are unchanged" in err and "Traceback" not in err
    assert (root / "output" / "dossier.pdf").read_bytes() == before
    time.sleep(0.5)
    assert _group(process.pid) == []


@pytest.mark.skipif(shutil.which("ps") is None, reason="needs ps")
@pytest.mark.parametrize("args", [["--no-such-option"], ["pdf", "--root", "/no/such/dossier"]])
def test_a_build_that_stops_before_typesetting_leaves_no_process(args):
    # build.py forks the typesetting process before it even parses its arguments.
    process = subprocess.Popen([sys.executable, str(REPO / "build.py"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    out, err = process.communicate(timeout=60)
    assert process.returncode in (1, 2) and "Traceback" not in err, err
    time.sleep(0.3)
    assert _group(process.pid) == []
