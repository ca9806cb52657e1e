"""Turn one source track into corpus clips: 48 kHz mono, trimmed, loudness-normalized, cut into
fixed-length clips with near-silent clips dropped. Runs in worker processes (numpy + torch)."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pyloudnorm
import torch

from data_prep.sources import Track
from restore import dsp
from restore.config import MODEL_RATE

FRAME_SECONDS = 0.01  # analysis frame for trimming and the silence test
FINGERPRINT_BANDS = 8
FINGERPRINT_SEGMENTS = 16


@dataclasses.dataclass(frozen=True)
class ClipOptions:
    """How tracks become clips."""

    clip_seconds: float = 4.0          # every stored clip has this length
    target_lufs: float = -23.0         # centre of the loudness target
    target_spread_lu: float = 3.0      # target drawn uniform in centre +- spread, per track
    trim_dbfs: float = -60.0           # frames quieter than this are trimmed off the ends
    silent_dbfs: float = -50.0         # frames quieter than this count as silent
    min_active_share: float = 0.5      # clips with fewer non-silent frames are dropped
    peak_ceiling: float = 0.999        # after normalization, peaks above this are scaled down
    seed: int = 0                      # drives the per-track loudness target


@dataclasses.dataclass
class TrackClips:
    """Result of processing one track: int16 clips ``[clips, frames]`` and per-clip metadata
    (``start_seconds`` in the trimmed track, fingerprint), or the reason it failed."""

    track: Track
    clips: np.ndarray | None = None
    starts: list[float] = dataclasses.field(default_factory=list)
    fingerprints: list[np.ndarray] = dataclasses.field(default_factory=list)
    target_lufs: float | None = None
    loudness_lufs: float | None = None
    seconds: float = 0.0
    error: str | None = None
    too_short: bool = False


def track_target(track_id: str, options: ClipOptions) -> float:
    """Loudness target of a track (LUFS): a function of its id and the build seed only."""
    digest = zlib.crc32(f"{options.seed}:{track_id}".encode()) / 2**32
    return options.target_lufs + options.target_spread_lu * (2.0 * digest - 1.0)


def to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 ``[frames]`` at ``rate`` -> float32 at 48 kHz (sinc resampling)."""
    if rate == MODEL_RATE:
        return samples.astype(np.float32, copy=False)
    with torch.no_grad():
        audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
        return dsp.resample(audio, rate, MODEL_RATE).numpy()


def frame_levels_db(samples: np.ndarray, rate: int = MODEL_RATE) -> np.ndarray:
    """RMS level (dBFS) of consecutive 10 ms frames."""
    size = max(1, int(rate * FRAME_SECONDS))
    count = len(samples) // size
    frames = samples[: count * size].reshape(count, size).astype(np.float64)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-20)


def trim(samples: np.ndarray, threshold_dbfs: float) -> np.ndarray:
    """Drop leading and trailing frames quieter than ``threshold_dbfs``."""
    size = int(MODEL_RATE * FRAME_SECONDS)
    loud = np.nonzero(frame_levels_db(samples) > threshold_dbfs)[0]
    if len(loud) == 0:
        return samples[:0]
    return samples[loud[0] * size: (loud[-1] + 1) * size]


def normalize_loudness(samples: np.ndarray, target_lufs: float, ceiling: float):
    """Scale to ``target_lufs`` integrated loudness (ITU-R BS.1770 via pyloudnorm), then down
    to ``ceiling`` peak if needed. Returns ``(scaled, loudness_lufs_after)``."""
    meter = pyloudnorm.Meter(MODEL_RATE)
    loudness = meter.integrated_loudness(samples.astype(np.float64))
    if not np.isfinite(loudness):
        raise ValueError("no measurable loudness (silent)")
    gain = 10.0 ** ((target_lufs - loudness) / 20.0)
    peak = float(np.max(np.abs(samples))) * gain
    if peak > ceiling:
        gain *= ceiling / peak
    return (samples * gain).astype(np.float32), loudness + 20.0 * np.log10(gain)


