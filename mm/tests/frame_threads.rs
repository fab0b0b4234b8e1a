//! Many threads on one allocator: hart caches, the shared path and contiguous runs at once,
//! every frame stamped with its owner and checked before it is freed.

use rvmm::PageSize;
use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::frame::{FrameAllocator, HartCache, Junk};
use rvmm_testkit::{Arena, Rng};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

const BASE: u64 = 0x8000_0000;
const FRAMES: usize = if cfg!(miri) { 200 } else { 8_192 };
const ROUNDS: u64 = if cfg!(miri) { 25 } else { 4_000 };
const CACHED_THREADS: usize = 4;

/// How a worker gets frames.
enum Path<'a> {
    Cache(HartCache<'a, &'a Arena>),
    Shared,
    Contiguous,
}

struct Worker<'a> {
    alloc: &'a FrameAllocator<&'a Arena>,
    arena: &'a Arena,
    path: Path<'a>,
    /// Runs held: first frame, length, stamp.
    held: Vec<(Frame, usize, u8)>,
    corruptions: &'a AtomicUsize,
}

impl Worker<'_> {
    fn take(&mut self, len: usize, stamp: u8) -> bool {
        let got = match &mut self.path {
            Path::Cache(c) => c.allocate(),
            Path::Shared => self.alloc.allocate(),
            Path::Contiguous => {
                let n = NonZeroUsize::new(len).unwrap();
                self.alloc.allocate_contiguous(n, PageSize::Size4KiB)
            }
        };
        let Ok(first) = got else { return false };
        let len = if matches!(self.path, Path::Contiguous) {
            len
        } else {
            1
        };
        for k in 0..len as u64 {
            let frame = first.checked_add(k).unwrap();
            self.arena.fill_bytes(frame, 0, PAGE_SIZE, stamp).unwrap();
        }
        self.held.push((first, len, stamp));
        true
    }

    fn give_back(&mut self, i: usize) {
        let (first, len, stamp) = self.held.swap_remove(i);
        let mut buf = vec![0; PAGE_SIZE];
        for k in 0..len as u64 {
            let frame = first.checked_add(k).unwrap();
            self.arena.read(frame, 0, &mut buf).unwrap();
            if buf[..] != [stamp; PAGE_SIZE] {
                self.corruptions.fetch_add(1, Ordering::Relaxed);
            }
        }
        // SAFETY: the run was allocated by this worker and is not used after this.
        let freed = unsafe {
            match &mut self.path {
                Path::Cache(c) => c.deallocate(first),
                Path::Shared => self.alloc.deallocate(first),
                Path::Contiguous => self.alloc.deallocate_contiguous(first, len),
            }
        };
        assert_eq!(freed, Ok(()));
    }

    fn run(mut self, id: u8) {
        let mut rng = Rng::new(id as u64 + 1);
        // A run search scans the whole span under the lock: do fewer of them.
        let rounds = if matches!(self.path, Path::Contiguous) {
            ROUNDS / 8
        } else {
            ROUNDS
        };
        for round in 0..rounds {
            let stamp = id << 4 | (round % 16) as u8;
            for _ in 0..=rng.below(6) {
                if !self.take(1 + rng.below(4) as usize, stamp) {
                    break;
                }
            }
            for _ in 0..rng.below(self.held.len() as u64 + 1) {
                let i = rng.below(self.held.len() as u64) as usize;
                self.give_back(i);
            }
        }
        while !self.held.is_empty() {
            self.give_back(0);
        }
    }
}

#[test]
fn threads_never_share_a_frame_and_the_count_returns_to_baseline() {
    let arena = Arena::new(BASE, FRAMES * PAGE_SIZE);
    // SAFETY: the arena is used by nothing else.
    let a = unsafe { FrameAllocator::new(&arena, &[arena.range()], &[], Junk::Fill) }.unwrap();
    let baseline = a.stats().free;
    let corruptions = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for id in 0..CACHED_THREADS + 2 {
            let path = match id {
                _ if id < CACHED_THREADS => Path::Cache(a.hart(id).unwrap()),
                _ if id == CACHED_THREADS => Path::Shared,
                _ => Path::Contiguous,
            };
            let worker = Worker {
                alloc: &a,
                arena: &arena,
                path,
                held: Vec::new(),
                corruptions: &corruptions,
            };
            s.spawn(move || worker.run(id as u8 + 1));
        }
    });
    assert_eq!(corruptions.load(Ordering::Relaxed), 0);
    let s = a.stats();
    assert_eq!((s.free, s.cached), (baseline, 0));
    let mut all = Vec::new();
    while let Ok(f) = a.allocate() {
        all.push(f);
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), baseline, "a frame was lost or listed twice");
}
