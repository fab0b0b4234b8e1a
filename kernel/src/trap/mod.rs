//! Traps: from user mode ([`user`]: syscalls, page faults, timer preemption, device interrupts)
//! and in kernel code ([`kernel`]: a bug, reported and fatal, unless a test provoked it on
//! purpose); device interrupts ([`device`], through the [`plic`]).

pub mod device;
pub mod kernel;
mod plic;
pub mod user;
