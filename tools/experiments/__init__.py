"""Experiments whose results are in docs/ (each docstring gives the command and the finding)."""
