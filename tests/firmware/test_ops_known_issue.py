"""The known defect FW-120-1 (known_issues.toml), shown exactly where the table says it is."""

from __future__ import annotations

import numpy as np
import pytest
from opsharness import releases, run_ok, serving

from firmware.releases import Version, release_line

ISSUE = next(i for i in release_line().issues if i.id == "FW-120-1")
SENTINEL = np.float32(-12345.0)


def eltwise_max(version: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(firmware result, numpy result) of max over `count` fp32 elements; out starts as SENTINEL."""
    rng = np.random.default_rng(count)
    a, b = rng.standard_normal(count).astype(np.float32), rng.standard_normal(count).astype(np.float32)
    fw = serving(version)
    out = fw.put(np.full(count, SENTINEL))
    run_ok(fw, "ELTWISE", a=fw.put(a), b=fw.put(b), out=out, count=count, op="max", dtype="fp32")
    return fw.get(out, np.float32, count), np.maximum(a, b)


def test_the_issue_is_the_one_this_test_documents() -> None:
    assert (ISSUE.operator, ISSUE.flag, str(ISSUE.release), str(ISSUE.fixed_in)) == \
        ("ELTWISE", "ELTWISE_MAX_TAIL_BUG", "1.2.0", "1.3.0")


@pytest.mark.parametrize("version", releases())
@pytest.mark.parametrize("count", [37, 4096 + 5, 48])
def test_max_tail_is_lost_only_where_the_issue_applies(version: str, count: int) -> None:
    got, want = eltwise_max(version, count)
    tail = count % 16
    if ISSUE.affects(Version.parse(version)) and tail:
        # the symptom: the last count % 16 outputs keep the buffer's previous contents, status OK
        np.testing.assert_array_equal(got[:-tail], want[:-tail])
        assert np.all(got[-tail:] == SENTINEL)
    else:
        np.testing.assert_array_equal(got, want)
