//! `exec`: errors return to an unchanged caller; the most arguments the kernel allows arrive
//! intact; the old image's memory is released by the exec, not only at exit.

use crate::util::{self, Failed, Map, Outcome, PAGE, brk};
use abi::{ARG_MAX, Errno, ExitStatus, MAX_ARGS, NAME_MAX};
use core::mem::size_of;
use user::alloc::{vec, vec::Vec};
use user::raw::BreakBytes;
use user::sys::{self, exec_raw};

/// The program itself, which the exec tests run again in a checking mode.
const SELF: &str = "memtests";

/// A NULL-terminated argument vector over NUL-terminated strings, for `exec_raw`.
struct ArgVec {
    strings: Vec<Vec<u8>>,
    pointers: Vec<*const u8>,
}

impl ArgVec {
    fn new(args: &[&[u8]]) -> ArgVec {
        let strings: Vec<Vec<u8>> = args
            .iter()
            .map(|a| {
                let mut s = a.to_vec();
                s.push(0);
                s
            })
            .collect();
        let mut pointers: Vec<*const u8> = strings.iter().map(|s| s.as_ptr()).collect();
        pointers.push(core::ptr::null());
        ArgVec { strings, pointers }
    }

    /// Bytes the kernel counts against `ARG_MAX`: strings with NULs and the pointer array.
    fn size(&self) -> usize {
        self.strings.iter().map(Vec::len).sum::<usize>() + self.pointers.len() * size_of::<usize>()
    }

    /// `exec(name, self)` with the strings copied back to back from 37 bytes before a page
    /// boundary (so several straddle two pages) and the pointer array straddling another.
    fn exec_across_pages(&self, name: &[u8]) -> Errno {
        let word = size_of::<usize>();
        let total: usize = self.strings.iter().map(Vec::len).sum();
        let mut area = vec![0u8; total + 5 * PAGE];
        let base = area.as_mut_ptr() as usize;
        let mut at = util::page_up(base) + PAGE - 37;
        let mut pointers = Vec::with_capacity(self.strings.len() + 1);
        for string in &self.strings {
            let offset = at - base;
            area[offset..offset + string.len()].copy_from_slice(string);
            pointers.push(at);
            at += string.len();
        }
        pointers.push(0);
        let array = util::page_up(at) + PAGE - 3 * word;
        for (i, p) in pointers.iter().enumerate() {
            let offset = array - base + i * word;
            area[offset..offset + word].copy_from_slice(&p.to_le_bytes());
        }
        let mut n = [0u8; 64];
        n[..name.len()].copy_from_slice(name);
        exec_raw(n.as_ptr(), array as *const *const u8)
    }

    /// `exec(name, self)`; allocates nothing, so a failure leaves the break where it was.
    fn exec(&self, name: &[u8]) -> Errno {
        let mut n = [0u8; 64];
        n[..name.len()].copy_from_slice(name);
        exec_raw(n.as_ptr(), self.pointers.as_ptr())
    }
}

/// Length of each of the 30 filler arguments of the largest argument vector: `memtests`,
/// `--args` and 30 arguments of this length fill `ARG_MAX` to within a pointer.
fn filler_len() -> usize {
    let fixed = SELF.len() + 1 + "--args".len() + 1 + (MAX_ARGS + 1) * size_of::<usize>();
    (ARG_MAX - fixed) / (MAX_ARGS - 2) - 1
}

/// Filler argument `i`: a letter repeated.
fn filler(i: usize, len: usize) -> Vec<u8> {
    core::iter::repeat_n(b'a' + (i % 26) as u8, len).collect()
}

/// The largest argument vector the kernel takes, with `extra` more bytes in its last argument.
fn largest(extra: usize) -> ArgVec {
    let len = filler_len();
    let mut fillers: Vec<Vec<u8>> = (2..MAX_ARGS).map(|i| filler(i, len)).collect();
    if let Some(last) = fillers.last_mut() {
        last.extend(core::iter::repeat_n(b'z', extra));
    }
    let mut args: Vec<&[u8]> = Vec::from([SELF.as_bytes(), b"--args".as_slice()]);
    args.extend(fillers.iter().map(Vec::as_slice));
    ArgVec::new(&args)
}

