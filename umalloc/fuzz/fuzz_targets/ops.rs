//! Fuzzes umalloc with operation sequences decoded from the input: malloc, calloc, realloc,
//! memalign, free, a foreign `sbrk`, a break limit (refusals), explicit trims. Every live block
//! carries a pattern checked before it is freed or resized; blocks must not overlap and must be
//! aligned; the heap's consistency walk runs after every few operations and at the end, and
//! after everything is freed the break must be back within a page of its start.
#![no_main]

use std::alloc::{Layout, alloc_zeroed, dealloc};

use libfuzzer_sys::fuzz_target;
use umalloc::{Heap, PAGE_SIZE, Region, Sbrk};

const ARENA: usize = 256 << 20;
const MAX_LIVE: usize = 64;

struct Block {
    ptr: *mut u8,
    len: usize,
    seed: u8,
}

fn byte(seed: u8, i: usize) -> u8 {
    seed.wrapping_add((i as u8).wrapping_mul(13))
}

/// The bytes of a block that carry its pattern (all of a small one, the ends of a big one).
fn marked(len: usize) -> impl Iterator<Item = usize> {
    (0..len.min(64)).chain(len.saturating_sub(64).max(64)..len)
}

unsafe fn fill(b: &Block) {
    for i in marked(b.len) {
        // SAFETY: `i < len`, inside the block.
        unsafe { b.ptr.add(i).write(byte(b.seed, i)) };
    }
}

unsafe fn intact(b: &Block, upto: usize) -> bool {
    // SAFETY: `i < upto <= len`, inside the block.
    marked(b.len).filter(|&i| i < upto).all(|i| unsafe { b.ptr.add(i).read() } == byte(b.seed, i))
}

/// A size from two bytes: mostly small, some medium, a few large.
fn size(a: u8, b: u8) -> usize {
    let v = usize::from(u16::from_le_bytes([a, b]));
    match v >> 14 {
        0 | 1 => v & 1023,
        2 => v & 0x3FFF,
        _ => (v & 0x3FFF) << 8,
    }
}

fn add(live: &mut Vec<Block>, ptr: *mut u8, len: usize, align: usize, seed: u8) {
    assert_eq!(ptr.addr() % align.max(16), 0);
    for b in live.iter() {
        let apart = ptr.addr() + len.max(1) <= b.ptr.addr() || b.ptr.addr() + b.len.max(1) <= ptr.addr();
        assert!(apart, "blocks overlap");
    }
    let block = Block { ptr, len, seed };
    // SAFETY: a fresh block of `len` bytes.
    unsafe { fill(&block) };
    live.push(block);
}

fuzz_target!(|data: &[u8]| {
    let layout = Layout::from_size_align(ARENA, 16).unwrap();
    // SAFETY: non-zero size; freed at the end.
    let arena = unsafe { alloc_zeroed(layout) };
    assert!(!arena.is_null());
    // SAFETY: the arena is zeroed, ours, and outlives the heap.
    let mut heap = Heap::new(unsafe { Region::new(arena, ARENA) });
    let mut live: Vec<Block> = Vec::new();
    let mut foreign = false;
    for (n, op) in data.chunks_exact(4).enumerate() {
        let (a, b, c) = (op[1], op[2], op[3]);
        let pick = |live: &Vec<Block>| usize::from(a) % live.len();
        match op[0] % 10 {
            0 | 1 if live.len() < MAX_LIVE => {
                let len = size(a, b);
                let p = heap.malloc(len);
                if !p.is_null() {
                    add(&mut live, p, len, 16, c);
                }
            }
            2 if live.len() < MAX_LIVE => {
                let len = size(a, b);
                let p = heap.calloc(1, len);
                if !p.is_null() {
                    // SAFETY: a fresh block of `len` bytes.
                    assert!(unsafe { std::slice::from_raw_parts(p, len) }.iter().all(|&x| x == 0));
                    add(&mut live, p, len, 16, c);
                }
            }
            3 if live.len() < MAX_LIVE => {
                let align = 1usize << (c % 16);
                let len = size(a, b);
                let p = heap.memalign(align, len);
                if !p.is_null() {
                    add(&mut live, p, len, align, c);
                }
            }
            4 | 5 if !live.is_empty() => {
                let old = live.swap_remove(pick(&live));
                let len = size(b, c);
                // SAFETY: a live block; replaced by the result when that is non-null.
                let p = unsafe { heap.realloc(old.ptr, len) };
                if p.is_null() {
                    // SAFETY: still the old block, untouched.
                    assert!(unsafe { intact(&old, old.len) });
                    live.push(old);
                } else {
                    let moved = Block { ptr: p, ..old };
                    // SAFETY: the first min(old, new) bytes came along.
                    assert!(unsafe { intact(&moved, len.min(old.len)) });
                    add(&mut live, p, len, 16, c);
                }
            }
            6 | 7 if !live.is_empty() => {
                let b = live.swap_remove(pick(&live));
                // SAFETY: a live block, freed once.
                unsafe {
                    assert!(intact(&b, b.len));
                    heap.free(b.ptr);
                }
            }
            8 => match a % 3 {
                0 if !foreign => {
                    foreign = heap.sbrk_mut().grow(usize::from(b) * 64).is_some();
                }
                1 => heap.sbrk_mut().set_limit(usize::from(u16::from_le_bytes([b, c])) << 12),
                _ => heap.sbrk_mut().set_limit(ARENA),
            },
            9 => {
                heap.trim_now(usize::from(b) << 10);
            }
            _ => {}
        }
        if n % 16 == 0 {
            heap.check().unwrap();
        }
    }
    heap.sbrk_mut().set_limit(ARENA);
    for b in live {
        // SAFETY: a live block, freed once.
        unsafe {
            assert!(intact(&b, b.len));
            heap.free(b.ptr);
        }
    }
    let stats = heap.check().unwrap();
    assert_eq!((stats.in_use, stats.parked), (0, 0));
    assert_eq!(heap.reports().0, 0, "the debug checks saw a bad free");
    if !foreign {
        assert!(heap.heap_bytes() <= PAGE_SIZE);
    }
    drop(heap);
    // SAFETY: allocated above with this layout.
    unsafe { dealloc(arena, layout) };
});
