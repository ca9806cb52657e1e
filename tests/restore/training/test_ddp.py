"""DistributedDataParallel on CPU: two gloo processes train in lock-step."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from restore.training import distributed
from restore.training.loop import Trainer, TrainOptions
from restore.training.state import step_generator

pytestmark = pytest.mark.slow  # make check leaves it out; make test runs it


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _worker(rank: int, out_dir: str, port: int) -> None:
    from test_train import factory, tiny_run  # same synthetic data and tiny config

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    processes = distributed.start("cpu")
    try:
        options = TrainOptions(out_dir=Path(out_dir) / "run", device="cpu")
        trainer = Trainer(tiny_run(total_steps=3, batch_size=2), factory, options, processes,
                          None)
        generator = step_generator(trainer.train_config.seed, rank, 0, torch.device("cpu"))
        first_batch = factory("train", 0).draw(generator, 2)  # what this rank trains on first
        trainer.run()
        torch.save({"network": trainer.network.state_dict(), "batch": first_batch},
                   Path(out_dir) / f"rank{rank}.pt")
    finally:
        distributed.stop()


def test_two_cpu_processes_stay_in_sync(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path), _free_port()), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1)]
    assert not torch.equal(ranks[0]["batch"], ranks[1]["batch"])  # each rank its own data
    for name, weight in ranks[0]["network"].items():
        assert torch.equal(weight, ranks[1]["network"][name]), name  # averaged gradients
    assert (tmp_path / "run" / "model.safetensors").exists()
    assert (tmp_path / "run" / "train_state.pt").exists()
