//! The M-mode start: what `-bios none` leaves to us before S-mode can run the kernel.

use super::csr::{set_csr, write_csr};

/// `mstatus.MPP` field and its S-mode value.
const MSTATUS_MPP_MASK: usize = 3 << 11;
const MSTATUS_MPP_S: usize = 1 << 11;

/// Interrupts S-mode handles itself: software, timer, external.
const S_INTERRUPTS: usize = (1 << 1) | (1 << 5) | (1 << 9);

/// Every exception cause S-mode can take (bits the hart cannot delegate read back as zero).
const ALL_EXCEPTIONS: usize = 0xffff;

/// `mie.MSIE`: the machine software interrupt, which another hart raises (through the CLINT)
/// to wake this one; M-mode forwards it to S-mode as SSIP (entry.S).
const MIE_MSIE: usize = 1 << 3;

/// Prepares this hart's M-mode state so that `mret` lands in S-mode at `s_entry`. Called from
/// `_start` on the hart's boot stack with interrupts off.
///
/// - PMP entry 0 covers all memory with R, W and X (QEMU 7.2 traps the `mret` otherwise);
/// - all exceptions and the S-level interrupts are delegated to S-mode; the machine software
///   interrupt is enabled, to carry wake-ups between harts;
/// - the counters (`cycle`, `time`, `instret`) are readable from S and U;
/// - Sstc is enabled (`menvcfg.STCE`) with `stimecmp` at its maximum, so S-mode programs its
///   own timer and nothing fires until it does;
/// - paging is off (`satp` = 0) until the kernel's table exists.
#[unsafe(no_mangle)]
extern "C" fn mstart(s_entry: usize) {
    write_csr!("pmpaddr0", usize::MAX);
    write_csr!("pmpcfg0", 0x0f); // TOR, R W X: everything below pmpaddr0
    write_csr!("medeleg", ALL_EXCEPTIONS);
    write_csr!("mideleg", S_INTERRUPTS);
    write_csr!("mie", MIE_MSIE);
    write_csr!("mcounteren", usize::MAX);
    write_csr!("scounteren", usize::MAX);
    enable_sstc();
    write_csr!("satp", 0);
    let mstatus: usize = super::csr::read_csr!("mstatus");
    write_csr!("mstatus", (mstatus & !MSTATUS_MPP_MASK) | MSTATUS_MPP_S);
    write_csr!("mepc", s_entry);
}

/// `menvcfg.STCE` (bit 63; `menvcfgh` bit 31 on rv32) and `stimecmp` = all ones.
fn enable_sstc() {
    #[cfg(target_pointer_width = "64")]
    {
        set_csr!("0x30a", 1 << 63); // menvcfg
        write_csr!("0x14d", usize::MAX); // stimecmp
    }
    #[cfg(target_pointer_width = "32")]
    {
        set_csr!("0x31a", 1 << 31); // menvcfgh
        write_csr!("0x15d", usize::MAX); // stimecmph first: no moment with a small compare value
        write_csr!("0x14d", usize::MAX); // stimecmp
    }
}
