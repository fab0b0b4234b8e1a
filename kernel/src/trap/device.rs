//! Device interrupts: what arrives through the PLIC. The kernel runs with interrupts masked, so
//! a hart handles them at two points only: on a trap from user mode, and in its idle loop after
//! `wfi` returns with one pending.

use super::plic;
use crate::arch;
use crate::console::{input, uart};
use core::sync::atomic::{AtomicU32, Ordering};

/// The UART's interrupt number (0: not routed).
static UART_IRQ: AtomicU32 = AtomicU32::new(0);

/// Routes the UART's receive interrupt to every hart.
pub fn init(plic_base: usize, uart_irq: u32, harts: &[usize]) {
    UART_IRQ.store(uart_irq, Ordering::Release);
    log::debug!("PLIC at {plic_base:#x}: UART interrupt {uart_irq} to harts {harts:?}");
    plic::init(plic_base, uart_irq, harts);
    uart::enable_receive_interrupt();
}

/// Handles every interrupt pending for this hart.
pub fn interrupt() {
    let hart = arch::hart_id();
    while let Some(irq) = plic::claim(hart) {
        if irq == UART_IRQ.load(Ordering::Acquire) {
            while let Some(byte) = uart::receive() {
                input::receive(byte);
            }
        }
        plic::complete(hart, irq);
    }
}
