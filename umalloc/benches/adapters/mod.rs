//! Every allocator under test behind one interface, each over the same kind of `sbrk` (a
//! [`Brk`] over its own reserved arena) and behind the same kind of lock (a spin mutex:
//! `Umalloc` has its own, the others get one here), so the comparison is allocator against
//! allocator; and the host's C `malloc` (glibc's), over the real break. Blocks are requested
//! with 16-byte alignment (C `malloc`'s guarantee).

use std::alloc::Layout;
use std::cell::RefCell;
use std::ptr::{self, NonNull};

use spin::mutex::SpinMutex;
use umalloc::{PAGE_SIZE, Sbrk, Umalloc};

#[path = "brk.rs"]
mod brk;
#[path = "kr.rs"]
mod kr;

pub use brk::{Brk, KernelArena};

/// Requested alignment for every block.
const ALIGN: usize = 16;
/// Give-back threshold for the allocators that can give back (umalloc's default).
const TRIM: usize = umalloc::Config::DEFAULT.trim_threshold;

/// An allocator under test.
pub trait Subject {
    /// Name in the tables.
    const NAME: &'static str;
    /// A fresh allocator whose heap starts at the region's start.
    fn new(brk: Brk) -> Self;
    /// `malloc`.
    fn alloc(&self, size: usize) -> *mut u8;
    /// `free` of a block of `size` bytes.
    ///
    /// # Safety
    /// `p` is a live block of `size` bytes from this allocator.
    unsafe fn free(&self, p: *mut u8, size: usize);
    /// `realloc` from `old` to `new` bytes.
    ///
    /// # Safety
    /// `p` is a live block of `old` bytes from this allocator.
    unsafe fn realloc(&self, p: *mut u8, old: usize, new: usize) -> *mut u8;
    /// (break now, highest break), in bytes above the start.
    fn brk(&self) -> (usize, usize);
    /// Moves of the break so far (up, down).
    fn moves(&self) -> (usize, usize);
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, ALIGN).unwrap()
}

fn offsets(brk: &Brk) -> (usize, usize) {
    (brk.brk_offset(), brk.peak_offset())
}

/// Copying `realloc` for allocators without one: allocate, copy, free.
///
/// # Safety
/// As for [`Subject::realloc`].
unsafe fn realloc_by_copy<S: Subject>(s: &S, p: *mut u8, old: usize, new: usize) -> *mut u8 {
    let q = s.alloc(new);
    if !q.is_null() {
        // SAFETY: both blocks are live and at least `min(old, new)` long.
        unsafe {
            ptr::copy_nonoverlapping(p, q, old.min(new));
            s.free(p, old);
        }
    }
    q
}

impl Subject for Umalloc<Brk> {
    const NAME: &'static str = "umalloc";
    fn new(region: Brk) -> Self {
        Umalloc::new(region)
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        self.malloc(size)
    }
    unsafe fn free(&self, p: *mut u8, _size: usize) {
        // SAFETY: forwarded.
        unsafe { Umalloc::free(self, p) }
    }
    unsafe fn realloc(&self, p: *mut u8, _old: usize, new: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { Umalloc::realloc(self, p, new) }
    }
    fn brk(&self) -> (usize, usize) {
        offsets(self.lock().sbrk())
    }
    fn moves(&self) -> (usize, usize) {
        self.lock().sbrk().moves()
    }
}

/// talc's `Source` over the break: claims the first stretch, extends the heap with later
/// ones, and (tracking the heap end) gives free memory at the top back past the threshold.
#[derive(Debug)]
pub struct TalcSbrk {
    region: Brk,
    heap_end: Option<NonNull<u8>>,
}

