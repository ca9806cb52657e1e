"""The click group of ``python -m data_prep`` and a progress-bar callback."""

from __future__ import annotations

import click
from tqdm import tqdm


@click.group()
def main() -> None:
    """Data preparation for restore: corpora, packing, bundles and training pairs."""


class Progress:
    """A ``callback(done, total, label)`` that draws a tqdm bar on stderr."""

    def __init__(self, description: str, quiet: bool = False) -> None:
        self.bar: tqdm | None = None
        self.description, self.quiet = description, quiet

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.description, unit="track", file=None)
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(label[-40:])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
