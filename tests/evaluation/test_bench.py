import math

from evaluation import bench
from restore.checkpoint import random_model


def test_dropouts_are_evenly_spread_and_inside_the_input():
    gaps = bench.dropouts(3600.0)
    assert len(gaps) == bench.DROPOUTS
    assert all(0 < start < end <= 3600.0 for start, end in gaps)
    assert all(abs((end - start) - bench.DROPOUT_SECONDS) < 1e-9 for start, end in gaps)
    assert len(bench.dropouts(1.0)) == 2  # short inputs get fewer, never overlapping gaps


def test_bench_rows_flops_and_table():
    model = random_model()
    result = bench.run_bench(model, device="cpu", steps=(1,), lengths_seconds=(0.5,),
                             tasks=("inpaint",))
    (row,) = result["rows"]
    assert row["task"] == "inpaint" and row["input_seconds"] == 0.5
    assert row["x_realtime"] > 0 and row["peak_rss_mb"] > 0 and row["peak_gpu_mb"] == 0
    (flops,) = result["flops"]
    assert flops["flops_per_audio_second"] > 1e6  # a U-Net call on 48000 samples
    assert math.isclose(flops["achieved_flops_per_second"],
                        flops["flops_per_audio_second"] * row["x_realtime"])
    assert 0 < flops["fraction_of_peak"] < 1
    table = bench.markdown_table(result)
    lines = table.splitlines()
    for header_start in ("| task | steps | input s", "| task | steps | GFLOP"):
        header = next(i for i, line in enumerate(lines) if line.startswith(header_start))
        assert lines[header + 2].startswith("| inpaint | 1 |")
        assert lines[header + 2].count("|") == lines[header].count("|")


def test_flops_grow_with_steps():
    model = random_model()
    one = bench.flops_per_audio_second(model, 1, "upsample", "cpu")
    two = bench.flops_per_audio_second(model, 2, "upsample", "cpu")
    assert 1.8 < two / one < 2.2  # one network call per dpm++ 2M step
