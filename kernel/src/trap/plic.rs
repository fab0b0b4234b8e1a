//! The PLIC (platform-level interrupt controller) of QEMU `virt`, at the address the device tree
//! gives: it routes device interrupts (the UART's) to the harts' S-mode contexts.
//!
//! MMIO register writes make this module `unsafe`; the layout is the RISC-V PLIC
//! specification's, with S-mode context `2 * hart + 1` as on `virt`.

use core::sync::atomic::{AtomicUsize, Ordering};

/// The PLIC's base, 0 until [`init`].
static BASE: AtomicUsize = AtomicUsize::new(0);

const ENABLE: usize = 0x2000;
const ENABLE_STRIDE: usize = 0x80;
const CONTEXT: usize = 0x20_0000;
const CONTEXT_STRIDE: usize = 0x1000;
const CLAIM: usize = 4;

fn reg(offset: usize) -> *mut u32 {
    core::ptr::with_exposed_provenance_mut(BASE.load(Ordering::Acquire) + offset)
}

/// The S-mode context of `hart`.
fn context(hart: usize) -> usize {
    2 * hart + 1
}

/// Remembers the PLIC at `base` (mapped R+W in the kernel map) and routes interrupt `irq` to
/// the S-mode context of every hart in `harts`, at priority 1 over a threshold of 0.
pub fn init(base: usize, irq: u32, harts: &[usize]) {
    BASE.store(base, Ordering::Release);
    let irq = irq as usize;
    // SAFETY: registers of the device tree's PLIC, mapped R+W; these writes only configure
    // which interrupts reach which hart.
    unsafe {
        reg(4 * irq).write_volatile(1);
        for &hart in harts {
            let enable = reg(ENABLE + context(hart) * ENABLE_STRIDE + 4 * (irq / 32));
            enable.write_volatile(enable.read_volatile() | 1 << (irq % 32));
            reg(CONTEXT + context(hart) * CONTEXT_STRIDE).write_volatile(0);
        }
    }
}

/// Claims the highest-priority pending interrupt for this hart; `None` when none is pending
/// (or another hart claimed it first).
pub fn claim(hart: usize) -> Option<u32> {
    if BASE.load(Ordering::Acquire) == 0 {
        return None;
    }
    // SAFETY: the claim register of this hart's context; reading it claims the interrupt.
    let irq = unsafe { reg(CONTEXT + context(hart) * CONTEXT_STRIDE + CLAIM).read_volatile() };
    (irq != 0).then_some(irq)
}

/// Tells the PLIC that this hart finished handling `irq`.
pub fn complete(hart: usize, irq: u32) {
    // SAFETY: as in `claim`; writing the claimed number completes it.
    unsafe { reg(CONTEXT + context(hart) * CONTEXT_STRIDE + CLAIM).write_volatile(irq) };
}
