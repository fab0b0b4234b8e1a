//! Copies between kernel and user memory: every length and page crossing, and every refusal
//! (unmapped, kernel-only, read-only, beyond the mode's top, non-canonical, overflowing) as its
//! own test, each writing nothing.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;
use rvmm::space::user::CopyError;
use rvmm::space::{trampoline_page, trap_frame_page};
use space_user_support::*;

rvmm_testkit::both_modes!(
    round_trips_every_length_and_offset_across_pages,
    reads_text_and_rodata,
    zero_length_copies_succeed_below_the_top,
    copy_in_refuses_unmapped_pages,
    copy_in_refuses_the_trap_frame_and_trampoline,
    copy_out_refuses_read_only_pages,
    copy_out_refuses_the_trap_frame,
    copy_out_checks_every_page_before_writing,
    copy_in_leaves_the_buffer_alone_on_error,
    refuses_addresses_beyond_the_mode_top,
    refuses_non_canonical_and_high_bit_addresses,
    refuses_overflowing_ranges,
    str_stops_at_the_nul,
    str_crosses_pages,
    str_without_nul_within_the_bound_fails,
    str_runs_into_an_unmapped_page,
    str_never_looks_past_the_nul,
    str_refuses_kernel_pages_and_bad_addresses,
);

/// A loaded space with 3 heap pages (0x9000..0xc000) holding a pattern.
fn setup<'a, M: Mode>(env: &'a Env, frames: &mut Frames<'_>) -> Space<'a, M> {
    let mut space = env.space::<M>(frames);
    space.load_elf(&program::<M>().bytes(), frames).unwrap();
    space
        .sbrk(3 * PAGE_SIZE as isize, frames)
        .unwrap()
        .1
        .ignore();
    space
        .copy_out(PROGRAM_HEAP, &pattern(5, 3 * PAGE_SIZE))
        .unwrap();
    space
}

fn done<M: Mode>(space: Space<'_, M>, mut frames: Frames<'_>) {
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn round_trips_every_length_and_offset_across_pages<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let mut model = pattern(5, 3 * PAGE_SIZE);
    let mut seed = 0u8;
    let lens: Vec<usize> = if cfg!(miri) {
        vec![0, 1, 4095, 4097]
    } else {
        vec![
            0,
            1,
            2,
            7,
            100,
            4095,
            4096,
            4097,
            8191,
            8192,
            8193,
            3 * PAGE_SIZE,
        ]
    };
    let offsets = [0, 1, 100, 4095, 4096, 4097, 8000];
    for &len in &lens {
        for &off in offsets.iter().filter(|&&o| o + len <= 3 * PAGE_SIZE) {
            seed = seed.wrapping_add(1);
            let data = pattern(seed, len);
            space.copy_out(PROGRAM_HEAP + off, &data).unwrap();
            model[off..off + len].copy_from_slice(&data);
            let mut all = vec![0; 3 * PAGE_SIZE];
            space.copy_in(PROGRAM_HEAP, &mut all).unwrap();
            assert_eq!(all, model, "len {len} off {off}");
            let mut back = vec![0; len];
            space.copy_in(PROGRAM_HEAP + off, &mut back).unwrap();
            assert_eq!(back, data);
        }
    }
    done(space, frames);
}

fn reads_text_and_rodata<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let space = setup::<M>(&env, &mut frames);
    let elf = program::<M>();
    let mut text = vec![0; 0x1800];
    space.copy_in(0x1000, &mut text).unwrap();
    assert_eq!(text, elf.segs[0].data);
    let mut ro = vec![0; 0x20];
    space.copy_in(0x4000, &mut ro).unwrap();
    assert_eq!(ro, elf.segs[1].data);
    done(space, frames);
}

fn zero_length_copies_succeed_below_the_top<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    for addr in [0, 0x3000, trampoline_page::<M>().start().as_usize()] {
        space.copy_in(addr, &mut []).unwrap();
        space.copy_out(addr, &[]).unwrap();
    }
    let top = (M::VA_TOP) as usize;
    assert_eq!(space.copy_in(top, &mut []), Err(CopyError::OutOfRange(top)));
    done(space, frames);
}

