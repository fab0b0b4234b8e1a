//! A frame source wrapper that fails a chosen allocation.
//!
//! Why: "a map that runs out of frames halfway undoes everything it did" can only be tested by
//! running out at every possible point. [`Failing`] counts `allocate` calls and fails the N-th
//! (and, if asked, every one after it) with [`OutOfMemory`], so a test first runs the operation
//! with [`FailPlan::Never`] to learn how many allocations it needs, then loops
//! `for n in 1..=needed` with [`FailPlan::Nth`] and checks the table is unchanged each time.

use rvmm::addr::Frame;
use rvmm::frame::{FrameSource, OutOfMemory};

/// Which `allocate` calls fail. Calls are counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailPlan {
    /// None: the wrapper only counts.
    Never,
    /// Only the N-th call fails; later calls succeed again (an allocator that got a frame back
    /// in between).
    Nth(u64),
    /// The N-th call and every call after it fail (memory stays exhausted).
    FromNth(u64),
}

impl FailPlan {
    fn fails(self, call: u64) -> bool {
        match self {
            FailPlan::Never => false,
            FailPlan::Nth(n) => call == n,
            FailPlan::FromNth(n) => call >= n,
        }
    }
}

/// The N to fail at when a test fails "every allocation in turn", from 1 to `last`: every one
/// on the host; under Miri, where each attempt is interpreted and slow, 1, about a third, about
/// two thirds and `last` (the first, the last and two in the middle of whatever was built).
///
/// ```
/// let all: Vec<u64> = rvmm_testkit::failing::fail_points(5).collect();
/// assert_eq!(all, [1, 2, 3, 4, 5]);
/// ```
pub fn fail_points(last: u64) -> impl Iterator<Item = u64> {
    let sampled = cfg!(miri) && last > 4;
    let keep = move |n: &u64| !sampled || [1, last / 3, 2 * last / 3, last].contains(n);
    (1..=last).filter(keep)
}

/// Wraps a [`FrameSource`] and fails the allocations its [`FailPlan`] names.
///
/// ```
/// use rvmm::{FrameSource, OutOfMemory};
/// use rvmm_testkit::{Arena, ArenaFrames, FailPlan, Failing};
///
/// let arena = Arena::new(0x8000_0000, 4 * 4096);
/// let mut frames = Failing::new(ArenaFrames::new(&arena), FailPlan::Nth(2));
/// assert!(frames.allocate().is_ok());
/// assert_eq!(frames.allocate(), Err(OutOfMemory));
/// assert!(frames.allocate().is_ok());
/// assert_eq!((frames.calls(), frames.failures()), (3, 1));
/// ```
#[derive(Debug)]
pub struct Failing<S> {
    inner: S,
    plan: FailPlan,
    calls: u64,
    failures: u64,
}

impl<S: FrameSource> Failing<S> {
    /// Wraps `inner`, failing as `plan` says, with the call count at zero.
    ///
    /// # Panics
    /// If the plan names call 0: calls count from 1, so such a plan would silently never fail.
    pub fn new(inner: S, plan: FailPlan) -> Self {
        let mut f = Failing {
            inner,
            plan: FailPlan::Never,
            calls: 0,
            failures: 0,
        };
        f.set_plan(plan);
        f
    }

    /// Replaces the plan and resets the call and failure counts to zero.
    ///
    /// # Panics
    /// As [`Failing::new`].
    pub fn set_plan(&mut self, plan: FailPlan) {
        assert!(
            !matches!(plan, FailPlan::Nth(0) | FailPlan::FromNth(0)),
            "allocation calls count from 1: {plan:?} would never fail"
        );
        self.plan = plan;
        self.calls = 0;
        self.failures = 0;
    }

    /// The current plan.
    pub fn plan(&self) -> FailPlan {
        self.plan
    }

    /// How many times `allocate` was called (failed calls included) since the last plan change.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// How many of those calls this wrapper failed (the inner source running out is not
    /// counted here).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped source, mutably.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the source.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

// SAFETY: frames come only from `inner` and go back only to `inner`, unchanged; failing a call
// hands out nothing.
unsafe impl<S: FrameSource> FrameSource for Failing<S> {
    fn allocate(&mut self) -> Result<Frame, OutOfMemory> {
        self.calls += 1;
        if self.plan.fails(self.calls) {
            self.failures += 1;
            return Err(OutOfMemory);
        }
        self.inner.allocate()
    }

    unsafe fn deallocate(&mut self, frame: Frame) {
        // SAFETY: the caller's contract is passed on: the frame came from `inner` through us.
        unsafe { self.inner.deallocate(frame) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Arena, ArenaFrames, Tracking};
    use rvmm::addr::PAGE_SIZE;

    fn results<S: FrameSource>(src: &mut S, n: usize) -> Vec<bool> {
        (0..n).map(|_| src.allocate().is_ok()).collect()
    }

    #[test]
    fn nth_fails_once_and_from_nth_keeps_failing() {
        let arena = Arena::new(0x8000_0000, 8 * PAGE_SIZE);
        let mut f = Failing::new(ArenaFrames::new(&arena), FailPlan::Nth(2));
        assert_eq!(results(&mut f, 3), [true, false, true]);
        assert_eq!((f.calls(), f.failures()), (3, 1));
        f.set_plan(FailPlan::FromNth(2));
        assert_eq!(f.calls(), 0);
        assert_eq!(results(&mut f, 4), [true, false, false, false]);
        assert_eq!(f.failures(), 3);
        // Only the successful calls took frames from the inner source.
        assert_eq!(f.inner().free_frames(), 8 - 3);
    }

    #[test]
    fn never_only_counts_and_inner_exhaustion_is_not_a_failure_of_ours() {
        let arena = Arena::new(0x8000_0000, 2 * PAGE_SIZE);
        let mut f = Failing::new(ArenaFrames::new(&arena), FailPlan::Never);
        assert_eq!(results(&mut f, 3), [true, true, false]);
        assert_eq!((f.calls(), f.failures()), (3, 0));
    }

    #[test]
    fn the_loop_over_every_n_fails_each_call_once() {
        let arena = Arena::new(0x8000_0000, 4 * PAGE_SIZE);
        let mut src = Failing::new(Tracking::new(ArenaFrames::new(&arena)), FailPlan::Never);
        let take_three = |src: &mut Failing<_>| -> Result<(), OutOfMemory> {
            let mut got = Vec::new();
            let mut result = Ok(());
            for _ in 0..3 {
                match src.allocate() {
                    Ok(fr) => got.push(fr),
                    Err(e) => result = Err(e),
                }
            }
            for fr in got {
                // SAFETY: each frame came from `src` and is not used again.
                unsafe { src.deallocate(fr) };
            }
            result
        };
        assert_eq!(take_three(&mut src), Ok(()));
        let needed = src.calls();
        assert_eq!(needed, 3);
        for n in 1..=needed {
            src.set_plan(FailPlan::Nth(n));
            assert_eq!(take_three(&mut src), Err(OutOfMemory));
            assert_eq!((src.calls(), src.failures()), (3, 1));
            src.inner().assert_no_leaks();
        }
    }

    #[test]
    #[should_panic(expected = "count from 1")]
    fn a_plan_naming_call_zero_is_refused() {
        let arena = Arena::new(0x8000_0000, PAGE_SIZE);
        let _ = Failing::new(ArenaFrames::new(&arena), FailPlan::FromNth(0));
    }
}
