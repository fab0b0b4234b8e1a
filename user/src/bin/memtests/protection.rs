//! Protection: what a process may not read, write or run kills it with the right cause.

use crate::stack::load;
use crate::util::{self, Map, Outcome, PAGE};

/// A one-byte store of 0 to `addr`.
#[inline(never)]
fn store(addr: usize) {
    // SAFETY: the targets are pages this process may not write; the kernel ends the process
    // instead of letting the store happen.
    unsafe { core::arch::asm!("sb zero, 0({0})", in(reg) addr, options(nostack)) };
}

/// Calls the code at `addr`.
#[inline(never)]
fn jump(addr: usize) {
    // SAFETY: the targets hold a `ret` (when the jump is wrongly allowed) or fault; either way
    // control comes back here or the process ends.
    unsafe { core::arch::asm!("jalr ra, 0({0})", in(reg) addr, clobber_abi("C")) };
}

/// `ret` (`jalr zero, 0(ra)`), as four little-endian bytes.
const RET: [u8; 4] = 0x0000_8067u32.to_le_bytes();

fn survived(what: &str) -> Outcome {
    user::println!("  {what} did not fault");
    Ok(())
}

pub fn read_kernel(_map: &Map) -> Outcome {
    load(0x8000_0000);
    survived("a load from 0x8000_0000")
}

pub fn read_trampoline(map: &Map) -> Outcome {
    load(map.trampoline);
    survived("a load from the trampoline")
}

pub fn store_text(map: &Map) -> Outcome {
    let target = jump as *const () as usize;
    ensure!(
        target >= map.text && target < map.rodata,
        "jump() at {target:#x} not in text"
    );
    store(target);
    survived("a store to text")
}

pub fn store_rodata(map: &Map) -> Outcome {
    store(map.rodata);
    survived("a store to rodata")
}

pub fn jump_heap(_map: &Map) -> Outcome {
    let b = util::brk();
    user::sys::sbrk(PAGE as isize).map_err(|_| util::Failed)?;
    // SAFETY: `b..b + PAGE` was just added to the heap.
    unsafe { core::ptr::copy_nonoverlapping(RET.as_ptr(), b as *mut u8, 4) };
    jump(b);
    survived("a jump into the heap")
}

pub fn jump_stack(_map: &Map) -> Outcome {
    let code = core::hint::black_box(RET);
    jump(code.as_ptr() as usize);
    survived("a jump into the stack")
}

pub fn jump_trampoline(map: &Map) -> Outcome {
    jump(map.trampoline);
    survived("a jump into the trampoline")
}

pub fn load_page_0(_map: &Map) -> Outcome {
    load(0x8);
    survived("a load from page 0")
}

pub fn store_trap_frame(map: &Map) -> Outcome {
    store(map.trap_frame + 64);
    survived("a store to the trap frame")
}

pub fn privileged(_map: &Map) -> Outcome {
    let v: usize;
    // SAFETY: reading `sstatus` from user mode is an illegal instruction: the process ends.
    unsafe { core::arch::asm!("csrr {0}, sstatus", out(reg) v, options(nostack)) };
    user::println!("  csrr sstatus returned {v:#x}");
    survived("reading sstatus")
}

pub fn breakpoint(_map: &Map) -> Outcome {
    // SAFETY: `ebreak` traps; with no debugger the kernel ends the process.
    unsafe { core::arch::asm!("ebreak", options(nostack)) };
    survived("ebreak")
}

pub fn misaligned_atomic(_map: &Map) -> Outcome {
    let word = [0u32; 4];
    let addr = word.as_ptr() as usize + 2;
    // SAFETY: an atomic add to a misaligned address inside `word` (a local): the hart refuses
    // it and the kernel ends the process; if allowed it changes only `word`.
    unsafe {
        core::arch::asm!("amoadd.w zero, {one}, ({addr})", one = in(reg) 1, addr = in(reg) addr,
                         options(nostack))
    };
    core::hint::black_box(&word);
    survived("a misaligned amoadd.w")
}
