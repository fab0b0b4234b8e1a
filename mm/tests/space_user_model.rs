//! Model-based test: random sequences of `sbrk`, stack growth and shrinking, reads, writes,
//! `fork` and exit on up to three processes, each checked against a plain byte model of its
//! heap and stack. Values written read back, released memory is unreadable, memory taken again
//! reads zero, refusals match the rules, and the frames out always equal the processes' pages
//! and tables. Addresses are drawn densely around the edges (heap start, break, page
//! boundaries, stack bottom), where the bugs live.

mod space_user_support;

use rvmm::addr::PAGE_SIZE;
use rvmm::paging::Mode;
use rvmm::space::user::{CopyError, GrowStackError, Limits, SbrkError, UserSpace};
use rvmm_testkit::Rng;
use space_user_support::*;

rvmm_testkit::both_modes!(random_operations_match_the_byte_model);

/// Operations per mode.
const OPS: usize = if cfg!(miri) { 150 } else { 10_000 };
/// The model keeps the heap below this many pages (so the arena never runs out).
const HEAP_PAGES: usize = 40;
/// The stack limit of every process, in pages: small, so the limit is hit often.
const STACK_PAGES: usize = 12;
const MAX_PROCS: usize = 3;
const PAGE: usize = PAGE_SIZE;

const fn page_up(a: usize) -> usize {
    (a + PAGE - 1) & !(PAGE - 1)
}

const fn page_down(a: usize) -> usize {
    a & !(PAGE - 1)
}

/// What a process's heap and stack should hold.
#[derive(Clone, Debug)]
struct Model {
    heap_start: usize,
    brk: usize,
    /// Bytes of `[heap_start, page_up(brk))`: every mapped heap byte, also past the break.
    heap: Vec<u8>,
    top: usize,
    floor: usize,
    bottom: usize,
    /// Bytes of `[bottom, top)`.
    stack: Vec<u8>,
    red_zone: usize,
    va_top: u64,
}

impl Model {
    fn mapped_heap_end(&self) -> usize {
        page_up(self.brk)
    }

    /// What `sbrk(delta)` must do, applied to the model on success.
    fn sbrk<M: Mode>(&mut self, delta: isize, cap: usize) -> Result<usize, SbrkError> {
        let old = self.brk;
        let bits = M::ENTRY_BYTES as u32 * 8;
        let d = delta as i128;
        let new = old as i128 + d;
        if d < -(1i128 << (bits - 1))
            || d >= 1i128 << (bits - 1)
            || new < 0
            || new >= M::VA_TOP as i128
        {
            return Err(SbrkError::Overflow { brk: old, delta });
        }
        let new = new as usize;
        if new > cap {
            return Err(SbrkError::AboveCap {
                requested: new,
                cap,
            });
        }
        if new < self.heap_start {
            return Err(SbrkError::BelowStart {
                requested: new,
                start: self.heap_start,
            });
        }
        if new > old {
            let kept = self.mapped_heap_end().min(new);
            for b in &mut self.heap[old - self.heap_start..kept - self.heap_start] {
                *b = 0;
            }
        }
        self.heap.resize(page_up(new) - self.heap_start, 0);
        self.brk = new;
        Ok(old)
    }

    fn grow_stack(&mut self, fault: usize, sp: usize) -> Result<(), GrowStackError> {
        if fault >= self.bottom {
            return Err(GrowStackError::NotBelowStack(fault));
        }
        if fault < self.floor {
            return Err(GrowStackError::BeyondLimit(fault));
        }
        if sp < self.floor || sp > self.top {
            return Err(GrowStackError::BadStackPointer(sp));
        }
        if fault < sp.saturating_sub(self.red_zone) {
            return Err(GrowStackError::BelowStackPointer { fault, sp });
        }
        let new_bottom = page_down(fault);
        let mut grown = vec![0; self.bottom - new_bottom];
        grown.extend_from_slice(&self.stack);
        self.stack = grown;
        self.bottom = new_bottom;
        Ok(())
    }

    fn shrink_stack(&mut self, sp: usize) {
        if sp < self.floor || sp > self.top {
            return;
        }
        let keep = page_down(sp.saturating_sub(self.red_zone)).min(self.top - PAGE);
        if keep > self.bottom {
            self.stack.drain(..keep - self.bottom);
            self.bottom = keep;
        }
    }

    /// The model's bytes at `[addr, addr + len)`, or the error a copy must give: the first
    /// unmapped byte. Only heap and stack addresses are asked about.
    fn bytes(&mut self, addr: usize, len: usize) -> Result<&mut [u8], CopyError> {
        let end = addr + len;
        if end as u64 > self.va_top {
            return Err(CopyError::OutOfRange(addr));
        }
        if addr >= self.heap_start && addr < self.top - STACK_PAGES * PAGE {
            let mapped = self.mapped_heap_end();
            if end > mapped {
                return Err(CopyError::Unmapped(addr.max(mapped)));
            }
            let at = addr - self.heap_start;
            return Ok(&mut self.heap[at..at + len]);
        }
        if addr < self.bottom {
            return Err(CopyError::Unmapped(addr));
        }
        if end > self.top {
            return Err(CopyError::NotUser(addr.max(self.top)));
        }
        let at = addr - self.bottom;
        Ok(&mut self.stack[at..at + len])
    }
}

