//! Raw machine access for the programs, behind safe functions: bytes a program got from `sbrk`
//! itself ([`BreakBytes`]), single loads, stores and jumps that test the kernel's protection
//! ([`load`], [`store`], [`jump`]), code that runs with a moved stack pointer (the stack
//! tests), and instructions that must trap. With `start`, `sys` and `heap` it is the runtime's
//! only `unsafe`; the programs have none.
//!
//! The probes ([`load`], [`store`], [`jump`] and the stack functions) are each one instruction
//! (or a short block) in `asm!`, through an integer address: no Rust reference to the memory
//! is made, so the compiler assumes nothing about what is there. The access either moves plain
//! bytes or the kernel ends the process, which is the point of the tests. What the functions
//! cannot check is that the address holds no Rust object of the program (a store through a
//! static's address changes it behind the compiler's back). They take `usize`, not pointers,
//! so that the addresses come from the kernel's map (`regions`), the break, page arithmetic or
//! constants; a program that casts a reference to `usize` and passes it breaks their contract.

use abi::Errno;

/// Bytes from an old break to a new one, got by this program with one `sbrk` (and more on top
/// with [`BreakBytes::extend`]), not through the global allocator.
///
/// Ownership: the kernel maps `[start, start + len)` readable, writable and zeroed when `sbrk`
/// succeeds, and tells no one else. umalloc uses only what its own `sbrk` calls return (it
/// starts a new area past a break someone else moved), so nothing else in the program reaches
/// these bytes, and the value can lend them as `&[u8]` and `&mut [u8]`. The one rule it rests
/// on is the heap's own: only the owner of bytes below the break gives them back. `sys::sbrk`
/// with a negative increment does not know who owns what; a program that shrinks the break
/// below a live `BreakBytes` with it gets a fault when it next touches them (or, after the
/// allocator grew into the same addresses, two owners). Dropping the value keeps the bytes
/// mapped (the break does not move, as with a C `sbrk`); [`BreakBytes::give_back`] returns
/// them.
#[derive(Debug)]
pub struct BreakBytes {
    start: usize,
    len: usize,
}

impl BreakBytes {
    /// Moves the break up by `increment` bytes (`sbrk(increment)`) and owns the bytes gained.
    /// `Err` is `sbrk`'s error (`ENOMEM` for an increment beyond `isize::MAX`).
    pub fn grow(increment: usize) -> Result<BreakBytes, Errno> {
        let signed = isize::try_from(increment).map_err(|_| Errno::ENOMEM)?;
        let start = crate::sys::sbrk(signed)?;
        Ok(BreakBytes {
            start,
            len: increment,
        })
    }

    /// The first byte's address (the break before [`BreakBytes::grow`]).
    pub fn start(&self) -> usize {
        self.start
    }

    /// How many bytes it owns.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it owns none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address after the last byte: the break, unless someone moved it since.
    pub fn end(&self) -> usize {
        self.start + self.len
    }

    /// `sbrk(increment)`: its result (the old break) as the kernel gave it. The bytes gained
    /// are added when they follow this value's last byte; when something else moved the break
    /// meanwhile they are not this value's, and the caller sees an old break other than
    /// [`BreakBytes::end`].
    pub fn extend(&mut self, increment: usize) -> Result<usize, Errno> {
        let signed = isize::try_from(increment).map_err(|_| Errno::ENOMEM)?;
        let old = crate::sys::sbrk(signed)?;
        if old == self.end() {
            self.len += increment;
        }
        Ok(old)
    }

    /// `sbrk(-decrement)`, giving back this value's last `decrement` bytes: its result (the old
    /// break). Refused with `EINVAL`, without a call, when it owns fewer bytes or the break is
    /// not at its end (the bytes below the break would be someone else's).
    pub fn shrink(&mut self, decrement: usize) -> Result<usize, Errno> {
        if decrement > self.len || crate::sys::sbrk(0) != Ok(self.end()) {
            return Err(Errno::EINVAL);
        }
        let old = crate::sys::sbrk((decrement as isize).wrapping_neg())?;
        self.len -= decrement;
        Ok(old)
    }

