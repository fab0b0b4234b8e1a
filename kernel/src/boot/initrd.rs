//! The program archive: a cpio (newc) file that QEMU loads with `-initrd` and names in the
//! device tree's `/chosen`. `exec` finds programs in it by name, so a program can be added
//! without rebuilding the kernel.
//!
//! The archive stays where QEMU put it: kalloc never hands out its frames (it is a reserved
//! range) and the kernel map maps it read-only. Parsing is `cpio_reader`'s, which checks every
//! header and stops at the first bad one; a corrupt archive therefore reads as one without the
//! program, and `exec` returns `ENOENT`, or the ELF checks refuse what was found (`ENOEXEC`).
//!
//! Its one `unsafe` makes the archive's RAM a `&'static [u8]`: only boot knows that range is
//! reserved from kalloc and never written, so `init` is `unsafe` and boot vouches for it.

use crate::sync::Once;
use abi::Errno;
use rvmm::addr::PhysRange;

/// The archive's bytes, once boot found it.
static ARCHIVE: Once<&'static [u8]> = Once::new();

/// Remembers the archive at `range` (from the device tree).
///
/// # Safety
/// `range` must be RAM that stays mapped and unchanged for the kernel's lifetime: reserved from
/// kalloc, never written.
pub unsafe fn init(range: PhysRange) {
    let start = core::ptr::with_exposed_provenance::<u8>(range.start().as_u64() as usize);
    // SAFETY: by the caller's contract the bytes are readable and never change.
    let bytes = unsafe { core::slice::from_raw_parts(start, range.len() as usize) };
    let _ = ARCHIVE.set(bytes);
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
    cpio_reader::iter_files(archive())
        .find(|entry| entry.name().as_bytes() == name)
        .map(|entry| entry.file())
        .ok_or(Errno::ENOENT)
}

/// The names of the programs in the archive.
pub fn names() -> impl Iterator<Item = &'static str> {
    cpio_reader::iter_files(archive()).map(|entry| entry.name())
}