fn copy_in_refuses_unmapped_pages<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let space = setup::<M>(&env, &mut frames);
    let mut b = [0; 4];
    for (addr, bad) in [
        (0, 0),
        (0xfff, 0xfff),
        (0x2ffe, 0x3000), // text ends at 0x3000, rodata starts at 0x4000
        (0x5000, 0x5000),
        (
            PROGRAM_HEAP + 3 * PAGE_SIZE - 2,
            PROGRAM_HEAP + 3 * PAGE_SIZE,
        ),
        (0x1000_0000, 0x1000_0000),
    ] {
        assert_eq!(
            space.copy_in(addr, &mut b),
            Err(CopyError::Unmapped(bad)),
            "{addr:#x}"
        );
    }
    done(space, frames);
}

fn copy_in_refuses_the_trap_frame_and_trampoline<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let space = setup::<M>(&env, &mut frames);
    let tf = trap_frame_page::<M>().start().as_usize();
    let tramp = trampoline_page::<M>().start().as_usize();
    let mut b = [0; 8];
    assert_eq!(space.copy_in(tf, &mut b), Err(CopyError::NotUser(tf)));
    assert_eq!(space.copy_in(tramp, &mut b), Err(CopyError::NotUser(tramp)));
    // From the top of the stack into the trap frame: the stack part alone would be fine.
    assert_eq!(space.copy_in(tf - 4, &mut b), Err(CopyError::NotUser(tf)));
    done(space, frames);
}

fn copy_out_refuses_read_only_pages<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let before = snapshot(&space);
    assert_eq!(
        space.copy_out(0x1000, &[1]),
        Err(CopyError::NotWritable(0x1000))
    );
    assert_eq!(
        space.copy_out(0x4010, &[1; 4]),
        Err(CopyError::NotWritable(0x4010))
    );
    assert_eq!(snapshot(&space), before);
    done(space, frames);
}

fn copy_out_refuses_the_trap_frame<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let tf = trap_frame_page::<M>().start().as_usize();
    let before = snapshot(&space);
    assert_eq!(space.copy_out(tf, &[1]), Err(CopyError::NotUser(tf)));
    assert_eq!(
        space.copy_out(tf - 8, &[1; 16]),
        Err(CopyError::NotUser(tf))
    );
    assert_eq!(snapshot(&space), before);
    let mut tf_bytes = [0xee; 16];
    space.trap_frame().read(0, &mut tf_bytes).unwrap();
    assert_eq!(tf_bytes, [0; 16]);
    done(space, frames);
}

fn copy_out_checks_every_page_before_writing<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let before = snapshot(&space);
    // Two writable heap pages, then the unmapped page after the heap.
    let end = PROGRAM_HEAP + 3 * PAGE_SIZE;
    let start = end - 2 * PAGE_SIZE - 10;
    assert_eq!(
        space.copy_out(start, &vec![0xab; 2 * PAGE_SIZE + 20]),
        Err(CopyError::Unmapped(end))
    );
    assert_eq!(
        snapshot(&space),
        before,
        "a failed copy_out wrote something"
    );
    done(space, frames);
}

fn copy_in_leaves_the_buffer_alone_on_error<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let space = setup::<M>(&env, &mut frames);
    let end = PROGRAM_HEAP + 3 * PAGE_SIZE;
    let mut buf = vec![0xee; PAGE_SIZE + 1];
    assert_eq!(
        space.copy_in(end - PAGE_SIZE, &mut buf),
        Err(CopyError::Unmapped(end))
    );
    assert!(buf.iter().all(|&b| b == 0xee));
    done(space, frames);
}

fn refuses_addresses_beyond_the_mode_top<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let top = M::VA_TOP as usize;
    let mut b = [0; 2];
    assert_eq!(space.copy_in(top, &mut b), Err(CopyError::OutOfRange(top)));
    assert_eq!(
        space.copy_in(top - 1, &mut b),
        Err(CopyError::OutOfRange(top - 1))
    );
    assert_eq!(
        space.copy_out(top + PAGE_SIZE, &b),
        Err(CopyError::OutOfRange(top + PAGE_SIZE))
    );
    done(space, frames);
}

