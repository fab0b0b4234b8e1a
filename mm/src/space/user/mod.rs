//! A process address space: one page table and the regions it holds (program segments, heap,
//! stack, trap frame, trampoline), with `sbrk`, stack growth, `fork`, copies between kernel and
//! user memory, and a teardown that returns every frame.
//!
//! The layout is in [`layout`]; each operation lives in its own file: [`elf`] reads the
//! executable, `load.rs` places it, `heap.rs` is `sbrk`, `stack.rs` grows and shrinks the stack,
//! `copy.rs` moves bytes in and out, `args.rs` places a new program's arguments on its stack,
//! `fork.rs` copies a space, `region.rs` describes it.
//!
//! # Frames
//! A `UserSpace`, like the [`PageTable`] inside it, takes a [`FrameSource`] in every call that
//! allocates or frees. Every call on one space (and on the spaces forked from it) must be given
//! the same source: frames go back where they came from.
//!
//! ```
//! use rvmm::paging::Sv39;
//! use rvmm::space::user::{Limits, UserSpace};
//! use rvmm_testkit::{Arena, ArenaFrames, Tracking};
//!
//! let arena = Arena::new(0x8000_0000, 64 * 4096);
//! let trampoline = rvmm::Frame::containing(arena.base()); // the caller's shared frame
//! let mut frames = Tracking::new(ArenaFrames::with_frames(&arena, 1, 63)); // all but that one
//! let mut space = UserSpace::<Sv39, _>::new(&arena, trampoline, Limits::default(), &mut frames)?;
//! let (old, flush) = space.sbrk(5000, &mut frames)?;
//! flush.ignore(); // not running on any hart yet
//! space.copy_out(old.as_usize() + 4990, b"hello")?;
//! let mut back = [0; 10];
//! space.copy_in(old.as_usize() + 4990, &mut back)?;
//! assert_eq!(&back, b"hello\0\0\0\0\0"); // fresh heap reads as zero
//! space.destroy(&mut frames);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod elf;
mod error;
pub mod layout;

mod args;
mod copy;
mod fork;
mod heap;
mod load;
mod pages;
mod region;
mod stack;

pub use args::{ArgVector, ArgsError};
pub use error::{CopyError, GrowStackError, LoadError, NewError, SbrkError};
pub use layout::{Layout, Limits, LimitsError, USER_TEXT_START};
pub use region::{RegionRow, UserRegion};

