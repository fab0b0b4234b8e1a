//! A small, validated reader of ELF program headers: just what loading a static executable
//! needs, for ELF32 (Sv32) and ELF64 (Sv39) RISC-V files.
//!
//! Every field is read with a bounds-checked, overflow-checked accessor, and [`ElfImage::parse`]
//! validates the whole header table before anything is loaded, so a malformed file is an
//! [`ElfError`] and never a panic. What the segments may *do* (addresses, permissions) is the
//! loader's policy, checked in `load.rs`.

use core::fmt;

/// `e_machine` of RISC-V.
pub const EM_RISCV: u16 = 243;
/// `e_ident[EI_CLASS]` of a 32-bit file.
pub const ELFCLASS32: u8 = 1;
/// `e_ident[EI_CLASS]` of a 64-bit file.
pub const ELFCLASS64: u8 = 2;
/// `e_type` of an executable (not relocatable, not shared).
pub const ET_EXEC: u16 = 2;
/// `p_type` of a loadable segment.
pub const PT_LOAD: u32 = 1;
/// `p_flags` bit: executable.
pub const PF_X: u32 = 1;
/// `p_flags` bit: writable.
pub const PF_W: u32 = 2;
/// `p_flags` bit: readable.
pub const PF_R: u32 = 4;

const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const ELFDATA2LSB: u8 = 1;
const EV_CURRENT: u8 = 1;

/// Why an image is not an executable this mode can load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than the ELF header.
    TooShort(usize),
    /// The file does not start with `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is not the one the mode needs (ELFCLASS32 for Sv32, ELFCLASS64 for Sv39).
    WrongClass(u8),
    /// The data encoding is not little-endian (RISC-V is).
    NotLittleEndian(u8),
    /// `EI_VERSION` or `e_version` is not 1.
    BadVersion,
    /// `e_type` is not `ET_EXEC`.
    NotExecutable(u16),
    /// `e_machine` is not `EM_RISCV`.
    WrongMachine(u16),
    /// `e_phentsize` is not the size of a program header of the file's class.
    BadProgramHeaderSize(u16),
    /// The program header table lies (partly) outside the file, or its extent overflows.
    ProgramHeadersOutsideFile,
    /// No `PT_LOAD` segment with a non-zero size.
    NoLoadableSegment,
    /// Segment `index`'s file bytes lie outside the file, or `offset + filesz` overflows.
    SegmentOutsideFile(usize),
    /// Segment `index` has `memsz < filesz`.
    MemSizeBelowFileSize(usize),
    /// Segment `index`'s `vaddr + memsz` overflows (for ELF32: passes 2^32).
    SegmentAddressOverflow(usize),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::TooShort(n) => write!(f, "{n} bytes is too short for an ELF header"),
            ElfError::BadMagic => f.write_str("not an ELF file"),
            ElfError::WrongClass(c) => write!(f, "ELF class {c} does not match the paging mode"),
            ElfError::NotLittleEndian(d) => write!(f, "ELF data encoding {d} is not little-endian"),
            ElfError::BadVersion => f.write_str("ELF version is not 1"),
            ElfError::NotExecutable(t) => write!(f, "ELF type {t} is not an executable"),
            ElfError::WrongMachine(m) => write!(f, "ELF machine {m} is not RISC-V"),
            ElfError::BadProgramHeaderSize(s) => write!(f, "program header size {s} is wrong"),
            ElfError::ProgramHeadersOutsideFile => {
                f.write_str("program header table outside the file")
            }
            ElfError::NoLoadableSegment => f.write_str("no loadable segment"),
            ElfError::SegmentOutsideFile(i) => write!(f, "segment {i} lies outside the file"),
            ElfError::MemSizeBelowFileSize(i) => write!(f, "segment {i} has memsz < filesz"),
            ElfError::SegmentAddressOverflow(i) => write!(f, "segment {i}'s end overflows"),
        }
    }
}

impl core::error::Error for ElfError {}

/// The two layouts of ELF headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfClass {
    /// ELF32: 52-byte header, 32-byte program headers.
    Elf32,
    /// ELF64: 64-byte header, 56-byte program headers.
    Elf64,
}

