//! Placing an ELF executable's segments in a fresh space.

use super::elf::{ElfClass, ElfImage, ElfSegment, PF_R, PF_W, PF_X};
use super::layout::{page_down, page_up, to_va};
use super::region::{RegionKind, Span};
use super::{LoadError, MAX_SEGMENTS, USER_TEXT_START, UserSpace};
use crate::addr::{PAGE_SIZE, VirtAddr};
use crate::frame::FrameSource;
use crate::paging::{Mode, Perms};
use crate::phys::PhysMem;

impl<M: Mode, P: PhysMem> UserSpace<M, P> {
    /// Loads the executable `image` into this fresh space (no program, empty heap) and returns
    /// its entry point. The heap then starts at the first page boundary after the highest
    /// segment.
    ///
    /// Each loadable segment is mapped at its own address with the permissions its header asks
    /// for, plus U: R, R+W or R+X (W+X and anything else are refused). Bytes past the file
    /// part (bss) and the rest of each page read as zero. Segments must start at or above
    /// [`USER_TEXT_START`], end at or below the heap cap, and share no page (permissions are
    /// per page); the entry point must lie in an executable segment. Anything else, a
    /// malformed file, or running out of frames is an error that leaves the space unchanged.
    ///
    /// The space is not live yet, so no flush is returned.
    pub fn load_elf(
        &mut self,
        image: &[u8],
        frames: &mut impl FrameSource,
    ) -> Result<VirtAddr, LoadError> {
        let fresh = self.segment_count == 0
            && self.heap_start == USER_TEXT_START
            && self.brk == self.heap_start;
        if !fresh {
            return Err(LoadError::NotFresh);
        }
        let elf = ElfImage::parse(image, ElfClass::for_entry_bytes(M::ENTRY_BYTES))?;
        let count = elf.segments().count();
        if count > MAX_SEGMENTS {
            return Err(LoadError::TooManySegments(count));
        }
        let mut placed = [(Span::EMPTY, None); MAX_SEGMENTS];
        for (n, seg) in elf.segments().enumerate() {
            let span = self.place(&seg)?;
            for (earlier, other) in placed[..n].iter() {
                if span.start < earlier.end() && earlier.start < span.end() {
                    let first = other.map_or(0, |s: ElfSegment| s.index);
                    return Err(LoadError::Overlap {
                        first,
                        second: seg.index,
                    });
                }
            }
            placed[n] = (span, Some(seg));
        }
        let entry = elf.entry();
        let runs = placed[..count].iter().filter_map(|(_, s)| *s);
        let in_text = runs
            .filter(|s| s.flags & PF_X != 0)
            .any(|s| entry >= s.vaddr && entry - s.vaddr < s.memsz);
        if !in_text {
            return Err(LoadError::EntryNotExecutable(entry));
        }
        for n in 0..count {
            let (span, Some(seg)) = placed[n] else {
                continue;
            };
            if self.fill_segment(&elf, &seg, span, frames).is_err() {
                for (span, _) in &placed[..=n] {
                    self.release(span.start, span.pages, frames).ignore(); // not live
                }
                return Err(LoadError::OutOfMemory);
            }
        }
        let mut end = USER_TEXT_START;
        for (n, (span, _)) in placed[..count].iter().enumerate() {
            self.segments[n] = *span;
            end = end.max(span.end());
        }
        self.segment_count = count;
        self.heap_start = page_up(end);
        self.brk = self.heap_start;
        self.entry = Some(to_va(entry as usize));
        Ok(to_va(entry as usize))
    }

    /// The pages `seg` occupies and their permissions, if the layout allows it there.
    fn place(&self, seg: &ElfSegment) -> Result<Span, LoadError> {
        let index = seg.index;
        let perms = match seg.flags & (PF_R | PF_W | PF_X) {
            PF_R => Perms::R,
            f if f == PF_R | PF_W => Perms::RW,
            f if f == PF_R | PF_X => Perms::RX,
            f if f & (PF_W | PF_X) == PF_W | PF_X => return Err(LoadError::WriteAndExecute(index)),
            _ => {
                return Err(LoadError::BadPermissions {
                    index,
                    flags: seg.flags,
                });
            }
        };
        if seg.vaddr < USER_TEXT_START as u64 {
            return Err(LoadError::BelowTextStart {
                index,
                vaddr: seg.vaddr,
            });
        }
        // `parse` checked that the end does not overflow.
        let end = seg.vaddr + seg.memsz;
        if end > self.layout.cap() as u64 {
            return Err(LoadError::AboveHeapCap { index, end });
        }
        // Both fit in usize: they lie below the heap cap.
        let start = page_down(seg.vaddr as usize);
        Ok(Span {
            kind: RegionKind::Program,
            start,
            pages: (page_up(end as usize) - start) / PAGE_SIZE,
            perms: perms | Perms::U,
        })
    }

    /// Maps `span`'s pages, each a fresh zeroed frame holding the file bytes that fall in it.
    /// On failure the pages mapped so far stay mapped; the caller releases the span.
    fn fill_segment(
        &mut self,
        elf: &ElfImage<'_>,
        seg: &ElfSegment,
        span: Span,
        frames: &mut impl FrameSource,
    ) -> Result<(), crate::frame::OutOfMemory> {
        let file = elf.file_bytes(seg);
        let file_end = seg.vaddr + file.len() as u64;
        for i in 0..span.pages {
            let page = span.start + i * PAGE_SIZE;
            let (lo, hi) = (
                seg.vaddr.max(page as u64),
                file_end.min((page + PAGE_SIZE) as u64),
            );
            self.map_fresh(page, span.perms, frames, |bytes| {
                if lo < hi {
                    let dst = (lo - page as u64) as usize;
                    let src = (lo - seg.vaddr) as usize;
                    let len = (hi - lo) as usize;
                    if let (Some(d), Some(s)) =
                        (bytes.get_mut(dst..dst + len), file.get(src..src + len))
                    {
                        d.copy_from_slice(s);
                    }
                }
            })?;
        }
        Ok(())
    }
}
