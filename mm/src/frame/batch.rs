//! A stack of free frames kept inside free frames, a batch per frame.
//!
//! Each frame on the stack is a [`Batch`] node that also holds the numbers of up to [`CAP`]
//! other free frames. A pop takes a number from the head node's array and never touches the
//! frame it hands out; only when the array is empty is the node frame itself handed out. So a
//! cold pop costs a cache miss once per `CAP + 1` frames instead of once per frame.
//!
//! Everything a node holds is a plain integer: the link to the next node is that node's frame
//! index, turned into a pointer by the allocator's `PhysMem` lookup (bounds-checked), never a
//! pointer read back from frame memory. So corrupted node bytes (a use after free through a
//! stale frame number) give wrong frame numbers, which the allocator refuses to hand out, not
//! a wild pointer. Nodes are accessed field by field through raw pointers, never as `&Batch`.

use crate::addr::PAGE_SIZE;
use core::ptr::NonNull;

/// Frame numbers one batch node holds besides itself: what fits in a 4 KiB frame. Under Miri,
/// a handful, so that small tests cross many batch boundaries.
pub(super) const CAP: usize = if cfg!(miri) { 14 } else { 1020 };

/// `Batch::next` of the last node. Indices are below the span, which is below `u32::MAX`.
const END: u32 = u32::MAX;

/// The layout of a free frame that serves as a list node. Frame numbers are relative to the
/// allocator's lowest managed frame. Integers only, no padding: every byte written is a byte of
/// a `u32`, so frame memory stays plain initialised bytes.
#[repr(C)]
struct Batch {
    /// Index of the next node, or [`END`].
    next: u32,
    /// This node's own index.
    me: u32,
    len: u32,
    frames: [u32; CAP],
}

const _: () = assert!(size_of::<Batch>() <= PAGE_SIZE);
const _: () = assert!(size_of::<Batch>() == 4 * (3 + CAP), "no padding");

/// A stack of free frames: the nodes reachable from `head` and the numbers they hold.
///
/// Invariant: `head` points to a frame this list owns, obtained from the allocator's
/// `PhysMem`; every node is such a frame, written by `push`, with `len <= CAP` and
/// `frames[..len]` holding the list's other frames.
#[derive(Debug)]
pub(super) struct BatchList {
    head: Option<NonNull<Batch>>,
    count: usize,
}

// SAFETY: a `BatchList` owns the free frames it links (nodes and the frames they name); they
// are reached only through it, so moving it to another thread moves that ownership with it.
unsafe impl Send for BatchList {}

impl BatchList {
    /// An empty list.
    pub const fn new() -> Self {
        BatchList {
            head: None,
            count: 0,
        }
    }

    /// Frames on the list, nodes included.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The head node's `(len, next)`.
    fn head_fields(&self) -> Option<(usize, u32)> {
        let b = self.head?.as_ptr();
        // SAFETY: list invariant: the head is an owned node frame, valid for PAGE_SIZE bytes;
        // `&self` rules out a concurrent change. Plain integer reads.
        Some(unsafe { ((*b).len as usize, (*b).next) })
    }

    /// Whether the list has more than one node.
    pub fn has_second(&self) -> bool {
        self.head_fields().is_some_and(|(_, next)| next != END)
    }

    /// The node in frame `index`, or `None` for [`END`]. `node_at` is how every list method
    /// that follows a link reaches a node: the allocator's bounds-checked `PhysMem` lookup,
    /// which panics on an index outside its span.
    fn node(index: u32, node_at: &impl Fn(u32) -> NonNull<u8>) -> Option<NonNull<Batch>> {
        (index != END).then(|| node_at(index).cast())
    }

    /// Pushes free frame `index`. `frame` gives its memory, needed only if it becomes a node.
    ///
    /// # Safety
    /// The caller owns the frame and gives it to the list: `frame()` is valid for `PAGE_SIZE`
    /// bytes, 4 KiB aligned, and nothing else touches it until it is popped.
    #[inline]
    pub unsafe fn push(&mut self, index: u32, frame: impl FnOnce() -> NonNull<u8>) {
        self.count += 1;
        match (self.head, self.head_fields()) {
            (Some(b), Some((len, _))) if len < CAP => {
                let b = b.as_ptr();
                // SAFETY: list invariant; `&mut self` makes the access exclusive.
                unsafe {
                    (*b).frames[len] = index;
                    (*b).len += 1;
                }
            }
            // SAFETY: the caller's contract, passed on.
            _ => unsafe { self.push_node(index, frame()) },
        }
    }