// SAFETY: `acquire` only touches the region and the `Talc` it is handed.
unsafe impl talc::source::Source for TalcSbrk {
    fn acquire<B: talc::base::binning::Binning>(
        talc: &mut talc::base::Talc<Self, B>,
        layout: Layout,
    ) -> Result<(), ()> {
        let need = layout.size() + layout.align() + 4 * talc::base::CHUNK_UNIT;
        let need = need + talc::min_first_heap_size::<B>();
        let increment = need.next_multiple_of(PAGE_SIZE);
        let old = talc.source.region.grow(increment).ok_or(())?.as_ptr();
        // SAFETY: the break just gave us `increment` bytes at `old`, right above the heap.
        let end = unsafe {
            match talc.source.heap_end {
                None => talc.claim(old, increment).ok_or(())?,
                Some(end) => talc.extend(end, old.add(increment)),
            }
        };
        talc.source.heap_end = Some(end);
        Ok(())
    }

    const TRACK_HEAP_END: bool = true;

    unsafe fn resize(
        &mut self,
        chunk_base: *mut u8,
        heap_end: *mut u8,
        is_heap_base: bool,
    ) -> *mut u8 {
        let free = heap_end.addr() - chunk_base.addr();
        if free <= TRIM {
            return heap_end;
        }
        let mut release = free / PAGE_SIZE * PAGE_SIZE;
        if is_heap_base && release == free {
            release -= PAGE_SIZE; // keep the heap (and talc's metadata at its base) alive
        }
        // SAFETY: talc no longer uses the top `release` bytes.
        unsafe { self.region.shrink(release) };
        let new_end = heap_end.wrapping_sub(release);
        self.heap_end = NonNull::new(new_end);
        new_end
    }
}

pub type TalcHeap = SpinMutex<talc::base::Talc<TalcSbrk, talc::DefaultBinning>>;

impl Subject for TalcHeap {
    const NAME: &'static str = "talc";
    fn new(region: Brk) -> Self {
        SpinMutex::new(talc::base::Talc::new(TalcSbrk {
            region,
            heap_end: None,
        }))
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        // SAFETY: sizes are non-zero.
        unsafe { self.lock().allocate(layout(size)) }.map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    unsafe fn free(&self, p: *mut u8, size: usize) {
        // SAFETY: forwarded.
        unsafe { self.lock().deallocate(p, layout(size)) }
    }
    unsafe fn realloc(&self, p: *mut u8, old: usize, new: usize) -> *mut u8 {
        // talc's own `TalcLock::realloc`: in place if it can, else allocate, copy, free.
        // SAFETY: forwarded.
        unsafe {
            if self.lock().try_realloc_in_place(p, layout(old), new) {
                return p;
            }
            realloc_by_copy(self, p, old, new)
        }
    }
    fn brk(&self) -> (usize, usize) {
        offsets(&self.lock().source.region)
    }
    fn moves(&self) -> (usize, usize) {
        self.lock().source.region.moves()
    }
}

/// rlsf's `FlexSource` over the break: one pool that grows in place at the top.
pub struct RlsfSbrk(Brk);

// SAFETY: hands out disjoint memory from the region; growth is contiguous at the break.
unsafe impl rlsf::FlexSource for RlsfSbrk {
    unsafe fn alloc(&mut self, min_size: usize) -> Option<NonNull<[u8]>> {
        let len = min_size.next_multiple_of(PAGE_SIZE);
        let p = self.0.grow(len)?;
        Some(NonNull::slice_from_raw_parts(p, len))
    }
    unsafe fn realloc_inplace_grow(
        &mut self,
        ptr: NonNull<[u8]>,
        min_new_len: usize,
    ) -> Option<usize> {
        let end = ptr.cast::<u8>().as_ptr().addr() + ptr.len();
        let brk = self.0.start().as_ptr().addr() + self.0.brk_offset();
        if end != brk {
            return None;
        }
        let extra = (min_new_len - ptr.len()).next_multiple_of(PAGE_SIZE);
        self.0.grow(extra)?;
        Some(ptr.len() + extra)
    }
    fn supports_realloc_inplace_grow(&self) -> bool {
        true
    }
    fn is_contiguous_growable(&self) -> bool {
        true
    }
    fn min_align(&self) -> usize {
        PAGE_SIZE
    }
}

type Flex =
    rlsf::FlexTlsf<RlsfSbrk, usize, usize, { usize::BITS as usize }, { usize::BITS as usize }>;
pub type RlsfHeap = SpinMutex<Flex>;

impl Subject for RlsfHeap {
    const NAME: &'static str = "rlsf";
    fn new(region: Brk) -> Self {
        SpinMutex::new(Flex::new(RlsfSbrk(region)))
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        self.lock()
            .allocate(layout(size))
            .map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    unsafe fn free(&self, p: *mut u8, _size: usize) {
        // SAFETY: forwarded.
        unsafe { self.lock().deallocate(NonNull::new_unchecked(p), ALIGN) }
    }
    unsafe fn realloc(&self, p: *mut u8, _old: usize, new: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe {
            self.lock()
                .reallocate(NonNull::new_unchecked(p), layout(new))
        }
        .map_or(ptr::null_mut(), NonNull::as_ptr)
    }
    fn brk(&self) -> (usize, usize) {
        offsets(&self.lock().source_ref().0)
    }
    fn moves(&self) -> (usize, usize) {
        self.lock().source_ref().0.moves()
    }
}

/// dlmalloc's system interface over the break: segments come from `sbrk`; a segment (or its
/// tail) at the top of the break can be given back.
pub struct DlSbrk(RefCell<Brk>);

// SAFETY: each `alloc` is fresh memory from the break; `free`/`free_part` only shrink the
// break when the memory given back is at its top.
unsafe impl dlmalloc::Allocator for DlSbrk {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        match self.0.borrow_mut().grow(size) {
            Some(p) => (p.as_ptr(), size, 0),
            None => (ptr::null_mut(), 0, 0),
        }
    }
    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }
    fn free_part(&self, ptr: *mut u8, old: usize, new: usize) -> bool {
        let mut r = self.0.borrow_mut();
        let brk = r.start().as_ptr().addr() + r.brk_offset();
        // SAFETY: dlmalloc no longer uses the tail it gives back.
        ptr.addr() + old == brk && unsafe { r.shrink(old - new) }
    }
    fn free(&self, ptr: *mut u8, size: usize) -> bool {
        self.free_part(ptr, size, 0)
    }
    fn can_release_part(&self, _flags: u32) -> bool {
        true
    }
    fn allocates_zeros(&self) -> bool {
        false
    }
    fn page_size(&self) -> usize {
        PAGE_SIZE
    }
}

