//! Protection: what a process may not read, write or run kills it with the right cause.

use crate::stack::load;
use crate::util::{self, Map, Outcome, PAGE};
use user::raw::{self, BreakBytes, jump};

/// A one-byte store of 0 to `addr`: the targets are pages this process may not write, so
/// the kernel ends the process instead of letting the store happen.
#[inline(never)]
fn store(addr: usize) {
    raw::store(addr, 0);
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
    let target = store as *const () as usize;
    ensure!(
        target >= map.text && target < map.rodata,
        "store() at {target:#x} not in text"
    );
    store(target);
    survived("a store to text")
}

pub fn store_rodata(map: &Map) -> Outcome {
    store(map.rodata);
    survived("a store to rodata")
}

pub fn jump_heap(_map: &Map) -> Outcome {
    let mut page = BreakBytes::grow(PAGE).map_err(|_| util::Failed)?;
    page.bytes_mut()[..4].copy_from_slice(&RET);
    jump(page.start());
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
    let v = raw::read_sstatus();
    user::println!("  csrr sstatus returned {v:#x}");
    survived("reading sstatus")
}

pub fn breakpoint(_map: &Map) -> Outcome {
    raw::breakpoint();
    survived("ebreak")
}

pub fn misaligned_atomic(_map: &Map) -> Outcome {
    raw::misaligned_atomic_add();
    survived("a misaligned amoadd.w")
}
