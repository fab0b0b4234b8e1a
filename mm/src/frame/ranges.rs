//! Which frames are usable: inside some RAM range (edges trimmed inward) and touching no
//! reserved range (edges rounded outward). Ranges may overlap and come in any order; there is
//! no heap to sort them in, so a sweep visits the O(n) boundaries in O(n^2), n being a handful.

use crate::addr::{PAGE_SIZE, PhysRange};

/// Frame numbers `[start, end)` of the whole frames inside a RAM range.
fn ram_frames(r: &PhysRange) -> (u64, u64) {
    let (first, count) = r.inner_frames();
    (first.number(), first.number() + count)
}

/// Frame numbers `[start, end)` of every frame a reserved range touches.
fn reserved_frames(r: &PhysRange) -> (u64, u64) {
    if r.is_empty() {
        return (0, 0);
    }
    let page = PAGE_SIZE as u64;
    (r.start().as_u64() / page, r.end().as_u64().div_ceil(page))
}

/// Calls `f(start, end)` for each maximal run of usable frame numbers, in ascending order.
pub(super) fn usable_runs<E>(
    ram: &[PhysRange],
    reserved: &[PhysRange],
    mut f: impl FnMut(u64, u64) -> Result<(), E>,
) -> Result<(), E> {
    let ram_iter = || ram.iter().map(ram_frames).filter(|(s, e)| s < e);
    let res_iter = || reserved.iter().map(reserved_frames).filter(|(s, e)| s < e);
    let usable = |n: u64| {
        ram_iter().any(|(s, e)| s <= n && n < e) && !res_iter().any(|(s, e)| s <= n && n < e)
    };
    // Usability is constant between consecutive boundaries, so test one frame per segment.
    let next_boundary = |after: u64| {
        ram_iter()
            .chain(res_iter())
            .flat_map(|(s, e)| [s, e])
            .filter(|&b| b > after)
            .min()
    };
    let Some(mut at) = ram_iter().map(|(s, _)| s).min() else {
        return Ok(());
    };
    let mut run: Option<(u64, u64)> = None;
    while let Some(next) = next_boundary(at) {
        if usable(at) {
            run = match run {
                Some((s, e)) if e == at => Some((s, next)),
                Some((s, e)) => {
                    f(s, e)?;
                    Some((at, next))
                }
                None => Some((at, next)),
            };
        }
        at = next;
    }
    match run {
        Some((s, e)) => f(s, e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn r(start: u64, len: u64) -> PhysRange {
        PhysRange::with_len(start, len).unwrap()
    }

    fn runs(ram: &[PhysRange], reserved: &[PhysRange]) -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        usable_runs::<()>(ram, reserved, |s, e| {
            v.push((s, e));
            Ok(())
        })
        .unwrap();
        v
    }

    #[test]
    fn overlapping_ram_merges_and_reserved_cuts_outward() {
        let ram = [r(0x5000, 0x3000), r(0x1800, 0x5000)]; // frames 5..8 and 2..6 (trimmed)
        assert_eq!(runs(&ram, &[]), [(2, 8)]);
        assert_eq!(runs(&ram, &[r(0x3800, 0x10)]), [(2, 3), (4, 8)]);
        assert_eq!(runs(&ram, &[r(0x0, 0x2001), r(0x7000, 0)]), [(3, 8)]);
    }

    #[test]
    fn holes_and_out_of_order_ranges_give_ascending_runs() {
        let ram = [r(0x10_000, 0x2000), r(0x1000, 0x1000), r(0x3000, 0x800)];
        assert_eq!(runs(&ram, &[]), [(1, 2), (16, 18)]);
        assert_eq!(runs(&[], &[]), []);
        assert_eq!(runs(&[r(0x1000, 0x1000)], &[r(0, 0x10_000)]), []);
    }
}
