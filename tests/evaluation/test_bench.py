import math

import pytest

from evaluation import bench
from restore.checkpoint import random_model
from restore.diffusion import precision


def test_dropouts_are_evenly_spread_and_inside_the_input():
    gaps = bench.dropouts(3600.0)
    assert len(gaps) == bench.DROPOUTS
    assert all(0 < start < end <= 3600.0 for start, end in gaps)
    assert all(abs((end - start) - bench.DROPOUT_SECONDS) < 1e-9 for start, end in gaps)
    assert len(bench.dropouts(1.0)) == 2  # short inputs get fewer, never overlapping gaps


@pytest.mark.slow
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


@pytest.mark.slow
def test_flops_grow_with_steps():
    model = random_model()
    one = bench.flops_per_audio_second(model, 1, "upsample", "cpu")
    two = bench.flops_per_audio_second(model, 2, "upsample", "cpu")
    assert 1.8 < two / one < 2.2  # one network call per dpm++ 2M step



def test_settings_are_every_combination_and_rows_say_what_ran(monkeypatch):
    assert len(bench.settings(("fp32", "bf16"), (2, None), (False, True))) == 8
    assert bench.Setting().resolved("cpu") == {"precision": "fp32", "batch_size": 4,
                                               "compile": False}
    # a CPU without a C++ compiler: compile is ignored, and the row says so
    monkeypatch.setattr(bench, "compile_supported", lambda device: False)
    monkeypatch.setattr(precision, "compile_supported", lambda device: False)
    row = bench.time_task("inpaint", 0.5, random_model(), 1, "cpu",
                          bench.Setting("bf16", 1, compile=True))
    assert (row["precision"], row["batch_size"], row["compile"]) == ("bf16", 1, False)
    assert row["x_realtime"] > 0
    # the loop, with the measurements faked: one warm-up per setting, every setting's rows
    warmed = []
    monkeypatch.setattr(bench, "warm_up", lambda task, model, steps, device, setting:
                        warmed.append(setting) or 1.5)
    monkeypatch.setattr(bench, "time_task", lambda task, seconds, model, steps, device, setting:
                        {**row, "input_seconds": seconds, **setting.resolved(device)})
    monkeypatch.setattr(bench, "measured_peak_flops", lambda device: 1e12)
    monkeypatch.setattr(bench, "flops_per_audio_second", lambda *args: 1e9)
    chosen = bench.settings(("fp32", "bf16"), (2,))
    result = bench.run_bench(None, device="cpu", steps=(1,), lengths_seconds=(0.5, 1.0),
                             tasks=("inpaint",), setting_list=chosen, warmup=True)
    assert warmed == chosen
    assert [(r["precision"], r["input_seconds"]) for r in result["rows"]] == [
        ("fp32", 0.5), ("fp32", 1.0), ("bf16", 0.5), ("bf16", 1.0)]
    assert all(r["warmup_seconds"] == 1.5 and r["batch_size"] == 2 for r in result["rows"])
    table = bench.markdown_table(result).splitlines()
    header = next(i for i, line in enumerate(table) if line.startswith("| task | steps | input"))
    assert table[header].endswith("| precision | batch | compiled | warm-up s |")
    assert table[header + 2].endswith("| fp32 | 2 | no | 1.5 |")
    assert table[header + 2].count("|") == table[header].count("|")
    # by default a CPU warms up only the settings that compile (where a compiler exists)
    monkeypatch.setattr(bench, "compile_supported", lambda device: True)
    warmed.clear()
    both = bench.settings(("fp32",), (2,), (False, True))
    bench.run_bench(None, device="cpu", steps=(1,), lengths_seconds=(0.5,), tasks=("inpaint",),
                    setting_list=both)
    assert warmed == [both[1]] and both[1].compile
