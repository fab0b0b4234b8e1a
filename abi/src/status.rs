//! How a process ended, as `wait` reports it.

wire_enum! {
    /// Why the kernel ended a process that did not call `exit`.
    pub enum KillCause: u8;
    /// What a console line says for it.
    fn describe {
        /// Another process called `kill`.
        Killed = 1 => "killed by kill",
        /// A load from an address it may not read (unmapped, kernel-only, not readable).
        LoadPageFault = 2 => "load page fault",
        /// A store to an address it may not write.
        StorePageFault = 3 => "store page fault",
        /// A jump to an address it may not execute.
        InstructionPageFault = 4 => "instruction page fault",
        /// An instruction the hart does not run in user mode.
        IllegalInstruction = 5 => "illegal instruction",
        /// A misaligned access the hart does not emulate.
        Misaligned = 6 => "misaligned access",
        /// A breakpoint (`ebreak`) with no debugger attached.
        Breakpoint = 7 => "breakpoint",
        /// Any other exception.
        Other = 8 => "exception",
    }
}

/// A process's end as `wait` stores it: an exit code (0..=255) when it called `exit`, or the
/// [`KillCause`] when the kernel ended it.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitStatus(pub u32);

const KILLED: u32 = 0x100;

impl ExitStatus {
    /// The process called `exit(code)` (only the low 8 bits are kept, as on Unix).
    pub const fn exited(code: u8) -> Self {
        ExitStatus(code as u32)
    }

    /// The kernel ended the process for `cause`.
    pub const fn killed(cause: KillCause) -> Self {
        ExitStatus(KILLED | cause as u32)
    }

    /// The exit code, if the process exited.
    pub const fn code(self) -> Option<u8> {
        if self.0 & KILLED == 0 {
            Some(self.0 as u8)
        } else {
            None
        }
    }

    /// Why the kernel ended the process, if it did.
    pub const fn kill_cause(self) -> Option<KillCause> {
        if self.0 & KILLED != 0 {
            KillCause::from_raw(self.0 as u8)
        } else {
            None
        }
    }

    /// Whether the process exited with code 0.
    pub const fn success(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_kill_causes_never_collide() {
        for code in 0..=255u8 {
            let s = ExitStatus::exited(code);
            assert_eq!((s.code(), s.kill_cause()), (Some(code), None));
        }
        for raw in 1..=8 {
            let cause = KillCause::from_raw(raw).expect("1..=8 are causes");
            let s = ExitStatus::killed(cause);
            assert_eq!((s.code(), s.kill_cause()), (None, Some(cause)));
            assert!(!s.success());
        }
        assert_eq!(KillCause::from_raw(0), None);
        assert_eq!(KillCause::from_raw(9), None);
    }
}
