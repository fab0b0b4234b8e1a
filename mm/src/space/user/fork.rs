//! `fork`: a full copy of a process's space.

use super::UserSpace;
use crate::addr::PAGE_SIZE;
use crate::frame::{FrameSource, OutOfMemory};
use crate::paging::Mode;
use crate::phys::PhysMem;

impl<M: Mode, P: PhysMem + Clone> UserSpace<M, P> {
    /// A copy of this space for a child process: the same regions at the same addresses with
    /// the same permissions, every data page (and the trap frame) copied into a frame of its
    /// own, the same break and stack bottom, and the same trampoline frame.
    ///
    /// The parent is not changed, so it needs no flush; the child is not live yet. Running out
    /// of frames gives back everything the child had taken.
    ///
    /// Every region is copied eagerly. The regions are kept as spans of pages (`region.rs`) so
    /// that copy-on-write can later replace the copy of a span by shared read-only mappings.
    pub fn fork(&self, frames: &mut impl FrameSource) -> Result<Self, OutOfMemory> {
        let phys = self.table.phys().clone();
        let limits = self.layout.limits();
        let parent_tf = self.trap_frame;
        let mut child = Self::without_stack(phys, self.trampoline, limits, frames, |bytes| {
            self.read_frame(parent_tf, 0, bytes)
        })
        .map_err(|_| OutOfMemory)?;
        child.segments = self.segments;
        child.segment_count = self.segment_count;
        child.entry = self.entry;
        child.heap_start = self.heap_start;
        child.brk = self.brk;
        child.stack_bottom = self.stack_bottom;
        for span in self.user_spans() {
            for i in 0..span.pages {
                let va = span.start + i * PAGE_SIZE;
                let Some((from, _)) = self.frame_at(va) else {
                    continue; // every page of a span is mapped (invariant)
                };
                let copied = child.map_fresh(va, span.perms, frames, |bytes| {
                    self.read_frame(from, 0, bytes)
                });
                if copied.is_err() {
                    child.destroy(frames);
                    return Err(OutOfMemory);
                }
            }
        }
        Ok(child)
    }
}
