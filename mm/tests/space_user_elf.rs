//! The ELF program-header reader: a good file of each class, every malformation as its own
//! test, and many mutated and truncated files, none of which may panic.

mod space_user_support;

use rvmm::paging::Mode;
use rvmm::space::user::elf::{ElfClass, ElfError, ElfImage, ElfSegment, PF_R, PF_W, PF_X, PT_LOAD};
use rvmm_testkit::Rng;
use space_user_support::*;

fn class<M: Mode>() -> ElfClass {
    ElfClass::for_entry_bytes(M::ENTRY_BYTES)
}

fn parse<M: Mode>(bytes: &[u8]) -> Result<Vec<ElfSegment>, ElfError> {
    ElfImage::parse(bytes, class::<M>()).map(|e| e.segments().collect())
}

rvmm_testkit::both_modes!(
    parses_entry_and_segments,
    skips_other_headers_and_empty_segments,
    file_bytes_are_the_segments_bytes,
    too_short,
    bad_magic,
    wrong_class,
    big_endian,
    bad_ident_version,
    bad_header_version,
    not_executable,
    wrong_machine,
    bad_program_header_size,
    program_headers_beyond_file,
    program_header_offset_overflows,
    no_loadable_segment,
    segment_beyond_file,
    segment_offset_overflows,
    memsz_below_filesz,
    segment_end_overflows,
    truncated_at_every_length_never_panics,
    mutated_files_never_panic_or_leak,
);

fn parses_entry_and_segments<M: Mode>() {
    let elf = program::<M>();
    let bytes = elf.bytes();
    let image = ElfImage::parse(&bytes, class::<M>()).unwrap();
    assert_eq!(image.entry(), 0x1010);
    assert_eq!(image.class(), class::<M>());
    let segs: Vec<_> = image.segments().collect();
    assert_eq!(segs.len(), 3);
    for (s, want) in segs.iter().zip(&elf.segs) {
        assert_eq!(
            (s.vaddr, s.memsz, s.flags),
            (want.vaddr, want.memsz, want.flags)
        );
        assert_eq!(s.filesz, want.data.len() as u64);
    }
    assert_eq!(segs[2].index, 2);
}

fn skips_other_headers_and_empty_segments<M: Mode>() {
    let mut elf = program::<M>();
    elf.other_headers = vec![4, 6, 0x6474_e551]; // PT_NOTE, PT_PHDR, PT_GNU_STACK
    elf.segs.push(Seg::new(0x20_0000, PF_R, vec![], 0));
    let segs = parse::<M>(&elf.bytes()).unwrap();
    assert_eq!(segs.len(), 3);
    assert_eq!(segs[0].index, 3, "indices count every program header");
}

fn file_bytes_are_the_segments_bytes<M: Mode>() {
    let elf = program::<M>();
    let bytes = elf.bytes();
    let image = ElfImage::parse(&bytes, class::<M>()).unwrap();
    for (s, want) in image.segments().zip(&elf.segs) {
        assert_eq!(image.file_bytes(&s), &want.data[..]);
    }
}

fn too_short<M: Mode>() {
    let bytes = program::<M>().bytes();
    let header = program::<M>().sizes().0;
    assert_eq!(
        parse::<M>(&bytes[..header - 1]).unwrap_err(),
        ElfError::TooShort(header - 1)
    );
    assert_eq!(parse::<M>(&[]).unwrap_err(), ElfError::TooShort(0));
}

fn bad_magic<M: Mode>() {
    let mut bytes = program::<M>().bytes();
    bytes[1] = b'e';
    assert_eq!(parse::<M>(&bytes).unwrap_err(), ElfError::BadMagic);
}

fn wrong_class<M: Mode>() {
    let mut elf = program::<M>();
    elf.elf64 = !elf.elf64;
    let found = if elf.elf64 { 2 } else { 1 };
    assert_eq!(
        parse::<M>(&elf.bytes()).unwrap_err(),
        ElfError::WrongClass(found)
    );
    let mut bytes = program::<M>().bytes();
    bytes[4] = 0;
    assert_eq!(parse::<M>(&bytes).unwrap_err(), ElfError::WrongClass(0));
}

fn big_endian<M: Mode>() {
    let mut bytes = program::<M>().bytes();
    bytes[5] = 2;
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::NotLittleEndian(2)
    );
}

fn bad_ident_version<M: Mode>() {
    let mut bytes = program::<M>().bytes();
    bytes[6] = 0;
    assert_eq!(parse::<M>(&bytes).unwrap_err(), ElfError::BadVersion);
}

fn bad_header_version<M: Mode>() {
    let mut bytes = program::<M>().bytes();
    put32(&mut bytes, 20, 2);
    assert_eq!(parse::<M>(&bytes).unwrap_err(), ElfError::BadVersion);
}

fn not_executable<M: Mode>() {
    let mut elf = program::<M>();
    elf.e_type = 3; // ET_DYN
    assert_eq!(
        parse::<M>(&elf.bytes()).unwrap_err(),
        ElfError::NotExecutable(3)
    );
}

fn wrong_machine<M: Mode>() {
    let mut elf = program::<M>();
    elf.machine = 62; // x86-64
    assert_eq!(
        parse::<M>(&elf.bytes()).unwrap_err(),
        ElfError::WrongMachine(62)
    );
}

fn bad_program_header_size<M: Mode>() {
    let elf = program::<M>();
    let mut bytes = elf.bytes();
    let at = if elf.elf64 { 54 } else { 42 };
    put16(&mut bytes, at, 40);
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::BadProgramHeaderSize(40)
    );
}

