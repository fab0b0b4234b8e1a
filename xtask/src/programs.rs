//! User programs: built for a kernel's width and packed into the cpio (newc) archive QEMU loads
//! with `-initrd`, where the kernel's `exec` finds them by name.
//!
//! `user/` is its own Cargo workspace, like `kernel/`: it builds only for the bare-metal
//! targets. Every `[[bin]]` of it (a file `user/src/bin/NAME.rs` or a directory
//! `user/src/bin/NAME/`) becomes the archive entry `NAME`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::process::Cmd;
use crate::qemu::Arch;

/// Where user builds and archives go: beside the kernel's, under `target/user`.
fn target_dir(root: &Path) -> PathBuf {
    crate::qemu::build_root(root).join("user")
}

/// `cargo SUBCOMMAND --release --manifest-path user/Cargo.toml --target T --target-dir D`.
pub fn cargo(root: &Path, subcommand: &str, arch: Arch) -> Cmd {
    let manifest = root.join("user").join("Cargo.toml");
    Cmd::new("cargo", [subcommand, "--release", "--manifest-path"])
        .args([manifest.into_os_string()])
        .args(["--target", arch.target(), "--target-dir"])
        .args([target_dir(root).into_os_string()])
}

/// The programs' names: every file or directory in `user/src/bin`, sorted.
pub fn names(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("user").join("src").join("bin");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_str()?.to_string();
            (path.is_dir() || path.extension().is_some_and(|x| x == "rs")).then_some(name)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The archive of `arch`'s programs, as [`pack`] writes it.
pub fn archive_path(root: &Path, arch: Arch) -> PathBuf {
    target_dir(root).join(format!("programs-{}.cpio", arch.name()))
}

/// Packs the programs `cargo build --release` left for `arch` into the archive; returns its
/// path. Fails, naming it, when a program was not built.
pub fn pack(root: &Path, arch: Arch) -> Result<PathBuf, String> {
    let release = target_dir(root).join(arch.target()).join("release");
    let files = boot_order(names(root)?)
        .into_iter()
        .map(|name| {
            let path = release.join(&name);
            fs::read(&path)
                .map(|bytes| (name, bytes))
                .map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let out = archive_path(root, arch);
    let bytes = newc(&files).map_err(|e| format!("packing the archive: {e}"))?;
    fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// The programs the boot runs first (`init`, then its shell) come first in the archive, then
/// the rest by name: the kernel's parser (`cpio_reader`) adds up every byte of each entry it
/// steps over on the way to a name (a checksum the newc format does not even carry), about 2.5
/// instructions per byte, so `init` behind 270 KiB of other programs cost the boot 0.7 million
/// instructions.
fn boot_order(mut names: Vec<String>) -> Vec<String> {
    let rank = |name: &str| ["init", "sh"].iter().position(|n| *n == name);
    names.sort_by_key(|n| (rank(n).unwrap_or(usize::MAX), n.clone()));
    names
}

/// A newc archive of `files` (name, contents), executable regular files.
fn newc(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let entries = files.iter().map(|(name, bytes)| {
        let entry = cpio::NewcBuilder::new(name).mode(0o100_755).nlink(1);
        (entry, std::io::Cursor::new(bytes.as_slice()))
    });
    cpio::write_cpio(entries, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_parser_finds_every_packed_program() {
        let files = vec![
            ("init".to_string(), b"\x7fELF init".to_vec()),
            ("sh".to_string(), vec![7u8; 4099]),
            ("memtests".to_string(), Vec::new()),
        ];
        let archive = newc(&files).unwrap();
        let read: Vec<(String, Vec<u8>)> = cpio_reader::iter_files(&archive)
            .map(|e| (e.name().to_string(), e.file().to_vec()))
            .collect();
        assert_eq!(read, files);
    }

    #[test]
    fn init_and_the_shell_come_first_then_the_rest_by_name() {
        let names = ["cat", "sh", "bench", "init", "vmmap"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            boot_order(names),
            ["init", "sh", "bench", "cat", "vmmap"].map(String::from)
        );
    }

    #[test]
    fn every_program_of_the_repository_is_named() {
        let root = crate::workspace_root();
        let names = names(root).unwrap();
        for expected in ["init", "sh", "hello", "bench"] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} in {names:?}"
            );
        }
        assert!(names.windows(2).all(|w| w[0] < w[1]));
    }
}
