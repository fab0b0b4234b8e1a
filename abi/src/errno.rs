//! Error numbers: what a syscall returns in `a1` when it refuses.

use core::fmt;

/// An error number. The values are Linux's, so they read familiar in a debugger.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(u16);

macro_rules! errnos {
    ($($name:ident = $value:literal: $text:literal,)+) => {
        impl Errno {
            $(#[doc = $text] pub const $name: Errno = Errno($value);)+

            /// The error with number `raw`, if it is one this kernel uses.
            pub const fn from_raw(raw: usize) -> Option<Errno> {
                match raw {
                    $($value => Some(Errno::$name),)+
                    _ => None,
                }
            }

            /// The symbolic name, e.g. `"EFAULT"`.
            pub const fn name(self) -> &'static str {
                match self.0 {
                    $($value => stringify!($name),)+
                    _ => "E?",
                }
            }

            /// What the error means, in a few words.
            pub const fn text(self) -> &'static str {
                match self.0 {
                    $($value => $text,)+
                    _ => "unknown error",
                }
            }
        }
    };
}

errnos! {
    EPERM = 1: "Operation not permitted.",
    ENOENT = 2: "No such program.",
    ESRCH = 3: "No such process.",
    EINTR = 4: "Interrupted: the process was killed while it waited.",
    E2BIG = 7: "Argument list too long.",
    ENOEXEC = 8: "Not an executable this kernel can load.",
    EBADF = 9: "Bad file descriptor.",
    ECHILD = 10: "No child process.",
    EAGAIN = 11: "Resource temporarily unavailable (the process limit).",
    ENOMEM = 12: "Out of memory.",
    EFAULT = 14: "Bad address.",
    EINVAL = 22: "Invalid argument.",
    ENAMETOOLONG = 36: "Name too long.",
    ENOSYS = 38: "No such syscall.",
}

impl Errno {
    /// The number, as the kernel puts it in `a1`.
    pub const fn raw(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        write!(f, "{} ({})", text.trim_end_matches('.'), self.name())
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips_and_unknown_ones_are_refused() {
        let mut known = 0;
        for raw in 0..200 {
            if let Some(e) = Errno::from_raw(raw) {
                assert_eq!(e.raw(), raw);
                assert!(e.name().starts_with('E') && e.name() != "E?");
                known += 1;
            }
        }
        assert_eq!(known, 14);
        assert_eq!(Errno::from_raw(0), None);
    }
}
