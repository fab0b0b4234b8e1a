//! Rust values in frames from kalloc: the kernel's only heap.
//!
//! A [`FrameBox<T>`] owns one frame holding one `T` (a process record, a table of processes);
//! dropping it drops the value and gives the frame back. Creation is fallible, so running out
//! of frames is an error the caller turns into `ENOMEM`, never a panic. This is the one module
//! that places Rust values in frames, hence its `unsafe`: the frame is reached through the
//! identity map, and no other owner exists (it came from kalloc and is never named to a page
//! table or a user space, so no safe frame operation ever targets it).

use super::{FRAMES, Frames};
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use rvmm::addr::PAGE_SIZE;
use rvmm::frame::OutOfMemory;
use rvmm::{Frame, PhysAddr};

/// Types for which all-zero bytes are a valid value (integers, arrays of them, `Option` of a
/// reference or `NonNull`).
///
/// # Safety
/// An implementation promises that a value of all zero bytes is a valid, initialised `Self`.
pub unsafe trait ZeroIsValid {}

/// One `T` in a frame of its own.
pub struct FrameBox<T> {
    value: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: a FrameBox owns its value like a Box does.
unsafe impl<T: Send> Send for FrameBox<T> {}
// SAFETY: as above: shared access is `&T`.
unsafe impl<T: Sync> Sync for FrameBox<T> {}

fn frames() -> Result<&'static Frames, OutOfMemory> {
    FRAMES.get().ok_or(OutOfMemory)
}

impl<T> FrameBox<T> {
    /// Moves `value` into a fresh frame; [`OutOfMemory`] (dropping `value`) if none is left.
    pub fn new(value: T) -> Result<Self, OutOfMemory> {
        const { assert!(size_of::<T>() <= PAGE_SIZE && align_of::<T>() <= PAGE_SIZE) };
        let frame = frames()?.allocate()?;
        let ptr = core::ptr::with_exposed_provenance_mut::<T>(frame.start().as_u64() as usize);
        let value_ptr = NonNull::new(ptr).expect("frame 0 is never RAM on QEMU virt");
        // SAFETY: the frame is fresh from kalloc, so ours alone; RAM is identity-mapped R+W;
        // the frame is 4 KiB aligned and at least size_of::<T>() long (checked above).
        unsafe { value_ptr.write(value) };
        Ok(FrameBox {
            value: value_ptr,
            _owns: PhantomData,
        })
    }

    /// A value of all zero bytes, made in its frame (never on the stack: these values are up to
    /// 4 KiB, as large as a kernel stack's spare room).
    pub fn new_zeroed() -> Result<Self, OutOfMemory>
    where
        T: ZeroIsValid,
    {
        const { assert!(size_of::<T>() <= PAGE_SIZE && align_of::<T>() <= PAGE_SIZE) };
        let frame = frames()?.allocate_zeroed()?;
        let ptr = core::ptr::with_exposed_provenance_mut::<T>(frame.start().as_u64() as usize);
        let value = NonNull::new(ptr).expect("frame 0 is never RAM on QEMU virt");
        // The frame is fresh from kalloc (ours alone), zeroed, and all-zero bytes are a valid
        // `T` by `ZeroIsValid`'s contract: the value exists.
        Ok(FrameBox {
            value,
            _owns: PhantomData,
        })
    }

    /// Gives up ownership: the value stays in its frame until [`FrameBox::from_raw`] takes it
    /// back.
    pub fn into_raw(self) -> NonNull<T> {
        let ptr = self.value;
        core::mem::forget(self);
        ptr
    }

    /// Takes back a value given up with [`FrameBox::into_raw`].
    ///
    /// # Safety
    /// `ptr` must come from `into_raw` and be taken back only once; no reference made from it
    /// may be used afterwards.
    pub unsafe fn from_raw(ptr: NonNull<T>) -> Self {
        FrameBox {
            value: ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Deref for FrameBox<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: written in `new`, owned by `self` until dropped.
        unsafe { self.value.as_ref() }
    }
}

impl<T> DerefMut for FrameBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
        unsafe { self.value.as_mut() }
    }
}

impl<T> Drop for FrameBox<T> {
    fn drop(&mut self) {
        // SAFETY: the value is live and owned by `self`; it is dropped once, here.
        unsafe { self.value.drop_in_place() };
        let addr = PhysAddr::new(self.value.as_ptr().addr() as u64);
        let frame = addr.ok().and_then(|a| Frame::from_start(a).ok());
        let frame = frame.expect("a FrameBox's value sits at the start of its frame");
        if let Ok(frames) = frames() {
            // SAFETY: the frame came from kalloc in `new` and nothing uses it any more.
            let freed = unsafe { frames.deallocate(frame) };
            freed.expect("a FrameBox's frame is allocated and its own");
        }
    }
}