use crate::addr::{Frame, PAGE_SIZE, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::{AsidOutOfRange, MapError, Mode, PageSizes, PageTable, Perms};
use crate::phys::{FrameMut, FrameRef, PhysMem};
use crate::space::{trampoline_page, trap_frame_page};
use region::Span;

/// The most loadable segments a program may have (typical executables have two to four).
pub const MAX_SEGMENTS: usize = 8;

/// Heap and stack pages: readable, writable, user.
const USER_RW: Perms = Perms::R.union(Perms::W).union(Perms::U);

/// One process's address space of paging mode `M`, its tables in physical memory `P`.
///
/// Invariants, kept by every operation:
/// - page 0 and everything below [`USER_TEXT_START`] is unmapped;
/// - the program segments lie between [`USER_TEXT_START`] and the heap start, in whole pages
///   that no two segments share;
/// - the heap is mapped exactly on `[heap start, break rounded up to a page)`;
/// - the stack is mapped exactly on `[stack bottom, stack top)`, at least its top page;
/// - the trap frame (R+W) and the trampoline (R+X) occupy the top two pages, without U;
/// - every leaf but the trampoline's is an owned leaf of the table
///   ([`PageTable::map_new`]): its frame is the space's alone, and goes back with the leaf.
///
/// A space holds frames it can only give back with a frame source: end it with
/// [`destroy`](Self::destroy). Dropping it instead leaks its frames (safely).
pub struct UserSpace<M: Mode, P: PhysMem> {
    table: PageTable<M, P>,
    layout: Layout,
    segments: [Span; MAX_SEGMENTS],
    segment_count: usize,
    entry: Option<VirtAddr>,
    heap_start: VirtAddr,
    brk: VirtAddr,
    stack_bottom: VirtAddr,
    trampoline: Frame,
}

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// A space with no program yet: the trampoline (the caller's frame, shared by all spaces,
    /// never freed here) and a fresh zeroed trap frame at the top, and one zeroed stack page
    /// below them. The table is not live yet, so nothing needs flushing.
    pub fn new(
        phys: P,
        trampoline: Frame,
        limits: Limits,
        frames: &mut impl FrameSource,
    ) -> Result<Self, NewError> {
        let mut space = Self::without_stack(phys, trampoline, limits, frames, |_| {})?;
        let top_page = space.layout.stack_top().checked_sub(PAGE_SIZE);
        let top_page = top_page.expect("the stack top lies pages above zero");
        match space.map_zeroed(top_page, 1, USER_RW, frames) {
            Ok(flush) => flush.ignore(), // not live
            Err(_) => {
                space.destroy(frames);
                return Err(NewError::OutOfMemory);
            }
        }
        space.stack_bottom = top_page;
        Ok(space)
    }

    /// A space with the trampoline and trap frame and nothing else (not even a stack page); the
    /// zeroed trap frame is handed to `fill_trap_frame` before it is mapped.
    fn without_stack(
        phys: P,
        trampoline: Frame,
        limits: Limits,
        frames: &mut impl FrameSource,
        mut fill_trap_frame: impl FnMut(FrameMut<'_>),
    ) -> Result<Self, NewError> {
        let layout = Layout::new::<M>(limits).map_err(NewError::Limits)?;
        let mut table = PageTable::new(phys, frames).map_err(|_| NewError::OutOfMemory)?;
        let tramp = pages::range(trampoline_page::<M>().start(), 1);
        if let Err(e) = table.map(
            tramp,
            trampoline.start(),
            Perms::RX,
            PageSizes::Only4KiB,
            frames,
        ) {
            table.destroy(frames);
            return Err(match e {
                MapError::OutOfMemory => NewError::OutOfMemory,
                e => NewError::Trampoline(e),
            });
        }
        let tf_page = pages::range(trap_frame_page::<M>().start(), 1);
        let tf = table.map_new(tf_page, Perms::RW, frames, |_, bytes| {
            fill_trap_frame(bytes)
        });
        match tf {
            Ok(flush) => flush.ignore(), // not live
            Err(_) => {
                table.destroy(frames);
                return Err(NewError::OutOfMemory);
            }
        }
        Ok(UserSpace {
            table,
            layout,
            segments: [Span::EMPTY; MAX_SEGMENTS],
            segment_count: 0,
            entry: None,
            heap_start: USER_TEXT_START_VA,
            brk: USER_TEXT_START_VA,
            stack_bottom: layout.stack_top(),
            trampoline,
        })
    }

    /// Gives back every data frame (program, heap, stack, trap frame: the table's owned leaves)
    /// and every table frame to `frames`, and consumes the space. The trampoline frame is the
    /// caller's and stays. No hart may be using the table any more.
    pub fn destroy(self, frames: &mut impl FrameSource) {
        self.table.destroy(frames);
    }

    /// The space's layout: stack top and floor, heap cap.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The program's entry point, once [`load_elf`](Self::load_elf) succeeded.
    pub fn entry(&self) -> Option<VirtAddr> {
        self.entry
    }

    /// The first byte of the heap: the page after the highest segment (or
    /// [`USER_TEXT_START`] before a program is loaded).
    pub fn heap_start(&self) -> VirtAddr {
        self.heap_start
    }

    /// The current break: the first byte past the heap.
    pub fn brk(&self) -> VirtAddr {
        self.brk
    }

    /// The lowest mapped stack address.
    pub fn stack_bottom(&self) -> VirtAddr {
        self.stack_bottom
    }

    /// The process's trap frame, to read (the kernel's trap path saves and restores the
    /// registers there; [`FrameRef::frame`] names its frame).
    pub fn trap_frame(&self) -> FrameRef<'_> {
        let page = self.table.owned_page(trap_frame_page::<M>());
        page.expect("the trap frame is an owned page for the space's life")
    }

    /// The process's trap frame, to read and write.
    pub fn trap_frame_mut(&mut self) -> FrameMut<'_> {
        let page = self.table.owned_page_mut(trap_frame_page::<M>());
        page.expect("the trap frame is an owned page for the space's life")
    }

    /// The trampoline frame the space was created with.
    pub fn trampoline(&self) -> Frame {
        self.trampoline
    }

    /// The page table, for inspection (the spec walker, `mappings()`).
    pub fn page_table(&self) -> &PageTable<M, P> {
        &self.table
    }

    /// The `satp` value that selects this space with address-space id `asid`.
    pub fn satp(&self, asid: u16) -> Result<u64, AsidOutOfRange> {
        self.table.satp(asid)
    }
}

/// [`USER_TEXT_START`] as an address: where an empty heap starts.
const USER_TEXT_START_VA: VirtAddr = match VirtAddr::new(USER_TEXT_START) {
    Ok(va) => va,
    Err(_) => panic!("USER_TEXT_START is an address"),
};
