# SPDX-License-Identifier: GPL-2.0-only
"""The arena level: chunk bytes per arena equal the arenas' own counts (bumpalo's
allocated_bytes(), obstack's and a custom pool's chunk functions), and allocator internals
agree with jemalloc's stats, glibc's chunk headers and the os level's brk shrinks."""
import pytest

from helpers import Run, allocator, assert_no_drops

POOL = "pool:alloc=pool_grow,size=2,self=1,free=pool_release,reset=pool_reset"


def arenas(proc, type_):
    return [a for a in proc["arenas"] if a["type"] == type_]


def internal(proc, alloc, func):
    a = allocator(proc, alloc)
    assert a is not None, alloc
    for f in a["internals"]:
        if f["function"] == func:
            return f
    raise AssertionError(f"no {func} in {a['internals']}")


@pytest.mark.parametrize("build", ["rust_bump", "rust_bump_lto"])
@pytest.mark.parametrize("mode", ["reset", "recreate"])
def test_bumpalo_chunk_bytes(tmp_path, build, mode):
    run = Run(tmp_path, build, args=["--level", "os,arena,heap"], wargs=[mode])
    t = run.truth
    bumps = arenas(run.proc, "bumpalo")
    live = [a for a in bumps if not a["ended"]]
    # The arena alive at the hold is the one bumpalo reported on, at its address.
    assert len(live) == 1 and live[0]["addr"] == t["arena"]
    assert live[0]["bytes"] == t["allocated_bytes"]
    assert live[0]["release"] == "free"
    if mode == "reset":
        assert len(bumps) == 1
        assert live[0]["high_water_bytes"] == max(t["batch_allocated_bytes"])
        assert live[0]["chunks_acquired"] - live[0]["chunks_freed"] == live[0]["chunks"] == 1
        if build == "rust_bump":
            assert live[0]["resets"] == t["batches"] - 1
        else:
            # reset is inlined: only resets that freed chunks are seen (docs/design.md).
            assert 1 <= live[0]["resets"] < t["batches"]
        assert live[0]["kept_bytes"] == t["allocated_bytes"]
    else:
        # One arena per batch, each at its own high-water mark; all but the last dropped.
        assert [a["high_water_bytes"] for a in sorted(bumps, key=lambda a: a["since_ms"])] \
            == t["batch_allocated_bytes"]
        assert all(a["resets"] == 0 for a in bumps)
        assert all(a["chunks"] == 0 and a["chunks_freed"] == a["chunks_acquired"]
                   for a in bumps if a["ended"])
    # jemalloc linked statically: its page-level maps add up to stats.mapped + retained.
    maps = internal(run.proc, "jemalloc", "pages_map")
    unmapped = sum(f["bytes"] for f in allocator(run.proc, "jemalloc")["internals"]
                   if f["function"] == "pages_unmap")
    assert maps["bytes"] - unmapped == t["je_mapped"] + t["je_retained"]
    # Every byte in use was carved from the retained address space at some point (the
    # extent layer over pages_map).
    grow = internal(run.proc, "jemalloc", "ecache_alloc_grow")
    assert grow["calls"] > 0 and grow["bytes"] >= t["je_allocated"]
    # The os level finds the same jemalloc inside the executable, by the caller's symbol.
    assert allocator(run.proc, "jemalloc")["mapped_bytes"] == t["je_mapped"] + t["je_retained"]
    assert_no_drops(run.report)


@pytest.fixture(scope="module")
def arena_c(tmp_path_factory):
    return Run(tmp_path_factory.mktemp("arena_c"), "arena_c", args=["--arena", POOL])


def test_obstack_chunks(arena_c):
    t = arena_c.truth
    obs = {a["addr"]: a for a in arenas(arena_c.proc, "obstack")}
    kept, gone = obs[t["obstack_addr"]], obs[t["obstack_gone_addr"]]
    assert kept["chunks_acquired"] + gone["chunks_acquired"] == t["obstack_chunks"]
    assert kept["chunks_freed"] + gone["chunks_freed"] == t["obstack_freed"]
    assert kept["bytes"] == t["obstack_bytes"] and not kept["ended"]
    assert kept["resets"] == 1 and kept["kept_bytes"] < kept["high_water_bytes"]
    assert gone["ended"] and gone["bytes"] == 0 and gone["chunks"] == 0
    assert_no_drops(arena_c.report)


def test_custom_arena_chunks(arena_c):
    t = arena_c.truth
    pools = {a["addr"]: a for a in arenas(arena_c.proc, "pool")}
    assert set(pools) == {t["pool_a_addr"], t["pool_b_addr"]}
    for name in ("pool_a", "pool_b"):
        a = pools[t[name + "_addr"]]
        assert a["chunks_acquired"] == t[name + "_acquired"]
        assert a["chunks_freed"] == t[name + "_released"]
        assert a["resets"] == t[name + "_resets"]
        assert a["bytes"] == t[name + "_bytes"]
    # pool_reset keeps the first chunk: what it held after the reset.
    assert pools[t["pool_a_addr"]]["kept_bytes"] == 65536


def test_glibc_internals(arena_c):
    """libc6-dbg's symbols: munmap_chunk once per mmapped block freed (glibc's own chunk
    header says which), systrim's successful calls are the os level's brk shrinks."""
    t = arena_c.truth
    assert internal(arena_c.proc, "glibc", "munmap_chunk")["calls"] == t["mmapped_frees"]
    trim = internal(arena_c.proc, "glibc", "systrim")
    shrinks = allocator(arena_c.proc, "glibc")["returned_count"]["brk_shrink"]
    assert shrinks > 0 and trim["calls"] - trim["zero_returns"] == shrinks


def test_usdt_memory_probes(arena_c):
    t = arena_c.truth
    f = internal(arena_c.proc, "glibc", "memory_sbrk_more")
    assert f["calls"] == t["usdt_sbrk_more"] and f["bytes"] == t["usdt_sbrk_more_bytes"]
