//! Loading an executable: segments at their addresses with their permissions, bss zeroed, the
//! heap after the highest segment; every refused placement its own test, each leaving the space
//! unchanged; out of frames at every allocation rolls back.

mod space_user_support;

use rvmm::addr::VirtAddr;
use rvmm::paging::{Mode, Perms};
use rvmm::space::user::elf::{ElfError, PF_R, PF_W, PF_X};
use rvmm::space::user::{Layout, Limits, LoadError, MAX_SEGMENTS, USER_TEXT_START, UserRegion};
use rvmm_testkit::FailPlan;
use space_user_support::*;

rvmm_testkit::both_modes!(
    segments_land_at_their_addresses_with_their_permissions,
    file_bytes_are_copied_and_bss_reads_zero,
    heap_starts_at_the_page_after_the_highest_segment,
    unaligned_segment_keeps_its_bytes_at_their_addresses,
    tables_are_well_formed_after_load,
    refuses_a_second_load,
    refuses_a_load_after_sbrk,
    refuses_malformed_elf,
    refuses_too_many_segments,
    refuses_segment_at_page_zero,
    refuses_segment_just_below_text_start,
    refuses_segment_above_heap_cap,
    refuses_segments_sharing_a_page,
    refuses_write_and_execute,
    refuses_write_only_execute_only_and_no_permissions,
    refuses_entry_outside_text,
    out_of_frames_at_every_allocation_rolls_back,
);

