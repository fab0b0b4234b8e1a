//! The user stack: deep recursion grows it; accesses far below `sp` or above the top kill;
//! a bogus `sp` at a preemption (which shrinks the stack by the saved `sp`) is harmless.

use crate::util::{self, Map, Outcome, PAGE};
use core::hint::black_box;
use core::sync::atomic::{AtomicUsize, Ordering};
use user::raw::{self, spin_with_sp, stack_pointer, store_below_sp, syscall_at_sp};
use user::sys;

/// Resident pages seen at the deepest point of the last [`recurse`].
static DEEPEST_RESIDENT: AtomicUsize = AtomicUsize::new(0);

/// Recurses `depth` times with a frame of about 4 KiB each and returns a checksum of what each
/// frame stored, read back after the calls below it returned.
#[inline(never)]
fn recurse(depth: usize) -> u64 {
    let mut frame = [0u8; 4000];
    let frame = black_box(&mut frame);
    frame[0] = depth as u8;
    frame[1999] = (depth >> 8) as u8;
    frame[3999] = 0xa5;
    let below = if depth == 0 {
        let resident = sys::memstat().map_or(0, |s| s.resident_pages as usize);
        DEEPEST_RESIDENT.store(resident, Ordering::Relaxed);
        0
    } else {
        recurse(depth - 1)
    };
    below + frame[0] as u64 + ((frame[1999] as u64) << 8) + frame[3999] as u64
}

/// What [`recurse`] returns for `depth`.
fn checksum(depth: usize) -> u64 {
    (0..=depth as u64).map(|d| d + 0xa5).sum()
}

pub fn recursion(_map: &Map) -> Outcome {
    let before = sys::memstat().map_or(0, |s| s.resident_pages as usize);
    let depth = 256; // 256 frames of 4 KiB: 1 MiB
    expect_eq!(
        recurse(depth),
        checksum(depth),
        "checksum of a 1 MiB recursion"
    );
    let deepest = DEEPEST_RESIDENT.load(Ordering::Relaxed);
    ensure!(
        deepest >= before + 250,
        "resident pages at the bottom of a 1 MiB recursion: {deepest}, before it {before}"
    );
    // Again, after the stack may have shrunk at a preemption.
    expect_eq!(
        recurse(depth),
        checksum(depth),
        "checksum of a second 1 MiB recursion"
    );
    Ok(())
}

/// A one-byte load from `addr`, which the kernel serves or answers by ending the process.
#[inline(never)]
pub fn load(addr: usize) -> u8 {
    raw::load(addr)
}

pub fn far_below_sp(_map: &Map) -> Outcome {
    let target = stack_pointer() - (1 << 20);
    let v = load(target);
    user::println!("  load 1 MiB below sp at {target:#x} returned {v}");
    Ok(())
}

pub fn above_top(map: &Map) -> Outcome {
    let v = load(map.stack_top + 8);
    user::println!("  load above the stack top returned {v}");
    Ok(())
}

pub fn bogus_sp_preempted(map: &Map) -> Outcome {
    let clock = sys::clock().map_err(|_| util::Failed)?;
    // Two and a half 10 ms time slices: at least two preemptions.
    let ticks = (clock.ticks_per_second * 25 / 1000) as usize;
    let heap = util::brk();
    let cases = [
        ("just above the stack top", map.stack_top + 64),
        ("in the trampoline", map.trampoline + 64),
        ("all ones", usize::MAX & !15),
        ("in the heap", util::page_up(heap) + 16 * PAGE),
        ("NULL", 0),
        (
            "below the mapped stack, above the floor",
            map.stack_top - (4 << 20),
        ),
    ];
    for (what, bogus) in cases {
        // A grown stack, so that a wrong shrink would have pages to take.
        expect_eq!(recurse(16), checksum(16), "recursion before sp {what}");
        let free_before = util::system_frames();
        spin_with_sp(bogus, ticks);
        expect_eq!(recurse(32), checksum(32), "recursion after sp {what}");
        let free_after = util::system_frames();
        expect_eq!(free_after, free_before, "frames after sp {what}");
    }
    Ok(())
}

