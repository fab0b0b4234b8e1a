//! The program archive: a cpio (newc) file that QEMU loads with `-initrd` and names in the
//! device tree's `/chosen`. `exec` finds programs in it by name, so a program can be added
//! without rebuilding the kernel.
//!
//! The archive stays where QEMU put it: kalloc never hands out its frames (it is a reserved
//! range) and the kernel map maps it read-only. Parsing is `cpio_reader`'s, which checks every
//! header and stops at the first bad one; a corrupt archive therefore reads as one without the
//! program, and `exec` returns `ENOENT`, or the ELF checks refuse what was found (`ENOEXEC`).
//!
//! `cpio_reader` adds up every byte of each entry it parses (a checksum, computed even for the
//! newc format, which carries none): about 2.5 instructions per byte. So the archive is walked
//! once, lazily: a lookup goes on from where the last one stopped, and every entry it passes is
//! remembered in a small index, so each program's bytes are summed at most once per boot
//! instead of on every `exec` of every program behind it.
//!
//! Its one `unsafe` makes the archive's RAM a `&'static [u8]`: only boot knows that range is
//! reserved from kalloc and never written, so `init` is `unsafe` and boot vouches for it.

use crate::sync::{Mutex, Once};
use abi::Errno;
use rvmm::addr::PhysRange;

/// The archive's bytes, once boot found it.
static ARCHIVE: Once<&'static [u8]> = Once::new();

/// Entries the index remembers; an archive with more is walked from the last remembered one
/// for the others (correct, only slower).
const INDEXED: usize = 64;

/// The entries seen so far, in archive order, and where the walk stopped.
struct Index {
    entries: [(&'static str, &'static [u8]); INDEXED],
    len: usize,
    /// The part of the archive not walked yet.
    rest: &'static [u8],
}

static INDEX: Mutex<Index> = Mutex::new(Index {
    entries: [("", &[]); INDEXED],
    len: 0,
    rest: &[],
});

/// Remembers the archive at `range` (from the device tree).
///
/// # Safety
/// `range` must be RAM that stays mapped and unchanged for the kernel's lifetime: reserved from
/// kalloc, never written.
pub unsafe fn init(range: PhysRange) {
    let start = core::ptr::with_exposed_provenance::<u8>(range.start().as_u64() as usize);
    // SAFETY: by the caller's contract the bytes are readable and never change.
    let bytes = unsafe { core::slice::from_raw_parts(start, range.len() as usize) };
    if ARCHIVE.set(bytes).is_ok() {
        INDEX.lock().rest = bytes;
    }
}

/// The archive (empty when QEMU was given none).
pub fn archive() -> &'static [u8] {
    ARCHIVE.get().copied().unwrap_or_default()
}

/// The bytes of program `name` (a path in the archive; a leading `/` is ignored).
pub fn find(name: &[u8]) -> Result<&'static [u8], Errno> {
    let name = name.strip_prefix(b"/").unwrap_or(name);
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut index = INDEX.lock();
    let known = index.entries[..index.len].iter();
    if let Some((_, file)) = known.into_iter().find(|(n, _)| n.as_bytes() == name) {
        return Ok(file);
    }
    let mut rest = index.rest;
    while let Some(entry) = cpio_reader::iter_files(rest).next() {
        rest = after(rest, entry.file());
        let found = (entry.name(), entry.file());
        if index.len < INDEXED {
            let at = index.len;
            index.entries[at] = found;
            index.len += 1;
            index.rest = rest;
        }
        if found.0.as_bytes() == name {
            return Ok(found.1);
        }
    }
    Err(Errno::ENOENT)
}

/// What follows the entry whose file is `file` (a part of `rest`): its end, padded to 4 bytes
/// as newc pads every entry.
fn after(rest: &'static [u8], file: &'static [u8]) -> &'static [u8] {
    // `file` is a slice of `rest` (the parser lends parts of what it is given), so its end is
    // an offset into `rest`.
    let end = file.as_ptr().addr() + file.len() - rest.as_ptr().addr();
    rest.get(end.next_multiple_of(4)..).unwrap_or_default()
}

/// The names of the programs in the archive.
pub fn names() -> impl Iterator<Item = &'static str> {
    cpio_reader::iter_files(archive()).map(|entry| entry.name())
}
