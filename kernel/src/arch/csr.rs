//! Reading and writing control and status registers. CSRs that the assembler may not know by
//! name (Sstc, `menvcfg`) are written by number.

/// Reads CSR `$csr` (a name or a number literal) as `usize`.
macro_rules! read_csr {
    ($csr:literal) => {{
        let value: usize;
        // SAFETY: reading a CSR has no side effect on memory.
        unsafe { core::arch::asm!(concat!("csrr {0}, ", $csr), out(reg) value, options(nomem, nostack)) };
        value
    }};
}

/// Writes `$value` to CSR `$csr`.
macro_rules! write_csr {
    ($csr:literal, $value:expr) => {{
        let value: usize = $value;
        // SAFETY: the callers write CSRs that control traps, counters and timers of this hart
        // only; each call site states why its value is right.
        unsafe { core::arch::asm!(concat!("csrw ", $csr, ", {0}"), in(reg) value, options(nostack)) };
    }};
}

/// Sets bits of CSR `$csr`.
macro_rules! set_csr {
    ($csr:literal, $value:expr) => {{
        let value: usize = $value;
        // SAFETY: as for `write_csr!`.
        unsafe { core::arch::asm!(concat!("csrs ", $csr, ", {0}"), in(reg) value, options(nostack)) };
    }};
}

pub(crate) use {read_csr, set_csr, write_csr};

/// `sstatus.SIE`: interrupts enabled in S-mode.
pub const SSTATUS_SIE: usize = 1 << 1;

/// Clears `sstatus.SIE` and returns whether it was set.
#[inline]
pub fn interrupts_off() -> bool {
    let old: usize;
    // SAFETY: only masks this hart's interrupts.
    unsafe { core::arch::asm!("csrrci {0}, sstatus, 2", out(reg) old, options(nostack)) };
    old & SSTATUS_SIE != 0
}

/// Sets `sstatus.SIE`.
#[inline]
pub fn interrupts_on() {
    // SAFETY: only unmasks this hart's interrupts; handlers are installed from entry on.
    unsafe { core::arch::asm!("csrsi sstatus, 2", options(nostack)) };
}

/// Reads a 64-bit counter; on rv32 as high/low/high until the high half is stable.
macro_rules! counter64 {
    ($lo:literal, $hi:literal) => {{
        #[cfg(target_pointer_width = "64")]
        {
            read_csr!($lo) as u64
        }
        #[cfg(target_pointer_width = "32")]
        {
            loop {
                let hi = read_csr!($hi);
                let lo = read_csr!($lo);
                if read_csr!($hi) == hi {
                    break (hi as u64) << 32 | lo as u64;
                }
            }
        }
    }};
}

/// The `time` counter (ticks at the DTB's timebase frequency).
#[inline]
pub fn time() -> u64 {
    counter64!("time", "timeh")
}

/// Clears bits of CSR `$csr`.
macro_rules! clear_csr {
    ($csr:literal, $value:expr) => {{
        let value: usize = $value;
        // SAFETY: as for `write_csr!`.
        unsafe { core::arch::asm!(concat!("csrc ", $csr, ", {0}"), in(reg) value, options(nostack)) };
    }};
}

pub(crate) use clear_csr;
