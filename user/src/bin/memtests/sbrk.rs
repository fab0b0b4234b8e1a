//! `sbrk`: byte steps, large growth, exact shrinks, zeroed regrowth, refusals that leave the
//! break where it was, and memory that is really gone once released.

use crate::util::{self, Map, Outcome, PAGE, brk, call, system_frames};
use abi::{Errno, nr};
use user::raw::{self, BreakBytes};
use user::sys::{self, sbrk};

/// `sbrk(increment)` as the bytes it adds, expected to return `want` (checked as
/// `expect_eq!` on `sbrk`'s result would, with the message `what`).
fn grow_from(
    increment: usize,
    want: usize,
    what: core::fmt::Arguments<'_>,
) -> Result<BreakBytes, util::Failed> {
    let got = BreakBytes::grow(increment);
    expect_eq!(
        got.as_ref().map(BreakBytes::start).map_err(|e| *e),
        Ok(want),
        "{what}"
    );
    got.map_err(|_| util::Failed)
}

/// Moves the break to a page boundary and returns it.
fn align_break() -> Result<usize, util::Failed> {
    let b = brk();
    let up = util::page_up(b);
    expect_eq!(sbrk((up - b) as isize), Ok(b), "sbrk to a page boundary");
    Ok(up)
}

pub fn one_byte_steps(_map: &Map) -> Outcome {
    let mut bytes = BreakBytes::grow(0).map_err(|_| util::Failed)?;
    let start = bytes.start();
    for i in 0..5000 {
        expect_eq!(bytes.extend(1), Ok(start + i), "sbrk(1) number {i}");
        bytes.write(i, i as u8 ^ 0x5a);
    }
    expect_eq!(brk(), start + 5000, "break after 5000 sbrk(1)");
    for i in 0..5000 {
        let got = bytes.read(i);
        expect_eq!(got, i as u8 ^ 0x5a, "heap byte {i}");
    }
    expect_eq!(bytes.shrink(5000), Ok(start + 5000), "sbrk(-5000)");
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
    let what = format_args!("sbrk of half of RAM ({bytes:#x} bytes)");
    let mut half = grow_from(bytes, start, what)?;
    let first = util::page_up(start) - start;
    let pages = (bytes - first) / PAGE;
    for p in 0..pages {
        half.write_word(first + p * PAGE, p);
    }
    for p in 0..pages {
        let got = half.read_word(first + p * PAGE);
        expect_eq!(got, p, "first word of heap page {p}");
    }
    let grown = table_frames();
    ensure!(
        grown >= tables + 8,
        "{grown} table frames for half of RAM, {tables} before"
    );
    expect_eq!(
        half.shrink(bytes),
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
    let mut pages = grow_from(3 * PAGE, b, format_args!("sbrk of three pages"))?;
    pages.bytes_mut().fill(0x77);
    let before = sys::memstat().map_err(|_| util::Failed)?;
    expect_eq!(pages.shrink(PAGE), Ok(b + 3 * PAGE), "sbrk(-4096)");
    expect_eq!(brk(), b + 2 * PAGE, "break after shrinking by one page");
    let after = sys::memstat().map_err(|_| util::Failed)?;
    expect_eq!(
        after.resident_pages,
        before.resident_pages - 1,
        "resident pages"
    );
    expect_eq!(after.free_frames, before.free_frames + 1, "free frames");
    ensure!(
        pages.bytes().iter().all(|&x| x == 0x77),
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
    let mut pages = grow_from(2 * PAGE, b, format_args!("sbrk of two pages"))?;
    pages.bytes_mut().fill(0xab);
    expect_eq!(
        pages.shrink(2 * PAGE),
        Ok(b + 2 * PAGE),
        "giving two pages back"
    );
    expect_eq!(pages.extend(2 * PAGE), Ok(b), "taking two pages again");
    ensure!(
        pages.bytes().iter().all(|&x| x == 0),
        "regrown pages do not read zero"
    );
    // Bytes of a page that stays mapped: shrink to 100 bytes into it, write past the break
    // (allowed: the page is still mapped), grow again.
    pages.bytes_mut()[..PAGE].fill(0xcd);
    let got = pages.shrink(2 * PAGE - 100);
    expect_eq!(
        got,
        Ok(b + 2 * PAGE),
        "shrink to 100 bytes into the first page"
    );
    // [b + 100, b + PAGE) is past the break but in a mapped page, and no one's: the kernel
    // allows writes there, and regrowth must not let them through as heap contents.
    for at in b + 100..b + PAGE {
        raw::store(at, 0xee);
    }
    expect_eq!(pages.extend(PAGE), Ok(b + 100), "growing by a page again");
    let kept = pages.bytes();
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
    let mut pages = grow_from(
        64 * PAGE,
        b,
        format_args!("sbrk of 64 pages after the refusals"),
    )?;
    let first = util::page_up(b) - b;
    pages.bytes_mut()[first..first + 63 * PAGE].fill(1);
    expect_eq!(
        pages.shrink(64 * PAGE),
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
    let mut pages = grow_from(2 * PAGE, b, format_args!("sbrk of two pages"))?;
    // Writing the two pages puts them in this hart's TLB.
    pages.bytes_mut().fill(0x42);
    expect_eq!(
        pages.shrink(2 * PAGE),
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
    // Not memory of this process any more: the store must kill it.
    raw::store(b + PAGE, 1);
    Ok(())
}