    /// Gives every byte back (as [`BreakBytes::shrink`] by its length); the old break.
    pub fn give_back(mut self) -> Result<usize, Errno> {
        let len = self.len;
        self.shrink(len)
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the type's ownership argument: `[start, start + len)` is mapped, initialised
        // (zeroed by the kernel, then written only as bytes) and reached by nothing else in the
        // program; `&self` lends it shared. `len <= isize::MAX` (`grow`, `extend` check it).
        unsafe {
            core::slice::from_raw_parts(core::ptr::with_exposed_provenance(self.start), self.len)
        }
    }

    /// The bytes, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes this the only view.
        unsafe {
            core::slice::from_raw_parts_mut(
                core::ptr::with_exposed_provenance_mut(self.start),
                self.len,
            )
        }
    }

    /// Byte `offset`, read with a volatile load (it really reaches memory, after any syscall
    /// in between). Panics beyond the end.
    pub fn read(&self, offset: usize) -> u8 {
        let byte = &self.bytes()[offset];
        // SAFETY: a reference is valid for reads.
        unsafe { core::ptr::read_volatile(byte) }
    }

    /// Writes byte `offset` with a volatile store. Panics beyond the end.
    pub fn write(&mut self, offset: usize, value: u8) {
        let byte = &mut self.bytes_mut()[offset];
        // SAFETY: a mutable reference is valid for writes.
        unsafe { core::ptr::write_volatile(byte, value) }
    }

    /// The word at `offset`, read with a volatile load. Panics beyond the end or when
    /// `start + offset` is not word-aligned.
    pub fn read_word(&self, offset: usize) -> usize {
        let at = self.word(offset);
        // SAFETY: `word` checked that the word lies in the bytes and is aligned; any bytes
        // are a valid `usize`.
        unsafe { core::ptr::read_volatile(at) }
    }

    /// Writes the word at `offset` with a volatile store. Panics as [`BreakBytes::read_word`].
    pub fn write_word(&mut self, offset: usize, value: usize) {
        let at = self.word(offset);
        // SAFETY: as in `read_word`; `&mut self` makes this the only access.
        unsafe { core::ptr::write_volatile(at, value) }
    }

    /// A pointer to the aligned word at `offset`, inside the bytes (else a panic).
    fn word(&self, offset: usize) -> *mut usize {
        let size = size_of::<usize>();
        assert!(
            offset.checked_add(size).is_some_and(|end| end <= self.len),
            "word at {offset:#x} beyond {:#x} bytes",
            self.len
        );
        let at = self.start + offset;
        assert!(at.is_multiple_of(size), "word at {at:#x} not aligned");
        core::ptr::with_exposed_provenance_mut(at)
    }
}

/// One byte loaded from `addr` by a single `lbu`: the byte, or the kernel ends the process
/// (unmapped, not readable, kernel-only). See the module's documentation for the contract.
#[inline(always)]
pub fn load(addr: usize) -> u8 {
    let value: u8;
    // SAFETY: one load of a byte into a register; no Rust reference to `addr` exists here and
    // any byte is a valid `u8`. Reading memory the program uses changes nothing of it.
    unsafe { core::arch::asm!("lbu {0}, 0({1})", out(reg) value, in(reg) addr, options(nostack)) };
    value
}

/// One byte `value` stored at `addr` by a single `sb`, or the kernel ends the process (not
/// mapped writable for the program). `addr` must hold no Rust object of the program: see the
/// module's documentation.
#[inline(always)]
pub fn store(addr: usize, value: u8) {
    // SAFETY: one store of a byte; no Rust reference to `addr` exists here, and the contract
    // (stated in the documentation) is that no Rust object lives there, so no invariant the
    // compiler relies on changes.
    unsafe { core::arch::asm!("sb {0}, 0({1})", in(reg) value, in(reg) addr, options(nostack)) };
}

