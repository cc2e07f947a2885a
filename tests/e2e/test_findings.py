# SPDX-License-Identifier: GPL-2.0-only
"""Findings: each kind is raised by a workload that provokes it, with its numbers, and not
raised by a twin workload that does not."""
import pytest

from helpers import Run, allocator

GROWTH = ["-C", "growth_samples=3"]
JE = ["-C", "idle_purge_ms=300", "-C", "finding_min_bytes=4194304"]
NO_PURGE = {"MALLOC_CONF": "dirty_decay_ms:-1,muzzy_decay_ms:-1"}
PURGE = {"MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}


def findings(run, kind):
    found = [f for f in run.proc["findings"] if f["kind"] == kind]
    for f in found:
        assert f["pid"] == run.proc["pid"] and f["evidence"] and f["advice"]
    return found


# The retention kinds are decided from the allocator's own books (the default: the
# workload is attached at the default levels, books only) or, without them, from the heap
# level's counters (launched, --level all --no-books): each is tested both ways.
VIA = ["books", "heap"]


def traced(tmp_path, name, mode, args=(), env=None, via="heap"):
    if via == "books":
        return Run(tmp_path, name, mode="attach", args=["--level", "os,arena", *args],
                   wargs=[mode], env=env)
    return Run(tmp_path, name, args=["--no-books", *args], wargs=[mode], env=env)


def kept(a):
    """What the allocator keeps free in RAM, as the findings see it."""
    return a["books"]["retained_bytes"] if a["books"] else a["retained_bytes"]


def test_arena_reset_retains(tmp_path):
    run = traced(tmp_path, "rust_bump", "reset")
    (f,) = findings(run, "arena_reset_retains")
    assert f["allocator"] == "bumpalo" and f["bytes"] == run.truth["allocated_bytes"]


def test_arena_recreated_is_not_a_reset(tmp_path):
    assert not findings(traced(tmp_path, "rust_bump", "recreate"), "arena_reset_retains")


def test_lazyfree_in_rss(tmp_path):
    run = traced(tmp_path, "retain", "madv_free")
    (f,) = findings(run, "lazyfree_in_rss")
    # smaps' LazyFree: the pages MADV_FREE'd and not yet reclaimed (no memory pressure).
    assert run.truth["given_back"] * 0.99 <= f["bytes"] <= run.truth["given_back"]
    assert f["allocator"] == "app"


def test_dontneed_is_not_lazy(tmp_path):
    assert not findings(traced(tmp_path, "retain", "madv_dontneed"), "lazyfree_in_rss")


@pytest.mark.parametrize("via", VIA)
def test_idle_purge(tmp_path, via):
    run = traced(tmp_path, "je_retain", "idle", JE, NO_PURGE, via)
    (f,) = findings(run, "idle_purge")
    je = allocator(run.proc, "jemalloc")
    assert f["allocator"] == "jemalloc" and f["bytes"] == kept(je)
    assert f["bytes"] >= run.truth["freed"]
    if via == "heap":
        assert je["free_bytes"] >= run.truth["freed"]
    else:
        assert je["books"]["figures"]["dirty"] >= run.truth["freed"]


@pytest.mark.parametrize("via", VIA)
def test_purging_allocator_is_not_idle(tmp_path, via):
    assert not findings(traced(tmp_path, "je_retain", "idle", JE, PURGE, via), "idle_purge")


@pytest.mark.parametrize("via", VIA)
def test_glibc_untrimmable(tmp_path, via):
    run = traced(tmp_path, "retain", "pin", via=via)
    (f,) = findings(run, "glibc_untrimmable")
    gl = allocator(run.proc, "glibc")
    # Live: the one block kept (plus stdio's, from before the measured part).
    live = gl["books"]["live_bytes"] if via == "books" else gl["live_bytes"]
    assert live >= run.truth["live_bytes"]
    assert f["bytes"] == kept(gl) >= 39999 * 1000


@pytest.mark.parametrize("via", VIA)
def test_glibc_trimmed_is_not_untrimmable(tmp_path, via):
    assert not findings(traced(tmp_path, "retain", "all", via=via), "glibc_untrimmable")


@pytest.mark.parametrize("via", VIA)
def test_several_allocators_retain(tmp_path, via):
    run = traced(tmp_path, "je_retain", "mixed", JE, NO_PURGE, via)
    (f,) = findings(run, "several_allocators_retain")
    assert set(f["allocator"].split("+")) == {"jemalloc", "glibc"}
    assert f["bytes"] == sum(kept(allocator(run.proc, n)) for n in ("jemalloc", "glibc"))


@pytest.mark.parametrize("via", VIA)
def test_one_allocator_is_not_several(tmp_path, via):
    assert not findings(traced(tmp_path, "je_retain", "mixed", JE, PURGE, via),
                        "several_allocators_retain")


def test_retention_growth(tmp_path):
    run = traced(tmp_path, "retain", "grow", GROWTH)
    (f,) = findings(run, "retention_growth")
    gl = allocator(run.proc, "glibc")
    assert f["allocator"] == "glibc" and f["bytes"] >= 3 << 20
    assert gl["live_bytes"] >= run.truth["live_bytes"]


def test_steady_batches_do_not_grow(tmp_path):
    assert not findings(traced(tmp_path, "retain", "steady", GROWTH), "retention_growth")
