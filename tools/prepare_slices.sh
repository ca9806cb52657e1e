#!/usr/bin/env bash
# Everything a session needs here before its GPU slices (docs/model.md, "Training in slices"),
# on a fresh checkout: the synthesizers and packaged audio (Debian), the data extras, the local
# corpus, the bundle, packs of real recordings and the wheels the GPU machine lacks.
# Resumable: each step is skipped when its output is there. Measured piecewise on the 2-core
# machine (2026-12-01): Debian packages 3 min, corpus 17 min, bundle 3.5 min, packs 16 min (with
# an evaluation running beside them): start it first.
#
#   bash tools/prepare_slices.sh            # then: carry [".whl", ".device_data"]
#
# The bundle and wheels come before the corpus, so call 1 can start while the packs build.
# Afterwards .device_data/bundle is the bundle (call 1 of a fresh machine); copy one of
# work_data/packs/pack-NNN to .device_data/pack (replacing the bundle) for each later call.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PACKS=${PACKS:-3}

if ! command -v fluidsynth >/dev/null || [ ! -d /usr/share/games/warzone2100 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q fluidsynth fluid-soundfont-gm \
    fluidr3mono-gm-soundfont timgm6mb-soundfont fb-music-high warzone2100-music ufoai-music \
    nexuiz-music hyperrogue-music singularity-music sonic-pi-samples espeak-ng festival \
    festvox-us-slt-hts festvox-kallpc16k openmpt123 >/dev/null
fi
[ -x "$PY" ] || make .venv/.installed-dev
# tinysoundfont's metadata asks for pyaudio, which it does not import and which does not build here
"$PY" -c 'import music21, mido' 2>/dev/null || "$PY" -m pip install -q "music21>=9" "mido>=1.3"
"$PY" -c 'import tinysoundfont' 2>/dev/null || "$PY" -m pip install -q --no-deps tinysoundfont

[ -f work_data/bundle/bundle.json ] || "$PY" -m data_prep make-bundle work_data/bundle --scores 400 --variants 3
if [ ! -d .whl ]; then
  for package in soundfile cffi pycparser pyloudnorm tinysoundfont; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d .whl "$package"
  done
fi
if [ ! -d .device_data/bundle ] && [ ! -d .device_data/pack ]; then
  mkdir -p .device_data
  cp -r work_data/bundle .device_data/bundle
  rm -rf .device_data/bundle/recordings  # 64 MiB travel per call: the bundle or a pack, not both
fi
if ! grep -qs '"complete": true' corpus/manifest.json; then
  nice -n 10 "$PY" -m data_prep corpus --out corpus --workers 2 --recipe packaged-music
  nice -n 10 "$PY" -m data_prep corpus --out corpus --workers 2 --recipe sonic-pi --recipe tracker-modules
  nice -n 10 "$PY" -m data_prep corpus --out corpus --workers 2 --recipe speech --limit 60
  nice -n 10 "$PY" -m data_prep corpus --out corpus --workers 2 --recipe music21 --limit 150
fi
[ -d work_data/packs/pack-000 ] || "$PY" -m tools.recordings_pack corpus work_data/packs --mib 34 \
  --count "$PACKS" --renders
du -sh .device_data .whl
