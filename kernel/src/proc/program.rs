//! `exec`: a program from the archive, loaded into a new address space with its arguments on
//! the stack, replacing the caller's only once the new one is complete.
//!
//! Everything is checked and built before the old image is touched: a bad pointer, a missing
//! or malformed program, too many or too long arguments, or running out of frames leaves the
//! caller running as it was, with an errno.
//!
//! Its one `unsafe` is the promise that all-zero bytes are a valid [`Args`] (integers only), so
//! the argument buffer is made zeroed in its own frame instead of on the kernel stack.

use super::lifecycle::install;
use super::{Name, ProcRef};
use crate::boot::initrd;
use crate::mem::{self, UserSpace, kalloc, typed::FrameBox};
use abi::{ARG_MAX, Errno, MAX_ARGS, NAME_MAX};
use rvmm::space::user::{ArgVector, ArgsError, Limits, LoadError};

/// A program ready to run: its address space, entry point and argument vector.
pub struct Image {
    /// The new address space.
    pub space: UserSpace,
    /// Where it starts.
    pub entry: usize,
    /// `argc`, `argv` and the initial `sp`.
    pub args: ArgVector,
}

/// The arguments of an `exec`, copied from the caller: the strings back to back with their
/// NULs. At most `ARG_MAX` less the smallest pointer array (one pointer and the NULL) of
/// string bytes; it lives in a frame of its own (4 KiB is too much for a kernel stack).
struct Args {
    bytes: [u8; ARG_MAX - 2 * size_of::<usize>()],
    used: usize,
    count: usize,
}

// SAFETY: integers only: all-zero bytes are an empty argument list.
unsafe impl crate::mem::typed::ZeroIsValid for Args {}

impl Args {
    /// The arguments, in order.
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.bytes[..self.used].split(|&b| b == 0).take(self.count)
    }

    /// Copies the NULL-terminated array of string pointers at `argv` from `space`.
    fn copy_from(&mut self, space: &UserSpace, argv: usize) -> Result<(), Errno> {
        let word = size_of::<usize>();
        for i in 0..=MAX_ARGS {
            let at = argv.checked_add(i * word).ok_or(Errno::EFAULT)?;
            let mut raw = [0; size_of::<usize>()];
            space.copy_in(at, &mut raw).map_err(|_| Errno::EFAULT)?;
            let ptr = usize::from_le_bytes(raw);
            if ptr == 0 {
                return Ok(());
            }
            if i == MAX_ARGS {
                return Err(Errno::E2BIG);
            }
            // Room for this string: what the pointer array (this one, the rest so far, the
            // final NULL) leaves of ARG_MAX.
            let room = ARG_MAX
                .checked_sub(self.used + (i + 2) * word)
                .ok_or(Errno::E2BIG)?;
            let buf = &mut self.bytes[self.used..self.used + room];
            let len = space.copy_in_str(ptr, buf).map_err(|e| match e {
                rvmm::space::user::CopyError::NoNul { .. } => Errno::E2BIG,
                _ => Errno::EFAULT,
            })?;
            self.used += len + 1;
            self.count = i + 1;
        }
        Ok(())
    }
}

/// `exec(name, argv)` for `p`; on success `p` runs the new program from its entry when it
/// returns to user mode.
pub fn exec(p: ProcRef, name: usize, argv: usize) -> Result<(), Errno> {
    let mut program = [0u8; NAME_MAX + 1];
    let mut args = FrameBox::<Args>::new_zeroed().map_err(|_| Errno::ENOMEM)?;
    let len = {
        let space = p.space.lock();
        let space = space
            .as_ref()
            .expect("a running process has an address space");
        let len = space.copy_in_str(name, &mut program).map_err(|e| match e {
            rvmm::space::user::CopyError::NoNul { .. } => Errno::ENAMETOOLONG,
            _ => Errno::EFAULT,
        })?;
        args.copy_from(space, argv)?;
        len
    };
    let program = &program[..len];
    let mut list: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    for (slot, arg) in list.iter_mut().zip(args.iter()) {
        *slot = arg;
    }
    let image = load_named(program, &list[..args.count])?;
    if let Some(old) = install(p, image) {
        let mut frames = kalloc::for_space(&old);
        old.destroy(&mut frames);
    }
    p.status.lock().name = Name::new(program);
    Ok(())
}

/// Loads `argv[0]` with `argv`.
pub fn load(argv: &[&[u8]]) -> Result<Image, Errno> {
    load_named(argv.first().copied().unwrap_or_default(), argv)
}

/// Loads program `name` from the archive into a new address space with `argv` on its stack.
fn load_named(name: &[u8], argv: &[&[u8]]) -> Result<Image, Errno> {
    let elf = initrd::find(name)?;
    let mut frames = mem::frames();
    let mut space = UserSpace::new(
        mem::phys(),
        mem::trampoline(),
        Limits::default(),
        &mut frames,
    )
    .map_err(|_| Errno::ENOMEM)?;
    let entry = match space.load_elf(elf, &mut frames) {
        Ok(entry) => entry,
        Err(e) => {
            space.destroy(&mut frames);
            return Err(match e {
                LoadError::OutOfMemory => Errno::ENOMEM,
                _ => Errno::ENOEXEC,
            });
        }
    };
    match space.push_args(argv, &mut frames) {
        Ok(args) => Ok(Image {
            space,
            entry: entry.as_usize(),
            args,
        }),
        Err(e) => {
            space.destroy(&mut frames);
            Err(match e {
                ArgsError::OutOfMemory => Errno::ENOMEM,
                ArgsError::Nul { .. } | ArgsError::TooLarge { .. } => Errno::E2BIG,
            })
        }
    }
}
