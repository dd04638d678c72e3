"""Mock data generator: determinism, split invariance, signal character, gaps, overrides and spec errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scald_monitor.mock.generate import (
    BLOCK,
    DEFAULT_TAG_VALUES,
    SpecError,
    generate_columns,
    generate_rows,
    tag_values_from,
    validate_spec,
)

T0 = 1187008882.0  # GW170817, a typical GPS time
SIGNALS = ["sine", "random_walk", "steps", "spikes", "constant"]


def one(data, tags=()):
    """(time, values of the only column) for one tag tuple."""
    block = data[tags]
    (values,) = block["fields"].values()
    return block["time"], values


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key]["time"], b[key]["time"])
        assert a[key]["fields"].keys() == b[key]["fields"].keys()
        for col in a[key]["fields"]:
            np.testing.assert_array_equal(a[key]["fields"][col], b[key]["fields"][col])


def concat(parts):
    out = {}
    for key in parts[0]:
        out[key] = {
            "time": np.concatenate([p[key]["time"] for p in parts]),
            "fields": {c: np.concatenate([p[key]["fields"][c] for p in parts]) for c in parts[0][key]["fields"]},
        }
    return out


# ------------------------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("signal", SIGNALS)
def test_same_arguments_same_samples(signal):
    kwargs = dict(tags=("job",), tag_values=[("0000",), ("0001",)], spec={"signal": signal, "spike_rate": 60})
    a = generate_columns("latency", ["a", "b"], T0, T0 + 3600, **kwargs)
    b = generate_columns("latency", ["a", "b"], T0, T0 + 3600, **kwargs)
    assert_same(a, b)


def test_seed_measurement_tag_and_column_change_the_values():
    base = one(generate_columns("m", ["a"], T0, T0 + 100))[1]
    assert not np.array_equal(base, one(generate_columns("m", ["a"], T0, T0 + 100, seed=1))[1])
    assert not np.array_equal(base, one(generate_columns("n", ["a"], T0, T0 + 100))[1])
    assert not np.array_equal(base, one(generate_columns("m", ["b"], T0, T0 + 100))[1])
    by_tag = generate_columns("m", ["a"], T0, T0 + 100, tags=("job",), tag_values=[("0000",), ("0001",)])
    assert not np.array_equal(by_tag[("0000",)]["fields"]["a"], by_tag[("0001",)]["fields"]["a"])


def test_columns_do_not_depend_on_which_others_are_asked_for():
    both = generate_columns("m", ["a", "b"], T0, T0 + 100)[()]["fields"]
    np.testing.assert_array_equal(both["b"], generate_columns("m", ["b"], T0, T0 + 100)[()]["fields"]["b"])


@settings(max_examples=150, deadline=None)
@given(
    start=st.floats(min_value=-5000, max_value=5000, allow_nan=False),
    lengths=st.lists(st.floats(min_value=0, max_value=3 * BLOCK, allow_nan=False), min_size=1, max_size=4),
    rate=st.sampled_from([1.0, 16.0, 0.1, 1 / 3, 3.7]),
    signal=st.sampled_from(SIGNALS),
    base=st.sampled_from([0.0, T0]),
)
def test_split_invariance(start, lengths, rate, signal, base):
    spec = {
        "signal": signal,
        "period": 97.3,
        "step_every": 41,
        "spike_rate": 400,
        "gaps": [{"tag": "0001", "start": 3, "every": 50, "length": 7.5}],
    }
    kwargs = dict(tags=("job",), tag_values=[("0000",), ("0001",)], rate=rate, spec=spec, seed=7)
    edges = [base + start]
    for length in lengths:
        edges.append(edges[-1] + length / rate)
    whole = generate_columns("m", ["x", "y"], edges[0], edges[-1], **kwargs)
    parts = [generate_columns("m", ["x", "y"], lo, hi, **kwargs) for lo, hi in zip(edges, edges[1:])]
    assert_same(whole, concat(parts))


# ---------------------------------------------------------------------------------------- shape and grid


def test_shape_grid_and_dtype():
    data = generate_columns("m", ["a", "b"], T0 + 0.3, T0 + 10.3, rate=4)
    assert list(data) == [()]
    times = data[()]["time"]
    assert times.dtype == np.float64 and times.size == 40
    assert times[0] == T0 + 0.5 and times[-1] == T0 + 10.25
    np.testing.assert_array_equal(times * 4, np.round(times * 4))  # on the k / rate grid
    for values in data[()]["fields"].values():
        assert values.dtype == np.float64 and values.shape == times.shape and np.isfinite(values).all()


def test_half_open_interval_and_empty_range():
    times = generate_columns("m", ["a"], T0, T0 + 5)[()]["time"]
    np.testing.assert_array_equal(times, T0 + np.arange(5))
    empty = generate_columns("m", ["a"], T0, T0)[()]
    assert empty["time"].size == 0 and empty["fields"]["a"].size == 0


def test_every_tag_tuple_is_a_key():
    tv = tag_values_from(["ifo", "job"], {"ifo": ["H1", "L1"]})
    data = generate_columns("m", ["a"], T0, T0 + 10, tags=("ifo", "job"), tag_values=tv)
    assert list(data) == tv and len(tv) == 8


def test_tags_without_tag_values_use_the_spec_tags():
    data = generate_columns("m", ["a"], T0, T0 + 10, tags=("ifo",), spec={"tags": {"ifo": ["H1", "L1", "V1"]}})
    assert list(data) == [("H1",), ("L1",), ("V1",)]
    data = generate_columns("m", ["a"], T0, T0 + 10, tags=("job",))
    assert list(data) == [(v,) for v in DEFAULT_TAG_VALUES]


def test_generate_rows_matches_generate_columns():
    kwargs = dict(tags=("job",), tag_values=[("0000",), ("0001",)], rate=2, spec={"signal": "spikes"})
    cols = generate_columns("m", ["a", "b"], T0, T0 + 20, **kwargs)
    rows = generate_rows("m", ["a", "b"], T0, T0 + 20, **kwargs)
    assert rows.keys() == cols.keys()
    for key, block in cols.items():
        assert [r["time"] for r in rows[key]] == block["time"].tolist()
        for col in ("a", "b"):
            assert [r["fields"][col] for r in rows[key]] == block["fields"][col].tolist()
        assert all(type(r["time"]) is float for r in rows[key])


def test_a_million_samples_without_per_sample_python_work():
    """What makes a million samples quick, checked without a clock (which a loaded machine makes lie): the work is
    vectorised, so the Python calls made stay far below one per sample (~5,600 here, spikes included)."""
    import sys

    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        data = generate_columns("m", ["a"], T0, T0 + 1_000_000, spec={"signal": "random_walk", "spike_rate": 10})
    finally:
        sys.setprofile(None)
    assert data[()]["time"].size == data[()]["fields"]["a"].size == 1_000_000
    assert calls < 1_000_000 // 100, calls


# -------------------------------------------------------------------------------------------- signals


def test_sine_amplitude_offset_and_period():
    spec = {"signal": "sine", "offset": 5, "amplitude": 2, "period": 100, "noise": 0}
    times, values = one(generate_columns("m", ["a"], T0, T0 + 1000, rate=10, spec=spec))
    assert values.mean() == pytest.approx(5, abs=1e-6)
    assert values.max() == pytest.approx(7, abs=1e-3) and values.min() == pytest.approx(3, abs=1e-3)
    np.testing.assert_allclose(values[:-1000], values[1000:], atol=1e-9)  # 100 s later, same value


def test_sine_noise_has_the_configured_spread():
    quiet = one(generate_columns("m", ["a"], T0, T0 + 20000, spec={"noise": 0}))[1]
    noisy = one(generate_columns("m", ["a"], T0, T0 + 20000, spec={"noise": 0.5}))[1]
    assert np.std(noisy - quiet) == pytest.approx(0.5, rel=0.05)
    default = one(generate_columns("m", ["a"], T0, T0 + 20000, spec={"amplitude": 3}))[1]
    assert np.std(default - 3 * quiet) == pytest.approx(0.3, rel=0.05)  # 0.1 × amplitude


def test_random_walk_is_bounded_smooth_and_wanders():
    spec = {"signal": "random_walk", "offset": 10, "amplitude": 4, "period": 600, "noise": 0}
    values = one(generate_columns("m", ["a"], T0, T0 + 86400, spec=spec))[1]
    assert values.min() >= 6 and values.max() <= 14
    assert values.max() - values.min() > 4  # it does wander
    assert np.abs(np.diff(values)).max() < 0.5  # continuous at 1 Hz: no jumps at the knots


def test_steps_are_constant_within_a_step():
    spec = {"signal": "steps", "step_every": 900, "noise": 0, "amplitude": 3, "offset": 1}
    times, values = one(generate_columns("m", ["a"], T0, T0 + 9000, spec=spec))
    step = np.floor(times / 900)
    for s in np.unique(step):
        assert np.ptp(values[step == s]) == 0
    levels = [values[step == s][0] for s in np.unique(step)]
    assert len(set(levels)) == len(levels)
    assert all(-2 <= v <= 4 for v in levels)


def test_spikes_at_roughly_the_configured_rate():
    spec = {"signal": "spikes", "spike_rate": 6, "spike_height": -50, "noise": 0.1}
    values = one(generate_columns("m", ["a"], T0, T0 + 100 * 3600, spec=spec))[1]
    count = int((values < -25).sum())
    assert 600 * 0.8 < count < 600 * 1.2  # 6 per hour over 100 h, within ~4 sigma
    assert values.max() < 1  # spikes go down when spike_height is negative


def test_default_spike_rate_and_height():
    values = one(generate_columns("m", ["a"], T0, T0 + 50 * 3600, rate=0.5, spec={"signal": "spikes"}))[1]
    count = int((values > 5).sum())
    assert 300 * 0.75 < count < 300 * 1.25  # default 6/hour whatever the sample rate
    assert values[values > 5] == pytest.approx(10, abs=1)  # default 10 × amplitude


def test_any_signal_can_spike_and_none_do_by_default():
    calm = one(generate_columns("m", ["a"], T0, T0 + 36000, spec={"signal": "sine"}))[1]
    assert calm.max() < 2
    spiky = one(generate_columns("m", ["a"], T0, T0 + 36000, spec={"signal": "sine", "spike_rate": 30}))[1]
    assert (spiky > 5).sum() > 100


def test_constant_is_exactly_the_offset():
    values = one(generate_columns("m", ["a"], T0, T0 + 100, spec={"signal": "constant", "offset": 2.5}))[1]
    assert (values == 2.5).all()


# ------------------------------------------------------------------------------------------- gaps etc.


def test_gaps_remove_exactly_the_windows_for_the_named_tag():
    spec = {"gaps": [{"tag": "0001", "start": T0 + 10, "every": 100, "length": 20}]}
    data = generate_columns(
        "m", ["a", "b"], T0, T0 + 1000, tags=("job",), tag_values=[("0000",), ("0001",)], spec=spec
    )
    full = T0 + np.arange(1000.0)
    np.testing.assert_array_equal(data[("0000",)]["time"], full)
    inside = ((full - T0 - 10) % 100) < 20
    np.testing.assert_array_equal(data[("0001",)]["time"], full[~inside])
    assert inside.sum() == 200
    assert data[("0001",)]["fields"]["a"].size == data[("0001",)]["fields"]["b"].size == 800
    # the rows that remain are the same samples as without the gap
    plain = generate_columns("m", ["a"], T0, T0 + 1000, tags=("job",), tag_values=[("0001",)])
    np.testing.assert_array_equal(data[("0001",)]["fields"]["a"], plain[("0001",)]["fields"]["a"][~inside])


def test_single_gap_window_for_all_tags():
    spec = {"gaps": [{"tag": None, "start": T0 + 50, "every": None, "length": 25}]}
    data = generate_columns("m", ["a"], T0, T0 + 200, tags=("job",), tag_values=[("0000",), ("0001",)], spec=spec)
    for block in data.values():
        times = block["time"]
        assert times.size == 175
        assert not ((times >= T0 + 50) & (times < T0 + 75)).any()


def test_gap_start_defaults_to_zero():
    data = generate_columns("m", ["a"], 0, 100, spec={"gaps": [{"every": 10, "length": 2}]})
    assert data[()]["time"].size == 80 and not (data[()]["time"] % 10 < 2).any()


def test_per_column_overrides():
    spec = {
        "signal": "sine",
        "offset": 100,
        "noise": 0,
        "columns": {"b": {"signal": "constant", "offset": 7}, "c": {"amplitude": 10}},
    }
    fields = generate_columns("m", ["a", "b", "c"], T0, T0 + 600, spec=spec)[()]["fields"]
    assert 99 <= fields["a"].min() and fields["a"].max() <= 101
    assert (fields["b"] == 7).all()
    assert fields["c"].max() == pytest.approx(110, abs=0.01)  # inherits offset 100 and noise 0, amplitude 10


def test_tag_values_from():
    assert tag_values_from([], {}) == [()]
    assert tag_values_from(["job"], {}) == [(v,) for v in DEFAULT_TAG_VALUES]
    assert tag_values_from(["ifo", "job"], {"ifo": ["H1", "L1"], "job": [1, "2"]}) == [
        ("H1", "1"),
        ("H1", "2"),
        ("L1", "1"),
        ("L1", "2"),
    ]
    assert tag_values_from(["ifo"], {"ifo": "H1"}) == [("H1",)]
    with pytest.raises(SpecError, match="tags.nope"):
        tag_values_from(["ifo"], {"nope": ["x"]})
    with pytest.raises(SpecError, match="tags.ifo"):
        tag_values_from(["ifo"], {"ifo": []})


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "spec, key",
    [
        ({"signal": "square"}, "signal"),
        ({"amplitud": 1}, "amplitud"),
        ({"amplitude": "big"}, "amplitude"),
        ({"amplitude": True}, "amplitude"),
        ({"offset": float("nan")}, "offset"),
        ({"period": 0}, "period"),
        ({"period": -5}, "period"),
        ({"step_every": 0}, "step_every"),
        ({"noise": -1}, "noise"),
        ({"spike_rate": -1}, "spike_rate"),
        ({"columns": {"a": {"period": 0}}}, "columns.a.period"),
        ({"columns": {"a": {"gaps": []}}}, "columns.a.gaps"),
        ({"columns": {"a": 3}}, "columns.a"),
        ({"columns": [1]}, "columns"),
        ({"gaps": [{"length": 0}]}, r"gaps\[0\].length"),
        ({"gaps": [{"start": 5}]}, r"gaps\[0\].length"),
        ({"gaps": [{"length": 5, "every": -1}]}, r"gaps\[0\].every"),
        ({"gaps": [{"length": 5, "when": 1}]}, r"gaps\[0\].when"),
        ({"gaps": "often"}, "gaps"),
        ({"rate": 0}, "rate"),
        ({"seed": -1}, "seed"),
    ],
)
def test_spec_errors_name_the_key(spec, key):
    with pytest.raises(SpecError, match=key):
        generate_columns("m", ["a"], T0, T0 + 10, spec=spec)


def test_numeric_strings_are_numbers():
    spec = {"signal": "constant", "offset": "1e-21"}  # YAML 1.1 reads 1e-21 as a string
    assert (one(generate_columns("m", ["a"], T0, T0 + 3, spec=spec))[1] == 1e-21).all()


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(rate=0), "rate"),
        (dict(rate=-1), "rate"),
        (dict(end=T0 - 1), "end"),
        (dict(seed=-3), "seed"),
        (dict(tags=("job",), tag_values=[("a", "b")]), "tag_values"),
    ],
)
def test_argument_errors(kwargs, key):
    args = dict(start=T0, end=T0 + 10)
    args.update(kwargs)
    with pytest.raises(SpecError, match=key):
        generate_columns("m", ["a"], args.pop("start"), args.pop("end"), **args)


def test_spec_error_is_a_value_error():
    assert issubclass(SpecError, ValueError)


def test_validate_spec_checks_column_names_when_given():
    validate_spec({"columns": {"snr": {"offset": 1}}}, columns=["snr"])
    with pytest.raises(SpecError, match="columns.snrr"):
        validate_spec({"columns": {"snrr": {"offset": 1}}}, columns=["snr"])


def test_negative_times_work():
    data = generate_columns("m", ["a"], -10.5, 3, spec={"signal": "random_walk", "spike_rate": 100})
    times, values = one(data)
    assert times[0] == -10 and times[-1] == 2 and np.isfinite(values).all()
    assert math.isfinite(values.sum())
