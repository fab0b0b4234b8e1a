//! A fixed-capacity list (no heap at boot): what the device tree lists, up to a limit.

/// Up to `N` items of `T`, in insertion order.
#[derive(Clone, Copy, Debug)]
pub struct Few<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> Few<T, N> {
    /// An empty list; `filler` only occupies the unused slots.
    pub const fn new(filler: T) -> Self {
        Few {
            items: [filler; N],
            len: 0,
        }
    }

    /// Appends `item`; gives it back when the list is full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        let slot = self.items.get_mut(self.len).ok_or(item)?;
        *slot = item;
        self.len += 1;
        Ok(())
    }

    /// The items so far.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
}

/// An empty physical range, the filler for lists of ranges.
pub const NO_RANGE: rvmm::addr::PhysRange = match rvmm::addr::PhysRange::with_len(0, 0) {
    Ok(r) => r,
    Err(_) => panic!("0..0 is a valid range"),
};
