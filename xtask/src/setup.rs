//! Prerequisites, installed when missing.
//!
//! A fresh machine has the pinned toolchain (`rust-toolchain.toml`) but `RUSTUP_AUTO_INSTALL=0`,
//! so nothing appears by itself: the riscv targets, rustfmt/clippy, the nightly toolchain with
//! Miri and (as root, with apt-get) QEMU are added here. `rustup component add` and `rustup
//! target add` do nothing, without the network, for what is installed already, so they simply
//! run every time. Every failure names the command that installs what is missing.

use std::fmt;
use std::path::Path;

use crate::process::Cmd;
use crate::qemu::Arch;

/// The bare-metal targets the library and the kernel are built for.
pub const RISCV_TARGETS: [&str; 2] = [Arch::Rv64.target(), Arch::Rv32.target()];

/// The toolchain Miri runs on; `cargo +nightly` overrides the pin in `rust-toolchain.toml`.
pub const MIRI_TOOLCHAIN: &str = "nightly";

/// The Debian package with both QEMUs.
const QEMU_PACKAGE: &str = "qemu-system-misc";

/// A prerequisite that is missing and could not be installed.
#[derive(Debug, PartialEq, Eq)]
pub struct SetupError {
    what: String,
    fix: String,
    detail: String,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let SetupError { what, fix, detail } = self;
        write!(
            f,
            "missing prerequisite: {what}\n  cause: {detail}\n  install it with: {fix}"
        )
    }
}

/// Runs `cmd` (installing `what`), or says that `fix` installs it.
fn install(root: &Path, what: &str, cmd: &Cmd, fix: &str) -> Result<(), SetupError> {
    let (what, fix) = (what.to_string(), fix.to_string());
    cmd.run(root)
        .map_err(|detail| SetupError { what, fix, detail })
}

/// Everything `cargo xtask test` needs.
pub fn ensure_all(root: &Path) -> Result<(), SetupError> {
    ensure_pinned_toolchain(root)?;
    ensure_miri(root)?;
    Arch::ALL
        .into_iter()
        .try_for_each(|arch| ensure_qemu(root, arch))
}

/// The riscv targets and the rustfmt/clippy components of the pinned toolchain (the one rustup
/// picks in the workspace root).
pub fn ensure_pinned_toolchain(root: &Path) -> Result<(), SetupError> {
    let components = Cmd::new("rustup", ["component", "add", "rustfmt", "clippy"]);
    install(
        root,
        "rustfmt and clippy",
        &components,
        &components.display(),
    )?;
    let targets = Cmd::new("rustup", ["target", "add"]).args(RISCV_TARGETS);
    install(root, "the riscv targets", &targets, &targets.display())
}

/// The nightly toolchain with Miri and rust-src, and Miri's sysroot.
pub fn ensure_miri(root: &Path) -> Result<(), SetupError> {
    let what = format!("the {MIRI_TOOLCHAIN} toolchain with the miri and rust-src components");
    let options = "--profile minimal --component miri --component rust-src";
    let setup = Cmd::cargo(&format!("+{MIRI_TOOLCHAIN} miri setup"));
    let fix = format!(
        "rustup toolchain install {MIRI_TOOLCHAIN} {options} && {}",
        setup.display()
    );
    let add = Cmd::new(
        "rustup",
        ["component", "add", "--toolchain", MIRI_TOOLCHAIN],
    );
    if !add.args(["miri", "rust-src"]).succeeds_quietly(root) {
        // No nightly yet. --allow-downgrade: a nightly whose Miri did not build; take the
        // newest one that has it.
        println!("xtask: installing the {MIRI_TOOLCHAIN} toolchain with Miri");
        let toolchain = format!("toolchain install {MIRI_TOOLCHAIN} {options} --allow-downgrade");
        let toolchain = Cmd::new("rustup", toolchain.split(' '));
        install(root, &what, &toolchain, &fix)?;
    }
    // Builds Miri's sysroot once; a no-op taking well under a second afterwards.
    install(root, &what, &setup, &fix)
}

/// QEMU for `arch`, installed with apt-get when missing and we are root.
pub fn ensure_qemu(root: &Path, arch: Arch) -> Result<(), SetupError> {
    let found = || Cmd::new(arch.qemu(), ["--version"]).succeeds_quietly(root);
    if found() {
        return Ok(());
    }
    let what = format!("{} (Debian package {QEMU_PACKAGE})", arch.qemu());
    let fix = format!("apt-get install {QEMU_PACKAGE}   (as root)");
    let error = |detail: &str| {
        let (what, fix, detail) = (what.clone(), fix.clone(), detail.to_string());
        Err(SetupError { what, fix, detail })
    };
    if !rustix::process::getuid().is_root() {
        return error("not installed, and we are not root");
    }
    println!("xtask: installing {QEMU_PACKAGE} with apt-get");
    let apt = |args: &str| {
        let cmd = Cmd::new("apt-get", args.split(' '));
        let noninteractive = [("DEBIAN_FRONTEND".into(), "noninteractive".into())];
        Cmd {
            env: noninteractive.into(),
            ..cmd
        }
        .run(root)
        .is_ok()
    };
    let get = format!("install -y --no-install-recommends {QEMU_PACKAGE}");
    // A fresh machine may have no package lists yet.
    let installed = apt(&get) || (apt("update") && apt(&get));
    match (installed, found()) {
        (true, true) => Ok(()),
        (true, false) => error("still not found after apt-get install"),
        (false, _) => error("apt-get install failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_what_is_missing_and_the_install_command() {
        let missing = Cmd::new("/nonexistent/xtask-probe", ["x"]);
        let error = install(Path::new("."), "a probe", &missing, "apt-get install probe");
        let text = error.expect_err("cannot run").to_string();
        let cause = "cause: `/nonexistent/xtask-probe x` could not start";
        assert!(
            text.starts_with(&format!("missing prerequisite: a probe\n  {cause}")),
            "{text}"
        );
        assert!(
            text.ends_with("\n  install it with: apt-get install probe"),
            "{text}"
        );
        assert_eq!(
            install(Path::new("."), "-", &Cmd::new("true", [""; 0]), "-"),
            Ok(())
        );
    }
}
