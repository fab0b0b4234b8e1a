//! Ending QEMU through the SiFive test device, with the kernel's verdict as exit code.
//!
//! The device's address comes from the device tree. Only when the device tree could not be
//! read at all (so neither the UART nor the test device is known) do the early-error paths fall
//! back to QEMU virt's fixed addresses, so that a broken boot still ends with a message and a
//! failure code instead of a silent hang.

use core::sync::atomic::{AtomicUsize, Ordering};

/// QEMU virt's test device and UART, for reporting a device tree that names neither.
pub const VIRT_TEST_FALLBACK: usize = 0x10_0000;
/// See [`VIRT_TEST_FALLBACK`].
pub const VIRT_UART_FALLBACK: usize = 0x1000_0000;

/// Exit codes (QEMU exits with them; 0 means every test passed or the run ended normally).
/// Code 1 is avoided: QEMU itself exits with 1 on its own errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Code {
    /// In-kernel tests failed.
    TestsFailed = 3,
    /// The kernel panicked.
    Panic = 4,
    /// The device tree lacks something the kernel needs.
    BadDeviceTree = 5,
    /// A trap reached M-mode.
    MachineTrap = 6,
    /// Boot could not complete (memory setup failed, a hart did not come up).
    BootFailed = 7,
}

static TEST_DEVICE: AtomicUsize = AtomicUsize::new(0);

const FINISHER_PASS: u32 = 0x5555;
const FINISHER_FAIL: u32 = 0x3333;

/// Remembers where the test device is.
pub fn set_test_device(base: usize) {
    TEST_DEVICE.store(base, Ordering::Release);
}

/// Whether the test device's address is known.
pub fn has_test_device() -> bool {
    TEST_DEVICE.load(Ordering::Acquire) != 0
}

fn finish(value: u32) -> ! {
    let mut base = TEST_DEVICE.load(Ordering::Acquire);
    if base == 0 {
        base = VIRT_TEST_FALLBACK;
    }
    // SAFETY: the test device's register (from the device tree, mapped R+W in the kernel
    // table, or with paging off); writing it ends the machine.
    unsafe { core::ptr::with_exposed_provenance_mut::<u32>(base).write_volatile(value) };
    crate::arch::idle()
}

/// Ends QEMU with exit status 0.
pub fn success() -> ! {
    finish(FINISHER_PASS)
}

/// Ends QEMU with exit status `code`.
pub fn failure(code: Code) -> ! {
    finish(FINISHER_FAIL | (code as u32) << 16)
}

/// Ends QEMU with the exit status `init` asked for (`shutdown`): 0 is success; other codes
/// are QEMU's exit status as far as the test device carries them (16 bits).
pub fn with_code(code: u32) -> ! {
    if code == 0 {
        success()
    } else {
        finish(FINISHER_FAIL | (code & 0xffff) << 16)
    }
}
