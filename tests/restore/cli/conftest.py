"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import os
import subprocess

import pytest


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 256 kB file system (tmpfs) to fill up: needs root and ``mount``, else skip."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
            capture_output=True).returncode != 0:
        pytest.skip("needs root and mount to make a small real file system")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)
