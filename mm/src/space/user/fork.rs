//! `fork`: a full copy of a process's space.

use super::UserSpace;
use super::pages::{DATA_PAGE, out_of_memory};
use crate::frame::{FrameSource, OutOfMemory};
use crate::paging::Mode;
use crate::phys::{FrameMut, PhysMem};

impl<M: Mode, P: PhysMem + Clone> UserSpace<M, P> {
    /// A copy of this space for a child process: the same regions at the same addresses with
    /// the same permissions, every data page (and the trap frame) copied into a frame of its
    /// own, the same break and stack bottom, and the same trampoline frame. The child's tables
    /// live in a clone of the parent's physical memory, which must reach the same memory (as
    /// `&Arena` and `Identity` do).
    ///
    /// The parent is not changed, so it needs no flush; the child is not live yet. Running out
    /// of frames gives back everything the child had taken.
    ///
    /// Every region is copied eagerly. The regions are kept as spans of pages (`region.rs`) so
    /// that copy-on-write can later replace the copy of a span by shared read-only mappings.
    pub fn fork(&self, frames: &mut impl FrameSource) -> Result<Self, OutOfMemory> {
        let phys = self.table.phys().clone();
        let limits = self.layout.limits();
        let parent_tf = self.trap_frame();
        let copy_tf = |mut to: FrameMut<'_>| to.copy_from(&parent_tf);
        let mut child = Self::without_stack(phys, self.trampoline, limits, frames, copy_tf)
            .map_err(|_| OutOfMemory)?;
        child.segments = self.segments;
        child.segment_count = self.segment_count;
        child.entry = self.entry;
        child.heap_start = self.heap_start;
        child.brk = self.brk;
        child.stack_bottom = self.stack_bottom;
        for span in self.user_spans() {
            let copied = child
                .table
                .map_copies(span.pages, span.perms, frames, |page| {
                    self.table.owned_page(page).expect(DATA_PAGE)
                });
            if let Err(e) = copied {
                child.destroy(frames);
                return Err(out_of_memory(e));
            }
        }
        Ok(child)
    }
}
