//! Model-based test: long random sequences of malloc/calloc/realloc/memalign/free, checked
//! against a model of what every live block must hold.
//!
//! Every live block carries a pattern that is checked before it is freed or reallocated;
//! blocks never overlap (a map of address ranges); alignment always holds; the heap's own
//! consistency walk runs periodically; and after everything is freed the break is back within
//! a page of where it started. One seed runs over a break that promises nothing, the other over
//! one whose fresh pages are zero (so `calloc` skips them, and must still clear the rest).

mod support;

use std::collections::BTreeMap;

use rvmm_testkit::bench::Rng;
use support::{ARENA_BYTES, Arena, PagedBreak, fill, holds, holds_prefix};
use umalloc::{Heap, MIN_ALIGN, PAGE_SIZE, Sbrk};

const OPS: usize = if cfg!(miri) { 200 } else { 100_000 };
const CHECK_EVERY: usize = if cfg!(miri) { 50 } else { 2_000 };
const MAX_LIVE: usize = if cfg!(miri) { 100 } else { 600 };

/// A live block: where, how long, which pattern.
struct Block {
    ptr: *mut u8,
    len: usize,
    id: u64,
}

/// The model: live blocks by address.
struct Model<S: Sbrk> {
    heap: Heap<S>,
    blocks: BTreeMap<usize, Block>,
    next_id: u64,
}

impl<S: Sbrk> Model<S> {
    /// Records a new block, after checking it is aligned and overlaps nothing.
    fn add(&mut self, ptr: *mut u8, len: usize, align: usize) {
        assert!(!ptr.is_null(), "allocation of {len} failed");
        assert_eq!(ptr.addr() % align.max(MIN_ALIGN), 0, "alignment {align}");
        let start = ptr.addr();
        if let Some((_, below)) = self.blocks.range(..=start).next_back() {
            assert!(
                below.ptr.addr() + below.len.max(1) <= start,
                "overlaps the block below"
            );
        }
        if let Some((&above, _)) = self.blocks.range(start..).next() {
            assert!(start + len.max(1) <= above, "overlaps the block above");
        }
        self.next_id += 1;
        // SAFETY: a fresh block of `len` bytes.
        unsafe { fill(ptr, len, self.next_id) };
        let id = self.next_id;
        self.blocks.insert(start, Block { ptr, len, id });
    }

    /// Removes a random block after checking its pattern.
    fn take(&mut self, rng: &mut Rng) -> Option<Block> {
        let n = self.blocks.len();
        if n == 0 {
            return None;
        }
        let key = *self
            .blocks
            .keys()
            .nth(rng.below(n as u64) as usize)
            .unwrap();
        let block = self.blocks.remove(&key).unwrap();
        // SAFETY: the block is live.
        let intact = unsafe { holds(block.ptr, block.len, block.id) };
        assert!(intact, "block {} corrupted", block.id);
        Some(block)
    }
}

/// A random size: mostly small, some medium and page-sized, a few multi-MiB. Under Miri, where
/// every pattern byte is interpreted, medium stops at 4.5 KiB and "multi-MiB" is 16 KiB.
fn size(rng: &mut Rng) -> usize {
    let medium = if cfg!(miri) { 4 << 10 } else { 16 << 10 };
    match rng.below(100) {
        0..=59 => rng.below(513) as usize,
        60..=84 => 512 + rng.below(medium) as usize,
        85..=96 => PAGE_SIZE * (1 + rng.below(4) as usize) + rng.below(3) as usize * 8,
        _ if cfg!(miri) => 16 << 10,
        _ => (1 << 20) + rng.below(3 << 20) as usize,
    }
}

fn run<S: Sbrk>(seed: u64, heap: Heap<S>) {
    let mut m = Model {
        heap,
        blocks: BTreeMap::new(),
        next_id: 0,
    };
    let mut rng = Rng::new(seed);
    for op in 0..OPS {
        let grow =
            m.blocks.len() < MAX_LIVE / 2 || rng.below(MAX_LIVE as u64) >= m.blocks.len() as u64;
        match rng.below(10) {
            0..=3 if grow => {
                let len = size(&mut rng);
                let p = m.heap.malloc(len);
                m.add(p, len, MIN_ALIGN);
            }
            4 if grow => {
                let len = size(&mut rng);
                let p = m.heap.calloc(1, len);
                // SAFETY: a fresh block of `len` bytes.
                let zeroed = unsafe { std::slice::from_raw_parts(p, len) };
                // One slice comparison (Miri does it natively; a loop over bytes is slow there).
                assert!(zeroed == vec![0; len], "calloc({len}) not zeroed");
                m.add(p, len, MIN_ALIGN);
            }
            5 if grow => {
                let align = 1usize << (5 + rng.below(9));
                let len = size(&mut rng);
                let p = m.heap.memalign(align, len);
                m.add(p, len, align);
            }
            6 | 7 => {
                let Some(b) = m.take(&mut rng) else { continue };
                let len = size(&mut rng);
                // SAFETY: the block is live; it is replaced by the result.
                let p = unsafe { m.heap.realloc(b.ptr, len) };
                assert!(!p.is_null());
                let kept = b.len.min(len);
                // SAFETY: the first `kept` bytes came along.
                let intact = unsafe { holds_prefix(p, b.len, kept, b.id) };
                assert!(intact, "realloc lost contents");
                m.add(p, len, MIN_ALIGN);
            }
            _ => {
                if let Some(b) = m.take(&mut rng) {
                    // SAFETY: the block is live and dropped from the model.
                    unsafe { m.heap.free(b.ptr) };
                }
            }
        }
        if op % CHECK_EVERY == 0 {
            let stats = m.heap.check().unwrap_or_else(|e| panic!("op {op}: {e:?}"));
            assert_eq!(stats.in_use, m.blocks.len());
        }
    }
    while let Some(b) = m.take(&mut rng) {
        // SAFETY: the block is live and dropped from the model.
        unsafe { m.heap.free(b.ptr) };
    }
    let stats = m.heap.check().unwrap();
    assert_eq!((stats.in_use, stats.free, stats.parked), (0, 0, 0));
    assert!(
        m.heap.heap_bytes() <= PAGE_SIZE,
        "break {} above the start",
        m.heap.heap_bytes()
    );
}

#[test]
fn random_operations_keep_every_block_intact() {
    let arena = Arena::new(ARENA_BYTES);
    run(1, Heap::new(arena.region()));
}

#[test]
fn random_operations_over_zeroed_pages() {
    let arena = Arena::new(ARENA_BYTES);
    run(0xDEC0DE, Heap::new(PagedBreak::new(&arena, 0)));
}
