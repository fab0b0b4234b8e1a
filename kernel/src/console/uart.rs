//! The 16550 UART at the address the device tree gives (QEMU virt: registers one byte apart).

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The UART's base address; 0 until [`init`] (output is dropped until then).
static BASE: AtomicUsize = AtomicUsize::new(0);

const RBR: usize = 0; // receive buffer (read)
const THR: usize = 0; // transmit holding (write)
const IER: usize = 1; // interrupt enable
const FCR: usize = 2; // FIFO control (write)
const LCR: usize = 3; // line control
const LSR: usize = 5; // line status
const LSR_DATA_READY: u8 = 1 << 0;
const LSR_THR_EMPTY: u8 = 1 << 5;
const IER_RECEIVED: u8 = 1 << 0;

fn reg(base: usize, offset: usize) -> *mut u8 {
    core::ptr::with_exposed_provenance_mut(base + offset)
}

/// Sets the UART up at `base`: 8 data bits, no parity, no interrupts, FIFOs left off. Off, so
/// that nothing typed before this is lost: a 16550 empties its FIFOs whenever they are switched
/// on (QEMU's too), while with them off QEMU holds further input in its character device until
/// the one receive register is read. A console needs no FIFO: input arrives at typing speed,
/// and output waits for the transmitter anyway.
///
/// # Safety
/// `base` must be the address of a 16550's registers, mapped (or paging off) on every hart
/// that prints, and used by nothing else.
pub unsafe fn init(base: usize) {
    // SAFETY: by the caller's contract these are the UART's registers.
    unsafe {
        reg(base, IER).write_volatile(0);
        reg(base, LCR).write_volatile(0x03);
        reg(base, FCR).write_volatile(0);
    }
    BASE.store(base, Ordering::Release);
}

/// Makes the UART raise its interrupt when a byte arrives.
pub fn enable_receive_interrupt() {
    let base = BASE.load(Ordering::Acquire);
    if base == 0 {
        return;
    }
    // SAFETY: `init`'s contract: `base` holds the UART's registers, mapped everywhere.
    unsafe { reg(base, IER).write_volatile(IER_RECEIVED) };
}

/// The next received byte, if one is waiting.
pub fn receive() -> Option<u8> {
    let base = BASE.load(Ordering::Acquire);
    if base == 0 {
        return None;
    }
    // SAFETY: `init`'s contract; reading RBR takes the byte out of the receive FIFO.
    unsafe {
        (reg(base, LSR).read_volatile() & LSR_DATA_READY != 0)
            .then(|| reg(base, RBR).read_volatile())
    }
}

/// Sends one byte, waiting while the transmitter is full.
pub fn put(byte: u8) {
    let base = BASE.load(Ordering::Acquire);
    if base == 0 {
        return;
    }
    // SAFETY: `init`'s contract: `base` holds the UART's registers, mapped everywhere.
    unsafe {
        while reg(base, LSR).read_volatile() & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        reg(base, THR).write_volatile(byte);
    }
}

/// `fmt::Write` to the UART, with `\n` sent as `\r\n`.
pub struct Writer;

impl fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                put(b'\r');
            }
            put(b);
        }
        Ok(())
    }
}
