import numpy as np
import pytest

from evaluation.cases import bandwidth_case, inpaint_case, transition_case
from evaluation.methods import BASELINES, ModelMethod, baseline
from evaluation.synthetic import synthetic_music
from restore.checkpoint import random_model


@pytest.fixture(scope="module")
def cases():
    clip = synthetic_music(0.5, 7)[None]
    return {
        "inpaint": inpaint_case(clip, 0, 20, np.random.default_rng(0)),
        "bandwidth": bandwidth_case(clip, 0, 16000, False),
        "transition": transition_case(clip, 0, 0.2),
    }


def test_every_baseline_returns_the_reference_shape_and_keeps_known_audio(cases):
    for task, names in BASELINES.items():
        case = cases[task]
        for name in names:
            output = baseline(task, name)(case)
            assert output.shape == case.reference.shape and np.all(np.isfinite(output))
            if case.region is not None:
                start, end = case.region
                np.testing.assert_array_equal(output[:, :start], case.reference[:, :start])
                np.testing.assert_array_equal(output[:, end:], case.reference[:, end:])


@pytest.mark.parametrize("via", ["generate", "api"])
def test_model_method_fills_only_the_gap(cases, via):
    case = cases["inpaint"]
    output = ModelMethod(random_model(), steps=1, via=via)(case)
    start, end = case.region
    margin = 48  # 1 ms: the task API may crossfade the fill in over a short margin
    assert output.shape == case.reference.shape
    np.testing.assert_allclose(output[:, : start - margin], case.reference[:, : start - margin],
                               atol=1e-6)
    np.testing.assert_allclose(output[:, end + margin :], case.reference[:, end + margin :],
                               atol=1e-6)
    assert np.any(output[:, start:end] != 0)  # something was generated
