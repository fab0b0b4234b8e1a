//! Frame allocator init: trimming, reserved ranges, holes, overlaps, and typed init errors.

mod frame_support;

use frame_support::drain;
use rvmm::addr::{Frame, PhysRange};
use rvmm::frame::{FrameAllocator, FreeError, InitError, Junk};
use rvmm::phys::PhysMem;
use rvmm_testkit::Arena;
use std::collections::BTreeSet;
use std::ptr::NonNull;

const BASE: u64 = 0x8000_0000;

fn range(start: u64, end: u64) -> PhysRange {
    PhysRange::with_len(start, end - start).unwrap()
}

/// Frame `n` of the arena.
fn frame(n: u64) -> Frame {
    Frame::from_number((BASE >> 12) + n).unwrap()
}

fn frames(iter: impl IntoIterator<Item = u64>) -> BTreeSet<Frame> {
    iter.into_iter().map(frame).collect()
}

#[test]
fn hands_out_exactly_the_trimmed_ram_minus_reserved_and_bookkeeping() {
    let arena = Arena::new(BASE, 256 * 4096);
    let ram = [
        range(BASE + 0x800, BASE + 0x4_0000), // frames 1..64, start trimmed
        range(BASE + 0x8_0000, BASE + 0xc_0fff), // frames 128..192, end trimmed
        range(BASE + 0x3_0000, BASE + 0x5_0000), // frames 48..80, overlaps the first
        range(BASE + 0xf0_0100, BASE + 0xf0_0f00), // no whole frame: ignored
    ];
    let reserved = [
        range(BASE + 0x2100, BASE + 0x2200), // inside frame 2: the whole frame goes
        range(BASE + 0x9_0000, BASE + 0xa_0000), // frames 144..160
        range(BASE + 0x10_0000, BASE + 0x10_0000), // empty: reserves nothing
    ];
    // SAFETY: the arena is used by nothing else.
    let a = unsafe { FrameAllocator::new(&arena, &ram, &reserved, Junk::Fill) }.unwrap();
    // The bookkeeping takes the lowest usable frame, frame 1.
    assert_eq!(a.bookkeeping_frames(), (frame(1), 1));
    let expected = frames((3..80).chain(128..144).chain(160..192));
    assert_eq!(drain(&a), expected);
    assert_eq!(a.stats().total, expected.len());
    assert_eq!(a.stats().free, expected.len());
    for n in [0, 1, 2, 80, 127, 144, 159, 192, 255] {
        // SAFETY: the frame is not managed, so `deallocate` refuses it without touching it.
        let got = unsafe { a.deallocate(frame(n)) };
        assert_eq!(got, Err(FreeError::Foreign(frame(n))));
    }
    assert_eq!(drain(&a), expected);
}

#[test]
fn ranges_in_any_order_and_fully_reserved_ranges() {
    let arena = Arena::new(BASE, 64 * 4096);
    let ram = [
        range(BASE + 0x2_0000, BASE + 0x4_0000),
        range(BASE, BASE + 0x1_0000),
        range(BASE + 0x1_0000, BASE + 0x1_2000),
    ];
    let reserved = [
        range(BASE, BASE + 0x4000),
        range(BASE + 0x2_0000, BASE + 0x4_0000),
    ];
    // SAFETY: the arena is used by nothing else.
    let a = unsafe { FrameAllocator::new(&arena, &ram, &reserved, Junk::Off) }.unwrap();
    assert_eq!(a.bookkeeping_frames(), (frame(4), 1));
    assert_eq!(drain(&a), frames(5..18));
}

#[test]
fn init_errors_are_typed() {
    let arena = Arena::new(BASE, 8 * 4096);
    let whole = [arena.range()];
    let init = |ram: &[PhysRange], reserved: &[PhysRange]| {
        // SAFETY: the arena is used by nothing else; each allocator is dropped at once.
        unsafe { FrameAllocator::new(&arena, ram, reserved, Junk::Off) }.err()
    };
    assert_eq!(init(&[], &[]), Some(InitError::NoMemory));
    assert_eq!(
        init(&[range(BASE + 1, BASE + 0x1fff)], &[]),
        Some(InitError::NoMemory)
    );
    assert_eq!(init(&whole, &whole), Some(InitError::NoMemory));
    // One usable frame: it would all go to the bookkeeping.
    let one = [range(BASE, BASE + 0x1000)];
    assert_eq!(init(&one, &[]), Some(InitError::NoMemory));
    let beyond = [range(BASE, BASE + 9 * 4096)];
    assert_eq!(init(&beyond, &[]), Some(InitError::NotBacked(frame(8))));
    assert!(init(&whole, &[]).is_none());
}

/// Physical memory that backs a few scattered frames with frames of a small arena.
struct Scattered<'a> {
    arena: &'a Arena,
    frames: Vec<u64>,
}

// SAFETY: each listed frame maps to its own arena frame (distinct, aligned, 4 KiB), which the
// arena backs and nothing else uses.
unsafe impl PhysMem for Scattered<'_> {
    fn frame_ptr(&self, frame: Frame) -> Option<NonNull<u8>> {
        let k = self.frames.iter().position(|&n| n == frame.number())?;
        self.arena
            .frame_ptr(Frame::containing(self.arena.base()).checked_add(k as u64)?)
    }
}

#[test]
fn no_room_for_the_bookkeeping_and_span_too_large() {
    let arena = Arena::new(BASE, 2 * 4096);
    let ram_at = |numbers: [u64; 2]| numbers.map(|n| range(n << 12, (n + 1) << 12));
    let init = |numbers: [u64; 2]| {
        let mem = Scattered {
            arena: &arena,
            frames: numbers.to_vec(),
        };
        // SAFETY: the scattered frames are used by nothing else; dropped at once.
        unsafe { FrameAllocator::new(mem, &ram_at(numbers), &[], Junk::Off) }.err()
    };
    // Two single frames 20,000 apart: the bookkeeping needs six consecutive frames.
    assert_eq!(
        init([1, 20_001]),
        Some(InitError::NoRoomForBookkeeping { frames: 6 })
    );
    let far = 1 << 32;
    assert_eq!(
        init([1, far]),
        Some(InitError::SpanTooLarge { frames: far })
    );
}

#[test]
fn bookkeeping_too_big_for_the_lowest_run_goes_higher() {
    // Over ~3,640 frames the bookkeeping needs two frames; the first run has only one.
    let arena = Arena::new(BASE, 4 * 4096);
    let numbers = vec![1, 4_000, 4_001, 4_002];
    let ram = [range(1 << 12, 2 << 12), range(4_000 << 12, 4_003 << 12)];
    let mem = Scattered {
        arena: &arena,
        frames: numbers,
    };
    // SAFETY: the scattered frames are used by nothing else.
    let a = unsafe { FrameAllocator::new(mem, &ram, &[], Junk::Fill) }.unwrap();
    let at = |n| Frame::from_number(n).unwrap();
    assert_eq!(a.bookkeeping_frames(), (at(4_000), 2));
    assert_eq!(a.stats().total, 2);
    // SAFETY: bookkeeping frames are not managed: refused untouched.
    let got = unsafe { a.deallocate(at(4_001)) };
    assert_eq!(got, Err(FreeError::Foreign(at(4_001))));
    assert_eq!(a.allocate(), Ok(at(4_002)));
    assert_eq!(a.allocate(), Ok(at(1)));
}