    /// Pushes free frame `index` as a number the head node holds, if it has room: all but one
    /// push in `CAP + 1`, touching the head node only. `false` (nothing changed) when the head
    /// is full or the list empty: then `push` makes the frame a node.
    ///
    /// # Safety
    /// As for [`push`](Self::push).
    #[inline]
    pub unsafe fn push_held(&mut self, index: u32) -> bool {
        let Some(b) = self.head else { return false };
        let b = b.as_ptr();
        // SAFETY: list invariant; `&mut self` makes the access exclusive. The frame is not
        // written: only its number is kept.
        unsafe {
            let len = (*b).len as usize;
            if len >= CAP {
                return false;
            }
            (*b).frames[len] = index;
            (*b).len = len as u32 + 1;
        }
        self.count += 1;
        true
    }

    /// Makes free frame `index`, at `frame`, the new head node (once per `CAP + 1` pushes, and
    /// it writes a whole frame: out of line, so that `push` inlines).
    ///
    /// # Safety
    /// As for [`push`](Self::push).
    #[cold]
    #[inline(never)]
    unsafe fn push_node(&mut self, index: u32, frame: NonNull<u8>) {
        // SAFETY: list invariant, as in `head_fields`.
        let next = self.head.map_or(END, |b| unsafe { (*b.as_ptr()).me });
        let node = frame.cast::<Batch>();
        // SAFETY: the caller hands the frame over; it is big and aligned enough for a Batch.
        // Writing the whole node (integers, no padding) keeps every byte of it initialised.
        unsafe {
            node.write(Batch {
                next,
                me: index,
                len: 0,
                frames: [0; CAP],
            })
        };
        self.head = Some(node);
    }

    /// Pops a free frame's index: a number from the head node, or the head node itself.
    #[inline]
    pub fn pop(&mut self, node_at: &impl Fn(u32) -> NonNull<u8>) -> Option<u32> {
        match self.pop_held() {
            Some(i) => Some(i),
            None => self.pop_node(node_at),
        }
    }

    /// Pops a number the head node holds, if it holds one: all but one pop in `CAP + 1`, and
    /// it touches nothing but the head node.
    #[inline]
    pub fn pop_held(&mut self) -> Option<u32> {
        let b = self.head?.as_ptr();
        // SAFETY: list invariant; `&mut self` makes the access exclusive. A `len` above CAP
        // (corrupted bytes) fails the array's bounds check instead of reading outside it.
        let i = unsafe {
            let len = (*b).len.checked_sub(1)?;
            (*b).len = len;
            (*b).frames[len as usize]
        };
        self.count -= 1;
        Some(i)
    }

    /// Pops the head node itself, once it holds no numbers (or `None`: the list is empty).
    #[cold]
    #[inline(never)]
    fn pop_node(&mut self, node_at: &impl Fn(u32) -> NonNull<u8>) -> Option<u32> {
        let b = self.head?.as_ptr();
        // SAFETY: list invariant; `&mut self` makes the access exclusive. `pop_held` found
        // `len` zero: the node holds no other frame's number.
        let (me, next) = unsafe { ((*b).me, (*b).next) };
        self.head = Self::node(next, node_at);
        self.count -= 1;
        Some(me)
    }

    /// Detaches the head node with the numbers it holds, as a list of its own.
    pub fn take_batch(&mut self, node_at: &impl Fn(u32) -> NonNull<u8>) -> BatchList {
        let Some(head) = self.head else {
            return BatchList::new();
        };
        let b = head.as_ptr();
        // SAFETY: list invariant; `&mut self` makes the access exclusive.
        let (next, count) = unsafe {
            let next = core::mem::replace(&mut (*b).next, END);
            (next, 1 + (*b).len as usize)
        };
        self.head = Self::node(next, node_at);
        self.count -= count;
        BatchList {
            head: Some(head),
            count,
        }
    }

    /// Moves every frame of `other` onto this list. O(nodes of `other`).
    pub fn append(&mut self, mut other: BatchList, node_at: &impl Fn(u32) -> NonNull<u8>) {
        let Some(mut tail) = other.head else { return };
        // SAFETY: list invariants of both lists (`other` we own by value, `self` by `&mut`).
        unsafe {
            while let Some(next) = Self::node((*tail.as_ptr()).next, node_at) {
                tail = next;
            }
            (*tail.as_ptr()).next = self.head.map_or(END, |h| (*h.as_ptr()).me);
        }
        self.head = other.head.take();
        self.count += core::mem::take(&mut other.count);
    }

    /// Calls `f` with every frame index on the list. Touches the node frames only.
    pub fn for_each(&self, node_at: &impl Fn(u32) -> NonNull<u8>, mut f: impl FnMut(u32)) {
        let mut at = self.head;
        while let Some(b) = at {
            let b = b.as_ptr();
            // SAFETY: list invariant; `&self` rules out a concurrent change.
            let next = unsafe {
                f((*b).me);
                for k in 0..((*b).len as usize).min(CAP) {
                    f((*b).frames[k]);
                }
                (*b).next
            };
            at = Self::node(next, node_at);
        }
    }
}
