//! The pointers and lengths the bad-pointer scenarios try, and the heap buffer they use.

use crate::util::{self, Map, Outcome, PAGE};
use user::raw::BreakBytes;

/// One pointer and length to try.
#[derive(Clone, Copy)]
pub struct Case {
    pub what: &'static str,
    pub addr: usize,
    pub len: usize,
}

/// Where a [`Buf`] lies: its first byte and the break after it.
#[derive(Clone, Copy)]
pub struct Bounds {
    pub start: usize,
    pub brk: usize,
}

/// A heap buffer of two pages whose end is the break (page-aligned, so the next byte is
/// unmapped).
pub struct Buf {
    pub start: usize,
    pub brk: usize,
    /// The bytes `sbrk` added: up to the page boundary, then the buffer.
    bytes: BreakBytes,
}

impl Buf {
    pub fn new() -> Result<Buf, util::Failed> {
        let b = util::brk();
        let aligned = util::page_up(b);
        let got = BreakBytes::grow(aligned - b + 2 * PAGE);
        expect_eq!(
            got.as_ref().map(BreakBytes::start).map_err(|e| *e),
            Ok(b),
            "sbrk for a two-page buffer"
        );
        Ok(Buf {
            start: aligned,
            brk: aligned + 2 * PAGE,
            bytes: got.map_err(|_| util::Failed)?,
        })
    }

    /// Where it lies.
    pub fn bounds(&self) -> Bounds {
        Bounds {
            start: self.start,
            brk: self.brk,
        }
    }

    /// The last `len` bytes before the break: valid.
    pub fn at_end(&self, len: usize) -> usize {
        self.brk - len
    }

    /// The buffer's bytes from address `at` on (panics outside the buffer).
    fn from(&mut self, at: usize) -> &mut [u8] {
        assert!(at >= self.start, "{at:#x} below the buffer");
        let first = at - self.bytes.start();
        &mut self.bytes.bytes_mut()[first..]
    }

    /// Fills the buffer with `byte`.
    pub fn fill(&mut self, byte: u8) {
        let start = self.start;
        self.from(start).fill(byte);
    }

    /// Whether every byte still is `byte`.
    pub fn all(&self, byte: u8) -> bool {
        let first = self.start - self.bytes.start();
        self.bytes.bytes()[first..].iter().all(|&b| b == byte)
    }

    /// Copies `s` to address `at` in the buffer.
    pub fn put(&mut self, at: usize, s: &[u8]) {
        self.from(at)[..s.len()].copy_from_slice(s);
    }

    /// Stores pointer-size `value` at address `at` in the buffer.
    pub fn put_word(&mut self, at: usize, value: usize) {
        self.put(at, &value.to_le_bytes());
    }

    /// The `N` bytes at address `at` in the buffer.
    pub fn get<const N: usize>(&mut self, at: usize) -> [u8; N] {
        let mut bytes = [0; N];
        bytes.copy_from_slice(&self.from(at)[..N]);
        bytes
    }
}

/// Calls `f` with every pointer to `len` bytes that is bad for a syscall that writes (and so
/// also for one that reads, except text and rodata, passed only when `writes`).
pub fn each_bad(
    map: &Map,
    buf: Bounds,
    len: usize,
    writes: bool,
    mut f: impl FnMut(Case) -> Outcome,
) -> Outcome {
    let case = |what, addr| Case { what, addr, len };
    let common = [
        case("NULL", 0),
        case("page 0", 0x10),
        case("kernel address 0x8000_0000", 0x8000_0000),
        case("trap frame", map.trap_frame),
        case("trampoline", map.trampoline),
        case(
            "straddling the stack top",
            map.stack_top - len.div_ceil(2).max(1),
        ),
        case("last user address", map.last_address()),
        case("all ones", usize::MAX),
        case(
            "starting in the heap, past the break",
            buf.brk - len.div_ceil(2).max(1) + 1,
        ),
        case("at the break", buf.brk),
        case(
            "in the guard gap below the stack",
            map.stack_top - (8 << 20) - PAGE,
        ),
    ];
    for c in common {
        f(c)?;
    }
    #[cfg(target_pointer_width = "64")]
    {
        let heap = buf.start;
        let above = [
            case("first address above user space", map.va_top as usize),
            case("bit 63 set", 1 << 63),
            case("heap address with bit 63", heap | 1 << 63),
            case(
                "heap address sign-extended",
                heap | !(map.va_top as usize - 1),
            ),
            case("kernel address sign-extended", 0xffff_ffff_8000_0000),
        ];
        for c in above {
            f(c)?;
        }
    }
    if writes {
        f(case("text", map.text))?;
        f(case("rodata", map.rodata))?;
    }
    Ok(())
}

/// Huge or overflowing lengths from a valid heap pointer.
pub fn each_huge(buf: Bounds, mut f: impl FnMut(Case) -> Outcome) -> Outcome {
    let case = |what, len| Case {
        what,
        addr: buf.start,
        len,
    };
    for c in [
        case("one byte past the break", buf.brk - buf.start + 1),
        case("usize::MAX", usize::MAX),
        case("isize::MAX", isize::MAX as usize),
        case("isize::MIN", isize::MIN as usize),
        case(
            "wrapping to the buffer start",
            0usize.wrapping_sub(buf.start),
        ),
        case("a whole page more", buf.brk - buf.start + PAGE),
    ] {
        f(c)?;
    }
    Ok(())
}
