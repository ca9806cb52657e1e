"""What upsampling keeps and what it generates (restore.tasks.bandwidth.band_plan)."""

from __future__ import annotations

import numpy as np
import pytest

from restore import dsp
from restore.tasks.bandwidth import GENERATE_MIN_EDGE_DBFS, BandPlan, band_plan


def low_gain(plan: BandPlan, rate: int, frequency_hz: float) -> float:
    """Gain of the crossover's low-pass (the share taken from the input) at ``frequency_hz``."""
    kernel = dsp.lowpass_kernel(plan.cutoff_hz, rate, plan.transition_hz)[0, 0].double().numpy()
    response = np.abs(np.fft.rfft(kernel, 1 << 18))
    return float(response[round(frequency_hz / rate * (1 << 18))])


@pytest.mark.parametrize("rate", [8000, 16_000, 22_050, 44_100])
def test_rate_increase_keeps_the_input_to_ninety_percent_of_its_nyquist(rate):
    plan = band_plan(rate, 48_000, rate / 2)
    nyquist = min(rate, 48_000) / 2
    assert plan.generate and plan.keep_hz == pytest.approx(0.9 * nyquist)
    assert low_gain(plan, 48_000, plan.keep_hz) == pytest.approx(1.0, abs=2e-4)
    assert low_gain(plan, 48_000, plan.keep_hz - 50) == pytest.approx(1.0, abs=1e-6)
    assert plan.cutoff_hz + plan.transition_hz / 2 <= 0.945 * nyquist  # resampler's -6 dB


def test_a_band_limited_input_is_kept_to_its_edge_wholly():
    plan = band_plan(44_100, 44_100, 16_000.0, -40.0)
    assert plan.generate and plan.keep_hz == 16_000.0
    assert low_gain(plan, 44_100, 16_000.0) == pytest.approx(1.0, abs=2e-4)


def test_nothing_is_generated_for_full_band_inputs_without_a_rate_increase():
    assert not band_plan(48_000, 48_000, None).generate
    assert not band_plan(96_000, 48_000, 48_000.0).generate
    assert not band_plan(48_000, 44_100, 24_000.0).generate


def test_a_codec_edge_with_faint_content_below_keeps_the_decode():
    for edge, bar in ((8000.0, GENERATE_MIN_EDGE_DBFS[0]), (16_000.0, GENERATE_MIN_EDGE_DBFS[1])):
        assert not band_plan(44_100, 44_100, edge, bar - 1).generate
        assert band_plan(44_100, 44_100, edge, bar + 1).generate
    faint = GENERATE_MIN_EDGE_DBFS[0] - 1
    assert band_plan(44_100, 44_100, 8000.0, None).generate  # --cutoff given by hand
    # a low-rate input's resampler edge is no codec edge: its band is generated
    assert band_plan(8000, 48_000, 3781.0, faint).generate