pub fn errors(_map: &Map) -> Outcome {
    let marker: Vec<u32> = (0..4096).collect();
    let one = ArgVec::new(&[b"x"]);
    let long = [b'm'; NAME_MAX + 1];
    let fits = largest(0);
    let over = largest(ARG_MAX - fits.size() + 1);
    let a: &[u8] = b"a";
    let too_many = ArgVec::new(&[a; MAX_ARGS + 1]);
    let huge = ArgVec::new(&[SELF.as_bytes(), &[b'h'; 3 * PAGE]]);
    let b = brk();
    expect_eq!(
        one.exec(b"no-such-program"),
        Errno::ENOENT,
        "exec of an unknown program"
    );
    expect_eq!(one.exec(b""), Errno::ENOENT, "exec of an empty name");
    expect_eq!(
        one.exec(&long),
        Errno::ENAMETOOLONG,
        "exec of a {}-byte name",
        NAME_MAX + 1
    );
    ensure!(fits.size() <= ARG_MAX, "largest() is {} bytes", fits.size());
    expect_eq!(
        over.size(),
        ARG_MAX + 1,
        "size of the vector one byte too large"
    );
    expect_eq!(
        over.exec(SELF.as_bytes()),
        Errno::E2BIG,
        "exec with argv one byte over ARG_MAX"
    );
    expect_eq!(
        too_many.exec(SELF.as_bytes()),
        Errno::E2BIG,
        "exec with {} args",
        MAX_ARGS + 1
    );
    expect_eq!(
        huge.exec(SELF.as_bytes()),
        Errno::E2BIG,
        "exec with a 12 KiB argument"
    );
    // The caller is unchanged.
    ensure!(
        marker.iter().enumerate().all(|(i, &x)| x == i as u32),
        "heap changed by exec"
    );
    expect_eq!(brk(), b, "break after the failed execs");
    Ok(())
}

pub fn most_arguments(_map: &Map) -> Outcome {
    let argv = largest(0);
    for across_pages in [false, true] {
        let child = util::spawn(|| {
            let e = if across_pages {
                argv.exec_across_pages(SELF.as_bytes())
            } else {
                argv.exec(SELF.as_bytes())
            };
            ensure!(
                false,
                "exec of the largest argv ({} bytes): {e}",
                argv.size()
            );
            Ok(())
        })
        .map_err(|_| Failed)?;
        let status = util::wait_for(child)?;
        let what = if across_pages {
            ", laid across pages"
        } else {
            ""
        };
        expect_eq!(
            status,
            ExitStatus::exited(0),
            "status of `memtests --args`{what}"
        );
    }
    Ok(())
}

/// `memtests --args ...`: whether the arguments are what [`largest`] passed.
pub fn check_args(args: &user::Args) -> i32 {
    let len = filler_len();
    if args.len() != MAX_ARGS {
        user::println!("  --args: {} arguments, expected {MAX_ARGS}", args.len());
        return 1;
    }
    for i in 2..MAX_ARGS {
        let got = args.bytes(i).unwrap_or_default();
        if got.len() != len || got.iter().any(|&c| c != b'a' + (i % 26) as u8) {
            user::println!(
                "  --args: argument {i} is {} bytes, not {len} of one letter",
                got.len()
            );
            return 1;
        }
    }
    0
}

pub fn releases_old_image(_map: &Map) -> Outcome {
    let child = util::spawn(|| {
        let bytes = 16 << 20;
        let mut grown = BreakBytes::grow(bytes).map_err(|_| Failed)?;
        grown.bytes_mut().fill(0x99);
        let free = util::free_frames();
        let mut digits = [0u8; 20];
        let text = user::decimal(free, &mut digits);
        let e = sys::exec(SELF, &[SELF, "--after-exec", text]);
        ensure!(false, "exec: {e}");
        Ok(())
    })
    .map_err(|_| Failed)?;
    expect_eq!(
        util::wait_for(child)?,
        ExitStatus::exited(0),
        "status of `memtests --after-exec`"
    );
    Ok(())
}

/// `memtests --after-exec FREE`: whether the exec that started this image gave back the
/// 16 MiB heap of the old one, which saw `FREE` free frames.
pub fn after_exec(args: &user::Args) -> i32 {
    let Some(before) = args.get(2).and_then(|s| s.parse::<u64>().ok()) else {
        user::println!("  --after-exec: no frame count");
        return 1;
    };
    let now = util::free_frames();
    let heap_pages = (16 << 20) / PAGE as u64;
    // Slack for the pages the two images differ in besides the heap (stacks, tables).
    if now + 64 < before + heap_pages {
        user::println!(
            "  --after-exec: {now} frames free, {before} before the exec: the old 16 MiB heap \
             ({heap_pages} pages) was not all given back"
        );
        return 1;
    }
    0
}
