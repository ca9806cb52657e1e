"""The Python API's surface: lazy exports, input checks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import restore
from restore.errors import RestoreError


@pytest.mark.slow
def test_import_restore_is_cheap_and_exports_are_lazy():
    code = ("import sys, restore; assert 'torch' not in sys.modules; "
            "f = restore.inpaint; assert 'torch' in sys.modules; print(restore.__version__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert {"inpaint", "upsample", "transition"} <= set(dir(restore))


def test_unknown_attribute_still_fails():
    with pytest.raises(AttributeError):
        restore.no_such_thing  # noqa: B018


def test_bad_arrays_are_refused_clearly():
    with pytest.raises(RestoreError, match="NaN"):
        restore.inpaint(np.array([[0.0, np.nan]]), 8000, [], method="classical")
    with pytest.raises(RestoreError, match="channels, frames"):
        restore.upsample(np.zeros((1, 1, 5)), 8000, method="classical")
    with pytest.raises(ValueError, match="method"):
        restore.inpaint(np.zeros((1, 100)), 8000, [], method="magic")


def test_classical_methods_need_no_model():
    rate = 8000
    audio = np.sin(np.arange(rate) * 2 * np.pi * 300 / rate).astype(np.float32)[None] * 0.5
    upsampled = restore.upsample(audio, rate, 16000, method="classical")
    assert upsampled.shape == (1, 16000)
    filled = restore.inpaint(audio, rate, [(0.5, 0.51)], method="classical")
    assert filled.shape == audio.shape


def test_frames_first_and_integer_arrays():
    """soundfile's [frames, channels] arrays come back in that layout; int16 is scaled."""
    rate = 4410
    stereo = np.stack([np.sin(np.arange(rate) * 2 * np.pi * f / rate) for f in (300, 500)])
    as_int16 = np.round(0.5 * stereo.T * 32767).astype(np.int16)  # [frames, channels]
    upsampled = restore.upsample(as_int16, rate, 2 * rate, method="classical")
    assert upsampled.shape == (2 * rate, 2) and upsampled.dtype == np.float32
    assert 0.45 < np.abs(upsampled).max() < 0.55  # scaled to full scale, not 16384.0
    reference = restore.upsample(0.5 * stereo, rate, 2 * rate, method="classical")
    np.testing.assert_allclose(upsampled, reference.T, atol=1e-3)
    filled = restore.inpaint(as_int16, rate, [(0.5, 0.51)], method="classical")
    assert filled.shape == (rate, 2)
    with pytest.raises(RestoreError, match="ambiguous"):
        restore.upsample(np.zeros((100, 100), np.float32), rate, method="classical")
