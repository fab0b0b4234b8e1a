//! Segregated free lists with two-level bitmaps (TLSF): finding a fitting free chunk is a couple
//! of `trailing_zeros`, whatever the heap holds.
//!
//! Chunk sizes below 2 KiB get one exact list per 16-byte size (rows 0 and 1), so a small request
//! takes the head of its own list with no split. Above that, each power of two is cut into 64
//! lists (row `r` covers `[2^(r+9), 2^(r+10))` in steps of `2^(r+3)`), so a list's chunks differ
//! by at most 1/64 of their size: a good fit, not just a first fit.

use crate::chunk::{Chunk, MIN_ALIGN};

/// log2 of the lists per row.
const SL_LOG: u32 = 6;
/// Lists per row.
const SL: usize = 1 << SL_LOG;
/// A row's bitmap of non-empty lists.
type Row = u64;
/// Rows: row 0 is linear (sizes below `16 * SL`); the last row holds sizes up to `usize::MAX`.
const FL_COUNT: usize = usize::BITS as usize - (SL_LOG as usize + 3);
/// Sizes below this are binned exactly (one 16-byte size per list).
pub(crate) const EXACT_LIMIT: usize = 1 << (SL_LOG + 5);

/// The list a free chunk of `size` bytes belongs in.
#[inline(always)]
fn list_of(size: usize) -> (usize, usize) {
    if size < (1 << (SL_LOG + 4)) {
        (0, size / MIN_ALIGN)
    } else {
        let log = (usize::BITS - 1 - size.leading_zeros()) as usize;
        let fl = log - (SL_LOG as usize + 3);
        let sl = (size >> (log - SL_LOG as usize)) & (SL - 1);
        (fl, sl)
    }
}

/// The first list whose every chunk holds at least `size` bytes (`size` rounded up to the
/// next list boundary; exact lists need no rounding).
#[inline(always)]
fn first_list_fitting(size: usize) -> (usize, usize) {
    if size < EXACT_LIMIT {
        list_of(size)
    } else {
        let log = usize::BITS - 1 - size.leading_zeros();
        let step = 1usize << (log - SL_LOG);
        list_of(size + step - 1)
    }
}

/// The free lists and the bitmaps saying which are non-empty.
pub(crate) struct Bins {
    /// Bit `fl` set iff `rows[fl] != 0`.
    fl_map: usize,
    /// Bit `sl` of `rows[fl]` set iff list `(fl, sl)` is non-empty.
    rows: [Row; FL_COUNT],
    /// List heads, `fl * SL + sl`.
    heads: [Chunk; FL_COUNT * SL],
}

// SAFETY: a `Bins` only holds pointers into the heap that owns it; moving it between threads
// moves that ownership along (the heap sits behind a lock).
unsafe impl Send for Bins {}

impl Bins {
    /// No free chunks.
    pub(crate) const fn new() -> Bins {
        Bins {
            fl_map: 0,
            rows: [0; FL_COUNT],
            heads: [Chunk::NULL; FL_COUNT * SL],
        }
    }

    /// Adds free chunk `c` of `size` bytes (its header and footer already written).
    ///
    /// The head of a list has no valid `prev`: whether a chunk is a head is told by comparing
    /// it with the list head, so taking the head never has to touch the chunk after it (a
    /// cache miss saved per allocation).
    ///
    /// # Safety
    /// `c` must be a free chunk of `size` bytes not in any list.
    #[inline(always)]
    pub(crate) unsafe fn insert(&mut self, c: Chunk, size: usize) {
        let (fl, sl) = list_of(size);
        let i = fl * SL + sl;
        // SAFETY: `list_of` returns `fl < FL_COUNT` for every size (the top row ends at
        // usize::MAX) and `sl < SL`.
        let head = unsafe { self.heads.get_unchecked_mut(i) };
        // SAFETY: `c` and the old head are free chunks with room for both links.
        unsafe {
            c.set_next(*head);
            if !head.is_null() {
                head.set_prev(c);
            }
        }
        *head = c;
        self.rows[fl] |= 1 << sl;
        self.fl_map |= 1 << fl;
    }

    /// Removes free chunk `c` of `size` bytes from its list.
    ///
    /// # Safety
    /// `c` must be in the list for `size`.
    #[inline(always)]
    pub(crate) unsafe fn unlink(&mut self, c: Chunk, size: usize) {
        let (fl, sl) = list_of(size);
        // SAFETY: as in `insert`.
        let head = unsafe { self.heads.get_unchecked_mut(fl * SL + sl) };
        // SAFETY: `c` is a listed free chunk, so its `next` is valid, and so is its `prev`
        // unless it is the head; its neighbours are listed free chunks too.
        unsafe {
            let next = c.next();
            if *head == c {
                *head = next;
                if next.is_null() {
                    self.clear(fl, sl);
                }
                return;
            }
            let prev = c.prev();
            prev.set_next(next);
            if !next.is_null() {
                next.set_prev(prev);
            }
        }
    }

