//! Model-based test: seeded random map/map_new/unmap/protect/translate sequences on both modes
//! against a `BTreeMap` of 4 KiB pages, checked after every step by `translate` and by the
//! independent spec walker, and in full (every leaf, every malformed entry, every frame held)
//! every few hundred steps.
//!
//! Addresses are drawn near the places where page-table code breaks: table boundaries,
//! superpage boundaries, the 1 GiB boundary and the top of the space. Uniformly random
//! addresses would almost never share a table and would test nothing.
//!
//! `RVMM_MODEL_OPS` sets the operations per mode (default 100,000). Under Miri a run is 150
//! operations on ranges of at most 64 pages, and each step checks every 29th touched page (and
//! the last): the interpreter looks for undefined behaviour in the operations, which the
//! smaller run still drives through every path but superpage splits (`paging_ops` has those).

use rvmm::addr::{Frame, PageRange, PhysAddr, VirtAddr};
use rvmm::paging::{MapError, MapNewError, Mode, PageSizes, PageTable, Perms, ProtectError};
use rvmm::paging::{Sv32, Sv39};
use rvmm::tlb::Flush;
use rvmm_testkit::spec::{self, Access, AccessKind, PTE_OWNED, Privilege, SpecMode};
use rvmm_testkit::{Arena, ArenaFrames, EmulatedTlb, Rng, Tracking};
use std::collections::BTreeMap;

const PAGE: u64 = 4096;

