//! The trap frame: the page below the trampoline in every process's address space, where
//! `uservec` saves the user registers and finds what it needs to enter the kernel.
//!
//! The layout is shared with `trampoline.S` through the constants in [`slot`]. Every field is a
//! register-sized integer, so any bit pattern is a valid `TrapFrame`: the frame is plain data
//! that the library's safe byte operations may copy (fork) as well.

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;

/// Word indices in the trap frame, for the assembly.
pub mod slot {
    /// The kernel's `satp`.
    pub const KERNEL_SATP: usize = 0;
    /// Top of the process's kernel stack.
    pub const KERNEL_SP: usize = 1;
    /// Address of the kernel's user-trap handler.
    pub const KERNEL_TRAP: usize = 2;
    /// The user `pc` to return to.
    pub const EPC: usize = 3;
    /// The hart id, restored into `tp` on entry (user code may use `tp`).
    pub const HART: usize = 4;
    /// Where `x0`..`x31` start (`x0`'s word is unused).
    pub const REGS: usize = 5;
}

/// Where the trap frame is mapped in every process's address space.
/// (`rvmm::space::trap_frame_page`, the page below the trampoline; a constant here because the
/// trampoline's assembly needs it).
pub const TRAP_FRAME_VA: usize = (crate::mem::KernelMode::VA_TOP - 2 * PAGE_SIZE as u64) as usize;

/// The registers of a process while it is in the kernel, and the kernel's entry data.
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    /// [`slot::KERNEL_SATP`].
    pub kernel_satp: usize,
    /// [`slot::KERNEL_SP`].
    pub kernel_sp: usize,
    /// [`slot::KERNEL_TRAP`].
    pub kernel_trap: usize,
    /// [`slot::EPC`].
    pub epc: usize,
    /// [`slot::HART`].
    pub hart: usize,
    /// `x0`..`x31` as the process left them.
    pub regs: [usize; 32],
}

const _: () = {
    assert!(
        core::mem::offset_of!(TrapFrame, kernel_satp) == slot::KERNEL_SATP * size_of::<usize>()
    );
    assert!(core::mem::offset_of!(TrapFrame, kernel_sp) == slot::KERNEL_SP * size_of::<usize>());
    assert!(
        core::mem::offset_of!(TrapFrame, kernel_trap) == slot::KERNEL_TRAP * size_of::<usize>()
    );
    assert!(core::mem::offset_of!(TrapFrame, epc) == slot::EPC * size_of::<usize>());
    assert!(core::mem::offset_of!(TrapFrame, hart) == slot::HART * size_of::<usize>());
    assert!(core::mem::offset_of!(TrapFrame, regs) == slot::REGS * size_of::<usize>());
    assert!(size_of::<TrapFrame>() <= PAGE_SIZE);
};

/// Register numbers the kernel reads and writes by name.
pub mod reg {
    /// Stack pointer.
    pub const SP: usize = 2;
    /// First argument and first result.
    pub const A0: usize = 10;
    /// Second argument and the error number of a syscall's result.
    pub const A1: usize = 11;
    /// Syscall number.
    pub const A7: usize = 17;
}

impl TrapFrame {
    /// Syscall argument `n` (`a0`..`a5`).
    pub fn arg(&self, n: usize) -> usize {
        self.regs[reg::A0 + n]
    }
}

impl TrapFrame {
    /// The trap frame in the frame at physical address `pa`, through the identity map.
    ///
    /// # Safety
    /// `pa` must be the start of a process's trap-frame frame, and the caller must be the only
    /// code touching that frame while the reference lives (the trampoline touches it only while
    /// the process enters or leaves user mode on the hart that runs it).
    pub unsafe fn at<'a>(pa: usize) -> &'a mut TrapFrame {
        let ptr = core::ptr::with_exposed_provenance_mut::<TrapFrame>(pa);
        // SAFETY: RAM is identity-mapped R+W in the kernel map; the frame is 4 KiB aligned and
        // larger than a TrapFrame; every bit pattern is a valid TrapFrame (all integers); the
        // caller guarantees exclusivity.
        unsafe { &mut *ptr }
    }
}