def fingerprint(clip: np.ndarray) -> np.ndarray:
    """Coarse content profile of an int16 clip: energies (dB) in 8 log-spaced bands over 16
    equal time segments relative to their mean, ``[128]`` float32. Copies of a clip that differ
    in gain, rounding or by tiny noise have profiles within a fraction of a dB."""
    segments = np.array_split(clip.astype(np.float32) / 32768.0, FINGERPRINT_SEGMENTS)
    rows = []
    for segment in segments:
        spectrum = np.abs(np.fft.rfft(segment)) ** 2
        edges = np.geomspace(4, len(spectrum), FINGERPRINT_BANDS + 1).astype(int)
        rows.append([spectrum[a:b].sum() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    profile = 10.0 * np.log10(np.asarray(rows, dtype=np.float64) + 1e-12)
    return (profile - profile.mean()).astype(np.float32).ravel()  # gain-invariant


class DuplicateFinder:
    """Remembers clip profiles; a clip is a duplicate when every cell of its profile lies
    within ``tolerance_db`` of a clip seen before.

    Profiles are kept in buckets by two averages of their cells, the lowest band's and the
    highest band's (profiles within the tolerance in every cell have both averages within the
    tolerance too), so a new profile is compared with the 3 x 3 neighbouring buckets only, not
    with every clip seen: rendering tens of thousands of clips stays linear."""

    def __init__(self, tolerance_db: float = 0.5) -> None:
        self.tolerance_db = tolerance_db
        self.buckets: dict[tuple[int, int], list[np.ndarray]] = {}
        self.count = 0

    def seen(self, profile: np.ndarray) -> bool:
        """True for a duplicate; otherwise remembers ``profile`` and returns False."""
        profile = np.asarray(profile, np.float32)
        cells = profile.reshape(-1, FINGERPRINT_BANDS)  # [segments, bands]
        low, high = (int(np.floor(float(cells[:, band].mean()) / self.tolerance_db))
                     for band in (0, -1))
        for key in ((low + i, high + j) for i in (-1, 0, 1) for j in (-1, 0, 1)):
            known = self.buckets.get(key)
            if known and (np.abs(np.stack(known) - profile).max(axis=1) < self.tolerance_db).any():
                return True
        self.buckets.setdefault((low, high), []).append(profile)
        self.count += 1
        return False


def cut_clips(samples: np.ndarray, options: ClipOptions) -> tuple[list[np.ndarray], list[int]]:
    """Non-overlapping clips of ``clip_seconds`` (the remainder is dropped), skipping clips
    whose share of frames above ``silent_dbfs`` is below ``min_active_share``."""
    length = int(round(options.clip_seconds * MODEL_RATE))
    clips, starts = [], []
    for start in range(0, len(samples) - length + 1, length):
        clip = samples[start:start + length]
        if np.mean(frame_levels_db(clip) > options.silent_dbfs) >= options.min_active_share:
            clips.append(clip)
            starts.append(start)
    return clips, starts


def process_track(track: Track, options: ClipOptions) -> TrackClips:
    """Load, resample, trim, normalize and cut ``track``; failures are reported, not raised."""
    torch.set_num_threads(1)
    result = TrackClips(track=track)
    try:
        samples, rate = track.load()
        samples = trim(to_model_rate(np.asarray(samples, dtype=np.float32), rate),
                       options.trim_dbfs)
        if len(samples) < options.clip_seconds * MODEL_RATE:
            result.too_short = True  # not an error: nothing to cut
            return result
        result.target_lufs = track_target(track.track, options)
        samples, result.loudness_lufs = normalize_loudness(samples, result.target_lufs,
                                                           options.peak_ceiling)
    except Exception as error:  # noqa: BLE001 - any unreadable source is skipped and counted
        result.error = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        return result
    result.seconds = len(samples) / MODEL_RATE
    clips, starts = cut_clips(samples, options)
    if clips:
        result.clips = np.round(np.stack(clips) * 32767.0).clip(-32768, 32767).astype(np.int16)
        result.starts = [start / MODEL_RATE for start in starts]
        result.fingerprints = [fingerprint(clip) for clip in result.clips]
    return result