/// The first byte of this program's read-only data: its text ends below it (`user.ld` puts
/// `.rodata` on the page after `.text`).
fn text_range() -> core::ops::Range<usize> {
    unsafe extern "C" {
        /// Defined by `user.ld`; only its address is taken.
        static __text_start: u8;
        /// Defined by `user.ld`; only its address is taken.
        static __text_end: u8;
    }
    (&raw const __text_start).addr()..(&raw const __text_end).addr()
}

/// Calls the code at `addr` (`jalr ra`): the kernel ends the process when the page is not
/// executable for it, as every page outside the program's text must be. Panics when `addr` is
/// in the program's text, where a jump would run Rust code out of order. Returns when the
/// page runs and its first instruction is a `ret`, which is how the tests that place one there
/// find out that the page ran.
#[inline(never)]
pub fn jump(addr: usize) {
    assert!(
        !text_range().contains(&addr),
        "jump into the program's own text at {addr:#x}"
    );
    // SAFETY: `addr` is not in the program's text, and only text is mapped executable for
    // user mode: the fetch faults and the kernel ends the process. If the kernel maps the page
    // executable anyway (what the tests look for), what runs is a `ret` the caller placed
    // there, which comes back with every caller-saved register clobbered (declared), or the
    // kernel's bug under test.
    unsafe { core::arch::asm!("jalr ra, 0({0})", in(reg) addr, clobber_abi("C")) };
}

/// The stack pointer now.
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { core::arch::asm!("mv {0}, sp", out(reg) sp, options(nomem, nostack)) };
    sp
}

/// Spins for `ticks` of the `time` counter with `sp` set to `bogus`, touching no memory, so
/// that the timer preempts the process (and the kernel looks at its saved `sp`) meanwhile.
#[inline(never)]
pub fn spin_with_sp(bogus: usize, ticks: usize) {
    // SAFETY: nothing between the two moves of `sp` touches memory or calls anything; `sp` is
    // back to its value before the block ends. Traps save registers in the trap frame, not on
    // the user stack.
    unsafe {
        core::arch::asm!(
            "mv {saved}, sp",
            "mv sp, {bogus}",
            "rdtime {start}",
            "2:",
            "rdtime {now}",
            "sub {now}, {now}, {start}",
            "bltu {now}, {ticks}, 2b",
            "mv sp, {saved}",
            bogus = in(reg) bogus,
            ticks = in(reg) ticks,
            saved = out(reg) _,
            start = out(reg) _,
            now = out(reg) _,
        );
    }
}

/// With `sp` set to `at_sp`: stores `marker` at `addr`, spins for `ticks` of the `time`
/// counter, and returns the byte then at `addr`. Touches no other memory while `sp` is moved.
/// Panics unless `addr` is below the stack pointer, where nothing of the program lives.
#[inline(never)]
pub fn store_below_sp(at_sp: usize, addr: usize, marker: u8, ticks: usize) -> u8 {
    assert!(addr < stack_pointer(), "{addr:#x} is not below sp");
    let v: usize;
    // SAFETY: between the two moves of `sp` only `addr` is touched: below this function's
    // `sp` (checked), so no live Rust object is there (the RISC-V ABI keeps none below `sp`),
    // and either mapped by the kernel (a growth within the red zone) or answered by ending
    // the process. `sp` is restored before the block ends.
    unsafe {
        core::arch::asm!(
            "mv {saved}, sp",
            "mv sp, {at_sp}",
            "sb {marker}, 0({addr})",
            "rdtime {start}",
            "2:",
            "rdtime {now}",
            "sub {now}, {now}, {start}",
            "bltu {now}, {ticks}, 2b",
            "lbu {v}, 0({addr})",
            "mv sp, {saved}",
            at_sp = in(reg) at_sp,
            addr = in(reg) addr,
            marker = in(reg) marker as usize,
            ticks = in(reg) ticks,
            saved = out(reg) _,
            start = out(reg) _,
            now = out(reg) _,
            v = out(reg) v,
        );
    }
    v as u8
}

