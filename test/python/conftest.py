import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "aarch64: runs AArch64 code under qemu-aarch64")


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch):
    # Two cores, shared: keep OpenMP from oversubscribing when tests run.
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))
