#!/usr/bin/env bash
# One slice of the training campaign on a lent GPU machine (docs/model.md, "Training in slices").
#
# Carried (ignored paths): .whl (soundfile, cffi, pycparser, pyloudnorm, tinysoundfont wheels),
# .device_data/bundle (data_prep make-bundle), optionally .device_data/pack (a data_prep pack of
# real recordings, merged into the training corpus) and .device_data/run_carry (the previous
# slice's small files, for a fresh machine). On a warm machine the rendered corpus, earlier packs,
# the exact training state and the compile cache are still there from the last slice.
#
# Environment: SLICE_SECONDS (wall budget of the whole command, default 570), CONFIG, RUN
# (run folder), INIT_FROM (model for a new run), DEVICE (auto), GPUS (default: all visible).
set -uo pipefail
start=$(date +%s)
SLICE_SECONDS=${SLICE_SECONDS:-570}
CONFIG=${CONFIG:-restore/configs/default.json}
RUN=${RUN:-runs/default}
# the campaign's latest weights when they are kept (tools/campaign), else the shipped model;
# empty: a run from scratch
CAMPAIGN=tools/campaign/model.safetensors
[ -f "$CAMPAIGN" ] || CAMPAIGN=restore/models/default.safetensors
INIT_FROM=${INIT_FROM-$CAMPAIGN}
DEVICE=${DEVICE:-auto}
STORE=work_data/device  # rendered corpus and packs seen, kept while the machine stays warm
BUNDLE=${BUNDLE:-.device_data/bundle}
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1

if [ -d .whl ] && [ -z "${NO_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
GPUS=${GPUS:-$(python3 -c 'import torch; print(max(1, torch.cuda.device_count()))')}
CORES=$(nproc)
mkdir -p "$STORE/packs" "$RUN"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null

# 1. training corpus: the rendered bundle (once per machine) plus every pack seen so far
if [ ! -f "$STORE/rendered/manifest.json" ] || ! grep -q '"complete": true' "$STORE/rendered/manifest.json"; then
  t0=$(date +%s)
  python3 -m data_prep render-bundle "$BUNDLE" --out "$STORE/rendered" --workers "$CORES" --quiet || exit 1
  echo "slice: rendered the bundle in $(( $(date +%s) - t0 )) s"
fi
if [ -f .device_data/pack/manifest.json ]; then
  name=pack-$(sha256sum .device_data/pack/manifest.json | cut -c1-12)
  [ -d "$STORE/packs/$name" ] || cp -r .device_data/pack "$STORE/packs/$name"
fi
rm -rf "$STORE/corpus"
python3 -m data_prep merge "$STORE/rendered" "$STORE"/packs/pack-* --out "$STORE/corpus" >/dev/null 2>&1 \
  || python3 -m data_prep merge "$STORE/rendered" --out "$STORE/corpus" >/dev/null || exit 1
python3 -m data_prep stats "$STORE/corpus" | head -5

# 2. the run: exact state if this machine has it, else the carried compact state, else a new run
if [ ! -f "$RUN/train_state.pt" ] && [ -f .device_data/run_carry/resume.safetensors ]; then
  cp .device_data/run_carry/* "$RUN"/
fi
if [ -f "$RUN/train_state.pt" ] || [ -f "$RUN/resume.safetensors" ]; then
  how=(--resume)
else
  how=()
  [ -n "$INIT_FROM" ] && how=(--init-from "$INIT_FROM")
  [ -f .device_data/run_carry/compile_cache.bin ] && cp .device_data/run_carry/compile_cache.bin "$RUN"/
fi
# the compile cache of an earlier machine, carried in compressed parts (below)
if [ ! -f "$RUN/compile_cache.bin" ] && ls .device_data/run_carry/compile_cache.xz.part-* >/dev/null 2>&1; then
  cat .device_data/run_carry/compile_cache.xz.part-* | python3 -c \
    'import lzma, sys; sys.stdout.buffer.write(lzma.decompress(sys.stdin.buffer.read()))' \
    > "$RUN/compile_cache.bin" && echo "slice: compile cache restored ($(stat -c %s "$RUN/compile_cache.bin") bytes)"
fi
left=$(( SLICE_SECONDS - ($(date +%s) - start) - 35 ))  # 35 s: checkpoint, cache, copy back
minutes=$(python3 -c "print(round($left / 60, 2))")
echo "slice: training for $minutes min on $GPUS GPU(s): ${how[*]}"
if [ "$GPUS" -gt 1 ]; then
  launcher=(torchrun --standalone --nproc_per_node "$GPUS" -m restore)
else
  launcher=(python3 -m restore)
fi
"${launcher[@]}" -q train --data "$STORE/corpus" --config "$CONFIG" --out "$RUN" \
  "${how[@]}" --max-minutes "$minutes" --device "$DEVICE"
echo "slice: train exit $?"

# 3. what comes back (at most 8 files of 16 MiB)
grep -E '"event": "(val|data|resume|stop|compile_cache)"' "$RUN/metrics.jsonl" | tail -8
tail -3 "$RUN/train_log.csv"
ls -l "$RUN"  # what the run folder holds (files of 16 MB and more do not come back)
if [ -n "${OUT:-}" ]; then
  for file in model.safetensors model.json resume.safetensors train_log.csv metrics.jsonl compile_cache.bin; do
    [ -f "$RUN/$file" ] && [ "$(stat -c %s "$RUN/$file")" -lt 16000000 ] && cp "$RUN/$file" "$OUT"/
  done
  # a larger compile cache (78 MB in the distillation slices) comes back compressed, in parts
  # of 15 MB: carry them in .device_data/run_carry for the next fresh machine
  if [ -f "$RUN/compile_cache.bin" ] && [ "$(stat -c %s "$RUN/compile_cache.bin")" -ge 16000000 ]; then
    python3 -c 'import lzma, sys; sys.stdout.buffer.write(lzma.compress(sys.stdin.buffer.read(), preset=1))' \
      < "$RUN/compile_cache.bin" | split -b 15000000 -d - "$OUT/compile_cache.xz.part-"
    ls -l "$OUT"/compile_cache.xz.part-*
  fi
fi
echo "slice: done in $(( $(date +%s) - start )) s"
