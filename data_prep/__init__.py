"""Training data for restore: corpora (``python -m data_prep corpus``), seeded torch
degradations (:mod:`data_prep.degradations`), training pairs (:func:`data_prep.pairs.make_batch`)
and the training Dataset (:class:`data_prep.dataset.ClipDataset`). See docs/data.md."""
