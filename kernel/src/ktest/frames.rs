//! Every RAM byte kalloc manages is reachable through the identity map, and kalloc hands out
//! exactly its frames, each once.

use super::{Outcome, check};
use crate::boot::image::image;
use crate::mem::FRAMES;
use rvmm::Frame;
use rvmm::addr::PAGE_SIZE;

const WORDS: usize = PAGE_SIZE / size_of::<usize>();

/// The stamp of word `i` of frame `n`: differs between frames and between words.
fn stamp(n: u64, i: usize) -> usize {
    (n as usize).wrapping_mul(0x9E37_79B9) ^ i
}

fn words(f: Frame) -> *mut usize {
    core::ptr::with_exposed_provenance_mut(f.start().as_u64() as usize)
}

/// Allocates every frame, stamps every word of each (word 0 links the frames into a list),
/// checks the count against RAM minus the image, the device tree, the bitmap and the frames
/// already in use, verifies every stamp, frees them all and checks the count is back.
pub fn every_free_frame_once() -> Outcome {
    let frames = FRAMES.get().ok_or(())?;
    let info = crate::info();
    let img = image();
    let before = frames.stats();
    let mut head: usize = 0;
    let mut count = 0usize;
    while let Ok(f) = frames.alloc() {
        let pa = f.start();
        let outside = !info.ram.as_slice().iter().any(|r| r.contains(pa))
            || img.whole.contains(pa)
            || info.dtb.contains(pa)
            || info
                .dtb
                .contains(pa.checked_add(PAGE_SIZE as u64 - 1).unwrap_or(pa));
        check!(!outside, "kalloc handed out {f:?}, which is not free RAM");
        let p = words(f);
        // SAFETY: `f` is ours (just allocated) and RAM is identity-mapped R+W.
        unsafe {
            p.write(head);
            for i in 1..WORDS {
                p.add(i).write(stamp(f.number(), i));
            }
        }
        head = f.start().as_u64() as usize;
        count += 1;
    }
    check!(
        count == before.free,
        "allocated {count} frames, {} were free",
        before.free
    );
    let page = PAGE_SIZE as u64;
    let ram: u64 = info.ram.as_slice().iter().map(|r| r.len() / page).sum();
    let span =
        |r: rvmm::addr::PhysRange| r.end().as_u64().div_ceil(page) - r.start().as_u64() / page;
    let (_, bitmap) = frames.bookkeeping_frames();
    let expected = ram - span(img.whole) - span(info.dtb) - bitmap as u64;
    check!(
        before.total as u64 == expected,
        "kalloc manages {} frames; RAM minus image, DTB and bitmap is {expected}",
        before.total
    );
    let mut bad = 0usize;
    let mut at = head;
    let mut walked = 0usize;
    while at != 0 {
        let f = Frame::containing(rvmm::PhysAddr::new(at as u64).map_err(|_| ())?);
        let p = words(f);
        // SAFETY: still ours, identity-mapped.
        let next = unsafe { p.read() };
        for i in 1..WORDS {
            // SAFETY: as above.
            if unsafe { p.add(i).read() } != stamp(f.number(), i) {
                bad += 1;
            }
        }
        // SAFETY: allocated above, not used after this.
        check!(unsafe { frames.free(f) }.is_ok(), "free of {f:?} refused");
        walked += 1;
        at = next;
    }
    check!(
        bad == 0,
        "{bad} words lost their stamp (a frame handed out twice?)"
    );
    check!(walked == count, "walked {walked} frames of {count}");
    let after = frames.stats();
    check!(
        after.free == before.free,
        "free count {} after, {} before",
        after.free,
        before.free
    );
    crate::println!(
        "    {count} frames ({} MiB) stamped and verified; {} in use by the kernel table",
        (count * PAGE_SIZE) >> 20,
        before.total - before.free
    );
    Ok(())
}