pub type DlHeap = SpinMutex<dlmalloc::Dlmalloc<DlSbrk>>;

impl Subject for DlHeap {
    const NAME: &'static str = "dlmalloc";
    fn new(region: Brk) -> Self {
        SpinMutex::new(dlmalloc::Dlmalloc::new_with_allocator(DlSbrk(
            RefCell::new(region),
        )))
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        // SAFETY: plain malloc.
        unsafe { self.lock().malloc(size, ALIGN) }
    }
    unsafe fn free(&self, p: *mut u8, size: usize) {
        // SAFETY: forwarded.
        unsafe { self.lock().free(p, size, ALIGN) }
    }
    unsafe fn realloc(&self, p: *mut u8, old: usize, new: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { self.lock().realloc(p, old, ALIGN, new) }
    }
    fn brk(&self) -> (usize, usize) {
        offsets(&self.lock().allocator().0.borrow())
    }
    fn moves(&self) -> (usize, usize) {
        self.lock().allocator().0.borrow().moves()
    }
}

/// linked_list_allocator with the heap extended from the break when an allocation fails.
pub struct LlaHeap(SpinMutex<(linked_list_allocator::Heap, Brk)>);

impl Subject for LlaHeap {
    const NAME: &'static str = "linked_list_allocator";
    fn new(region: Brk) -> Self {
        LlaHeap(SpinMutex::new((
            linked_list_allocator::Heap::empty(),
            region,
        )))
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        let mut guard = self.0.lock();
        let (heap, region) = &mut *guard;
        loop {
            if let Ok(p) = heap.allocate_first_fit(layout(size)) {
                return p.as_ptr();
            }
            let more = (size + 2 * PAGE_SIZE).next_multiple_of(PAGE_SIZE);
            let Some(p) = region.grow(more) else {
                return ptr::null_mut();
            };
            // SAFETY: fresh memory right above the heap (or its first stretch).
            unsafe {
                if heap.size() == 0 {
                    heap.init(p.as_ptr(), more);
                } else {
                    heap.extend(more);
                }
            }
        }
    }
    unsafe fn free(&self, p: *mut u8, size: usize) {
        // SAFETY: forwarded.
        unsafe {
            self.0
                .lock()
                .0
                .deallocate(NonNull::new_unchecked(p), layout(size))
        }
    }
    unsafe fn realloc(&self, p: *mut u8, old: usize, new: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { realloc_by_copy(self, p, old, new) }
    }
    fn brk(&self) -> (usize, usize) {
        offsets(&self.0.lock().1)
    }
    fn moves(&self) -> (usize, usize) {
        self.0.lock().1.moves()
    }
}

