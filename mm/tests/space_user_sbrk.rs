//! `sbrk`: the old break comes back, the break moves byte by byte over whole pages, new memory
//! reads zero (also bytes of a partly used page taken again), shrinking frees and flushes.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;
use rvmm::space::user::CopyError;
use rvmm::tlb::FlushScope;
use space_user_support::*;

rvmm_testkit::both_modes!(
    returns_the_old_break_and_maps_whole_pages,
    new_memory_reads_zero,
    bytes_released_within_a_page_read_zero_when_taken_again,
    bytes_written_past_the_break_read_zero_when_taken,
    growing_flushes_the_new_pages,
    shrinking_frees_frames_unmaps_and_flushes,
    shrinking_within_a_page_changes_no_mapping,
    last_byte_of_the_heap_is_usable,
);

fn heap_pages<M: Mode>(space: &Space<'_, M>) -> usize {
    space.resident_pages() - 8 // program 6, stack 1, trap frame 1
}

fn returns_the_old_break_and_maps_whole_pages<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let h = PROGRAM_HEAP;
    assert_eq!(sbrk(&mut space, 0, &mut frames), h);
    assert_eq!(heap_pages(&space), 0);
    assert_eq!(sbrk(&mut space, 1, &mut frames), h);
    assert_eq!((space.brk().as_usize(), heap_pages(&space)), (h + 1, 1));
    assert_eq!(sbrk(&mut space, PAGE_SIZE as isize - 1, &mut frames), h + 1);
    assert_eq!(heap_pages(&space), 1);
    assert_eq!(sbrk(&mut space, 1, &mut frames), h + PAGE_SIZE);
    assert_eq!(heap_pages(&space), 2);
    assert_eq!(sbrk(&mut space, -2, &mut frames), h + PAGE_SIZE + 1);
    assert_eq!(
        (space.brk().as_usize(), heap_pages(&space)),
        (h + PAGE_SIZE - 1, 1)
    );
    assert_eq!(
        sbrk(&mut space, -(PAGE_SIZE as isize - 1), &mut frames),
        h + PAGE_SIZE - 1
    );
    assert_eq!((space.brk().as_usize(), heap_pages(&space)), (h, 0));
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn new_memory_reads_zero<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let old = sbrk(&mut space, 3 * PAGE_SIZE as isize + 5, &mut frames);
    let mut got = vec![0xee; 3 * PAGE_SIZE + 5];
    space.copy_in(old, &mut got).unwrap();
    assert!(
        got.iter().all(|&b| b == 0),
        "frames come junk-filled: zeroing is sbrk's"
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn bytes_released_within_a_page_read_zero_when_taken_again<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let h = sbrk(&mut space, 100, &mut frames);
    space.copy_out(h, &[0xff; 100]).unwrap();
    sbrk(&mut space, -60, &mut frames);
    sbrk(&mut space, 160, &mut frames);
    let mut got = [0xee; 200];
    space.copy_in(h, &mut got).unwrap();
    assert!(got[..40].iter().all(|&b| b == 0xff));
    assert!(got[40..].iter().all(|&b| b == 0), "{:?}", &got[40..]);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn bytes_written_past_the_break_read_zero_when_taken<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let h = sbrk(&mut space, 10, &mut frames);
    // The rest of the page is mapped: a process may scribble there.
    space.copy_out(h + 10, &[0xab; PAGE_SIZE - 10]).unwrap();
    sbrk(&mut space, PAGE_SIZE as isize, &mut frames);
    let mut got = vec![0xee; PAGE_SIZE];
    space.copy_in(h + 10, &mut got).unwrap();
    assert!(got.iter().all(|&b| b == 0));
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn growing_flushes_the_new_pages<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    sbrk(&mut space, 10, &mut frames);
    let (_, flush) = space.sbrk(2 * PAGE_SIZE as isize, &mut frames).unwrap();
    match flush.scope() {
        FlushScope::Pages(r) => {
            assert_eq!(r.start().start().as_usize(), PROGRAM_HEAP + PAGE_SIZE);
            assert_eq!(r.count(), 2);
        }
        other => panic!("{other:?}"),
    }
    flush.ignore();
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn shrinking_frees_frames_unmaps_and_flushes<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    sbrk(&mut space, 4 * PAGE_SIZE as isize, &mut frames);
    let out = frames.outstanding();
    let (old, flush) = space
        .sbrk(-(3 * PAGE_SIZE as isize) + 1, &mut frames)
        .unwrap();
    assert_eq!(old.as_usize(), PROGRAM_HEAP + 4 * PAGE_SIZE);
    match flush.scope() {
        FlushScope::Pages(r) => {
            assert_eq!(r.start().start().as_usize(), PROGRAM_HEAP + 2 * PAGE_SIZE);
            assert_eq!(r.count(), 2);
        }
        other => panic!("{other:?}"),
    }
    flush.ignore();
    assert_eq!(frames.outstanding(), out - 2);
    let mut b = [0];
    let gone = PROGRAM_HEAP + 2 * PAGE_SIZE;
    assert_eq!(space.copy_in(gone, &mut b), Err(CopyError::Unmapped(gone)));
    space.copy_in(gone - 1, &mut b).unwrap();
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn shrinking_within_a_page_changes_no_mapping<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    sbrk(&mut space, 100, &mut frames);
    let (_, flush) = space.sbrk(-50, &mut frames).unwrap();
    assert_eq!(flush.scope(), FlushScope::Nothing);
    flush.ignore();
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn last_byte_of_the_heap_is_usable<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let h = sbrk(&mut space, 2 * PAGE_SIZE as isize, &mut frames);
    let last = h + 2 * PAGE_SIZE - 1;
    space.copy_out(last, &[0x5a]).unwrap();
    let mut b = [0; 1];
    space.copy_in(last, &mut b).unwrap();
    assert_eq!(b, [0x5a]);
    assert_eq!(
        space.copy_in(last, &mut [0; 2]),
        Err(CopyError::Unmapped(last + 1))
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}
