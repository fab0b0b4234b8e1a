//! Where things go in a process's address space, and the limits that place them.
//!
//! From the top of the mode's space down (Sv32 addresses; Sv39 moves the top to 2^38):
//!
//! | pages | what | permissions |
//! |---|---|---|
//! | `FFFF F000` | trampoline (shared by every space) | R X |
//! | `FFFF E000` | trap frame | R W |
//! | below `FFFF E000` | user stack, one page at first, growing down to the stack floor | R W U |
//! | below the floor | guard gap, never mapped | |
//! | up to the heap cap | heap, grown and shrunk by `sbrk` | R W U |
//! | from [`USER_TEXT_START`] | program segments from the ELF image | R, R W or R X, U |
//! | `0000 0000` | never mapped, so a null pointer faults | |
//!
//! The stack floor, the heap cap and the gap between them are fixed when the space is created,
//! so the heap and the stack can never meet whatever `sbrk` and stack growth are asked.

use crate::addr::{PAGE_SIZE, VirtAddr};
use crate::paging::Mode;
use crate::space::trap_frame_page;
use core::fmt;

/// The lowest address a program segment may use: page 0 stays unmapped.
pub const USER_TEXT_START: usize = 0x1000;

/// Default [`Limits::stack_max`]: 8 MiB, as on most Unix systems.
pub const DEFAULT_STACK_MAX: usize = 8 << 20;
/// Default [`Limits::guard_gap`]: 64 KiB, so an access a little past the heap's cap faults
/// instead of landing in a stack page.
pub const DEFAULT_GUARD_GAP: usize = 64 << 10;
/// Default [`Limits::red_zone`]: how far below `sp` a fault may lie and still grow the stack.
pub const DEFAULT_RED_ZONE: usize = 256;

/// The tunable sizes of a process's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest size the stack may grow to, in bytes (a multiple of 4 KiB, at least one page).
    pub stack_max: usize,
    /// Unmapped gap between the heap cap and the lowest possible stack page, in bytes (a
    /// multiple of 4 KiB, at least one page).
    pub guard_gap: usize,
    /// How many bytes below the stack pointer a fault may lie and still grow the stack. The
    /// RISC-V ABI has no red zone; a little slack admits code that probes just below `sp`.
    pub red_zone: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stack_max: DEFAULT_STACK_MAX,
            guard_gap: DEFAULT_GUARD_GAP,
            red_zone: DEFAULT_RED_ZONE,
        }
    }
}

/// Why a [`Limits`] cannot lay out a space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitsError {
    /// `stack_max` is zero or not a multiple of 4 KiB.
    BadStackMax(usize),
    /// `guard_gap` is zero or not a multiple of 4 KiB.
    BadGuardGap(usize),
    /// Stack and gap leave no page for a program above [`USER_TEXT_START`].
    NoRoomForProgram {
        /// The stack size asked for.
        stack_max: usize,
        /// The gap asked for.
        guard_gap: usize,
    },
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitsError::BadStackMax(s) => write!(f, "stack limit {s:#x} is not whole pages"),
            LimitsError::BadGuardGap(g) => write!(f, "guard gap {g:#x} is not whole pages"),
            LimitsError::NoRoomForProgram {
                stack_max,
                guard_gap,
            } => write!(
                f,
                "stack limit {stack_max:#x} and gap {guard_gap:#x} leave no room for a program"
            ),
        }
    }
}

impl core::error::Error for LimitsError {}

/// The fixed addresses of one space, derived from its mode and [`Limits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    stack_top: VirtAddr,
    stack_floor: VirtAddr,
    heap_cap: VirtAddr,
    limits: Limits,
}

impl Layout {
    /// The layout of a mode-`M` space with `limits`.
    pub fn new<M: Mode>(limits: Limits) -> Result<Self, LimitsError> {
        let whole = |n: usize| n != 0 && n.is_multiple_of(PAGE_SIZE);
        if !whole(limits.stack_max) {
            return Err(LimitsError::BadStackMax(limits.stack_max));
        }
        if !whole(limits.guard_gap) {
            return Err(LimitsError::BadGuardGap(limits.guard_gap));
        }
        let stack_top = trap_frame_page::<M>().start();
        let room = LimitsError::NoRoomForProgram {
            stack_max: limits.stack_max,
            guard_gap: limits.guard_gap,
        };
        let stack_floor = stack_top.checked_sub(limits.stack_max).ok_or(room)?;
        let heap_cap = stack_floor.checked_sub(limits.guard_gap).ok_or(room)?;
        if heap_cap.as_usize() < USER_TEXT_START + PAGE_SIZE {
            return Err(room);
        }
        Ok(Layout {
            stack_top,
            stack_floor,
            heap_cap,
            limits,
        })
    }

    /// Exclusive top of the stack: the first byte of the trap frame page.
    pub fn stack_top(&self) -> VirtAddr {
        self.stack_top
    }

    /// The lowest address the stack may ever reach (`stack_top - stack_max`).
    pub fn stack_floor(&self) -> VirtAddr {
        self.stack_floor
    }

    /// The highest value the break may take: the guard gap lies between it and the floor.
    /// Page aligned, like the floor and the top.
    pub fn heap_cap(&self) -> VirtAddr {
        self.heap_cap
    }

    /// The limits the layout was made from.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}
