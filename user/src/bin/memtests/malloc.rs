//! `malloc` in user space (umalloc over `sbrk`): exhaustion and recovery, impossible sizes,
//! `realloc` growing in place at the top, the break back at its start when all is freed.

use crate::util::{Map, Outcome, PAGE, Reserve, Rng, brk, system_frames};
use core::ptr::null_mut;
use user::HEAP;

/// Bytes between where the heap started and its break, as umalloc sees them.
fn heap_bytes() -> usize {
    HEAP.lock().heap_bytes()
}

pub fn until_null(map: &Map) -> Outcome {
    let before = system_frames();
    let reserve = Reserve::new(64)?;
    // Blocks linked through their first word, so the list needs no memory of its own.
    let mut head: *mut u8 = null_mut();
    let (mut blocks, mut bytes) = (0usize, 0usize);
    let size = 64 << 10;
    loop {
        let p = HEAP.malloc(size);
        if p.is_null() {
            break;
        }
        // SAFETY: `p` is a fresh block of at least `size` >= a pointer's bytes.
        unsafe { (p as *mut *mut u8).write(head) };
        head = p;
        blocks += 1;
        bytes += size;
    }
    // Memory is exhausted but for the reserve: give that back before calling anything.
    let released = reserve.release();
    ensure!(released, "the reserve could not be given back");
    let mut freed = 0;
    while !head.is_null() {
        // SAFETY: `head` is a live block; its first word is the next one (or null).
        let next = unsafe { (head as *mut *mut u8).read() };
        // SAFETY: a live block of HEAP, not used again.
        unsafe { HEAP.free(head) };
        head = next;
        freed += 1;
    }
    ensure!(
        bytes >= map.ram_bytes() / 2,
        "malloc gave only {bytes:#x} bytes in {blocks} blocks before NULL"
    );
    expect_eq!(freed, blocks, "blocks freed");
    let p = HEAP.malloc(20 << 10);
    ensure!(
        !p.is_null(),
        "malloc(20 KiB) after freeing everything returned NULL"
    );
    // SAFETY: a fresh 20 KiB block.
    unsafe {
        core::ptr::write_bytes(p, 0x6b, 20 << 10);
        HEAP.free(p);
    }
    ensure!(
        heap_bytes() < 2 * PAGE,
        "heap still {:#x} bytes after freeing all",
        heap_bytes()
    );
    expect_eq!(system_frames(), before, "frames after freeing all");
    Ok(())
}

pub fn too_large(map: &Map) -> Outcome {
    let before = system_frames();
    for size in [
        usize::MAX,
        usize::MAX - PAGE,
        isize::MAX as usize,
        isize::MAX as usize + 1,
        // Passed to the kernel, which maps all it has before it refuses.
        2 * map.ram_bytes(),
    ] {
        let p = HEAP.malloc(size);
        ensure!(p.is_null(), "malloc({size:#x}) returned {p:?}");
    }
    let p = HEAP.calloc(usize::MAX / 2, 3);
    ensure!(p.is_null(), "calloc overflowing returned {p:?}");
    let p = HEAP.malloc(100);
    ensure!(!p.is_null(), "malloc(100) after the refusals returned NULL");
    // SAFETY: a fresh 100-byte block.
    unsafe { core::ptr::write_bytes(p, 0x31, 100) };
    for size in [usize::MAX, isize::MAX as usize, 2 * map.ram_bytes()] {
        // SAFETY: `p` is live; a null result leaves it live and unchanged.
        let q = unsafe { HEAP.realloc(p, size) };
        ensure!(q.is_null(), "realloc to {size:#x} returned {q:?}");
    }
    // SAFETY: `p` is still the live 100-byte block.
    let kept = unsafe { core::slice::from_raw_parts(p, 100) };
    ensure!(
        kept.iter().all(|&b| b == 0x31),
        "a refused realloc changed the block"
    );
    // SAFETY: live block, freed once.
    unsafe { HEAP.free(p) };
    ensure!(
        heap_bytes() < 2 * PAGE,
        "heap still {:#x} bytes after freeing all",
        heap_bytes()
    );
    expect_eq!(system_frames(), before, "frames after the refusals");
    Ok(())
}

pub fn realloc_in_place(_map: &Map) -> Outcome {
    let p = HEAP.malloc(64 << 10);
    ensure!(!p.is_null(), "malloc(64 KiB)");
    // SAFETY: a fresh 64 KiB block.
    unsafe { core::ptr::write_bytes(p, 0x4d, 64 << 10) };
    let b = brk();
    for size in [128 << 10, 1 << 20, 4 << 20, 16 << 20] {
        // SAFETY: `p` is live (the last realloc returned it).
        let q = unsafe { HEAP.realloc(p, size) };
        expect_eq!(q, p, "realloc of the top block to {size:#x} moved it");
        // SAFETY: `p` is a live block of at least 64 KiB.
        let kept = unsafe { core::slice::from_raw_parts(p, 64 << 10) };
        ensure!(
            kept.iter().all(|&x| x == 0x4d),
            "realloc to {size:#x} lost bytes"
        );
    }
    ensure!(
        brk() >= b + (16 << 20) - (64 << 10),
        "the break did not grow with the block"
    );
    // SAFETY: live block, freed once.
    unsafe { HEAP.free(p) };
    ensure!(
        heap_bytes() < 2 * PAGE,
        "heap still {:#x} bytes after freeing all",
        heap_bytes()
    );
    Ok(())
}

pub fn break_returns(_map: &Map) -> Outcome {
    let start = brk();
    let mut rng = Rng::new(0x6d61_6c6c_6f63);
    let mut blocks = [null_mut::<u8>(); 400];
    for round in 0..4 {
        for slot in blocks.iter_mut() {
            let size = match rng.below(10) {
                0 => rng.below(256 << 10),
                1..=3 => rng.below(4 << 10),
                _ => rng.below(256),
            };
            *slot = HEAP.malloc(size);
            ensure!(!slot.is_null(), "malloc({size}) in round {round}");
            // SAFETY: a fresh block of at least `size` bytes.
            unsafe { core::ptr::write_bytes(*slot, round as u8, size.min(64)) };
        }
        // Free in a random order.
        for i in (1..blocks.len()).rev() {
            blocks.swap(i, rng.below(i + 1));
        }
        for slot in blocks.iter_mut() {
            // SAFETY: each slot holds a live block, freed once.
            unsafe { HEAP.free(*slot) };
            *slot = null_mut();
        }
        let now = brk();
        ensure!(
            now <= start + PAGE,
            "break {now:#x} after freeing everything in round {round}; it started at {start:#x}"
        );
    }
    Ok(())
}
