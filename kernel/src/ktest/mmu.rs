//! The MMU enforces the kernel map: W^X on the image, guard pages under kernel stacks, and the
//! trampoline at the top of the space.

use super::fault::{Fault, LOAD_PAGE_FAULT, STORE_PAGE_FAULT, expect_fault};
use super::{Outcome, check};
use crate::boot::image::image;
use crate::mem::{KernelMode, TABLE, stacks};
use rvmm::addr::{PAGE_SIZE, PageSize};
use rvmm::paging::Perms;
use rvmm::space::trampoline_page;

/// A constant that lands in .rodata.
static RODATA_PROBE: [u8; 16] = *b"rodata probe....";

/// Stores one byte at `addr` with a single instruction (skippable when it faults).
fn store_byte(addr: usize) -> Option<Fault> {
    expect_fault(|| {
        // SAFETY: the store either faults (and the trap handler skips it) or writes a byte the
        // test owns; callers only pass addresses that must fault.
        unsafe { core::arch::asm!("sb zero, 0({0})", in(reg) addr, options(nostack)) }
    })
}

/// Loads one byte from `addr` with a single instruction (skippable when it faults).
fn load_byte(addr: usize) -> Option<Fault> {
    expect_fault(|| {
        // SAFETY: a load has no effect on memory; a fault is caught and skipped.
        unsafe {
            core::arch::asm!("lbu {0}, 0({1})", out(reg) _, in(reg) addr, options(nostack, readonly))
        }
    })
}

/// Writes to kernel text and rodata fault with store page faults at the written address.
pub fn text_and_rodata_refuse_writes() -> Outcome {
    let img = image();
    let text = (text_and_rodata_refuse_writes as *const ()).addr();
    let rodata = RODATA_PROBE.as_ptr() as usize;
    check!(
        img.text.contains(pa(text)),
        "probe {text:#x} is not in text"
    );
    check!(
        img.rodata.contains(pa(rodata)),
        "probe {rodata:#x} is not in rodata"
    );
    for (what, addr) in [
        ("text", text),
        ("rodata", rodata),
        ("trampoline", img.trampoline.start().as_u64() as usize),
    ] {
        let fault = store_byte(addr);
        check!(
            fault
                == Some(Fault {
                    cause: STORE_PAGE_FAULT,
                    addr
                }),
            "write to {what} at {addr:#x}: {fault:?}, expected a store page fault"
        );
    }
    check!(load_byte(rodata).is_none(), "reading rodata faulted");
    crate::println!("    stores to text {text:#x}, rodata {rodata:#x} and the trampoline faulted");
    Ok(())
}

fn pa(addr: usize) -> rvmm::PhysAddr {
    rvmm::PhysAddr::new(addr as u64).unwrap_or_default()
}

/// A mapped kernel stack reads fine; the guard page under it faults.
pub fn stack_guard_page_faults() -> Outcome {
    let slot = 0;
    let top = stacks::map_stack(slot).map_err(|e| crate::println!("    map_stack: {e}"))?;
    let pages = stacks::stack_pages(slot).ok_or(())?;
    let guard = stacks::guard_below(slot).ok_or(())?.start().as_usize();
    let bottom = pages.start().start().as_usize();
    let results = (
        load_byte(top.as_usize() - 1),
        load_byte(bottom),
        load_byte(guard),
        load_byte(guard + PAGE_SIZE - 1),
    );
    stacks::unmap_stack(slot).map_err(|e| crate::println!("    unmap_stack: {e}"))?;
    check!(
        results.0.is_none() && results.1.is_none(),
        "reading the stack faulted: {results:?}"
    );
    check!(
        results.2
            == Some(Fault {
                cause: LOAD_PAGE_FAULT,
                addr: guard
            }),
        "read of the guard page at {guard:#x}: {:?}",
        results.2
    );
    check!(
        results.3.is_some_and(|f| f.cause == LOAD_PAGE_FAULT),
        "guard page end: {:?}",
        results.3
    );
    check!(
        load_byte(bottom).is_some(),
        "the stack is still readable after unmap_stack"
    );
    crate::println!(
        "    stack {bottom:#x}..{:#x} readable, guard page {guard:#x} faults",
        top.as_usize()
    );
    Ok(())
}

