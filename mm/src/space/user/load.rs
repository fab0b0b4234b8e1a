//! Placing an ELF executable's segments in a fresh space.

use super::elf::{ElfClass, ElfImage, ElfSegment, PF_R, PF_W, PF_X};
use super::pages::{DATA_PAGE, out_of_memory};
use super::region::{Span, UserRegion, pages_between};
use super::{LoadError, MAX_SEGMENTS, USER_TEXT_START, USER_TEXT_START_VA, UserSpace};
use crate::addr::{PAGE_SIZE, PageSize, VirtAddr};
use crate::frame::{FrameSource, OutOfMemory};
use crate::paging::{Mode, Perms};
use crate::phys::{FrameMut, PhysMem};

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
            && self.heap_start == USER_TEXT_START_VA
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
                if overlap(span.pages, earlier.pages) {
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
                // Segment `n` mapped nothing (`map_new` is all or nothing); the earlier ones
                // go, and the space is fresh again.
                for (span, _) in &placed[..n] {
                    self.table.unmap(span.pages, frames).expect(UNMAP).ignore(); // not live
                }
                return Err(LoadError::OutOfMemory);
            }
        }
        let mut end = USER_TEXT_START_VA;
        for (n, (span, _)) in placed[..count].iter().enumerate() {
            self.segments[n] = *span;
            let span_end = VirtAddr::try_from(span.pages.end_u64()).expect("below the heap cap");
            end = end.max(span_end);
        }
        self.segment_count = count;
        self.heap_start = end;
        self.brk = end;
        // Inside an executable segment, below the heap cap.
        let entry = VirtAddr::try_from(entry).expect("inside a segment");
        self.entry = Some(entry);
        Ok(entry)
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
        if end > self.layout.heap_cap().as_u64() {
            return Err(LoadError::AboveHeapCap { index, end });
        }
        // Both lie below the page-aligned heap cap, so they are addresses and round within it.
        const BELOW_CAP: &str = "below the heap cap";
        let start = VirtAddr::try_from(seg.vaddr).expect(BELOW_CAP);
        let end = VirtAddr::try_from(end).expect(BELOW_CAP);
        let end = end.align_up(PageSize::Size4KiB).expect(BELOW_CAP);
        let first = start.align_down(PageSize::Size4KiB);
        // `parse` checked filesz <= memsz: the file's end lies inside the segment.
        let file_end = VirtAddr::try_from(seg.vaddr + seg.filesz).expect(BELOW_CAP);
        let file_end = file_end.align_up(PageSize::Size4KiB).expect(BELOW_CAP);
        Ok(Span {
            what: UserRegion::Program,
            pages: pages_between(first, end),
            perms: perms | Perms::U,
            file_pages: match seg.filesz {
                0 => 0,
                _ => pages_between(first, file_end).count(),
            },
        })
    }

    /// Maps `span`'s pages, each a fresh zeroed frame holding the file bytes that fall in it;
    /// all or none.
    fn fill_segment(
        &mut self,
        elf: &ElfImage<'_>,
        seg: &ElfSegment,
        span: Span,
        frames: &mut impl FrameSource,
    ) -> Result<(), OutOfMemory> {
        let file = elf.file_bytes(seg);
        let file_end = seg.vaddr + file.len() as u64;
        let fill = |page: crate::addr::Page, mut bytes: FrameMut<'_>| {
            let page = page.start().as_u64();
            let (lo, hi) = (seg.vaddr.max(page), file_end.min(page + PAGE_SIZE as u64));
            if lo < hi {
                // `lo..hi` lies in this page and in the segment's file bytes.
                let (dst, src, len) = (
                    (lo - page) as usize,
                    (lo - seg.vaddr) as usize,
                    (hi - lo) as usize,
                );
                bytes.write(dst, &file[src..src + len]).expect(DATA_PAGE);
            }
        };
        let mapped = self.table.map_new(span.pages, span.perms, frames, fill);
        mapped.map(|flush| flush.ignore()).map_err(out_of_memory) // not live
    }
}

/// Whether two page ranges share a page.
fn overlap(a: crate::addr::PageRange, b: crate::addr::PageRange) -> bool {
    a.start().start().as_u64() < b.end_u64() && b.start().start().as_u64() < a.end_u64()
}

/// Why unmapping a loaded segment cannot fail: its leaves are 4 KiB, below the heap cap.
const UNMAP: &str = "a segment's 4 KiB pages unmap without splitting";
