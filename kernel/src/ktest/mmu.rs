//! The MMU enforces the kernel map: W^X on the image, guard pages under kernel stacks, and the
//! trampoline at the top of the space.

use super::fault::{Fault, LOAD_PAGE_FAULT, STORE_PAGE_FAULT};
use super::raw::{load_byte, store_byte_must_fault, store_with_sp_at};
use super::{Outcome, check};
use crate::boot::image::image;
use crate::mem::{KernelMode, TABLE, stacks};
use rvmm::PhysAddr;
use rvmm::addr::{PAGE_SIZE, PageSize};
use rvmm::paging::Perms;
use rvmm::space::trampoline_page;

/// A constant that lands in .rodata.
static RODATA_PROBE: [u8; 16] = *b"rodata probe....";

/// Writes to kernel text and rodata fault with store page faults at the written address.
pub fn text_and_rodata_refuse_writes() -> Outcome {
    let img = image().sections;
    let text = (text_and_rodata_refuse_writes as *const ()).addr();
    let rodata = RODATA_PROBE.as_ptr() as usize;
    // Kernel addresses are physical ones (VA = PA), inside the image.
    let pa = |addr: usize| PhysAddr::new(addr as u64).map_err(|_| ());
    check!(
        img.text.contains(pa(text)?),
        "probe {text:#x} is not in text"
    );
    check!(
        img.rodata.contains(pa(rodata)?),
        "probe {rodata:#x} is not in rodata"
    );
    for (what, addr) in [
        ("text", text),
        ("rodata", rodata),
        ("trampoline", image().trampoline.start().as_u64() as usize),
    ] {
        let fault = store_byte_must_fault(addr);
        check!(
            fault
                == Some(Fault {
                    cause: STORE_PAGE_FAULT,
                    addr
                }),
            "write to {what} at {addr:#x}: {fault:?}, expected a store page fault"
        );
    }
    check!(load_byte(rodata).is_ok(), "reading rodata faulted");
    crate::println!("    stores to text {text:#x}, rodata {rodata:#x} and the trampoline faulted");
    Ok(())
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
        results.0.is_ok() && results.1.is_ok(),
        "reading the stack faulted: {results:?}"
    );
    check!(
        results.2
            == Err(Fault {
                cause: LOAD_PAGE_FAULT,
                addr: guard
            }),
        "read of the guard page at {guard:#x}: {:?}",
        results.2
    );
    check!(
        results.3.is_err_and(|f| f.cause == LOAD_PAGE_FAULT),
        "guard page end: {:?}",
        results.3
    );
    check!(
        load_byte(bottom).is_err(),
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
    let fault = store_with_sp_at(bad_sp);
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
    let t = TABLE.get().ok_or(())?.lock().page_table().translate(top);
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
    // The trampoline lies in the image (text), outside what the kernel's `PhysMem` covers, and
    // the point is to read it through its alias at the top: byte by byte, through the MMU.
    let (via_top, via_pa) = (top.as_usize(), img.trampoline.start().as_u64() as usize);
    let mut page = [0u8; PAGE_SIZE];
    let mut differ = 0;
    for (i, byte) in page.iter_mut().enumerate() {
        let (a, b) = (load_byte(via_top + i), load_byte(via_pa + i));
        check!(a.is_ok() && b.is_ok(), "reading byte {i}: {a:?} {b:?}");
        *byte = a.map_err(|_| ())?;
        differ += usize::from(a != b);
    }
    check!(
        differ == 0,
        "{differ} bytes differ between the top page and the trampoline"
    );
    let marker = b"rvmm trampoline";
    check!(
        page.windows(marker.len()).any(|w| w == marker),
        "trampoline marker not found at the top"
    );
    check!(
        store_byte_must_fault(top.as_usize()).is_some_and(|f| f.cause == STORE_PAGE_FAULT),
        "the trampoline is writable"
    );
    crate::println!(
        "    {top:?} -> {:?} R-X, {PAGE_SIZE} bytes equal to the trampoline",
        t.pa
    );
    Ok(())
}
