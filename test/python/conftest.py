import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "aarch64: runs AArch64 code under qemu-aarch64")


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch):
    # Two cores, shared: keep OpenMP from oversubscribing when tests run.
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))


@pytest.fixture(scope="session", autouse=True)
def _temporary_files_under_pytest(tmp_path_factory):
    # Work and repro directories of compilations the tests make fail (and
    # anything else made with tempfile, in this process or in a CLI child) go
    # under pytest's own temporary tree, which pytest prunes, not into /tmp.
    import tempfile

    root = tmp_path_factory.mktemp("tmp")
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)
    yield
    tempfile.tempdir = saved_dir
    if saved_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved_env
