"""Research scripts and one-off experiments: not part of the installed package.

Run them from the repository root, as ``python -m tools.<name>`` (or ``python tools/<name>.py``
for the scripts that say so in their docstring); each one's docstring gives its command.
"""
