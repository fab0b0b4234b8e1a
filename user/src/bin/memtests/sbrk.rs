//! `sbrk`: byte steps, large growth, exact shrinks, zeroed regrowth, refusals that leave the
//! break where it was, and memory that is really gone once released.

use crate::util::{self, Map, Outcome, PAGE, brk, call, system_frames};
use abi::{Errno, nr};
use user::sys::{self, sbrk};

/// Byte `i` of the heap from `base`.
fn byte(base: usize, i: usize) -> *mut u8 {
    (base + i) as *mut u8
}

/// Moves the break to a page boundary and returns it.
fn align_break() -> Result<usize, util::Failed> {
    let b = brk();
    let up = util::page_up(b);
    expect_eq!(sbrk((up - b) as isize), Ok(b), "sbrk to a page boundary");
    Ok(up)
}

pub fn one_byte_steps(_map: &Map) -> Outcome {
    let start = brk();
    for i in 0..5000 {
        expect_eq!(sbrk(1), Ok(start + i), "sbrk(1) number {i}");
        // SAFETY: byte `i` was just added to the heap.
        unsafe { byte(start, i).write_volatile(i as u8 ^ 0x5a) };
    }
    expect_eq!(brk(), start + 5000, "break after 5000 sbrk(1)");
    for i in 0..5000 {
        // SAFETY: the 5000 bytes are heap.
        let got = unsafe { byte(start, i).read_volatile() };
        expect_eq!(got, i as u8 ^ 0x5a, "heap byte {i}");
    }
    expect_eq!(sbrk(-5000), Ok(start + 5000), "sbrk(-5000)");
    expect_eq!(brk(), start, "break after giving the 5000 bytes back");
    Ok(())
}

/// This process's page-table frames: the stack never empties its table (the top page stays),
/// so these change only with the heap.
fn table_frames() -> u64 {
    sys::memstat().map_or(0, |s| s.table_frames)
}

pub fn half_of_ram(map: &Map) -> Outcome {
    let before = system_frames();
    let tables = table_frames();
    let bytes = map.ram_bytes() / 2;
    let start = brk();
    expect_eq!(
        sbrk(bytes as isize),
        Ok(start),
        "sbrk of half of RAM ({bytes:#x} bytes)"
    );
    let first = util::page_up(start);
    let pages = (start + bytes - first) / PAGE;
    for p in 0..pages {
        // SAFETY: every page from `first` below the new break is heap.
        unsafe { ((first + p * PAGE) as *mut usize).write_volatile(p) };
    }
    for p in 0..pages {
        // SAFETY: as above.
        let got = unsafe { ((first + p * PAGE) as *const usize).read_volatile() };
        expect_eq!(got, p, "first word of heap page {p}");
    }
    let grown = table_frames();
    ensure!(
        grown >= tables + 8,
        "{grown} table frames for half of RAM, {tables} before"
    );
    expect_eq!(
        sbrk(-(bytes as isize)),
        Ok(start + bytes),
        "giving half of RAM back"
    );
    expect_eq!(
        table_frames(),
        tables,
        "page-table frames after giving half of RAM back"
    );
    expect_eq!(
        system_frames(),
        before,
        "frames after giving half of RAM back"
    );
    Ok(())
}

pub fn shrink_one_page(_map: &Map) -> Outcome {
    let b = align_break()?;
    expect_eq!(sbrk(3 * PAGE as isize), Ok(b), "sbrk of three pages");
    // SAFETY: the three pages are heap.
    unsafe { core::ptr::write_bytes(b as *mut u8, 0x77, 3 * PAGE) };
    let before = sys::memstat().map_err(|_| util::Failed)?;
    expect_eq!(sbrk(-(PAGE as isize)), Ok(b + 3 * PAGE), "sbrk(-4096)");
    expect_eq!(brk(), b + 2 * PAGE, "break after shrinking by one page");
    let after = sys::memstat().map_err(|_| util::Failed)?;
    expect_eq!(
        after.resident_pages,
        before.resident_pages - 1,
        "resident pages"
    );
    expect_eq!(after.free_frames, before.free_frames + 1, "free frames");
    // SAFETY: the two pages left are heap.
    let kept = unsafe { core::slice::from_raw_parts(b as *const u8, 2 * PAGE) };
    ensure!(
        kept.iter().all(|&x| x == 0x77),
        "the two pages left lost their bytes"
    );
    let got = call(nr::WRITE, 1, b + 2 * PAGE, 1);
    expect_eq!(got, Err(Errno::EFAULT), "write from the page given back");
    let got = call(nr::WRITE, 1, b + 2 * PAGE - 1, 2);
    expect_eq!(got, Err(Errno::EFAULT), "write across the new break");
    Ok(())
}