fn ops() -> usize {
    if cfg!(miri) {
        return 150;
    }
    std::env::var("RVMM_MODEL_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// Page VA -> (PA, permissions, owned: mapped by `map_new`, its frame the table's).
type Model = BTreeMap<u64, (u64, Perms, bool)>;

/// Pages at most in one `map_new`: each takes a frame of the arena.
const MAX_NEW: u64 = 64;

struct Run<'a, M: Mode> {
    table: PageTable<M, &'a Arena>,
    frames: Tracking<ArenaFrames<'a>>,
    model: Model,
    rng: Rng,
    arena: &'a Arena,
    spec_mode: SpecMode,
    /// Keeps every translation it made until a flush drops it: a change whose `Flush` does not
    /// cover it shows up as a stale answer.
    tlb: EmulatedTlb,
}

impl<M: Mode> Run<'_, M> {
    /// A page number near an interesting boundary.
    fn page(&mut self) -> u64 {
        let mega = M::LEAF_SIZES[1].bytes();
        let top = M::VA_TOP;
        let hot = [
            mega,
            2 * mega,
            7 * mega,
            1 << 30,
            3 << 30,
            top - mega,
            top - 2 * mega,
            0,
        ];
        let base = hot[self.rng.below(hot.len() as u64) as usize];
        let spread = 2 * mega / PAGE;
        let delta = self.rng.below(2 * spread) as i64 - spread as i64;
        let page = (base / PAGE) as i64 + delta;
        page.clamp(1, (top / PAGE) as i64 - 1) as u64
    }

    fn range(&mut self) -> (u64, u64) {
        let start = self.page();
        let mega_pages = M::LEAF_SIZES[1].bytes() / PAGE;
        // Under Miri a superpage-sized range costs minutes of interpretation; `paging_ops`
        // covers superpages and their splits there.
        let len = match self.rng.below(10) {
            0 if !cfg!(miri) => mega_pages + self.rng.below(mega_pages),
            1..=3 => 1 + self.rng.below(64),
            _ => 1 + self.rng.below(8),
        };
        let len = len.min(M::VA_TOP / PAGE - start);
        (start * PAGE, len)
    }

    fn perms(&mut self) -> Perms {
        const LEGAL: [Perms; 5] = [
            Perms::R,
            Perms::RW,
            Perms::X,
            Perms::RX,
            Perms::R.union(Perms::W).union(Perms::X),
        ];
        let mut p = LEGAL[self.rng.below(5) as usize];
        if self.rng.below(4) == 0 {
            p |= Perms::U;
        }
        if self.rng.below(8) == 0 {
            p |= Perms::G;
        }
        p
    }

    fn step(&mut self) {
        let (va, pages) = self.range();
        let range =
            PageRange::new(VirtAddr::new(va as usize).unwrap(), (pages * PAGE) as usize).unwrap();
        let op = self.rng.below(10);
        if std::env::var_os("RVMM_MODEL_TRACE").is_some() {
            eprintln!("op {op} va {va:#x} pages {pages}");
        }
        match op {
            0..=3 => self.map(range, va, pages),
            4..=6 => {
                let flush = self.table.unmap(range, &mut self.frames).unwrap();
                self.flush(flush);
                for p in 0..pages {
                    self.model.remove(&(va + p * PAGE));
                }
            }
            9 => self.map_new(range, va, pages.min(MAX_NEW)),
            7..=8 => {
                let perms = self.perms();
                let hole = (0..pages)
                    .map(|p| va + p * PAGE)
                    .find(|v| !self.model.contains_key(v));
                let got = self
                    .table
                    .protect(range, perms, &mut self.frames)
                    .map(|f| self.flush(f));
                match hole {
                    Some(h) => assert_eq!(
                        got,
                        Err(ProtectError::NotMapped(VirtAddr::new(h as usize).unwrap()))
                    ),
                    None => {
                        got.unwrap();
                        for p in 0..pages {
                            // Owned pages stay owned.
                            self.model.get_mut(&(va + p * PAGE)).unwrap().1 = perms;
                        }
                    }
                }
            }
            _ => unreachable!("ops are below 10"),
        }
        self.check_pages(va, pages);
    }

    fn map(&mut self, range: PageRange, va: u64, pages: u64) {
        // PA either keeps the VA's alignment (so superpages happen) or is any frame.
        let pa = if self.rng.below(2) == 0 {
            (va + (self.rng.below(4) << 32)) & ((1 << M::PA_BITS) - 1) & !(PAGE - 1)
        } else {
            self.rng.below(1 << (M::PA_BITS - 13)) * PAGE
        };
        let perms = self.perms();
        let sizes = if self.rng.below(3) == 0 {
            PageSizes::Only4KiB
        } else {
            PageSizes::Largest
        };
        let occupied = (0..pages)
            .map(|p| va + p * PAGE)
            .find(|v| self.model.contains_key(v));
        let pa_ok = pa + pages * PAGE <= 1 << M::PA_BITS;
        let got = self.table.map(
            range,
            PhysAddr::new(pa).unwrap(),
            perms,
            sizes,
            &mut self.frames,
        );
        match (occupied, pa_ok, got) {
            (Some(_), _, Err(MapError::AlreadyMapped(found))) => self.check_found(found, va, pages),
            (None, false, Err(MapError::PhysOutOfRange(_))) => {}
            (None, true, Ok(flush)) => {
                self.flush(flush);
                for p in 0..pages {
                    self.model
                        .insert(va + p * PAGE, (pa + p * PAGE, perms, false));
                }
            }
            (occ, ok, got) => {
                panic!("map {va:#x}+{pages} pages: occupied {occ:?}, pa ok {ok}, got {got:?}")
            }
        }
    }

    /// An `AlreadyMapped` error names a real mapping that overlaps the range.
    fn check_found(&self, found: rvmm::paging::Mapping, va: u64, pages: u64) {
        let f = found.va.as_u64();
        assert!(
            f < va + pages * PAGE && va < f + found.len,
            "{found:?} outside the range"
        );
        let (model_pa, model_perms, owned) = self.model[&f.max(va)];
        assert_eq!((found.perms, found.owned), (model_perms, owned));
        assert_eq!(found.pa.as_u64() + (f.max(va) - f), model_pa);
    }

    /// `map_new` of `pages` pages (fewer than the arena's frames): each gets a frame of its
    /// own, written with its page number by `fill`; all or nothing.
    fn map_new(&mut self, range: PageRange, va: u64, pages: u64) {
        let range = PageRange::from_pages(range.start(), pages as usize).unwrap();
        let perms = self.perms();
        let occupied = (0..pages)
            .map(|p| va + p * PAGE)
            .find(|v| self.model.contains_key(v));
        let held = self.frames.outstanding();
        let mut filled = Vec::new();
        let got = self
            .table
            .map_new(range, perms, &mut self.frames, |page, mut bytes| {
                bytes.write_word(0, page.number()).unwrap();
                filled.push((page.start().as_u64(), bytes.frame()));
            });
        match (occupied, got) {
            (Some(_), Err(MapNewError::AlreadyMapped(found))) => {
                self.check_found(found, va, pages);
                assert_eq!(
                    self.frames.outstanding(),
                    held,
                    "a refused map_new kept frames"
                );
            }
            (None, Err(MapNewError::OutOfMemory)) => {
                assert_eq!(
                    self.frames.outstanding(),
                    held,
                    "a failed map_new kept frames"
                );
            }
            (None, Ok(flush)) => {
                self.flush(flush);
                assert_eq!(filled.len() as u64, pages);
                for (v, frame) in filled {
                    self.model.insert(v, (frame.start().as_u64(), perms, true));
                }
            }
            (occ, got) => panic!("map_new {va:#x}+{pages} pages: occupied {occ:?}, got {got:?}"),
        }
    }

    fn flush(&mut self, flush: Flush) {
        flush.apply(&mut self.tlb);
    }

    /// `translate`, the spec walker, and the emulated TLB (stale unless flushed) agree with the
    /// model on the touched pages.
    fn check_pages(&mut self, va: u64, pages: u64) {
        let root = self.table.root().start();
        let stride = if cfg!(miri) { 29 } else { 1 };
        let sampled = (0..pages).step_by(stride).chain([pages - 1]);
        for v in sampled.map(|p| va + p * PAGE) {
            let ours = self
                .table
                .translate(VirtAddr::new(v as usize + 0x7ff).unwrap());
            let kind = match self.model.get(&v) {
                Some(&(_, perms, _)) if perms.contains(Perms::R) => AccessKind::Read,
                _ => AccessKind::Execute,
            };
            let privilege = match self.model.get(&v) {
                Some(&(_, perms, _)) if perms.contains(Perms::U) => Privilege::User,
                _ => Privilege::Supervisor,
            };
            let access = Access::new(kind, privilege);
            let theirs = spec::translate(self.arena, self.spec_mode, root, v + 0x7ff, access);
            let cached = self
                .tlb
                .translate(self.arena, self.spec_mode, root, v + 0x7ff, access);
            assert_eq!(
                cached, theirs,
                "TLB stale at {v:#x}: a Flush missed this page"
            );
            match self.model.get(&v) {
                Some(&(pa, perms, owned)) => {
                    let t = ours.unwrap_or_else(|| panic!("{v:#x} should be mapped"));
                    assert_eq!(
                        (t.pa.as_u64(), t.perms),
                        (pa + 0x7ff, perms),
                        "translate {v:#x}"
                    );
                    let s =
                        theirs.unwrap_or_else(|e| panic!("spec walker faults at {v:#x}: {e:?}"));
                    assert_eq!(s.pa.as_u64(), pa + 0x7ff);
                    assert_eq!(s.page_size, t.size);
                    let mut flags = perms.bits() | 1 | 1 << 6;
                    if perms.contains(Perms::W) {
                        flags |= 1 << 7;
                    }
                    assert_eq!(s.flags, flags, "leaf flags at {v:#x}");
                    assert_eq!(s.pte & PTE_OWNED != 0, owned, "RSW owned bit at {v:#x}");
                    if owned {
                        // The frame still holds what `fill` wrote: nobody else had it since.
                        let frame = Frame::containing(PhysAddr::new(pa).unwrap());
                        assert_eq!(self.arena.read_word(frame, 0), Ok((v / PAGE) as usize));
                    }
                }
                None => {
                    assert!(ours.is_none(), "{v:#x} should be unmapped");
                    assert!(theirs.is_err(), "spec walker translates unmapped {v:#x}");
                }
            }
        }
    }

    /// Every leaf of the tree, read by the spec walker, against the whole model; no malformed
    /// entry anywhere; `mappings()` covers exactly the model too.
    fn check_all(&self) {
        let tree = spec::walk(self.arena, self.spec_mode, self.table.root().start());
        assert!(
            tree.malformed.is_empty(),
            "malformed entries: {:?}",
            tree.malformed
        );
        let mut from_spec = Model::new();
        for leaf in &tree.leaves {
            for p in 0..leaf.size.bytes() / PAGE {
                let perms = Perms::from_bits_truncate(leaf.flags);
                let page = (
                    leaf.pa.as_u64() + p * PAGE,
                    perms,
                    leaf.pte & PTE_OWNED != 0,
                );
                from_spec.insert(leaf.va + p * PAGE, page);
            }
        }
        assert_eq!(from_spec, self.model);
        let mut from_iter = Model::new();
        for m in self.table.mappings() {
            for p in 0..m.len / PAGE {
                let page = (m.pa.as_u64() + p * PAGE, m.perms, m.owned);
                from_iter.insert(m.va.as_u64() + p * PAGE, page);
            }
        }
        assert_eq!(from_iter, self.model);
        // Frames held are exactly the tables the walker reached and the owned pages' frames.
        let owned = self.model.values().filter(|&&(_, _, owned)| owned).count();
        assert_eq!(self.frames.outstanding(), tree.tables.len() + owned);
    }
}