/// With `sp` set to `at_sp`, makes syscall `number` with `a0 = at_sp + offset` (a buffer in
/// stack pages the process has not touched yet) and `a1`; returns the kernel's `(a0, a1)` and
/// the first byte at the buffer read back if the syscall succeeded, before `sp` moves back.
/// Panics unless the buffer and the page above it are below the stack pointer.
#[inline(never)]
pub fn syscall_at_sp(at_sp: usize, offset: usize, number: usize, a1: usize) -> (usize, usize, u8) {
    let buf = at_sp.wrapping_add(offset);
    let page = 4096;
    assert!(
        buf.checked_add(page)
            .is_some_and(|end| end <= stack_pointer()),
        "buffer at {buf:#x} not a page below sp"
    );
    let (value, error, byte): (usize, usize, usize);
    // SAFETY: between the two moves of `sp` only the ecall (which writes at most a page at
    // `buf`: the structures of `memstat`, `clock` and the like) and a load from `buf`, when
    // the kernel said it wrote it, touch memory. That is below this function's `sp`
    // (checked), where no Rust object lives. `sp` is restored before the block ends.
    unsafe {
        core::arch::asm!(
            "mv {saved}, sp",
            "mv sp, {at_sp}",
            "add a0, sp, {offset}",
            "mv {buf}, a0",
            "ecall",
            "li {byte}, 0",
            "bnez a1, 2f",
            "lbu {byte}, 0({buf})",
            "2:",
            "mv sp, {saved}",
            at_sp = in(reg) at_sp,
            offset = in(reg) offset,
            saved = out(reg) _,
            buf = out(reg) _,
            byte = out(reg) byte,
            in("a7") number,
            inout("a1") a1 => error,
            out("a0") value,
        );
    }
    (value, error, byte as u8)
}

/// Spins forever in registers: no syscall, no memory access; only a kill (at a timer
/// preemption) ends it.
#[inline(never)]
pub fn spin_forever() -> ! {
    // SAFETY: a jump to itself.
    unsafe { core::arch::asm!("2: j 2b", options(noreturn, nomem, nostack)) }
}

/// Spins for about `n` loop iterations, touching no memory.
#[inline(never)]
pub fn delay(n: usize) {
    // SAFETY: a countdown in one register.
    unsafe {
        core::arch::asm!("2: addi {0}, {0}, -1", "bgtz {0}, 2b", inout(reg) n => _, options(nomem, nostack))
    };
}

/// Reads `sstatus`, which user mode may not: an illegal instruction, so the kernel ends the
/// process. Returns the value if the hart allows it after all.
pub fn read_sstatus() -> usize {
    let v: usize;
    // SAFETY: a CSR read into a register; it traps, or reads a value and changes nothing.
    unsafe { core::arch::asm!("csrr {0}, sstatus", out(reg) v, options(nostack)) };
    v
}

/// `ebreak`: with no debugger the kernel ends the process. Returns if it does not.
pub fn breakpoint() {
    // SAFETY: `ebreak` traps; nothing in the program changes.
    unsafe { core::arch::asm!("ebreak", options(nostack)) };
}

/// An atomic add (`amoadd.w`) to a misaligned address inside a local array: the hart refuses
/// it and the kernel ends the process. Returns if it does not.
pub fn misaligned_atomic_add() {
    let mut word = [0u32; 4];
    let addr = word.as_mut_ptr().expose_provenance() + 2;
    // SAFETY: the target lies inside `word`, a local of this function, which no one reads
    // (but `black_box`, as bytes); if allowed, the add changes only `word`'s bytes.
    unsafe {
        core::arch::asm!("amoadd.w zero, {one}, ({addr})", one = in(reg) 1, addr = in(reg) addr,
                         options(nostack))
    };
    core::hint::black_box(&word);
}
