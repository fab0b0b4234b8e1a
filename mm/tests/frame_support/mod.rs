//! Helpers shared by the frame allocator tests.

use rvmm::addr::Frame;
use rvmm::frame::FrameAllocator;
use rvmm::phys::PhysMem;
use std::collections::BTreeSet;

/// Allocates every frame on the shared list, checks none comes twice, and frees them back in
/// reverse order, so the list ends as it began.
pub fn drain<P: PhysMem>(a: &FrameAllocator<P>) -> BTreeSet<Frame> {
    let mut got = Vec::new();
    while let Ok(f) = a.allocate() {
        got.push(f);
    }
    let set: BTreeSet<Frame> = got.iter().copied().collect();
    assert_eq!(set.len(), got.len(), "a frame was handed out twice");
    for f in got.into_iter().rev() {
        // SAFETY: allocated just above and not used.
        unsafe { a.deallocate(f) }.unwrap();
    }
    set
}