fn model_run<M: Mode>(spec_mode: SpecMode, seed: u64) {
    let arena = Arena::new(
        0x8000_0000,
        if cfg!(miri) { 256 } else { 8192 } * PAGE as usize,
    );
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let table = PageTable::<M, _>::new(&arena, &mut frames).unwrap();
    let mut run = Run {
        table,
        frames,
        model: Model::new(),
        rng: Rng::new(seed),
        arena: &arena,
        spec_mode,
        tlb: EmulatedTlb::new(),
    };
    let n = ops();
    for i in 0..n {
        run.step();
        if i % 500 == 499 {
            run.check_all();
        }
    }
    run.check_all();
    let everything = PageRange::from_pages(
        rvmm::addr::Page::from_number(0).unwrap(),
        (M::VA_TOP / PAGE) as usize,
    )
    .unwrap();
    run.table
        .unmap(everything, &mut run.frames)
        .unwrap()
        .ignore();
    assert_eq!(run.table.mappings().count(), 0);
    assert_eq!(
        run.frames.outstanding(),
        1,
        "only the root is left after unmapping everything (owned pages' frames went back)"
    );
    run.table.destroy(&mut run.frames);
    run.frames.assert_no_leaks();
}

#[test]
fn model_sv39() {
    model_run::<Sv39>(SpecMode::Sv39, 0x5339);
}

#[test]
fn model_sv32() {
    model_run::<Sv32>(SpecMode::Sv32, 0x5332);
}
