//! What a process can ask about its own memory: how many table frames its space takes, and
//! whether a buffer is readable or writable before anything is copied.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;
use rvmm::space::user::CopyError;
use space_user_support::*;

rvmm_testkit::both_modes!(
    table_frames_match_the_spec_walk,
    readable_and_writable_checks_agree_with_the_copies,
);

fn table_frames_match_the_spec_walk<M: Mode>() {
    let env = Env::new(256);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    assert_eq!(space.table_frames(), check_tables(&env.arena, &space));
    sbrk(&mut space, 64 * PAGE_SIZE as isize, &mut frames);
    assert_eq!(space.table_frames(), check_tables(&env.arena, &space));
    assert_eq!(
        frames.outstanding(),
        space.resident_pages() + space.table_frames()
    );
    space.destroy(&mut frames);
}

fn readable_and_writable_checks_agree_with_the_copies<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = loaded::<M>(&env, &mut frames);
    let brk = sbrk(&mut space, PAGE_SIZE as isize, &mut frames) + PAGE_SIZE;
    let text = rvmm::space::user::USER_TEXT_START;
    let top = stack_top::<M>();
    let cases = [
        (brk - 16, 16),      // ends exactly at the break
        (brk - 16, 17),      // runs past it
        (text, 8),           // program text: readable, not writable
        (0, 1),              // page 0
        (top, 8),            // the trap frame: not user memory
        (usize::MAX - 3, 8), // wraps
        (top - 8, 0),        // empty
    ];
    let mut buf = [0u8; 32];
    for (addr, len) in cases {
        let read = space.copy_in(addr, &mut buf[..len]).map(|_| ());
        assert_eq!(space.check_readable(addr, len), read, "{addr:#x}+{len}");
        let write = space.copy_out(addr, &buf[..len]);
        assert_eq!(space.check_writable(addr, len), write, "{addr:#x}+{len}");
    }
    assert!(matches!(
        space.check_writable(text, 8),
        Err(CopyError::NotWritable(_))
    ));
    space.destroy(&mut frames);
}
