"""One writer process and readers in another process at the same time, as the daemon, plugin and dashboard do."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from scald_monitor.io.sqlite import Aggregator, Consumer

T0 = 1_300_000_000.0
BATCH = 50

WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from scald_monitor.io.sqlite import Aggregator
    path, batches = sys.argv[1], int(sys.argv[2])
    agg = Aggregator(path=path)
    for i in range(batches):
        t = {t0} + i * {batch} + np.arange({batch}, dtype=float)
        agg.store_columns("lat", {{("0001",): {{"time": t, "fields": {{"data": np.full(t.size, float(i))}}}},
                                   ("0002",): {{"time": t, "fields": {{"data": np.full(t.size, float(-i))}}}}}})
    agg.close()
    print("done")
""").format(t0=T0, batch=BATCH)


def test_readers_see_whole_batches_while_another_process_writes(tmp_path):
    path = tmp_path / "shared.sqlite"
    setup = Aggregator(path=path)
    setup.register_schema("lat", "data", tags="job")
    setup.close()
    batches = 150
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(batches)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader = Consumer(path, timeout=10)
    seen = []
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        both = reader.retrieve_timeseries_by_tag("lat", T0, T0 + 1e6, "data")  # one query, one snapshot
        times, values = both.get(("0001",), ([], []))
        other, _ = both.get(("0002",), ([], []))
        # a store call is one transaction: a reader never sees part of a batch or one tag without the other
        assert len(times) % BATCH == 0
        assert len(other) == len(times)
        if times:
            assert values[-1] == len(times) // BATCH - 1
        seen.append(len(times))
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert "done" in out
    assert seen == sorted(seen) and len(set(seen)) > 1  # the reader really ran during the writes
    times, _ = reader.retrieve_timeseries("lat", T0, T0 + 1e6, "data", tags="0001")
    assert len(times) == batches * BATCH
    latest = reader.retrieve_latest_by_tag("lat", "data")
    assert latest == {("0001",): (T0 + batches * BATCH - 1, batches - 1.0),
                      ("0002",): (T0 + batches * BATCH - 1, 1.0 - batches)}
    reader.close()
