# SPDX-License-Identifier: GPL-2.0-only
"""Purge latency: bytes the allocator returned to the OS, by the time since the application
freed them. jemalloc purging at once returns the workload's freed bytes within a sample;
jemalloc never purging returns none of them. Every returned byte is either in the
histogram or counted unmatched."""
from helpers import Run, allocator

SAMPLE_MS = 100  # the tests' -C sample_ms=100


def latency(run):
    je = allocator(run.proc, "jemalloc")
    hist = je["purge_latency_ms_hist"]
    # Buckets in the units of the resolution, one sample (issue 13, item 10: the first
    # bucket was 0 -> 1 us): within one sample, then doublings of it.
    assert je["purge_latency_resolution_ms"] == SAMPLE_MS
    for k, b in enumerate(hist):
        assert b["low"] == (0 if k == 0 else SAMPLE_MS << (k - 1))
        assert b["high"] == SAMPLE_MS << k
    matched = sum(b["bytes"] for b in hist)
    assert matched + je["purge_unmatched_bytes"] == sum(je["returned"].values())
    return je, matched


def test_immediate_purge(tmp_path):
    run = Run(tmp_path, "je_retain", wargs=["idle"],
              env={"MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"})
    je, matched = latency(run)
    assert je["free_bytes"] >= run.truth["freed"]
    assert matched >= run.truth["freed"]
    # Purged inside free itself: within the sample that saw the free (or the next).
    assert all(b["high"] <= 2 * SAMPLE_MS for b in je["purge_latency_ms_hist"] if b["bytes"])


def test_no_purge_returns_nothing_freed(tmp_path):
    run = Run(tmp_path, "je_retain", wargs=["idle"],
              env={"MALLOC_CONF": "dirty_decay_ms:-1,muzzy_decay_ms:-1"})
    je, matched = latency(run)
    assert je["free_bytes"] >= run.truth["freed"]
    assert matched < 1 << 20

