// SPDX-License-Identifier: GPL-2.0-only
//! --unwind dwarf's Rust workload: a release build (no frame pointers, no debug info) over
//! the default global allocator (the system's malloc) that allocates through a chain of
//! functions that are never inlined: main -> chain_a -> chain_b -> chain_c -> alloc. Each
//! uses its callee's result after the call, so that no call becomes a jump. KEPT blocks of
//! chain_c stay live; chain_gone's blocks are freed. The truth (tests/workloads/truth.h
//! protocol: AT_GO, AT_TRUTH, AT_HOLD) has the kept blocks' usable bytes (glibc's
//! malloc_usable_size).
use std::alloc::{alloc, dealloc, Layout};

const KEPT: usize = 30;
static mut SINK: usize = 0;

fn wait_for(var: &str) {
    if let Ok(path) = std::env::var(var) {
        for _ in 0..600_000 {
            if std::path::Path::new(&path).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Uses p after a call, so that the call is not a tail call.
fn keep(p: *mut u8) -> *mut u8 {
    unsafe { std::ptr::write_volatile(std::ptr::addr_of_mut!(SINK), p as usize) };
    p
}

#[inline(never)]
fn chain_c(n: usize) -> *mut u8 {
    keep(unsafe { alloc(Layout::from_size_align(n, 8).unwrap()) })
}

#[inline(never)]
fn chain_b(n: usize) -> *mut u8 {
    keep(chain_c(n + 8))
}

#[inline(never)]
fn chain_a(n: usize) -> *mut u8 {
    keep(chain_b(n + 8))
}

#[inline(never)]
fn chain_gone(n: usize) {
    let layout = Layout::from_size_align(n, 8).unwrap();
    let p = keep(unsafe { alloc(layout) });
    unsafe { dealloc(p, layout) };
}

fn main() {
    let mut kept = Vec::with_capacity(KEPT);
    let mut kept_bytes = 0;
    let truth = std::env::var("AT_TRUTH").ok();

    wait_for("AT_GO");
    for i in 0..KEPT {
        let p = chain_a(2000 + i * 64);
        kept_bytes += unsafe { libc::malloc_usable_size(p as *mut libc::c_void) };
        kept.push(p);
    }
    for _ in 0..20 {
        chain_gone(500);
    }
    if let Some(path) = truth {
        let tmp = format!("{}.tmp", path);
        std::fs::write(&tmp, format!("{{\"kept_bytes\": {}, \"kept\": {}}}\n", kept_bytes, KEPT))
            .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    wait_for("AT_HOLD");
    keep(kept.as_mut_ptr() as *mut u8);
}
