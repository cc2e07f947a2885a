// SPDX-License-Identifier: GPL-2.0-only
//! Processes batches of varying size in a bumpalo arena, over jemalloc as the global
//! allocator (a small GlobalAlloc wrapper over jemalloc-sys).
//!
//! `rust_bump reset`: one Bump, reset between batches (it keeps its largest chunk).
//! `rust_bump recreate`: a new Bump per batch, dropped at the batch's end.
//!
//! The truth file (tests/workloads/truth.h protocol: AT_GO, AT_TRUTH, AT_HOLD) has the
//! arena's address, bumpalo's own allocated_bytes() at the end of each batch and at the
//! hold, and jemalloc's stats. The last batch's Bump is alive during the hold.
use bumpalo::Bump;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::CString;
use std::fmt::Write as _;
use std::os::raw::{c_int, c_void};

struct Jemalloc;

fn align_flags(layout: &Layout) -> c_int {
    if layout.align() <= 16 && layout.align() <= layout.size() {
        0
    } else {
        layout.align().trailing_zeros() as c_int // MALLOCX_LG_ALIGN
    }
}

unsafe impl GlobalAlloc for Jemalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match align_flags(&layout) {
            0 => jemalloc_sys::malloc(layout.size()) as *mut u8,
            f => jemalloc_sys::mallocx(layout.size(), f) as *mut u8,
        }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        jemalloc_sys::sdallocx(ptr as *mut c_void, layout.size(), align_flags(&layout))
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match align_flags(&layout) {
            0 => jemalloc_sys::realloc(ptr as *mut c_void, new_size) as *mut u8,
            f => jemalloc_sys::rallocx(ptr as *mut c_void, new_size, f) as *mut u8,
        }
    }
}

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

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

fn je_u64(name: &str) -> u64 {
    let name = CString::new(name).unwrap();
    let mut epoch: u64 = 1;
    let mut sz = std::mem::size_of::<u64>();
    let e = CString::new("epoch").unwrap();
    let mut v: usize = 0;
    unsafe {
        jemalloc_sys::mallctl(e.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(),
                              &mut epoch as *mut u64 as *mut c_void, sz);
        sz = std::mem::size_of::<usize>();
        jemalloc_sys::mallctl(name.as_ptr(), &mut v as *mut usize as *mut c_void, &mut sz,
                              std::ptr::null_mut(), 0);
    }
    v as u64
}

/// Fills the arena with one batch: n slices of 4 KiB, touched so that they are resident.
#[inline(never)]
fn batch(bump: &Bump, n: usize) -> usize {
    let mut sum = 0usize;
    for i in 0..n {
        let s = bump.alloc_slice_fill_copy(4096, (i & 0xff) as u8);
        sum += s[i % 4096] as usize;
    }
    sum
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "reset".into());
    // Batch sizes in 4 KiB slices: 8 MiB, 30 MiB, 2 MiB, 30 MiB, 12 MiB.
    let sizes = [2048usize, 7680, 512, 7680, 3072];
    wait_for("AT_GO");
    unsafe { libc::getppid() }; // marker for the strace oracle
    let mut per_batch = String::new();
    let mut sum = 0;
    let mut kept = Bump::new();
    for (b, &n) in sizes.iter().enumerate() {
        let fresh = Bump::new();
        {
            // Neither Bump moves once it has chunks: the address in the truth is the one
            // that bumpalo's functions receive.
            let bump = if mode == "reset" { &kept } else { &fresh };
            sum += batch(bump, n);
            let _ = write!(per_batch, "{}{}", if b > 0 { ", " } else { "" },
                           bump.allocated_bytes());
            if b + 1 == sizes.len() {
                finish(&mode, bump, sizes.len(), &per_batch, sum);
            }
        }
        if mode == "reset" && b + 1 < sizes.len() {
            kept.reset();
        }
    }
    drop(kept);
}

/// Writes the truth (the last batch's Bump still alive) and holds.
fn finish(mode: &str, bump: &Bump, batches: usize, per_batch: &str, sum: usize) {
    let truth = format!(
        "{{\"mode\": \"{}\", \"arena\": {}, \"batches\": {}, \"batch_allocated_bytes\": [{}], \
         \"allocated_bytes\": {}, \"checksum\": {}, \"je_allocated\": {}, \"je_mapped\": {}, \
         \"je_retained\": {}}}\n",
        mode, bump as *const Bump as usize, batches, per_batch, bump.allocated_bytes(), sum,
        je_u64("stats.allocated"), je_u64("stats.mapped"), je_u64("stats.retained"));
    if let Ok(path) = std::env::var("AT_TRUTH") {
        let tmp = format!("{}.tmp", path);
        std::fs::write(&tmp, truth).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    wait_for("AT_HOLD");
}