fn refuses_non_canonical_and_high_bit_addresses<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    // Each of these has the bits of a mapped heap address (0x9000) below the mode's width: a
    // walker that ignored the high bits would alias them to the heap (VIMIX did).
    let heap = PROGRAM_HEAP;
    let mut aliases = vec![heap | 1 << 63, heap | 1 << 40];
    if is64::<M>() {
        aliases.push(heap | !((1usize << 39) - 1)); // Sv39 canonical upper half
        aliases.push(heap | 1 << 38);
    } else {
        aliases.push(heap | 1 << 32);
    }
    let before = snapshot(&space);
    for addr in aliases {
        let mut b = [0; 4];
        assert_eq!(
            space.copy_in(addr, &mut b),
            Err(CopyError::OutOfRange(addr)),
            "{addr:#x}"
        );
        assert_eq!(
            space.copy_out(addr, &[9; 4]),
            Err(CopyError::OutOfRange(addr))
        );
        assert_eq!(
            space.copy_in_str(addr, &mut b),
            Err(CopyError::OutOfRange(addr))
        );
    }
    assert_eq!(snapshot(&space), before);
    done(space, frames);
}

fn refuses_overflowing_ranges<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let addr = usize::MAX - 3;
    let mut b = [0; 8];
    assert_eq!(
        space.copy_in(addr, &mut b),
        Err(CopyError::Overflow { addr, len: 8 })
    );
    assert_eq!(
        space.copy_out(addr, &b),
        Err(CopyError::Overflow { addr, len: 8 })
    );
    done(space, frames);
}

fn str_stops_at_the_nul<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    space.copy_out(PROGRAM_HEAP, b"hello\0world\0").unwrap();
    let mut buf = [0xee; 32];
    assert_eq!(space.copy_in_str(PROGRAM_HEAP, &mut buf), Ok(5));
    assert_eq!(&buf[..6], b"hello\0");
    // The NUL as the last byte the bound allows.
    let mut six = [0xee; 6];
    assert_eq!(space.copy_in_str(PROGRAM_HEAP, &mut six), Ok(5));
    assert_eq!(space.copy_in_str(PROGRAM_HEAP + 5, &mut six), Ok(0));
    done(space, frames);
}

fn str_crosses_pages<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let at = PROGRAM_HEAP + PAGE_SIZE - 3;
    space.copy_out(at, b"abcdefg\0").unwrap();
    let mut buf = [0; 16];
    assert_eq!(space.copy_in_str(at, &mut buf), Ok(7));
    assert_eq!(&buf[..8], b"abcdefg\0");
    done(space, frames);
}

fn str_without_nul_within_the_bound_fails<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    space.copy_out(PROGRAM_HEAP, b"hello\0").unwrap();
    let mut five = [0; 5];
    assert_eq!(
        space.copy_in_str(PROGRAM_HEAP, &mut five),
        Err(CopyError::NoNul { bound: 5 })
    );
    assert_eq!(
        space.copy_in_str(PROGRAM_HEAP, &mut []),
        Err(CopyError::NoNul { bound: 0 })
    );
    // A page-crossing bound with no NUL anywhere (the pattern has none).
    space
        .copy_out(PROGRAM_HEAP, &pattern(1, 2 * PAGE_SIZE))
        .unwrap();
    let mut big = vec![0; 2 * PAGE_SIZE];
    assert_eq!(
        space.copy_in_str(PROGRAM_HEAP, &mut big),
        Err(CopyError::NoNul {
            bound: 2 * PAGE_SIZE
        })
    );
    done(space, frames);
}

fn str_runs_into_an_unmapped_page<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let space = setup::<M>(&env, &mut frames);
    let end = PROGRAM_HEAP + 3 * PAGE_SIZE;
    let mut buf = [0; 64];
    assert_eq!(
        space.copy_in_str(end - 10, &mut buf),
        Err(CopyError::Unmapped(end))
    );
    done(space, frames);
}

fn str_never_looks_past_the_nul<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space = setup::<M>(&env, &mut frames);
    let end = PROGRAM_HEAP + 3 * PAGE_SIZE;
    space.copy_out(end - 3, b"ab\0").unwrap();
    let mut buf = [0; 64];
    assert_eq!(space.copy_in_str(end - 3, &mut buf), Ok(2));
    done(space, frames);
}

fn str_refuses_kernel_pages_and_bad_addresses<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let space = setup::<M>(&env, &mut frames);
    let tf = trap_frame_page::<M>().start().as_usize();
    let mut buf = [0; 8];
    assert_eq!(space.copy_in_str(tf, &mut buf), Err(CopyError::NotUser(tf)));
    assert_eq!(space.copy_in_str(0, &mut buf), Err(CopyError::Unmapped(0)));
    let addr = usize::MAX - 2;
    assert_eq!(
        space.copy_in_str(addr, &mut buf),
        Err(CopyError::OutOfRange(addr))
    );
    done(space, frames);
}