    /// Removes and returns a free chunk of at least `size` bytes, or `None`.
    ///
    /// Tries the list `size` itself falls in first (its head may fit: a closer fit than the
    /// next list up), then the first list whose chunks all fit.
    #[inline(always)]
    pub(crate) fn take(&mut self, size: usize) -> Option<Chunk> {
        let (fl, sl) = first_list_fitting(size);
        if size >= EXACT_LIMIT {
            let (efl, esl) = list_of(size);
            let head = self.heads[efl * SL + esl];
            // SAFETY: a non-null head is a free chunk with a valid header.
            if !head.is_null() && unsafe { head.size() } >= size {
                // SAFETY: `head` is the head of the list its size maps to.
                unsafe { self.pop(efl, esl, head) };
                return Some(head);
            }
        }
        let (fl, sl) = self.first_non_empty(fl, sl)?;
        let head = self.heads[fl * SL + sl];
        // SAFETY: the bitmap says this list is non-empty, so `head` is its first chunk.
        unsafe { self.pop(fl, sl, head) };
        Some(head)
    }

    /// The first non-empty list at or after `(fl, sl)`.
    #[inline(always)]
    fn first_non_empty(&self, fl: usize, sl: usize) -> Option<(usize, usize)> {
        if fl >= FL_COUNT {
            return None;
        }
        let in_row = self.rows[fl] & (Row::MAX << sl);
        if in_row != 0 {
            return Some((fl, in_row.trailing_zeros() as usize));
        }
        let later_rows = self.fl_map & (usize::MAX << (fl + 1));
        if later_rows == 0 {
            return None;
        }
        let fl = later_rows.trailing_zeros() as usize;
        Some((fl, self.rows[fl].trailing_zeros() as usize))
    }

    /// Removes `head`, the first chunk of list `(fl, sl)`.
    ///
    /// # Safety
    /// `head` must be the non-null head of that list.
    #[inline(always)]
    unsafe fn pop(&mut self, fl: usize, sl: usize, head: Chunk) {
        // SAFETY: `head` is a listed free chunk.
        let next = unsafe { head.next() };
        self.heads[fl * SL + sl] = next;
        if next.is_null() {
            self.clear(fl, sl);
        }
    }

    /// Marks list `(fl, sl)` empty.
    #[inline(always)]
    fn clear(&mut self, fl: usize, sl: usize) {
        self.rows[fl] &= !(1 << sl);
        if self.rows[fl] == 0 {
            self.fl_map &= !(1 << fl);
        }
    }

    /// Chunks in all lists (walks them; for the consistency check only).
    pub(crate) fn len(&self) -> usize {
        let mut n = 0;
        for &head in &self.heads {
            let mut at = head;
            while !at.is_null() {
                n += 1;
                // SAFETY: listed chunks are free and hold valid links.
                at = unsafe { at.next() };
            }
        }
        n
    }

    /// Whether list membership of a chunk of `size` bytes includes `c` (walks one list; for
    /// the consistency check only).
    pub(crate) fn contains(&self, c: Chunk, size: usize) -> bool {
        let (fl, sl) = list_of(size);
        let mut at = self.heads[fl * SL + sl];
        while !at.is_null() {
            if at == c {
                return true;
            }
            // SAFETY: listed chunks are free and hold valid links.
            at = unsafe { at.next() };
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_exact_below_the_limit_and_ordered_above() {
        for size in (32..EXACT_LIMIT).step_by(16) {
            let (fl, sl) = list_of(size);
            assert_eq!(fl * SL + sl, size / 16, "size {size}");
            assert_eq!(first_list_fitting(size), list_of(size));
        }
        let mut last = 0;
        let mut size = 32usize;
        while size < usize::MAX / 3 {
            let (fl, sl) = list_of(size);
            assert!(fl < FL_COUNT && sl < SL);
            let flat = fl * SL + sl;
            assert!(flat >= last, "size {size}");
            last = flat;
            size += size / 7 + 16;
        }
    }

    /// The smallest size list `(fl, sl)` holds.
    fn list_min(fl: usize, sl: usize) -> usize {
        if fl == 0 {
            sl * MIN_ALIGN
        } else {
            (SL + sl) << (fl + 3)
        }
    }

    #[test]
    fn every_chunk_in_the_fitting_list_is_big_enough() {
        for size in (EXACT_LIMIT..1 << 22)
            .step_by(272)
            .chain([usize::MAX / 2 - 15])
        {
            let (fl, sl) = first_list_fitting(size);
            assert_eq!(list_of(list_min(fl, sl)), (fl, sl));
            assert!(list_min(fl, sl) >= size, "size {size}");
            // ...and it is the first such list: the one below may hold smaller chunks.
            let (efl, esl) = list_of(size);
            assert!(list_min(efl, esl) <= size);
        }
    }
}
