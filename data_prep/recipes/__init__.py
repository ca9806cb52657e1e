"""Built-in corpus recipes: lists of :class:`data_prep.sources.Track` from the sources we may
use (Debian packages, music21 scores, speech synthesizers). Each recipe is
``recipe(seed, limit) -> list[Track]``; ``limit`` caps the number of generated tracks where
tracks are generated (scores, speech), and is ignored for packaged recordings."""

from __future__ import annotations

from collections.abc import Callable

from data_prep.recipes.packaged import module_tracks, music_package_tracks, sonic_pi_tracks
from data_prep.recipes.scores import score_tracks
from data_prep.recipes.speech import speech_tracks
from data_prep.sources import Track

RECIPES: dict[str, Callable[[int, int | None], list[Track]]] = {
    "packaged-music": music_package_tracks,
    "tracker-modules": module_tracks,
    "sonic-pi": sonic_pi_tracks,
    "speech": speech_tracks,
    "music21": score_tracks,
}
