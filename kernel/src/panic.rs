//! Panics and M-mode traps: print hart, message and location, then end QEMU with a failure.

use crate::exit::{self, Code};
use crate::{arch, boot, console};

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::arch::csr::interrupts_off();
    let hart = arch::hart_id();
    match info.location() {
        Some(at) => console::print_unlocked(format_args!(
            "\npanic on hart {hart} at {}:{}: {}\n",
            at.file(),
            at.line(),
            info.message()
        )),
        None => {
            console::print_unlocked(format_args!("\npanic on hart {hart}: {}\n", info.message()))
        }
    }
    exit::failure(Code::Panic)
}

/// Called by the M-mode trap vector: every trap that reaches M-mode is a bug (all that can
/// be are delegated). Finds the console and test device in the device tree if S-mode has not
/// yet, then reports and ends QEMU.
#[unsafe(no_mangle)]
extern "C" fn m_trap(mcause: usize, mepc: usize, mtval: usize, dtb: usize) -> ! {
    if !exit::has_test_device() {
        boot::early_devices(dtb);
    }
    console::print_unlocked(format_args!(
        "\nM-mode trap on hart {}: mcause {mcause:#x} ({}), mepc {mepc:#x}, mtval {mtval:#x}\n",
        arch::hart_id(),
        arch::trap::cause_name(mcause),
    ));
    exit::failure(Code::MachineTrap)
}
