//! What the kernel learns at boot: the device tree and the kernel image's own layout.

pub mod dtb;
pub mod few;
pub mod image;
pub mod initrd;

use crate::console::uart;
use crate::exit::{self, VIRT_TEST_FALLBACK, VIRT_UART_FALLBACK};

/// Sets up the console and the test device from the device tree at `dtb`, as far as it names
/// them, so that an error found before the full parse can still be reported and end QEMU.
/// Paging must be off.
pub fn early_devices(dtb: usize) {
    // SAFETY: QEMU's device tree stays in RAM untouched: nothing is allocated yet.
    let fdt = unsafe { dtb::open(dtb) }.ok();
    let found = |f: fn(&fdt::Fdt<'static>) -> Result<dtb::Mmio, dtb::DtbError>| {
        fdt.as_ref()
            .and_then(|t| f(t).ok())
            .map(|m| m.base as usize)
    };
    // SAFETY: the UART of this board (from the device tree, else virt's), paging off.
    unsafe { uart::init(found(dtb::uart).unwrap_or(VIRT_UART_FALLBACK)) };
    exit::set_test_device(found(dtb::test_device).unwrap_or(VIRT_TEST_FALLBACK));
}
