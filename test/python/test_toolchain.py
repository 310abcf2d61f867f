"""Tool lookup: an environment override takes effect whenever it is set."""

from __future__ import annotations

from pathlib import Path

from pconv.toolchain import tool


def test_env_override_is_read_at_every_call(monkeypatch, tmp_path):
    monkeypatch.delenv("PCONV_OPT", raising=False)
    found = tool("pconv-opt")  # the search result, cached from here on
    assert Path(found).exists()
    other = tmp_path / "pconv-opt"
    monkeypatch.setenv("PCONV_OPT", str(other))
    # Set after the first lookup in this process: an A/B of two builds in one
    # process must compile the second with the second build.
    assert tool("pconv-opt") == str(other)
    monkeypatch.delenv("PCONV_OPT")
    assert tool("pconv-opt") == found
