//! The program's arguments, as `exec` placed them on the stack (read by `start`'s `Argv`).

use crate::start::Argv;

/// The arguments a program was started with (`args.get(0)` is its name).
pub struct Args {
    argv: Argv,
}

impl Args {
    /// The arguments in `argv`.
    pub(crate) fn new(argv: Argv) -> Self {
        Args { argv }
    }

    /// How many arguments.
    pub fn len(&self) -> usize {
        self.argv.len()
    }

    /// Whether there are none (a program normally gets at least its name).
    pub fn is_empty(&self) -> bool {
        self.argv.len() == 0
    }

    /// Argument `i` as bytes.
    pub fn bytes(&self, i: usize) -> Option<&'static [u8]> {
        self.argv.get(i)
    }

    /// Argument `i` as text; `None` when absent or not UTF-8.
    pub fn get(&self, i: usize) -> Option<&'static str> {
        core::str::from_utf8(self.bytes(i)?).ok()
    }

    /// Every argument as text (not UTF-8 ones as `"?"`).
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        (0..self.argv.len()).map(|i| self.get(i).unwrap_or("?"))
    }
}

/// A number as a user types it: decimal, or hex after `0x`. `None` for anything else (a sign,
/// spaces, a value that does not fit).
///
/// ```ignore
/// assert_eq!(user::number("42"), Some(42));
/// assert_eq!(user::number("0x1000"), Some(4096));
/// assert_eq!(user::number("-1"), None);
/// ```
pub fn number(text: &str) -> Option<usize> {
    let (digits, radix) = match text.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    // `from_str_radix` takes a leading `+`; a user number has digits only.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    usize::from_str_radix(digits, radix).ok()
}

/// Prints `usage: SYNOPSIS` to standard error and returns the exit code for bad arguments
/// (2, as Unix tools do), so a program says `return user::usage("kill PID")`.
pub fn usage(synopsis: &str) -> i32 {
    crate::eprintln!("usage: {synopsis}");
    2
}

/// `n` in decimal, written at the end of `buf` without allocating (for a program that passes
/// a number as an argument while its heap may be full, or inside a measured window).
///
/// ```ignore
/// let mut buf = [0u8; 20];
/// assert_eq!(user::decimal(4096, &mut buf), "4096");
/// ```
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    // 20 digits hold u64::MAX.
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[at..]).expect("ASCII digits")
}