/// The lowest mapped stack address, from `regions`.
fn stack_bottom() -> usize {
    let mut rows = [abi::RegionRow::default(); 16];
    let n = sys::regions(0, &mut rows).unwrap_or(0).min(rows.len());
    rows[..n]
        .iter()
        .find(|r| r.kind == abi::RegionKind::Stack as u32)
        .map_or(0, |r| r.start as usize)
}

/// The red zone of the kernel's stack growth (`rvmm`'s default).
const RED_ZONE: usize = 256;

pub fn red_zone_grows(_map: &Map) -> Outcome {
    let bottom = stack_bottom();
    let sp = bottom + 64;
    let addr = sp - (RED_ZONE - 8);
    expect_eq!(
        store_below_sp(sp, addr, 0x3c, 0),
        0x3c,
        "byte stored within the red zone"
    );
    let now = stack_bottom();
    ensure!(
        now <= addr,
        "stack bottom {now:#x} above the red-zone store at {addr:#x}"
    );
    Ok(())
}

pub fn below_red_zone(_map: &Map) -> Outcome {
    let bottom = stack_bottom();
    let sp = bottom + 64;
    let v = store_below_sp(sp, sp - (RED_ZONE + 8), 0x3c, 0);
    user::println!("  a store {} bytes below sp returned {v}", RED_ZONE + 8);
    Ok(())
}

pub fn red_zone_kept_at_preemption(_map: &Map) -> Outcome {
    let clock = sys::clock().map_err(|_| util::Failed)?;
    let ticks = (clock.ticks_per_second * 25 / 1000) as usize;
    // A page boundary well below the frames in use, with `sp` just above it: the red zone lies
    // in the page below, which the store maps (or finds mapped).
    let sp = util::page_up(stack_pointer()) - 4 * PAGE + 64;
    let addr = sp - (RED_ZONE - 8);
    let got = store_below_sp(sp, addr, 0x3c, ticks);
    expect_eq!(got, 0x3c, "byte in the red zone after two preemptions");
    Ok(())
}

/// Recurses until the stack limit kills the process (100 000 frames of 4 KiB are far more
/// than the 8 MiB limit).
#[inline(never)]
fn unbounded(depth: usize) -> usize {
    let mut frame = [0u8; 4000];
    let frame = black_box(&mut frame);
    frame[0] = depth as u8;
    let below = if depth < 100_000 {
        unbounded(black_box(depth + 1))
    } else {
        0
    };
    below + frame[0] as usize
}

pub fn overflow(_map: &Map) -> Outcome {
    let n = unbounded(0);
    user::println!("  a recursion of 400 MB returned {n}");
    Ok(())
}

pub fn syscall_into_untouched_stack(_map: &Map) -> Outcome {
    use abi::{Errno, nr};
    // Two pages below the lowest mapped stack page: never touched by this process, but a
    // store there (at `sp`) would grow the stack, so a syscall writing there must succeed too.
    for (what, number, a1) in [("memstat", nr::MEMSTAT, 0), ("clock", nr::CLOCK, 0)] {
        let sp = stack_bottom() - 2 * PAGE + 64;
        let (_, error, byte) = syscall_at_sp(sp, 0, number, a1);
        expect_eq!(
            Errno::from_raw(error),
            None,
            "{what} into the untouched stack at sp (error)"
        );
        ensure!(
            byte != 0,
            "{what} into the untouched stack at sp wrote a zero first byte"
        );
    }
    // Below the red zone under `sp`, the process could not have grown the stack: EFAULT.
    let sp = stack_bottom() - 2 * PAGE + 64;
    let (_, error, _) = syscall_at_sp(sp, (RED_ZONE + 64).wrapping_neg(), nr::MEMSTAT, 0);
    expect_eq!(
        Errno::from_raw(error),
        Some(Errno::EFAULT),
        "memstat far below sp in the untouched stack"
    );
    Ok(())
}
