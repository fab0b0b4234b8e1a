//! Waking another hart: a machine software interrupt through the CLINT's MSIP register, which
//! the M-mode trap vector (entry.S) turns into a supervisor software interrupt (SSIP) on the
//! target hart. S-mode cannot raise SSIP on another hart by itself, and the board has no
//! OpenSBI (`-bios none`) to ask, so the forwarding is ours.
//!
//! The only use is waking a hart that waits in `wfi` for work; the interrupt carries no
//! message, the run queue does. MMIO writes make this module `unsafe`.

use super::MAX_HARTS;
use super::csr::{clear_csr, set_csr};
use core::sync::atomic::{AtomicUsize, Ordering};

/// `mcause` of a machine software interrupt: the interrupt bit and code 3.
pub const MCAUSE_MACHINE_SOFTWARE: usize = 1 << (usize::BITS - 1) | 3;

/// Words of M-mode scratch per hart (see `m_trap_vector`).
pub const M_SCRATCH_WORDS: usize = 4;
/// log2 of one hart's scratch size in bytes, so the entry code indexes without a multiply.
pub const M_SCRATCH_SHIFT: u32 = (M_SCRATCH_WORDS * size_of::<usize>()).trailing_zeros();
const _: () = assert!(1 << M_SCRATCH_SHIFT == M_SCRATCH_WORDS * size_of::<usize>());

/// Word of a hart's scratch that holds its MSIP register's address.
const MSIP_WORD: usize = 2;

/// The M-mode trap vector's scratch words, one row per hart. In `.data`: each hart stores its
/// DTB address here in `_start`, before the boot hart clears `.bss`.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".data.m_scratch")]
static M_SCRATCH: [[AtomicUsize; M_SCRATCH_WORDS]; MAX_HARTS] =
    [const { [const { AtomicUsize::new(0) }; M_SCRATCH_WORDS] }; MAX_HARTS];

/// `sip.SSIP` / `sie.SSIE`.
const SSIP: usize = 1 << 1;

/// The CLINT, once known (0 before: no hart can be woken then).
static CLINT: AtomicUsize = AtomicUsize::new(0);

/// Tells every hart's M-mode where its MSIP register is, in the CLINT at `clint` (from the
/// device tree; mapped R+W in the kernel map), and lets the forwarded interrupt wake `wfi`.
pub fn init(clint: usize) {
    for (hart, scratch) in M_SCRATCH.iter().enumerate() {
        scratch[MSIP_WORD].store(msip(clint, hart), Ordering::Release);
    }
    CLINT.store(clint, Ordering::Release);
}

/// `sie.SEIE` / `sip.SEIP`: supervisor external interrupts (the PLIC).
const SEIP: usize = 1 << 9;

/// Lets a pending software or external interrupt wake this hart's `wfi`, and lets both trap
/// from user mode (interrupts stay masked in S-mode: there a hart only wakes, it takes no trap).
pub fn enable_wakeups() {
    set_csr!("sie", SSIP | SEIP);
}

/// Whether a device interrupt waits for this hart.
pub fn external_pending() -> bool {
    let sip: usize = super::csr::read_csr!("sip");
    sip & SEIP != 0
}

fn msip(clint: usize, hart: usize) -> usize {
    clint + 4 * hart
}

/// Raises a software interrupt on `hart`; nothing if the CLINT is not known yet.
pub fn send(hart: usize) {
    let clint = CLINT.load(Ordering::Acquire);
    if clint == 0 || hart >= MAX_HARTS {
        return;
    }
    let reg = core::ptr::with_exposed_provenance_mut::<u32>(msip(clint, hart));
    // SAFETY: the CLINT's MSIP register of `hart` (the device tree's CLINT, identity-mapped R+W
    // in the kernel map); writing 1 raises that hart's machine software interrupt, nothing else.
    unsafe { reg.write_volatile(1) };
}

/// Clears this hart's pending software interrupt (before looking for work, so that a wake-up
/// sent after the look is not lost: it sets the bit again and `wfi` returns at once).
pub fn clear_pending() {
    clear_csr!("sip", SSIP);
}
