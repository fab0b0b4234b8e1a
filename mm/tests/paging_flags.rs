//! Every one of the 256 combinations of the eight PTE flag bits, asked for as leaf
//! permissions of a mapped page (`map`) and of an owned one (`map_new`): the library builds a
//! leaf only for the legal ones, and the spec walker (which shares no code with rvmm) agrees
//! that each leaf it built behaves as asked, whatever RSW holds.

use rvmm::addr::{PageRange, PhysAddr, VirtAddr};
use rvmm::paging::{MapError, MapNewError, Mode, PageSizes, PageTable, Perms, Sv32, Sv39};
use rvmm_testkit::spec::{self, Access, AccessKind, PTE_OWNED, Privilege, SpecMode};
use rvmm_testkit::{Arena, ArenaFrames, Tracking};

const V: u8 = 1;
const R: u8 = 1 << 1;
const W: u8 = 1 << 2;
const X: u8 = 1 << 3;
const U: u8 = 1 << 4;
const A: u8 = 1 << 6;
const D: u8 = 1 << 7;

/// Written from the spec, independently of `Perms::is_legal_leaf`: a leaf needs R, W or X, and
/// W needs R; V, A and D are the library's to set, so asking for them is refused.
fn legal(bits: u8) -> bool {
    let rwx = bits & (R | W | X);
    bits & (V | A | D) == 0 && rwx != 0 && (bits & W == 0 || bits & R != 0)
}

fn all_flag_combinations<M: Mode>(mode: SpecMode) {
    let arena = Arena::new(0x8000_0000, 64 * 4096);
    let mut frames = Tracking::new(ArenaFrames::new(&arena));
    let mut table = PageTable::<M, _>::new(&arena, &mut frames).unwrap();
    let mut accepted = 0;
    for (bits, owned) in (0..=255u8).flat_map(|b| [(b, false), (b, true)]) {
        let va = 0x40_0000 + u64::from(bits) * 0x1000 + if owned { 0x40_0000 } else { 0 };
        let pages = PageRange::new(VirtAddr::new(va as usize).unwrap(), 0x1000).unwrap();
        let pa = PhysAddr::new(0x1_0000_0000 + u64::from(bits) * 0x1000).unwrap();
        let perms = Perms::from_bits(bits);
        let result = perms.map(|p| match owned {
            false => table.map(pages, pa, p, PageSizes::Largest, &mut frames),
            true => (table.map_new(pages, p, &mut frames, |_, _| {})).map_err(|e| match e {
                MapNewError::IllegalPerms(p) => MapError::IllegalPerms(p),
                e => panic!("{bits:#010b}: unexpected {e:?}"),
            }),
        });
        match result {
            Some(Ok(flush)) => {
                flush.ignore();
                assert!(legal(bits), "{bits:#010b} accepted but illegal");
                accepted += 1;
                check_leaf(&arena, mode, table.root().start(), va, bits, owned);
            }
            Some(Err(MapError::IllegalPerms(_))) | None => {
                assert!(!legal(bits), "{bits:#010b} refused but legal");
                assert!(
                    table
                        .translate(VirtAddr::new(va as usize).unwrap())
                        .is_none()
                );
            }
            Some(Err(e)) => panic!("{bits:#010b}: unexpected {e:?}"),
        }
    }
    // R, RW, X, RX, RWX, each with or without U and G, mapped and owned.
    assert_eq!(accepted, 2 * 20);
    table.destroy(&mut frames);
    frames.assert_no_leaks();
}

/// The leaf's raw flags are the asked ones plus V, A, and D exactly when writable, RSW marks
/// it owned exactly when `map_new` made it, and every kind of access is allowed exactly when
/// the permissions say so.
fn check_leaf(arena: &Arena, mode: SpecMode, root: PhysAddr, va: u64, bits: u8, owned: bool) {
    let privilege = if bits & U != 0 {
        Privilege::User
    } else {
        Privilege::Supervisor
    };
    let expected_flags = bits | V | A | if bits & W != 0 { D } else { 0 };
    for (kind, needed) in [
        (AccessKind::Read, R),
        (AccessKind::Write, W),
        (AccessKind::Execute, X),
    ] {
        let got = spec::translate(arena, mode, root, va, Access::new(kind, privilege));
        if bits & needed != 0 {
            let t = got.unwrap_or_else(|e| panic!("{bits:#010b} {kind:?}: {e:?}"));
            assert_eq!(t.flags, expected_flags, "{bits:#010b}");
            assert_eq!(t.pte & PTE_OWNED != 0, owned, "{bits:#010b}");
        } else {
            assert!(got.is_err(), "{bits:#010b} allows {kind:?}");
        }
    }
}

#[test]
fn all_256_flag_combinations_sv39() {
    all_flag_combinations::<Sv39>(SpecMode::Sv39);
}

#[test]
fn all_256_flag_combinations_sv32() {
    all_flag_combinations::<Sv32>(SpecMode::Sv32);
}
