//! The argument vector `exec` leaves on a new program's stack: strings at the top, the pointer
//! array below them, `sp` aligned; growth of the stack when the vector needs it; refusals that
//! leave the space unchanged.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;
use rvmm::space::user::{ArgsError, Limits, UserSpace};
use rvmm_testkit::FailPlan;
use space_user_support::*;

rvmm_testkit::both_modes!(
    strings_and_pointers_land_where_a_program_reads_them,
    no_arguments_leave_a_lone_null_pointer,
    a_vector_larger_than_a_page_grows_the_stack,
    a_vector_beyond_the_stack_limit_is_refused,
    an_argument_with_a_nul_is_refused,
    out_of_frames_at_every_allocation_rolls_back,
);

/// Reads the pointer-sized word at `va`.
fn word<M: Mode>(space: &Space<'_, M>, va: usize) -> usize {
    let mut b = [0u8; 8];
    space.copy_in(va, &mut b[..M::ENTRY_BYTES]).unwrap();
    u64::from_le_bytes(b) as usize
}

/// Reads the NUL-terminated string at `va`.
fn string<M: Mode>(space: &Space<'_, M>, va: usize) -> Vec<u8> {
    let mut buf = vec![0; 2048];
    let len = space.copy_in_str(va, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

/// Every argument back through argv, and the null after them.
fn read_back<M: Mode>(space: &Space<'_, M>, argv: usize, argc: usize) -> Vec<Vec<u8>> {
    let w = M::ENTRY_BYTES;
    let out: Vec<Vec<u8>> = (0..argc)
        .map(|i| string(space, word(space, argv + i * w)))
        .collect();
    assert_eq!(word(space, argv + argc * w), 0, "argv[argc] is not null");
    out
}

fn strings_and_pointers_land_where_a_program_reads_them<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let args: [&[u8]; 3] = [b"memtests", b"-v", b"sbrk"];
    let v = space.push_args(&args, &mut frames).unwrap();
    assert_eq!(v.argc, 3);
    assert_eq!(v.sp, v.argv);
    assert_eq!(v.sp.as_usize() % 16, 0);
    let top = stack_top::<M>();
    assert!(v.sp.as_usize() < top && top - v.sp.as_usize() <= 64);
    assert_eq!(
        read_back(&space, v.argv.as_usize(), 3),
        args.map(<[u8]>::to_vec)
    );
    // The last string ends right under the stack top.
    assert_eq!(string(&space, top - 5), b"sbrk");
    assert_eq!(stack_pages(&space), 1);
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    assert_eq!(frames.outstanding(), 0);
}

fn no_arguments_leave_a_lone_null_pointer<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let v = space.push_args(&[], &mut frames).unwrap();
    assert_eq!(v.argc, 0);
    assert_eq!(word(&space, v.argv.as_usize()), 0);
    assert_eq!(v.sp.as_usize() % 16, 0);
    space.destroy(&mut frames);
}

fn a_vector_larger_than_a_page_grows_the_stack<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let long: Vec<Vec<u8>> = (0..10).map(|i| vec![b'a' + i as u8; 700]).collect();
    let args: Vec<&[u8]> = long.iter().map(Vec::as_slice).collect();
    let v = space.push_args(&args, &mut frames).unwrap();
    assert_eq!(stack_pages(&space), 2);
    assert_eq!(read_back(&space, v.argv.as_usize(), 10), long);
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    assert_eq!(frames.outstanding(), 0);
}

fn a_vector_beyond_the_stack_limit_is_refused<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let limits = Limits {
        stack_max: 2 * PAGE_SIZE,
        ..Limits::default()
    };
    let mut space: Space<'_, M> =
        UserSpace::new(&env.arena, env.trampoline(), limits, &mut frames).unwrap();
    let big = vec![b'x'; 2 * PAGE_SIZE];
    let before = snapshot(&space);
    let err = space.push_args(&[&big], &mut frames).unwrap_err();
    assert!(matches!(err, ArgsError::TooLarge { bytes } if bytes > 2 * PAGE_SIZE));
    assert_eq!(snapshot(&space), before);
    // Just under the limit fits.
    let fits = vec![b'y'; 2 * PAGE_SIZE - 64];
    space.push_args(&[&fits], &mut frames).unwrap();
    assert_eq!(stack_pages(&space), 2);
    space.destroy(&mut frames);
}

fn an_argument_with_a_nul_is_refused<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let before = snapshot(&space);
    let args: [&[u8]; 2] = [b"ok", b"bad\0arg"];
    assert_eq!(
        space.push_args(&args, &mut frames),
        Err(ArgsError::Nul { index: 1 })
    );
    assert_eq!(snapshot(&space), before);
    space.destroy(&mut frames);
}

fn out_of_frames_at_every_allocation_rolls_back<M: Mode>() {
    let env = Env::new(64);
    let long: Vec<Vec<u8>> = (0..12).map(|i| vec![b'a' + i as u8; 1000]).collect();
    let args: Vec<&[u8]> = long.iter().map(Vec::as_slice).collect();
    for n in each_n(6) {
        let mut frames = env.frames();
        let mut space: Space<'_, M> = env.space(&mut frames);
        let before = snapshot(&space);
        let out = frames.outstanding();
        fail(&mut frames, FailPlan::Nth(n));
        match space.push_args(&args, &mut frames) {
            Ok(v) => assert_eq!(read_back(&space, v.argv.as_usize(), 12), long),
            Err(e) => {
                assert_eq!(e, ArgsError::OutOfMemory, "n = {n}");
                assert_eq!(snapshot(&space), before, "n = {n}");
                assert_eq!(frames.outstanding(), out, "n = {n}");
            }
        }
        fail(&mut frames, FailPlan::Never);
        space.destroy(&mut frames);
        assert_eq!(frames.outstanding(), 0);
    }
}
