"""Restoration tasks, one pipeline each over a source/sink pair (:mod:`restore.tasks.source`):
inpaint, bandwidth (``restore upsample``), transition, repair (declick, declip)."""