/// A fault taken while `sp` itself points into a guard page (a kernel-stack overflow) reaches
/// the trap handler, which runs on the hart's trap stack: before, the vector saved registers on
/// the faulting stack and faulted again forever, so an overflow hung instead of panicking.
pub fn fault_with_sp_in_a_guard_page_is_handled() -> Outcome {
    let slot = 0;
    stacks::map_stack(slot).map_err(|e| crate::println!("    map_stack: {e}"))?;
    let guard = stacks::guard_below(slot).ok_or(())?.start().as_usize();
    let bad_sp = guard + PAGE_SIZE - 64;
    let fault = expect_fault(|| {
        // SAFETY: `sp` is parked in a register and restored right after one store through it;
        // the store faults (guard page) and is skipped; nothing between uses the stack.
        unsafe {
            core::arch::asm!(
                "mv {saved}, sp",
                "mv sp, {bad}",
                "sb zero, 0(sp)",
                "mv sp, {saved}",
                saved = out(reg) _,
                bad = in(reg) bad_sp,
            )
        }
    });
    stacks::unmap_stack(slot).map_err(|e| crate::println!("    unmap_stack: {e}"))?;
    check!(
        fault
            == Some(Fault {
                cause: STORE_PAGE_FAULT,
                addr: bad_sp
            }),
        "store with sp at {bad_sp:#x} in the guard page: {fault:?}"
    );
    crate::println!("    a store with sp in guard page {guard:#x} trapped and was handled");
    Ok(())
}

/// The highest page maps the trampoline frame R+X (not W, not U) and shows its bytes.
pub fn trampoline_is_rx_at_the_top() -> Outcome {
    let img = image();
    let top = trampoline_page::<KernelMode>().start();
    let t = TABLE.get().ok_or(())?.lock().table().translate(top);
    check!(t.is_some(), "the top page {top:?} is not mapped");
    let t = t.ok_or(())?;
    // G (global) may be set: the kernel map marks every leaf global.
    check!(
        t.perms.difference(Perms::G) == Perms::RX,
        "trampoline perms {:?}, expected R+X (not W, not U)",
        t.perms
    );
    check!(
        t.size == PageSize::Size4KiB,
        "trampoline page size {}",
        t.size
    );
    check!(
        t.pa == img.trampoline.start(),
        "top maps {:?}, trampoline is at {:?}",
        t.pa,
        img.trampoline.start()
    );
    let via_top = core::ptr::with_exposed_provenance::<u8>(top.as_usize());
    let via_pa = core::ptr::with_exposed_provenance::<u8>(img.trampoline.start().as_u64() as usize);
    let mut differ = 0;
    for i in 0..PAGE_SIZE {
        // SAFETY: both pages are mapped readable (checked above; the image is identity-mapped).
        if unsafe { via_top.add(i).read_volatile() != via_pa.add(i).read_volatile() } {
            differ += 1;
        }
    }
    check!(
        differ == 0,
        "{differ} bytes differ between the top page and the trampoline"
    );
    let marker = b"rvmm trampoline";
    // SAFETY: the top page is mapped readable (checked above).
    let page = unsafe { core::slice::from_raw_parts(via_top, PAGE_SIZE) };
    check!(
        page.windows(marker.len()).any(|w| w == marker),
        "trampoline marker not found at the top"
    );
    check!(
        store_byte(top.as_usize()).is_some_and(|f| f.cause == STORE_PAGE_FAULT),
        "the trampoline is writable"
    );
    crate::println!(
        "    {top:?} -> {:?} R-X, {PAGE_SIZE} bytes equal to the trampoline",
        t.pa
    );
    Ok(())
}
