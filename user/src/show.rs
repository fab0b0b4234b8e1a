//! How programs show what the kernel reports: bars, permission letters, addresses, and how a
//! process ended. Each is a small `Display` value for `print!` or a [`Table`](crate::table::Table)
//! cell; they ignore width flags (the table pads its cells).

use abi::{ExitStatus, KillCause, perm};
use core::fmt;

pub use abi::Size;

/// Hex digits of an address column: Sv39's addresses end at 2^38 (10 digits), Sv32's at 2^32
/// (9 digits, for the end of the top page). The boot's kernel map uses the same widths.
pub const ADDR_DIGITS: usize = if cfg!(target_pointer_width = "64") {
    10
} else {
    9
};

/// An address, zero-padded to [`ADDR_DIGITS`].
pub struct Addr(pub u64);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:01$x}", self.0, ADDR_DIGITS)
    }
}

/// `part` of `whole` as a bar `width` characters wide: `#` for the part, `.` for the rest. A
/// part that is not zero shows at least one `#`, so a small figure never looks like none.
pub struct Bar {
    /// The share to show.
    pub part: u64,
    /// What it is a share of.
    pub whole: u64,
    /// Characters between the brackets.
    pub width: usize,
}

impl fmt::Display for Bar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.whole.max(1);
        let part = self.part.min(whole);
        let mut filled = (part as u128 * self.width as u128 / whole as u128) as usize;
        if part > 0 && filled == 0 {
            filled = 1;
        }
        f.write_str("[")?;
        for i in 0..self.width {
            f.write_str(if i < filled { "#" } else { "." })?;
        }
        f.write_str("]")
    }
}

/// [`perm`] bits as `rwxu` letters, `-` for a missing one (like `/proc/PID/maps`, with `u`
/// for user-accessible where Linux shows `p` for private).
pub struct Perms(pub u32);

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut letters = [b'-'; 4];
        for (i, (bit, letter)) in [
            (perm::R, b'r'),
            (perm::W, b'w'),
            (perm::X, b'x'),
            (perm::U, b'u'),
        ]
        .into_iter()
        .enumerate()
        {
            if self.0 & bit != 0 {
                letters[i] = letter;
            }
        }
        f.write_str(core::str::from_utf8(&letters).unwrap_or("?"))
    }
}

/// How a process ended, in a few words: `exit 3`, `killed`, `killed: store page fault`.
pub struct Ended(pub ExitStatus);

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.code(), self.0.kill_cause()) {
            (Some(code), _) => write!(f, "exit {code}"),
            (_, Some(KillCause::Killed)) => f.write_str("killed"),
            (_, Some(cause)) => write!(f, "killed: {}", cause.describe()),
            _ => write!(f, "ended with status {:#x}", self.0.0),
        }
    }
}