pub fn regrown_reads_zero(_map: &Map) -> Outcome {
    let b = align_break()?;
    // Whole pages given back and taken again.
    expect_eq!(sbrk(2 * PAGE as isize), Ok(b), "sbrk of two pages");
    // SAFETY: the two pages are heap.
    unsafe { core::ptr::write_bytes(b as *mut u8, 0xab, 2 * PAGE) };
    expect_eq!(
        sbrk(-2 * PAGE as isize),
        Ok(b + 2 * PAGE),
        "giving two pages back"
    );
    expect_eq!(sbrk(2 * PAGE as isize), Ok(b), "taking two pages again");
    // SAFETY: the two pages are heap again.
    let again = unsafe { core::slice::from_raw_parts(b as *const u8, 2 * PAGE) };
    ensure!(
        again.iter().all(|&x| x == 0),
        "regrown pages do not read zero"
    );
    // Bytes of a page that stays mapped: shrink to 100 bytes into it, write past the break
    // (allowed: the page is still mapped), grow again.
    // SAFETY: the first page is heap.
    unsafe { core::ptr::write_bytes(b as *mut u8, 0xcd, PAGE) };
    let got = sbrk(-(2 * PAGE as isize) + 100);
    expect_eq!(
        got,
        Ok(b + 2 * PAGE),
        "shrink to 100 bytes into the first page"
    );
    // SAFETY: [b + 100, b + PAGE) is past the break but in a mapped page; the kernel allows
    // writes there, and regrowth must not let them through as heap contents.
    unsafe { core::ptr::write_bytes((b + 100) as *mut u8, 0xee, PAGE - 100) };
    expect_eq!(sbrk(PAGE as isize), Ok(b + 100), "growing by a page again");
    // SAFETY: [b, b + PAGE + 100) is heap.
    let kept = unsafe { core::slice::from_raw_parts(b as *const u8, PAGE + 100) };
    ensure!(
        kept[..100].iter().all(|&x| x == 0xcd),
        "bytes below the break changed"
    );
    let dirty = kept[100..].iter().filter(|&&x| x != 0).count();
    expect_eq!(dirty, 0, "non-zero bytes among the {} regrown", PAGE);
    Ok(())
}

pub fn below_heap_start(map: &Map) -> Outcome {
    let b = brk();
    let start = map.heap_start;
    ensure!(b >= start, "break {b:#x} below the heap start {start:#x}");
    for delta in [
        -((b - start) as isize) - 1,
        -((b - start) as isize) - PAGE as isize,
        -(b as isize),
        -(b as isize) - 1,
    ] {
        expect_eq!(
            sbrk(delta),
            Err(Errno::EINVAL),
            "sbrk({delta}) below the heap start"
        );
        expect_eq!(brk(), b, "break after sbrk({delta}) was refused");
    }
    // Exactly to the start is allowed.
    expect_eq!(sbrk(PAGE as isize), Ok(b), "growing a page");
    expect_eq!(
        sbrk(-((b + PAGE - start) as isize)),
        Ok(b + PAGE),
        "sbrk to the heap start"
    );
    expect_eq!(brk(), start, "break at the heap start");
    expect_eq!(sbrk(-1), Err(Errno::EINVAL), "sbrk(-1) at the heap start");
    Ok(())
}

