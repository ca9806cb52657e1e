"""Sharding a batch across processes (--shard K/N, or auto under torchrun)."""

import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
import soundfile as sf

from restore.cli.batch import InputItem, parse_shard, select_shard

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it


def test_shards_partition_the_items():
    items = [InputItem(Path(f"{index}.wav"), Path(f"{index}.wav")) for index in range(7)]
    shards = [select_shard(items, (index, 3)) for index in range(3)]
    assert sorted(item.path.name for shard in shards for item in shard) == sorted(
        item.path.name for item in items)
    assert [len(shard) for shard in shards] == [3, 2, 2]
    assert select_shard(items, None) == items


def test_parse_shard(monkeypatch):
    assert parse_shard("1/4") == (1, 4)
    assert parse_shard(None) is None
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert parse_shard("auto") is None
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert parse_shard("auto") == (1, 2)
    for bad in ("2/2", "x", "1/0"):
        with pytest.raises(click.BadParameter):
            parse_shard(bad)


def test_torchrun_workers_share_a_folder(tmp_path):
    """Two processes launched by torchrun each take half of a folder; every file done once."""
    source = tmp_path / "in" / "sub"
    source.mkdir(parents=True)
    tone = (0.1 * np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440)).astype(np.float32)
    for index in range(5):
        sf.write(source / f"take{index}.wav", tone, 8000, subtype="PCM_16")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", "-m", "restore", "-q", "upsample", str(tmp_path / "in"),
               "-r", "-o", str(out), "--rate", "16000", "--method", "classical", "--shard", "auto"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    written = sorted(path.name for path in (out / "sub").glob("*.wav"))
    assert written == [f"take{index}.wav" for index in range(5)]
    assert all(sf.info(str(out / "sub" / name)).samplerate == 16000 for name in written)


def test_torchrun_batch_with_a_broken_file_finishes_every_other_file(tmp_path):
    """A broken file fails on one worker; that worker waits for the other before exiting 1,
    so torchrun stops no one mid-file: every good file is written, with its sidecar."""
    source = tmp_path / "in"
    source.mkdir()
    tone = (0.1 * np.sin(np.arange(16000) / 8000 * 2 * np.pi * 440)).astype(np.float32)
    for index in range(4):
        sf.write(source / f"take{index}.wav", tone, 8000, subtype="PCM_16")
    (source / "broken.wav").write_text("not audio")  # sorted first: worker 0 fails at once
    out = tmp_path / "out"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", "-m", "restore", "upsample", str(source), "-r", "-o",
               str(out), "--rate", "16000", "--method", "classical", "--shard", "auto",
               "--skip-existing"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0  # torchrun reports that a file failed
    assert f"restore: error: {source / 'broken.wav'}: not audio" in result.stderr
    assert "restore: 2 of 3 files done (this shard of 5), 1 failed" in result.stderr
    written = sorted(path.name for path in out.iterdir())
    assert written == sorted([f"take{index}.wav" for index in range(4)]
                             + [f"take{index}.wav.restore.json" for index in range(4)])
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.stderr.count("skipped (exists)") == 4  # a rerun redoes nothing that is done


def test_a_shard_with_nothing_to_do_succeeds(tmp_path):
    source = tmp_path / "only.wav"
    sf.write(source, np.zeros(800, np.float32), 8000, subtype="PCM_16")
    command = [sys.executable, "-m", "restore", "upsample", str(source), "-o",
               str(tmp_path / "out.wav"), "--rate", "16000", "--method", "classical"]
    idle = subprocess.run([*command, "--shard", "1/2"], capture_output=True, text=True)
    assert idle.returncode == 0, idle.stderr
    assert "this shard has none of the 1 input files" in idle.stderr
    busy = subprocess.run([*command, "--shard", "0/2"], capture_output=True, text=True)
    assert busy.returncode == 0, busy.stderr
    assert sf.info(str(tmp_path / "out.wav")).samplerate == 16000
