//! Every RAM byte kalloc manages is reachable through the identity map, and kalloc hands out
//! exactly its frames, each once.

use super::raw::FrameStack;
use super::{Outcome, check};
use crate::boot::image::image;
use crate::mem::FRAMES;
use rvmm::addr::{PAGE_SIZE, PhysRange};

const WORD: usize = size_of::<usize>();

/// The stamp of word `i` of frame `n`: differs between frames and between words.
fn stamp(n: u64, i: usize) -> usize {
    (n as usize).wrapping_mul(0x9E37_79B9) ^ i
}

/// Allocates every frame, stamps every word of each but the first (which links them into a
/// stack), checks the count against RAM minus the image, the device tree, the bitmap and the
/// frames already in use, verifies every stamp, frees them all and checks the count is back.
/// Every frame is written and read a page at a time through the view its token lends.
pub fn every_free_frame_once() -> Outcome {
    let frames = FRAMES.get().ok_or(())?;
    let info = crate::info();
    let img = image();
    let before = frames.stats();
    let mut page = [0u8; PAGE_SIZE];
    let mut held = FrameStack::new(frames);
    while let Ok(mut owned) = frames.allocate_owned() {
        let f = owned.frame();
        let (first, last) = (f.start(), f.start().checked_add(PAGE_SIZE as u64 - 1));
        let outside = !info.ram.as_slice().iter().any(|r| r.contains(first))
            || img.whole.contains(first)
            || info.dtb.contains(first)
            || last.is_some_and(|last| info.dtb.contains(last));
        check!(!outside, "kalloc handed out {f:?}, which is not free RAM");
        for (i, word) in page.chunks_exact_mut(WORD).enumerate() {
            word.copy_from_slice(&stamp(f.number(), i).to_ne_bytes());
        }
        check!(owned.bytes().write(0, &page).is_ok(), "{f:?}: a whole page");
        held.push(owned);
    }
    let count = held.len();
    check!(
        count == before.free,
        "allocated {count} frames, {} were free",
        before.free
    );
    let frame_bytes = PAGE_SIZE as u64;
    let ram: u64 = info
        .ram
        .as_slice()
        .iter()
        .map(|r| r.len() / frame_bytes)
        .sum();
    let span =
        |r: PhysRange| r.end().as_u64().div_ceil(frame_bytes) - r.start().as_u64() / frame_bytes;
    let (_, bitmap) = frames.bookkeeping_frames();
    let expected = ram - span(img.whole) - span(info.dtb) - bitmap as u64;
    check!(
        before.total as u64 == expected,
        "kalloc manages {} frames; RAM minus image, DTB and bitmap is {expected}",
        before.total
    );
    let mut bad = 0usize;
    let mut walked = 0usize;
    while let Some(mut owned) = held.pop() {
        let f = owned.frame();
        check!(
            owned.bytes().read(0, &mut page).is_ok(),
            "{f:?}: a whole page"
        );
        let word = |i: usize| {
            let bytes = page[i * WORD..(i + 1) * WORD].try_into();
            usize::from_ne_bytes(bytes.expect("a word's bytes"))
        };
        bad += (1..PAGE_SIZE / WORD)
            .filter(|&i| word(i) != stamp(f.number(), i))
            .count();
        walked += 1;
        drop(owned); // back to kalloc
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
