"""The training loop behind ``restore train``: :func:`restore.training.loop.train`."""
