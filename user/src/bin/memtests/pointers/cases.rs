//! The pointers and lengths the bad-pointer scenarios try, and the heap buffer they use.

use crate::util::{self, Map, Outcome, PAGE};
use user::sys;

/// One pointer and length to try.
#[derive(Clone, Copy)]
pub struct Case {
    pub what: &'static str,
    pub addr: usize,
    pub len: usize,
}

/// A heap buffer of two pages whose end is the break (page-aligned, so the next byte is
/// unmapped).
pub struct Buf {
    pub start: usize,
    pub brk: usize,
}

impl Buf {
    pub fn new() -> Result<Buf, util::Failed> {
        let b = util::brk();
        let aligned = util::page_up(b);
        let got = sys::sbrk((aligned - b + 2 * PAGE) as isize);
        expect_eq!(got, Ok(b), "sbrk for a two-page buffer");
        Ok(Buf {
            start: aligned,
            brk: aligned + 2 * PAGE,
        })
    }

    /// The last `len` bytes before the break: valid.
    pub fn at_end(&self, len: usize) -> usize {
        self.brk - len
    }

    /// Fills the buffer with `byte`.
    pub fn fill(&self, byte: u8) {
        // SAFETY: the buffer's pages are this process's heap, mapped by the sbrk in `new` and
        // used by nothing else.
        unsafe { core::ptr::write_bytes(self.start as *mut u8, byte, self.brk - self.start) }
    }

    /// Whether every byte still is `byte`.
    pub fn all(&self, byte: u8) -> bool {
        // SAFETY: as in `fill`.
        let bytes =
            unsafe { core::slice::from_raw_parts(self.start as *const u8, self.brk - self.start) };
        bytes.iter().all(|&b| b == byte)
    }
}

/// Calls `f` with every pointer to `len` bytes that is bad for a syscall that writes (and so
/// also for one that reads, except text and rodata, passed only when `writes`).
pub fn each_bad(
    map: &Map,
    buf: &Buf,
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
pub fn each_huge(buf: &Buf, mut f: impl FnMut(Case) -> Outcome) -> Outcome {
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

/// Copies `s` to heap address `at`.
pub fn put(at: usize, s: &[u8]) {
    // SAFETY: callers pass addresses in their heap buffer with room for `s`.
    unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), at as *mut u8, s.len()) }
}

/// Stores pointer-size `value` at heap address `at`.
pub fn put_word(at: usize, value: usize) {
    put(at, &value.to_le_bytes());
}
