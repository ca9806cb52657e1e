"""Batches under ``torchrun``: a worker's failed files must not stop the other workers.

torchrun's agent stops every worker as soon as one exits with a non-zero code. A worker that
failed on a broken file and exited 1 at once would kill its peers mid-file, and a rerun with
``--skip-existing`` would hit the same file again, so the batch could never finish. Each worker
therefore reports its own files (one error line per failure and a summary), then announces that
it has finished in torchrun's key-value store and waits until every worker has; only then does
it exit, with 1 if any of its files failed. torchrun's exit code says whether all went well, and
no worker is stopped before its share is done. A worker with no files announces itself at once.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import click

POLL_SECONDS = 1.0
CONNECT_SECONDS = 60.0


def under_torchrun() -> bool:
    """True in a process started by torchrun (its agent sets these variables)."""
    return all(name in os.environ for name in ("TORCHELASTIC_RUN_ID", "WORLD_SIZE",
                                               "MASTER_ADDR", "MASTER_PORT"))


def wait_for_other_workers(*, quiet: bool) -> None:
    """Under torchrun, block until every worker of this run has finished its files."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if not under_torchrun() or world_size < 2:
        return
    # imported only under torchrun: a torch built without distributed support (such builds
    # exist) has no TCPStore, and every command must still start there
    from torch.distributed import TCPStore

    try:
        store = TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]),
                         is_master=False, timeout=timedelta(seconds=CONNECT_SECONDS))
    except (RuntimeError, ValueError, OSError) as error:
        click.echo(f"restore: warning: cannot reach torchrun's store ({error}); not waiting "
                   "for the other workers", err=True)
        return
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    key = f"restore/{os.environ['TORCHELASTIC_RUN_ID']}/{attempt}/finished"
    finished = store.add(key, 1)
    if finished < world_size and not quiet:
        click.echo(f"restore: worker {os.environ.get('RANK', '?')} finished; waiting for "
                   f"{world_size - finished} other worker(s)", err=True)
    while finished < world_size:
        time.sleep(POLL_SECONDS)
        finished = store.add(key, 0)
