"""Everything that touches files.

``restore.io`` itself is the audio file API (:mod:`restore.io.audio`): ``load``, ``save``,
``read_info``, ``iter_blocks``, :class:`AudioWriter`. Beside it: :mod:`~restore.io.decode` (PyAV
for what libsndfile cannot read), :mod:`~restore.io.formats` (containers, subtypes, errors),
:mod:`~restore.io.writer` (block-wise atomic writing), :mod:`~restore.io.riff` (Broadcast WAV
chunks), :mod:`~restore.io.sidecar` (the ``.restore.json`` record) and :mod:`~restore.io.atomic`
(the one write-to-a-temporary-and-rename helper). See docs/io.md.
"""

from restore.io.audio import (
    READABLE_EXTENSIONS,
    AudioInfo,
    AudioWriter,
    check_output_path,
    describe_error,
    iter_blocks,
    load,
    read_info,
    save,
)

__all__ = ["READABLE_EXTENSIONS", "AudioInfo", "AudioWriter", "check_output_path",
           "describe_error", "iter_blocks", "load", "read_info", "save"]
