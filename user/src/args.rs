//! The program's arguments, as `exec` placed them on the stack.

/// The arguments a program was started with (`args.get(0)` is its name).
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// The arguments at `argv`.
    ///
    /// # Safety
    /// `argv` must point to `argc` pointers to NUL-terminated strings that stay valid and
    /// unchanged for the program's lifetime.
    pub(crate) unsafe fn from_raw(argc: usize, argv: *const *const u8) -> Self {
        Args { argc, argv }
    }

    /// How many arguments.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// Whether there are none (a program normally gets at least its name).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` as bytes.
    pub fn bytes(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: `from_raw`'s contract: `argv[i]` for i < argc is a NUL-terminated string that
        // lives as long as the program.
        unsafe {
            let s = *self.argv.add(i);
            let mut len = 0;
            while *s.add(len) != 0 {
                len += 1;
            }
            Some(core::slice::from_raw_parts(s, len))
        }
    }

    /// Argument `i` as text; `None` when absent or not UTF-8.
    pub fn get(&self, i: usize) -> Option<&'static str> {
        core::str::from_utf8(self.bytes(i)?).ok()
    }

    /// Every argument as text (not UTF-8 ones as `"?"`).
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        (0..self.argc).map(|i| self.get(i).unwrap_or("?"))
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