impl ElfClass {
    /// The class a page table with `entry_bytes`-wide entries runs (4: Sv32, 8: Sv39).
    pub const fn for_entry_bytes(entry_bytes: usize) -> Self {
        if entry_bytes == 8 {
            ElfClass::Elf64
        } else {
            ElfClass::Elf32
        }
    }

    const fn ident(self) -> u8 {
        match self {
            ElfClass::Elf32 => ELFCLASS32,
            ElfClass::Elf64 => ELFCLASS64,
        }
    }

    const fn header_size(self) -> usize {
        match self {
            ElfClass::Elf32 => 52,
            ElfClass::Elf64 => 64,
        }
    }

    const fn phdr_size(self) -> usize {
        match self {
            ElfClass::Elf32 => 32,
            ElfClass::Elf64 => 56,
        }
    }
}

/// One loadable segment, as the program header gives it (values widened to `u64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElfSegment {
    /// Index of its program header.
    pub index: usize,
    /// First virtual address.
    pub vaddr: u64,
    /// Size in memory; bytes past `filesz` are zero (bss).
    pub memsz: u64,
    /// Offset of its bytes in the file.
    pub offset: u64,
    /// How many bytes come from the file.
    pub filesz: u64,
    /// `p_flags` (`PF_R`, `PF_W`, `PF_X`).
    pub flags: u32,
}

/// A validated ELF executable: its entry point and loadable segments.
#[derive(Clone, Copy, Debug)]
pub struct ElfImage<'a> {
    bytes: &'a [u8],
    class: ElfClass,
    entry: u64,
    phoff: usize,
    phnum: usize,
}

impl<'a> ElfImage<'a> {
    /// Validates `bytes` as a little-endian RISC-V executable of `class`: header fields, the
    /// program header table's extent, and every `PT_LOAD` header (file bytes inside the file,
    /// `memsz >= filesz`, no overflowing end).
    pub fn parse(bytes: &'a [u8], class: ElfClass) -> Result<Self, ElfError> {
        if bytes.len() < class.header_size() {
            return Err(ElfError::TooShort(bytes.len()));
        }
        if bytes[..4] != MAGIC {
            return Err(ElfError::BadMagic);
        }
        if bytes[4] != class.ident() {
            return Err(ElfError::WrongClass(bytes[4]));
        }
        if bytes[5] != ELFDATA2LSB {
            return Err(ElfError::NotLittleEndian(bytes[5]));
        }
        let r = Reader { bytes, class };
        // The whole header is there (checked above), so its fields read.
        const IN_HEADER: &str = "a field inside the ELF header";
        if bytes[6] != EV_CURRENT || r.u32(20) != Some(1) {
            return Err(ElfError::BadVersion);
        }
        let e_type = r.u16(16).expect(IN_HEADER);
        if e_type != ET_EXEC {
            return Err(ElfError::NotExecutable(e_type));
        }
        let machine = r.u16(18).expect(IN_HEADER);
        if machine != EM_RISCV {
            return Err(ElfError::WrongMachine(machine));
        }
        let (entry, phoff, phentsize, phnum) = match class {
            ElfClass::Elf32 => (r.word(24), r.word(28), r.u16(42), r.u16(44)),
            ElfClass::Elf64 => (r.word(24), r.word(32), r.u16(54), r.u16(56)),
        };
        let (entry, phoff) = (entry.expect(IN_HEADER), phoff.expect(IN_HEADER));
        let phentsize = phentsize.expect(IN_HEADER);
        if usize::from(phentsize) != class.phdr_size() {
            return Err(ElfError::BadProgramHeaderSize(phentsize));
        }
        let phnum = usize::from(phnum.expect(IN_HEADER));
        let table_fits = usize::try_from(phoff).ok().and_then(|off| {
            let end = off.checked_add(phnum.checked_mul(class.phdr_size())?)?;
            (end <= bytes.len()).then_some(off)
        });
        let phoff = table_fits.ok_or(ElfError::ProgramHeadersOutsideFile)?;
        let image = ElfImage {
            bytes,
            class,
            entry,
            phoff,
            phnum,
        };
        let mut loadable = 0;
        for i in 0..phnum {
            if image.header(i)?.is_some_and(|seg| seg.memsz > 0) {
                loadable += 1;
            }
        }
        if loadable == 0 {
            return Err(ElfError::NoLoadableSegment);
        }
        Ok(image)
    }

