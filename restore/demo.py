"""``python -m restore.demo``: the README's demo (replaced by a real restoration once a model ships)."""

from __future__ import annotations

import sys

from restore.cli import main

if __name__ == "__main__":
    sys.argv = ["restore", "--help"]
    main()