struct Proc<'a, M: Mode> {
    space: Space<'a, M>,
    model: Model,
}

/// An address near an interesting edge of `m`: heap start, break, mapped heap end, a page
/// boundary inside the heap, stack bottom, stack top.
fn edge(rng: &mut Rng, m: &Model) -> usize {
    let heap_page = m.heap_start
        + PAGE * rng.below(1 + (m.mapped_heap_end() - m.heap_start) as u64 / PAGE as u64) as usize;
    let stack_page = m.bottom + PAGE * rng.below(1 + ((m.top - m.bottom) / PAGE) as u64) as usize;
    let base = match rng.below(6) {
        0 => m.heap_start,
        1 => m.brk,
        2 => m.mapped_heap_end(),
        3 => heap_page,
        4 => m.bottom,
        _ => stack_page,
    };
    let jitter = rng.below(64) as usize;
    if rng.below(2) == 0 {
        base + jitter
    } else {
        base.saturating_sub(jitter).max(m.heap_start)
    }
}

fn length(rng: &mut Rng) -> usize {
    match rng.below(4) {
        0 => 1 + rng.below(8) as usize,
        1 => 1 + rng.below(300) as usize,
        2 => PAGE - 8 + rng.below(16) as usize,
        _ => 1 + rng.below(2 * PAGE as u64 + 100) as usize,
    }
}

fn delta<M: Mode>(rng: &mut Rng, m: &Model, cap: usize) -> isize {
    let small = rng.below(200) as isize - 100;
    let pages = (rng.below(9) as isize - 4) * PAGE as isize;
    let d = match rng.below(10) {
        0..=2 => small,
        3..=5 => pages + small,
        6 => pages,
        7 => -((m.brk - m.heap_start) as isize) + rng.below(3) as isize - 1, // to the start
        8 => refused_delta::<M>(rng, m, cap),
        _ => 0,
    };
    // Keep growth within what the arena holds; the huge deltas are refusals anyway.
    let grows_past = m.brk as i128 + d as i128 > (m.heap_start + HEAP_PAGES * PAGE) as i128;
    if grows_past && d.unsigned_abs() < 1 << 30 {
        -d
    } else {
        d
    }
}

/// A delta `sbrk` must refuse: overflowing, past the cap, or (Sv32) wider than 32 bits. No
/// huge delta the mode allows is drawn: it would be a real request the arena cannot serve.
fn refused_delta<M: Mode>(rng: &mut Rng, m: &Model, cap: usize) -> isize {
    let past_cap = (cap - m.brk + 1) as isize;
    let choices: &[isize] = if is64::<M>() {
        &[isize::MIN, isize::MAX, past_cap]
    } else {
        &[isize::MIN, isize::MAX, past_cap, 0x8000_0000, -0x8000_0001]
    };
    choices[rng.below(choices.len() as u64) as usize]
}

fn check_all<M: Mode>(p: &mut Proc<'_, M>) {
    let m = &p.model;
    assert_eq!(p.space.brk().as_usize(), m.brk);
    assert_eq!(p.space.stack_bottom().as_usize(), m.bottom);
    let mut heap = vec![0; m.heap.len()];
    p.space.copy_in(m.heap_start, &mut heap).unwrap();
    assert_eq!(heap, m.heap);
    let mut stack = vec![0; m.stack.len()];
    p.space.copy_in(m.bottom, &mut stack).unwrap();
    assert_eq!(stack, m.stack);
    let past = m.mapped_heap_end();
    assert_eq!(
        p.space.copy_in(past, &mut [0]),
        Err(CopyError::Unmapped(past))
    );
    assert_eq!(
        p.space.copy_in(m.bottom - 1, &mut [0]),
        Err(CopyError::Unmapped(m.bottom - 1))
    );
}