pub fn beyond_ram(map: &Map) -> Outcome {
    let before = system_frames();
    let b = brk();
    let free = util::free_frames() as usize;
    let cases = [
        ("all of RAM and a page", map.ram_bytes() + PAGE),
        ("one page more than is free", (free + 1) * PAGE),
        ("twice RAM", 2 * map.ram_bytes()),
    ];
    let tables = table_frames();
    for (what, bytes) in cases {
        expect_eq!(sbrk(bytes as isize), Err(Errno::ENOMEM), "sbrk of {what}");
        expect_eq!(
            table_frames(),
            tables,
            "page-table frames after sbrk of {what}"
        );
        expect_eq!(brk(), b, "break after sbrk of {what} was refused");
        expect_eq!(
            system_frames(),
            before,
            "frames after sbrk of {what} was refused"
        );
    }
    #[cfg(target_pointer_width = "64")]
    {
        // Past the heap cap (below the stack's floor and its guard gap).
        let cap = map.stack_top - (8 << 20) - (64 << 10);
        expect_eq!(
            sbrk((cap - b + 1) as isize),
            Err(Errno::ENOMEM),
            "sbrk past the heap cap"
        );
        expect_eq!(brk(), b, "break after sbrk past the cap was refused");
    }
    // Memory is still there for a modest request.
    expect_eq!(
        sbrk(64 * PAGE as isize),
        Ok(b),
        "sbrk of 64 pages after the refusals"
    );
    // SAFETY: the 64 pages are heap.
    unsafe { core::ptr::write_bytes(util::page_up(b) as *mut u8, 1, 63 * PAGE) };
    expect_eq!(
        sbrk(-64 * PAGE as isize),
        Ok(b + 64 * PAGE),
        "giving the 64 pages back"
    );
    expect_eq!(system_frames(), before, "frames at the end");
    Ok(())
}

pub fn sign_wrapping(_map: &Map) -> Outcome {
    let before = system_frames();
    let b = brk();
    #[cfg(target_pointer_width = "32")]
    let cases = [
        // On rv32 0x8000_0000 is isize::MIN: not a 2 GiB growth.
        (0x8000_0000u32 as isize, Errno::EINVAL),
        (isize::MIN, Errno::EINVAL),
        (isize::MIN + 1, Errno::EINVAL),
        (0usize.wrapping_sub(b) as isize, Errno::EINVAL),
        // 2 GiB - 1: far more than RAM (tried, and all of it given back).
        (isize::MAX, Errno::ENOMEM),
        ((0xffff_ffffu32 - b as u32) as isize, Errno::EINVAL),
    ];
    #[cfg(target_pointer_width = "64")]
    let cases = [
        (0x8000_0000isize, Errno::ENOMEM),
        (isize::MIN, Errno::EINVAL),
        (isize::MIN + 1, Errno::EINVAL),
        (0usize.wrapping_sub(b) as isize, Errno::EINVAL),
        // A break at or past the top of user space leaves the address space: EINVAL, like a
        // wrap; just below the top it is only above the heap cap: ENOMEM.
        (isize::MAX, Errno::EINVAL),
        (-1 - b as isize, Errno::EINVAL),
        ((1isize << 38) - b as isize, Errno::EINVAL),
        ((1isize << 38) - 1 - b as isize, Errno::ENOMEM),
    ];
    for (delta, want) in cases {
        expect_eq!(sbrk(delta), Err(want), "sbrk({delta:#x})");
        expect_eq!(brk(), b, "break after sbrk({delta:#x}) was refused");
        expect_eq!(
            system_frames(),
            before,
            "frames after sbrk({delta:#x}) was refused"
        );
    }
    Ok(())
}

pub fn released_is_gone(_map: &Map) -> Outcome {
    let b = align_break()?;
    expect_eq!(sbrk(2 * PAGE as isize), Ok(b), "sbrk of two pages");
    // SAFETY: the two pages are heap; writing them puts them in this hart's TLB.
    unsafe { core::ptr::write_bytes(b as *mut u8, 0x42, 2 * PAGE) };
    expect_eq!(
        sbrk(-2 * PAGE as isize),
        Ok(b + 2 * PAGE),
        "giving the two pages back"
    );
    for at in [b, b + PAGE, b + 2 * PAGE - 1] {
        expect_eq!(
            call(nr::WRITE, 1, at, 1),
            Err(Errno::EFAULT),
            "write from {at:#x}"
        );
        expect_eq!(
            call(nr::MEMSTAT, at, 0, 0),
            Err(Errno::EFAULT),
            "memstat to {at:#x}"
        );
        expect_eq!(
            call(nr::READ, 0, at, 1),
            Err(Errno::EFAULT),
            "read to {at:#x}"
        );
        expect_eq!(
            call(nr::CLOCK, at, 0, 0),
            Err(Errno::EFAULT),
            "clock to {at:#x}"
        );
    }
    // SAFETY: not memory of this process any more: the store must kill it.
    unsafe { ((b + PAGE) as *mut u8).write_volatile(1) };
    Ok(())
}
