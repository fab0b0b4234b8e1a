//! Traps: from user mode ([`user`]: syscalls, page faults, timer preemption) and in kernel
//! code ([`kernel`]: a bug, reported and fatal, unless a test provoked it on purpose).

pub mod kernel;
pub mod user;