/// The K&R baseline.
pub struct KrHeap(SpinMutex<kr::KAndR>);

impl Subject for KrHeap {
    const NAME: &'static str = "K&R (xv6)";
    fn new(region: Brk) -> Self {
        KrHeap(SpinMutex::new(kr::KAndR::new(region)))
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        // SAFETY: plain malloc.
        unsafe { self.0.lock().malloc(size) }
    }
    unsafe fn free(&self, p: *mut u8, _size: usize) {
        // SAFETY: forwarded.
        unsafe { self.0.lock().free(p) }
    }
    unsafe fn realloc(&self, p: *mut u8, old: usize, new: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { realloc_by_copy(self, p, old, new) }
    }
    fn brk(&self) -> (usize, usize) {
        offsets(&self.0.lock().region)
    }
    fn moves(&self) -> (usize, usize) {
        self.0.lock().region.moves()
    }
}

/// The host's C `malloc` (glibc's, over the real break and `mmap`), for the workloads where the
/// kernel's costs count. Process-wide, so nothing to build per round, and no break of ours to
/// report (zeros).
pub struct Glibc;

impl Subject for Glibc {
    const NAME: &'static str = "glibc";
    fn new(_brk: Brk) -> Self {
        Glibc
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        // SAFETY: plain malloc.
        unsafe { libc::malloc(size).cast() }
    }
    unsafe fn free(&self, p: *mut u8, _size: usize) {
        // SAFETY: forwarded.
        unsafe { libc::free(p.cast()) }
    }
    unsafe fn realloc(&self, p: *mut u8, _old: usize, new: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { libc::realloc(p.cast(), new).cast() }
    }
    fn brk(&self) -> (usize, usize) {
        (0, 0)
    }
    fn moves(&self) -> (usize, usize) {
        (0, 0)
    }
}

/// umalloc as a hosted C library sets it up (`c_abi::HEAP`): waiters on its lock call
/// `sched_yield` after a short spin. (`Umalloc<Brk>` is the embedded set-up: waiters spin.)
pub struct UmallocYield(Umalloc<Brk>);

fn sched_yield() {
    // SAFETY: no preconditions.
    unsafe { libc::sched_yield() };
}

impl Subject for UmallocYield {
    const NAME: &'static str = "umalloc + sched_yield";
    fn new(brk: Brk) -> Self {
        UmallocYield(Umalloc::new(brk).with_yield(sched_yield))
    }
    fn alloc(&self, size: usize) -> *mut u8 {
        self.0.malloc(size)
    }
    unsafe fn free(&self, p: *mut u8, _size: usize) {
        // SAFETY: forwarded.
        unsafe { self.0.free(p) }
    }
    unsafe fn realloc(&self, p: *mut u8, _old: usize, new: usize) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { self.0.realloc(p, new) }
    }
    fn brk(&self) -> (usize, usize) {
        offsets(self.0.lock().sbrk())
    }
    fn moves(&self) -> (usize, usize) {
        self.0.lock().sbrk().moves()
    }
}
