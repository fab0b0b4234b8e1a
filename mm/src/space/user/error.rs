//! What each operation on a process address space can refuse, one enum per operation. Whenever
//! one of these is returned the space is exactly as it was before the call.

use super::elf::ElfError;
use super::layout::LimitsError;
use crate::paging::MapError;
use core::fmt;

/// Why [`UserSpace::new`](super::UserSpace::new) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewError {
    /// No frame for the root table, the trap frame, the first stack page or a table.
    OutOfMemory,
    /// The limits cannot lay out a space of this mode.
    Limits(LimitsError),
    /// The trampoline frame cannot be mapped (e.g. beyond the mode's physical reach).
    Trampoline(MapError),
}

/// Why [`UserSpace::load_elf`](super::UserSpace::load_elf) refused an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The file is not a valid executable for this mode.
    Elf(ElfError),
    /// The space already holds a program or a heap: load into a fresh space.
    NotFresh,
    /// More loadable segments than a space keeps ([`MAX_SEGMENTS`](super::MAX_SEGMENTS)).
    TooManySegments(usize),
    /// Segment `index` starts below [`USER_TEXT_START`](super::USER_TEXT_START).
    BelowTextStart {
        /// Program header index.
        index: usize,
        /// Its first address.
        vaddr: u64,
    },
    /// Segment `index` ends above the heap cap (no room would be left for heap and stack).
    AboveHeapCap {
        /// Program header index.
        index: usize,
        /// Its exclusive end.
        end: u64,
    },
    /// Two segments share a page (permissions are per page, so they cannot both have theirs).
    Overlap {
        /// The earlier program header.
        first: usize,
        /// The later one.
        second: usize,
    },
    /// Segment `index` is writable and executable.
    WriteAndExecute(usize),
    /// Segment `index`'s flags are none of R, R+W, R+X.
    BadPermissions {
        /// Program header index.
        index: usize,
        /// Its `p_flags`.
        flags: u32,
    },
    /// The entry point is not inside an executable segment.
    EntryNotExecutable(u64),
    /// Frames ran out; everything the load mapped was released.
    OutOfMemory,
}

impl From<ElfError> for LoadError {
    fn from(e: ElfError) -> Self {
        LoadError::Elf(e)
    }
}

/// Why [`UserSpace::sbrk`](super::UserSpace::sbrk) refused to move the break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbrkError {
    /// `break + delta` leaves the mode's addresses (below zero, beyond the top), or `delta`
    /// does not fit the mode's registers (Sv32: 32 bits, so `+0x8000_0000` is not a growth).
    Overflow {
        /// The break when the call was made.
        brk: usize,
        /// The change asked for.
        delta: isize,
    },
    /// The new break would lie above the heap cap.
    AboveCap {
        /// The break asked for.
        requested: usize,
        /// The highest break the layout allows.
        cap: usize,
    },
    /// The new break would lie below the heap's start.
    BelowStart {
        /// The break asked for.
        requested: usize,
        /// The heap's start.
        start: usize,
    },
    /// Frames ran out; every page the call added was released again.
    OutOfMemory,
}

/// Why [`UserSpace::grow_stack`](super::UserSpace::grow_stack) refused: the kernel should kill
/// the process (its fault is not a stack growth).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrowStackError {
    /// The faulting address is not below the stack's lowest mapped page (it is mapped already,
    /// or above the stack).
    NotBelowStack(usize),
    /// The faulting address lies below the stack floor (the stack limit is reached).
    BeyondLimit(usize),
    /// The stack pointer does not point into the stack's range.
    BadStackPointer(usize),
    /// The faulting address lies further below the stack pointer than the red zone.
    BelowStackPointer {
        /// The faulting address.
        fault: usize,
        /// The stack pointer.
        sp: usize,
    },
    /// Frames ran out; every page the call added was released again.
    OutOfMemory,
}

/// Why a copy between kernel and user memory failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyError {
    /// `addr + len` overflows.
    Overflow {
        /// The user address the copy starts at.
        addr: usize,
        /// The bytes asked for.
        len: usize,
    },
    /// Some of the bytes lie at or above the mode's top (this includes every non-canonical or
    /// sign-extended pointer: only the lower half is user space).
    OutOfRange(usize),
    /// The page holding this address is not mapped.
    Unmapped(usize),
    /// The page holding this address is not user-accessible (trap frame, trampoline).
    NotUser(usize),
    /// The page holding this address is not readable.
    NotReadable(usize),
    /// The page holding this address is not writable.
    NotWritable(usize),
    /// `copy_in_str` found no NUL within its bound.
    NoNul {
        /// The bound, in bytes.
        bound: usize,
    },
}

macro_rules! display {
    ($t:ty, $($pat:pat => $($fmt:expr),+;)+) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match *self { $($pat => write!(f, $($fmt),+),)+ }
            }
        }

        impl core::error::Error for $t {}
    };
}

display!(NewError,
    NewError::OutOfMemory => "out of frames for a new address space";
    NewError::Limits(e) => "{}", e;
    NewError::Trampoline(e) => "cannot map the trampoline: {}", e;
);

display!(LoadError,
    LoadError::Elf(e) => "{}", e;
    LoadError::NotFresh => "the address space already holds a program or heap";
    LoadError::TooManySegments(n) => "{} loadable segments are too many", n;
    LoadError::BelowTextStart { index, vaddr } => "segment {} at {:#x} is below the text start", index, vaddr;
    LoadError::AboveHeapCap { index, end } => "segment {} ends at {:#x}, above the heap cap", index, end;
    LoadError::Overlap { first, second } => "segments {} and {} share a page", first, second;
    LoadError::WriteAndExecute(i) => "segment {} is writable and executable", i;
    LoadError::BadPermissions { index, flags } => "segment {} has flags {:#x}", index, flags;
    LoadError::EntryNotExecutable(e) => "entry point {:#x} is not in an executable segment", e;
    LoadError::OutOfMemory => "out of frames while loading";
);

display!(SbrkError,
    SbrkError::Overflow { brk, delta } => "break {:#x} + {} overflows", brk, delta;
    SbrkError::AboveCap { requested, cap } => "break {:#x} above the heap cap {:#x}", requested, cap;
    SbrkError::BelowStart { requested, start } => "break {:#x} below the heap start {:#x}", requested, start;
    SbrkError::OutOfMemory => "out of frames for the heap";
);

display!(GrowStackError,
    GrowStackError::NotBelowStack(a) => "fault at {:#x} is not below the stack", a;
    GrowStackError::BeyondLimit(a) => "fault at {:#x} is beyond the stack limit", a;
    GrowStackError::BadStackPointer(sp) => "stack pointer {:#x} is not in the stack", sp;
    GrowStackError::BelowStackPointer { fault, sp } => "fault at {:#x} is below sp {:#x}", fault, sp;
    GrowStackError::OutOfMemory => "out of frames for the stack";
);

display!(CopyError,
    CopyError::Overflow { addr, len } => "{:#x} + {:#x} overflows", addr, len;
    CopyError::OutOfRange(a) => "{:#x} is beyond user space", a;
    CopyError::Unmapped(a) => "{:#x} is not mapped", a;
    CopyError::NotUser(a) => "{:#x} is not user memory", a;
    CopyError::NotReadable(a) => "{:#x} is not readable", a;
    CopyError::NotWritable(a) => "{:#x} is not writable", a;
    CopyError::NoNul { bound } => "no NUL within {} bytes", bound;
);