fn program_headers_beyond_file<M: Mode>() {
    let elf = program::<M>();
    let mut bytes = elf.bytes();
    let phnum_at = if elf.elf64 { 56 } else { 44 };
    put16(&mut bytes, phnum_at, 0xffff);
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::ProgramHeadersOutsideFile
    );
    let mut bytes = elf.bytes();
    let len = bytes.len() as u64;
    put_word(
        &mut bytes,
        elf.elf64,
        if elf.elf64 { 32 } else { 28 },
        len - 8,
    );
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::ProgramHeadersOutsideFile
    );
}

fn program_header_offset_overflows<M: Mode>() {
    let elf = program::<M>();
    let mut bytes = elf.bytes();
    let max = if elf.elf64 {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };
    put_word(
        &mut bytes,
        elf.elf64,
        if elf.elf64 { 32 } else { 28 },
        max - 8,
    );
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::ProgramHeadersOutsideFile
    );
}

fn no_loadable_segment<M: Mode>() {
    let mut elf = program::<M>();
    elf.segs.clear();
    elf.other_headers = vec![4];
    assert_eq!(
        parse::<M>(&elf.bytes()).unwrap_err(),
        ElfError::NoLoadableSegment
    );
    let mut elf = program::<M>();
    elf.segs = vec![Seg::new(0x1000, PF_R | PF_X, vec![], 0)];
    assert_eq!(
        parse::<M>(&elf.bytes()).unwrap_err(),
        ElfError::NoLoadableSegment
    );
}

fn segment_beyond_file<M: Mode>() {
    let elf = program::<M>();
    let mut bytes = elf.bytes();
    // Segment 2's file size reaches one byte past the end of the file.
    let off = elf.ph_field(2, 4, 8);
    let offset = if elf.elf64 {
        u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap())
    } else {
        u64::from(u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()))
    };
    let filesz = bytes.len() as u64 - offset + 1;
    put_word(&mut bytes, elf.elf64, elf.ph_field(2, 16, 32), filesz);
    put_word(&mut bytes, elf.elf64, elf.ph_field(2, 20, 40), filesz);
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::SegmentOutsideFile(2)
    );
}

fn segment_offset_overflows<M: Mode>() {
    let elf = program::<M>();
    let mut bytes = elf.bytes();
    let max = if elf.elf64 {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };
    put_word(&mut bytes, elf.elf64, elf.ph_field(0, 4, 8), max);
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::SegmentOutsideFile(0)
    );
}

fn memsz_below_filesz<M: Mode>() {
    let elf = program::<M>();
    let mut bytes = elf.bytes();
    put_word(&mut bytes, elf.elf64, elf.ph_field(1, 20, 40), 0x10);
    assert_eq!(
        parse::<M>(&bytes).unwrap_err(),
        ElfError::MemSizeBelowFileSize(1)
    );
}

fn segment_end_overflows<M: Mode>() {
    let mut elf = program::<M>();
    let top = if elf.elf64 {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };
    elf.segs[1] = Seg::new(top - 0xfff, PF_R, vec![], 0x2000);
    assert_eq!(
        parse::<M>(&elf.bytes()).unwrap_err(),
        ElfError::SegmentAddressOverflow(1)
    );
}

fn truncated_at_every_length_never_panics<M: Mode>() {
    let bytes = program::<M>().bytes();
    let step = if cfg!(miri) { 97 } else { 1 };
    for len in (0..bytes.len()).step_by(step) {
        // Every prefix is missing some segment's bytes, or a header.
        assert!(parse::<M>(&bytes[..len]).is_err(), "prefix of {len} bytes");
    }
}

/// Flips, overwrites and splices bytes of a good file, then parses and loads the result: each
/// either loads or gives a typed error, and nothing leaks.
fn mutated_files_never_panic_or_leak<M: Mode>() {
    let env = Env::new(if cfg!(miri) { 48 } else { 256 });
    let mut frames = env.frames();
    let good = program::<M>().bytes();
    let header_end = {
        let (eh, ph) = program::<M>().sizes();
        eh + 3 * ph
    };
    let mut rng = Rng::new(0x5eed ^ M::ENTRY_BYTES as u64);
    let rounds = if cfg!(miri) { 20 } else { 3000 };
    let (mut loaded, mut refused) = (0, 0);
    for _ in 0..rounds {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(4) {
            if bytes.is_empty() {
                break;
            }
            // Mostly the headers, where the fields are.
            let at = rng.below(header_end.min(bytes.len()) as u64) as usize;
            match rng.below(4) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => bytes[at] = rng.next_u64() as u8,
                2 => bytes[at] = [0, 0xff, 0x7f, 0x80][rng.below(4) as usize],
                _ => bytes.truncate(rng.below(bytes.len() as u64 + 1) as usize),
            }
        }
        let mut space: Space<'_, M> = env.space(&mut frames);
        let before = snapshot(&space);
        match space.load_elf(&bytes, &mut frames) {
            Ok(_) => {
                loaded += 1;
                check_frames(&env.arena, &[&space], &frames);
            }
            Err(e) => {
                // A mutated size can ask for more memory than the arena has: also refused.
                refused += 1;
                assert_eq!(snapshot(&space), before, "{e:?} changed the space");
            }
        }
        space.destroy(&mut frames);
        frames.assert_no_leaks();
    }
    assert!(
        loaded > 0 && refused > 0,
        "{loaded} loaded, {refused} refused"
    );
}

#[test]
fn flag_and_type_constants_match_the_elf_spec() {
    assert_eq!((PF_X, PF_W, PF_R, PT_LOAD), (1, 2, 4, 1));
}
