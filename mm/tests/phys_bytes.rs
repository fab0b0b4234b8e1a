//! The byte operations of `PhysMem`: what they read and write, and that every request that
//! reaches past a frame or names a frame the memory does not back is refused untouched.

use rvmm::addr::{Frame, PAGE_SIZE};
use rvmm::phys::{PhysError, PhysMem};
use rvmm_testkit::Arena;

const BASE: u64 = 0x8000_0000;
const WORD: usize = size_of::<usize>();

fn frame(k: u64) -> Frame {
    Frame::from_number((BASE >> 12) + k).unwrap()
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
    arena.fill_bytes(frame(0), 0, PAGE_SIZE, 0xAB).unwrap();
    arena.write(frame(0), 100, b"hello").unwrap();
    arena.write_word(frame(0), 13, 0x0102_0304).unwrap(); // unaligned on purpose
    arena
        .write_word(frame(0), PAGE_SIZE - WORD, usize::MAX)
        .unwrap();
    let mut back = [0; 7];
    arena.read(frame(0), 99, &mut back).unwrap();
    assert_eq!(&back, b"\xABhello\xAB");
    assert_eq!(arena.read_word(frame(0), 13), Ok(0x0102_0304));
    assert_eq!(arena.read_word(frame(0), PAGE_SIZE - WORD), Ok(usize::MAX));

    arena.copy_frame(frame(0), frame(2)).unwrap();
    let (mut a, mut c) = ([0; PAGE_SIZE], [0; PAGE_SIZE]);
    arena.read(frame(0), 0, &mut a).unwrap();
    arena.read(frame(2), 0, &mut c).unwrap();
    assert_eq!(a, c);
    arena.copy_frame(frame(2), frame(2)).unwrap(); // onto itself: nothing to do
    arena.read(frame(2), 0, &mut c).unwrap();
    assert_eq!(a, c);

    arena.zero(frame(2)).unwrap();
    arena.read(frame(2), 0, &mut c).unwrap();
    assert!(c.iter().all(|&b| b == 0));
    arena.fill_bytes(frame(1), PAGE_SIZE - 2, 2, 7).unwrap();
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
    let f = frame(0);
    let past = |offset, len| Err::<(), _>(PhysError::OutsideFrame { offset, len });
    assert_eq!(arena.write(f, PAGE_SIZE - 1, b"ab"), past(PAGE_SIZE - 1, 2));
    assert_eq!(arena.write(f, PAGE_SIZE + 1, b""), past(PAGE_SIZE + 1, 0));
    assert_eq!(arena.fill_bytes(f, 1, PAGE_SIZE, 0), past(1, PAGE_SIZE));
    assert_eq!(arena.fill_bytes(f, usize::MAX, 2, 0), past(usize::MAX, 2));
    let word = PAGE_SIZE - WORD + 1;
    assert_eq!(arena.write_word(f, word, 0), past(word, WORD));
    assert_eq!(
        arena.read_word(f, PAGE_SIZE).map(drop),
        past(PAGE_SIZE, WORD)
    );
    let mut out = [0x22; 4];
    assert_eq!(
        arena.read(f, PAGE_SIZE - 3, &mut out),
        past(PAGE_SIZE - 3, 4)
    );
    assert_eq!(out, [0x22; 4], "a refused read leaves the buffer alone");
    // Empty requests at the very end are inside.
    assert_eq!(arena.write(f, PAGE_SIZE, b""), Ok(()));
    assert_eq!(bytes(&arena), before);
}

#[test]
fn frames_the_memory_does_not_back_are_refused_untouched() {
    let arena = Arena::new(BASE, 2 * PAGE_SIZE);
    let before = bytes(&arena);
    let outside = frame(2);
    let below = Frame::from_number((BASE >> 12) - 1).unwrap();
    for f in [outside, below] {
        let not = Err(PhysError::NotBacked(f));
        assert_eq!(arena.zero(f), not);
        assert_eq!(arena.write(f, 0, b"x"), not);
        assert_eq!(arena.read_word(f, 0), not.map(|()| 0));
        assert_eq!(arena.copy_frame(frame(0), f), not);
        assert_eq!(arena.copy_frame(f, frame(0)), not);
    }
    assert_eq!(bytes(&arena), before);
}

#[test]
fn a_reference_to_physical_memory_is_physical_memory() {
    let arena = Arena::new(BASE, PAGE_SIZE);
    let by_ref: &&Arena = &&arena;
    by_ref.write_word(frame(0), 8, 42).unwrap();
    assert_eq!(arena.read_word(frame(0), 8), Ok(42));
}