    /// The entry point (`e_entry`).
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// The file's class.
    pub fn class(&self) -> ElfClass {
        self.class
    }

    /// The `PT_LOAD` segments with a non-zero size in memory, in header order.
    pub fn segments(&self) -> impl Iterator<Item = ElfSegment> + '_ {
        (0..self.phnum).filter_map(|i| {
            let header = self.header(i).expect("`parse` validated every header");
            header.filter(|s| s.memsz > 0)
        })
    }

    /// The file bytes of `seg` (its first `filesz` bytes in memory), a segment of this image.
    ///
    /// # Panics
    /// If `seg` lies outside the file, which no segment of this image does (`parse` checked).
    pub fn file_bytes(&self, seg: &ElfSegment) -> &'a [u8] {
        let start = usize::try_from(seg.offset).ok();
        let end = seg.offset.checked_add(seg.filesz);
        let end = end.and_then(|end| usize::try_from(end).ok());
        let bytes = start.zip(end).and_then(|(s, e)| self.bytes.get(s..e));
        bytes.expect("a segment of this image lies inside the file")
    }

    /// Program header `i`, validated; `None` if it is not `PT_LOAD`.
    fn header(&self, i: usize) -> Result<Option<ElfSegment>, ElfError> {
        let r = Reader {
            bytes: self.bytes,
            class: self.class,
        };
        let base = self.phoff + i * self.class.phdr_size();
        let field = |off32: usize, off64: usize| match self.class {
            ElfClass::Elf32 => r.word(base + off32),
            ElfClass::Elf64 => r.word(base + off64),
        };
        let outside = ElfError::ProgramHeadersOutsideFile;
        if r.u32(base).ok_or(outside)? != PT_LOAD {
            return Ok(None);
        }
        let flags = match self.class {
            ElfClass::Elf32 => r.u32(base + 24),
            ElfClass::Elf64 => r.u32(base + 4),
        };
        let seg = ElfSegment {
            index: i,
            offset: field(4, 8).ok_or(outside)?,
            vaddr: field(8, 16).ok_or(outside)?,
            filesz: field(16, 32).ok_or(outside)?,
            memsz: field(20, 40).ok_or(outside)?,
            flags: flags.ok_or(outside)?,
        };
        let in_file = seg
            .offset
            .checked_add(seg.filesz)
            .is_some_and(|end| end <= self.bytes.len() as u64);
        if !in_file {
            return Err(ElfError::SegmentOutsideFile(i));
        }
        if seg.memsz < seg.filesz {
            return Err(ElfError::MemSizeBelowFileSize(i));
        }
        // An ELF32 segment must end within the 32-bit space its fields describe.
        let top = match self.class {
            ElfClass::Elf32 => Some(1 << 32),
            ElfClass::Elf64 => None,
        };
        let end = seg.vaddr.checked_add(seg.memsz);
        if end.is_none_or(|end| top.is_some_and(|top| end > top)) {
            return Err(ElfError::SegmentAddressOverflow(i));
        }
        Ok(Some(seg))
    }
}

/// Little-endian field reads that return `None` instead of reading past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    class: ElfClass,
}

impl Reader<'_> {
    fn array<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.bytes.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn u16(&self, at: usize) -> Option<u16> {
        self.array(at).map(u16::from_le_bytes)
    }

    fn u32(&self, at: usize) -> Option<u32> {
        self.array(at).map(u32::from_le_bytes)
    }

    /// An address-sized field: 4 bytes in ELF32, 8 in ELF64.
    fn word(&self, at: usize) -> Option<u64> {
        match self.class {
            ElfClass::Elf32 => self.u32(at).map(u64::from),
            ElfClass::Elf64 => self.array(at).map(u64::from_le_bytes),
        }
    }
}
