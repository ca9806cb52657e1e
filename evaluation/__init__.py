"""Evaluation: metrics, cases, baselines vs the model, reports (``python -m evaluation``)."""