fn random_operations_match_the_byte_model<M: Mode>() {
    let env = Env::new(320);
    let mut frames = env.frames();
    let limits = Limits {
        stack_max: STACK_PAGES * PAGE,
        ..Limits::default()
    };
    let mut space: Space<'_, M> =
        UserSpace::new(&env.arena, env.trampoline(), limits, &mut frames).unwrap();
    space
        .load_elf(&program::<M>().bytes(), &mut frames)
        .unwrap();
    let top = space.layout().stack_top().as_usize();
    let cap = space.layout().heap_cap().as_usize();
    let model = Model {
        heap_start: PROGRAM_HEAP,
        brk: PROGRAM_HEAP,
        heap: Vec::new(),
        top,
        floor: top - STACK_PAGES * PAGE,
        bottom: top - PAGE,
        stack: vec![0; PAGE],
        red_zone: limits.red_zone,
        va_top: M::VA_TOP,
    };
    let mut procs = vec![Proc { space, model }];
    let mut rng = Rng::new(0xC0FFEE + M::ENTRY_BYTES as u64);
    let mut counts = [0usize; 9];
    for op in 0..OPS {
        let live = procs.len();
        let i = rng.below(live as u64) as usize;
        let kind = rng.below(100);
        let p = &mut procs[i];
        match kind {
            0..=19 => {
                counts[0] += 1;
                let d = delta::<M>(&mut rng, &p.model, cap);
                let want = p.model.sbrk::<M>(d, cap);
                let got = p.space.sbrk(d, &mut frames).map(|(old, f)| {
                    f.ignore();
                    old.as_usize()
                });
                assert_eq!(got, want, "op {op}: sbrk({d:#x})");
            }
            20..=44 => {
                counts[1] += 1;
                let (addr, len) = (edge(&mut rng, &p.model), length(&mut rng));
                let data = pattern(rng.next_u64() as u8, len);
                let got = p.space.copy_out(addr, &data);
                match p.model.bytes(addr, len) {
                    Ok(bytes) => {
                        assert_eq!(got, Ok(()), "op {op}: copy_out({addr:#x}, {len})");
                        bytes.copy_from_slice(&data);
                    }
                    Err(e) => assert_eq!(got, Err(e), "op {op}: copy_out({addr:#x}, {len})"),
                }
            }
            45..=69 => {
                counts[2] += 1;
                let (addr, len) = (edge(&mut rng, &p.model), length(&mut rng));
                let mut buf = vec![0xee; len];
                let got = p.space.copy_in(addr, &mut buf);
                match p.model.bytes(addr, len) {
                    Ok(bytes) => {
                        assert_eq!(got, Ok(()), "op {op}: copy_in({addr:#x}, {len})");
                        assert_eq!(&buf[..], &bytes[..], "op {op}: copy_in({addr:#x}, {len})");
                    }
                    Err(e) => assert_eq!(got, Err(e), "op {op}: copy_in({addr:#x}, {len})"),
                }
            }
            70..=79 => {
                counts[3] += 1;
                let m = &p.model;
                let fault = m
                    .bottom
                    .wrapping_sub(1 + rng.below(4 * PAGE as u64) as usize);
                let sp = match rng.below(8) {
                    0 => fault.wrapping_sub(rng.below(64) as usize), // at or above: ok
                    1 => fault + m.red_zone + 1 + rng.below(64) as usize, // too far below sp
                    2 => [0, top + 8, usize::MAX, m.floor - 8][rng.below(4) as usize],
                    _ => fault + rng.below(m.red_zone as u64 + 1) as usize,
                };
                let want = p.model.grow_stack(fault, sp);
                let got = p
                    .space
                    .grow_stack(fault, sp, &mut frames)
                    .map(|f| f.ignore());
                assert_eq!(got, want, "op {op}: grow_stack({fault:#x}, {sp:#x})");
            }
            80..=87 => {
                counts[4] += 1;
                let m = &p.model;
                let sp = match rng.below(6) {
                    0 => top + rng.below(3 * PAGE as u64) as usize, // above the stack (VIMIX)
                    1 => [0, usize::MAX, cap, m.floor - 1][rng.below(4) as usize],
                    2 => top, // an empty stack: the top page stays
                    _ => m.bottom + rng.below((top - m.bottom + PAGE) as u64) as usize - PAGE / 2,
                };
                p.model.shrink_stack(sp);
                p.space.shrink_stack(sp, &mut frames).ignore();
                assert_eq!(
                    p.space.stack_bottom().as_usize(),
                    p.model.bottom,
                    "op {op}: shrink({sp:#x})"
                );
            }
            88..=92 if live < MAX_PROCS => {
                counts[5] += 1;
                let child = p.space.fork(&mut frames).unwrap();
                let model = p.model.clone();
                procs.push(Proc {
                    space: child,
                    model,
                });
            }
            93..=96 if live > 1 => {
                counts[6] += 1;
                procs.swap_remove(i).space.destroy(&mut frames);
            }
            _ => {
                counts[7] += 1;
                check_all(p);
            }
        }
        if op % 500 == 0 {
            counts[8] += 1;
            for p in procs.iter_mut() {
                check_all(p);
            }
            let spaces: Vec<&Space<'_, M>> = procs.iter().map(|p| &p.space).collect();
            check_frames(&env.arena, &spaces, &frames);
        }
    }
    for p in procs.iter_mut() {
        check_all(p);
    }
    for p in procs {
        p.space.destroy(&mut frames);
    }
    frames.assert_no_leaks();
    assert!(
        counts[..7].iter().all(|&c| c > 0),
        "some operation never ran: {counts:?}"
    );
}
