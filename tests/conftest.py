"""Fixtures shared by the tests that build the minimal project."""
import shutil

import pytest

from projectrun import PROJECT, SAME_DATE, run_process


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The minimal project, built once; tests copy it before changing anything."""
    root = tmp_path_factory.mktemp("built") / "minimal"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("output"))
    result = run_process(root, env=SAME_DATE)  # the first build as a user runs it
    assert result.returncode == 0, result.stderr
    return root, result


@pytest.fixture
def project(built, tmp_path):
    root = tmp_path / "minimal"
    shutil.copytree(built[0], root)
    return root
