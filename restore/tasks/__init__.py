"""Restoration tasks: inpaint, upsample, transition (see restore.api for the Python API)."""
