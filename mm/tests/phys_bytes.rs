//! Views of a frame's bytes (`FrameRef`, `FrameMut`): what they read and write, that every
//! request reaching past the frame is refused untouched, and that a frame the memory does not
//! back gives no view. Also the arena's by-number access built on them.

use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::phys::{FrameMut, FrameRef, PhysError};
use rvmm_testkit::Arena;

const BASE: u64 = 0x8000_0000;
const WORD: usize = size_of::<usize>();

fn frame(k: u64) -> Frame {
    Frame::from_number((BASE >> 12) + k).unwrap()
}

/// A read-write view of frame `k` of an arena the test owns whole.
fn view(arena: &Arena, k: u64) -> FrameMut<'_> {
    // SAFETY: the arena is the test's; each test holds at most one view of a frame at a time.
    unsafe { FrameMut::new(arena, frame(k)) }.unwrap()
}

/// Every byte of the arena's frames, to check that a refused request wrote nothing.
fn bytes(arena: &Arena) -> Vec<u8> {
    let mut all = vec![0; arena.frames() * PAGE_SIZE];
    for (k, page) in all.chunks_mut(PAGE_SIZE).enumerate() {
        arena.read(frame(k as u64), 0, page).unwrap();
    }
    all
}

#[test]
fn writes_land_where_reads_find_them() {
    let arena = Arena::new(BASE, 3 * PAGE_SIZE);
    let mut f0 = view(&arena, 0);
    f0.fill_bytes(0, PAGE_SIZE, 0xAB).unwrap();
    f0.write(100, b"hello").unwrap();
    f0.write_word(13, 0x0102_0304).unwrap(); // unaligned on purpose
    f0.write_word(PAGE_SIZE - WORD, usize::MAX).unwrap();
    let mut back = [0; 7];
    f0.read(99, &mut back).unwrap();
    assert_eq!(&back, b"\xABhello\xAB");
    assert_eq!(f0.read_word(13), Ok(0x0102_0304));
    assert_eq!(f0.as_ref().read_word(PAGE_SIZE - WORD), Ok(usize::MAX));

    let mut f2 = view(&arena, 2);
    f2.copy_from(&f0.as_ref());
    let (mut a, mut c) = ([0; PAGE_SIZE], [0; PAGE_SIZE]);
    f0.read(0, &mut a).unwrap();
    f2.read(0, &mut c).unwrap();
    assert_eq!(a, c);
    assert_eq!(f2.frame(), frame(2));

    f2.zero();
    f2.read(0, &mut c).unwrap();
    assert!(c.iter().all(|&b| b == 0));
    let mut f1 = view(&arena, 1);
    f1.fill_bytes(PAGE_SIZE - 2, 2, 7).unwrap();
    let mut edge = [0; 3];
    arena.read(frame(1), PAGE_SIZE - 3, &mut edge).unwrap();
    assert_eq!(
        edge,
        [0, 7, 7],
        "the frame's last two bytes, and only those"
    );
}

#[test]
fn requests_past_the_frame_are_refused_untouched() {
    let arena = Arena::new(BASE, 2 * PAGE_SIZE);
    arena.fill_bytes(frame(0), 0, PAGE_SIZE, 0x11).unwrap();
    let before = bytes(&arena);
    let mut f = view(&arena, 0);
    let past = |offset, len| Err::<(), _>(PhysError::OutsideFrame { offset, len });
    assert_eq!(f.write(PAGE_SIZE - 1, b"ab"), past(PAGE_SIZE - 1, 2));
    assert_eq!(f.write(PAGE_SIZE + 1, b""), past(PAGE_SIZE + 1, 0));
    assert_eq!(f.fill_bytes(1, PAGE_SIZE, 0), past(1, PAGE_SIZE));
    assert_eq!(f.fill_bytes(usize::MAX, 2, 0), past(usize::MAX, 2));
    let word = PAGE_SIZE - WORD + 1;
    assert_eq!(f.write_word(word, 0), past(word, WORD));
    assert_eq!(f.read_word(PAGE_SIZE).map(drop), past(PAGE_SIZE, WORD));
    let mut out = [0x22; 4];
    assert_eq!(f.read(PAGE_SIZE - 3, &mut out), past(PAGE_SIZE - 3, 4));
    assert_eq!(out, [0x22; 4], "a refused read leaves the buffer alone");
    // Empty requests at the very end are inside.
    assert_eq!(f.write(PAGE_SIZE, b""), Ok(()));
    assert_eq!(
        arena.write(frame(1), PAGE_SIZE, b"x"),
        past(PAGE_SIZE, 1),
        "the arena's by-number access checks the same"
    );
    assert_eq!(bytes(&arena), before);
}

#[test]
fn frames_the_memory_does_not_back_give_no_view() {
    let arena = Arena::new(BASE, 2 * PAGE_SIZE);
    let before = bytes(&arena);
    let outside = frame(2);
    let below = Frame::from_number((BASE >> 12) - 1).unwrap();
    for f in [outside, below] {
        // SAFETY: refused before any byte is touched.
        let view = unsafe { FrameMut::new(&arena, f) };
        assert_eq!(view.map(|v| v.frame()), Err(PhysError::NotBacked(f)));
        // SAFETY: as above.
        let view = unsafe { FrameRef::new(&arena, f) };
        assert_eq!(view.map(|v| v.frame()), Err(PhysError::NotBacked(f)));
        assert_eq!(arena.write(f, 0, b"x"), Err(PhysError::NotBacked(f)));
        assert_eq!(arena.read_word(f, 0), Err(PhysError::NotBacked(f)));
    }
    assert_eq!(bytes(&arena), before);
}