/// Loads `elf` into a fresh space, expecting `err`, and checks the space is unchanged.
fn refused<M: Mode>(elf: &Elf, err: LoadError) {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let before = snapshot(&space);
    let out = frames.outstanding();
    assert_eq!(space.load_elf(&elf.bytes(), &mut frames), Err(err));
    assert_eq!(snapshot(&space), before);
    assert_eq!(frames.outstanding(), out);
    assert_eq!(space.entry(), None);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn segments_land_at_their_addresses_with_their_permissions<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let entry = space
        .load_elf(&program::<M>().bytes(), &mut frames)
        .unwrap();
    assert_eq!(entry.as_usize(), 0x1010);
    assert_eq!(space.entry(), Some(entry));
    let rows: Vec<_> = space
        .regions()
        .filter(|r| matches!(r.what, UserRegion::Program | UserRegion::Bss))
        .map(|r| (r.what, r.start.as_usize(), r.pages, r.perms))
        .collect();
    let (u, program, bss) = (Perms::U, UserRegion::Program, UserRegion::Bss);
    // The data segment's file bytes fill part of its first page; the two pages wholly past
    // them are its bss.
    assert_eq!(
        rows,
        [
            (program, 0x1000, 2, Perms::RX | u),
            (program, 0x4000, 1, Perms::R | u),
            (program, 0x6000, 1, Perms::RW | u),
            (bss, 0x7000, 2, Perms::RW | u),
        ]
    );
    for (va, perms) in [(0x1000, Perms::RX), (0x4000, Perms::R), (0x8000, Perms::RW)] {
        let t = space
            .page_table()
            .translate(VirtAddr::new(va).unwrap())
            .unwrap();
        assert_eq!(t.perms, perms | u, "{va:#x}");
    }
    for va in [0, 0xfff, 0x3000, 0x5000, 0x9000] {
        assert!(
            space
                .page_table()
                .translate(VirtAddr::new(va).unwrap())
                .is_none(),
            "{va:#x}"
        );
    }
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn file_bytes_are_copied_and_bss_reads_zero<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let elf = program::<M>();
    space.load_elf(&elf.bytes(), &mut frames).unwrap();
    for seg in &elf.segs {
        let mut got = vec![0xee; seg.memsz as usize];
        space.copy_in(seg.vaddr as usize, &mut got).unwrap();
        assert_eq!(&got[..seg.data.len()], &seg.data[..]);
        assert!(
            got[seg.data.len()..].iter().all(|&b| b == 0),
            "bss at {:#x}",
            seg.vaddr
        );
    }
    // The rest of the last page of text (0x2800..0x3000) is zero too, not junk.
    let mut tail = [0xee; 0x800];
    space.copy_in(0x2800, &mut tail).unwrap();
    assert!(tail.iter().all(|&b| b == 0));
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn heap_starts_at_the_page_after_the_highest_segment<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    assert_eq!(space.heap_start().as_usize(), USER_TEXT_START);
    // Segments out of address order: the highest one decides.
    let elf = Elf::new::<M>(
        0x1000,
        vec![
            Seg::new(0x10_0000, PF_R | PF_W, vec![1], 0x1001),
            Seg::new(0x1000, PF_R | PF_X, vec![0x13; 4], 4),
        ],
    );
    space.load_elf(&elf.bytes(), &mut frames).unwrap();
    assert_eq!(space.heap_start().as_usize(), 0x10_2000);
    assert_eq!(space.brk(), space.heap_start());
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn unaligned_segment_keeps_its_bytes_at_their_addresses<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    let data = pattern(3, 0x1100);
    let elf = Elf::new::<M>(
        0x1ff0,
        vec![Seg::new(0x1ff0, PF_R | PF_X, data.clone(), 0x1200)],
    );
    space.load_elf(&elf.bytes(), &mut frames).unwrap();
    let mut got = vec![0; 0x1200];
    space.copy_in(0x1ff0, &mut got).unwrap();
    assert_eq!(&got[..0x1100], &data[..]);
    assert!(got[0x1100..].iter().all(|&b| b == 0));
    let mut head = [0xee; 0xff0];
    space.copy_in(0x1000, &mut head).unwrap();
    assert!(head.iter().all(|&b| b == 0));
    assert_eq!(space.heap_start().as_usize(), 0x4000);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn tables_are_well_formed_after_load<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    space
        .load_elf(&program::<M>().bytes(), &mut frames)
        .unwrap();
    check_frames(&env.arena, &[&space], &frames);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_second_load<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    space
        .load_elf(&program::<M>().bytes(), &mut frames)
        .unwrap();
    let before = snapshot(&space);
    assert_eq!(
        space.load_elf(&program::<M>().bytes(), &mut frames),
        Err(LoadError::NotFresh)
    );
    assert_eq!(snapshot(&space), before);
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_a_load_after_sbrk<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    space.sbrk(1, &mut frames).unwrap().1.ignore();
    assert_eq!(
        space.load_elf(&program::<M>().bytes(), &mut frames),
        Err(LoadError::NotFresh)
    );
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_malformed_elf<M: Mode>() {
    let mut elf = program::<M>();
    elf.machine = 0xf3 + 1;
    refused::<M>(&elf, LoadError::Elf(ElfError::WrongMachine(0xf4)));
}

fn refuses_too_many_segments<M: Mode>() {
    let segs = (0..=MAX_SEGMENTS as u64)
        .map(|i| Seg::new(0x1000 + i * 0x1000, PF_R | PF_X, vec![0x13], 1))
        .collect();
    refused::<M>(
        &Elf::new::<M>(0x1000, segs),
        LoadError::TooManySegments(MAX_SEGMENTS + 1),
    );
}

fn refuses_segment_at_page_zero<M: Mode>() {
    let mut elf = program::<M>();
    elf.segs[1].vaddr = 0;
    refused::<M>(&elf, LoadError::BelowTextStart { index: 1, vaddr: 0 });
}

fn refuses_segment_just_below_text_start<M: Mode>() {
    let mut elf = program::<M>();
    elf.segs[0].vaddr = 0xfff;
    elf.entry = 0x1000;
    refused::<M>(
        &elf,
        LoadError::BelowTextStart {
            index: 0,
            vaddr: 0xfff,
        },
    );
}

fn refuses_segment_above_heap_cap<M: Mode>() {
    let cap = Layout::new::<M>(Limits::default())
        .unwrap()
        .heap_cap()
        .as_u64();
    let mut elf = program::<M>();
    elf.segs[2] = Seg::new(cap - 0x100, PF_R | PF_W, vec![], 0x101);
    refused::<M>(
        &elf,
        LoadError::AboveHeapCap {
            index: 2,
            end: cap + 1,
        },
    );
    // Ending exactly at the cap is fine, and leaves an empty heap there.
    elf.segs[2].memsz = 0x100;
    let env = Env::new(64);
    let mut frames = env.frames();
    let mut space: Space<'_, M> = env.space(&mut frames);
    space.load_elf(&elf.bytes(), &mut frames).unwrap();
    assert_eq!(space.heap_start().as_u64(), cap);
    assert!(space.sbrk(1, &mut frames).is_err());
    space.destroy(&mut frames);
    frames.assert_no_leaks();
}

fn refuses_segments_sharing_a_page<M: Mode>() {
    let mut elf = program::<M>();
    // rodata moved into the last page of text (0x2000..0x3000; text ends at 0x2800).
    elf.segs[1].vaddr = 0x2900;
    refused::<M>(
        &elf,
        LoadError::Overlap {
            first: 0,
            second: 1,
        },
    );
    let mut elf = program::<M>();
    elf.segs[2].vaddr = 0x1000; // right on top of text
    refused::<M>(
        &elf,
        LoadError::Overlap {
            first: 0,
            second: 2,
        },
    );
}

fn refuses_write_and_execute<M: Mode>() {
    for flags in [PF_W | PF_X, PF_R | PF_W | PF_X] {
        let mut elf = program::<M>();
        elf.segs[2].flags = flags;
        refused::<M>(&elf, LoadError::WriteAndExecute(2));
    }
}

fn refuses_write_only_execute_only_and_no_permissions<M: Mode>() {
    for flags in [PF_W, PF_X, 0] {
        let mut elf = program::<M>();
        elf.segs[1].flags = flags;
        refused::<M>(&elf, LoadError::BadPermissions { index: 1, flags });
    }
}

fn refuses_entry_outside_text<M: Mode>() {
    for entry in [0x6000, 0x2800, 0, 0xdead_0000] {
        let mut elf = program::<M>();
        elf.entry = entry;
        refused::<M>(&elf, LoadError::EntryNotExecutable(entry));
    }
}

fn out_of_frames_at_every_allocation_rolls_back<M: Mode>() {
    let env = Env::new(64);
    let mut frames = env.frames();
    let elf = program::<M>().bytes();
    let mut space: Space<'_, M> = env.space(&mut frames);
    fail(&mut frames, FailPlan::Never);
    space.load_elf(&elf, &mut frames).unwrap();
    let needed = frames.inner().calls();
    assert!(needed >= 6, "six data pages at least, got {needed}");
    space.destroy(&mut frames);
    for n in each_n(needed) {
        for plan in [FailPlan::Nth(n), FailPlan::FromNth(n)] {
            let mut space: Space<'_, M> = env.space(&mut frames);
            let before = snapshot(&space);
            let out = frames.outstanding();
            fail(&mut frames, plan);
            assert_eq!(
                space.load_elf(&elf, &mut frames),
                Err(LoadError::OutOfMemory)
            );
            fail(&mut frames, FailPlan::Never);
            assert_eq!(snapshot(&space), before, "{plan:?}");
            assert_eq!(frames.outstanding(), out, "{plan:?}");
            // And it loads once frames are back.
            space.load_elf(&elf, &mut frames).unwrap();
            space.destroy(&mut frames);
            frames.assert_no_leaks();
        }
    }
}
