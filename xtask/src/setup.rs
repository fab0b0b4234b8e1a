//! Prerequisites: checked first, installed through rustup only when missing.
//!
//! A fresh machine has the pinned toolchain (`rust-toolchain.toml`) but `RUSTUP_AUTO_INSTALL=0`,
//! so nothing appears by itself: the riscv targets, rustfmt/clippy and the nightly toolchain with
//! Miri are added here. Every failure names the command that installs what is missing.

use std::fmt;
use std::path::Path;

use crate::process::{self, Cmd};

/// The bare-metal targets the library (and later the kernel) is built for.
pub const RISCV_TARGETS: [&str; 2] = [
    "riscv64imac-unknown-none-elf",
    "riscv32imac-unknown-none-elf",
];

/// Components of the pinned toolchain that the checks use.
const PINNED_COMPONENTS: [&str; 2] = ["rustfmt", "clippy"];

/// The toolchain Miri runs on; `cargo +nightly` overrides the pin in `rust-toolchain.toml`.
pub const MIRI_TOOLCHAIN: &str = "nightly";

/// Components Miri needs: itself, and the standard library's source for its sysroot.
const MIRI_COMPONENTS: [&str; 2] = ["miri", "rust-src"];

/// A prerequisite that is missing and could not be installed.
#[derive(Debug)]
pub struct SetupError {
    /// What is missing.
    pub what: String,
    /// The command that installs it.
    pub fix: String,
    /// What went wrong when we tried.
    pub detail: String,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "missing prerequisite: {}\n  cause: {}\n  install it with: {}",
            self.what, self.detail, self.fix
        )
    }
}

/// Everything `cargo xtask test` needs.
pub fn ensure_all(root: &Path) -> Result<(), SetupError> {
    ensure_pinned_toolchain(root)?;
    ensure_miri(root)
}

/// The riscv targets and the rustfmt/clippy components of the pinned toolchain.
pub fn ensure_pinned_toolchain(root: &Path) -> Result<(), SetupError> {
    let toolchain = active_toolchain(root)?;
    ensure_components(root, &toolchain, &PINNED_COMPONENTS)?;
    ensure_targets(root, &toolchain, &RISCV_TARGETS)
}

/// Adds `targets` to `toolchain` unless all are installed already.
pub fn ensure_targets(root: &Path, toolchain: &str, targets: &[&str]) -> Result<(), SetupError> {
    let fix = format!(
        "rustup target add --toolchain {toolchain} {}",
        targets.join(" ")
    );
    let what = format!("rustup targets {} for {toolchain}", targets.join(", "));
    let listing = rustup_list(
        root,
        ["target", "list", "--installed", "--toolchain", toolchain],
    )
    .map_err(|detail| error(&what, &fix, detail))?;
    let missing = missing(&listing, targets);
    if missing.is_empty() {
        println!(
            "xtask: targets present for {toolchain}: {}",
            targets.join(", ")
        );
        return Ok(());
    }
    println!(
        "xtask: installing rustup targets for {toolchain}: {}",
        missing.join(", ")
    );
    let add = Cmd::new("rustup", ["target", "add", "--toolchain", toolchain]).args(&missing);
    install(root, &add).map_err(|detail| error(&what, &fix, detail))
}

/// Adds `components` to `toolchain` unless all are installed already.
fn ensure_components(root: &Path, toolchain: &str, components: &[&str]) -> Result<(), SetupError> {
    let fix = format!(
        "rustup component add --toolchain {toolchain} {}",
        components.join(" ")
    );
    let what = format!("components {} of {toolchain}", components.join(", "));
    let listing = rustup_list(
        root,
        ["component", "list", "--installed", "--toolchain", toolchain],
    )
    .map_err(|detail| error(&what, &fix, detail))?;
    let missing = missing(&listing, components);
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "xtask: installing components of {toolchain}: {}",
        missing.join(", ")
    );
    let add = Cmd::new("rustup", ["component", "add", "--toolchain", toolchain]).args(&missing);
    install(root, &add).map_err(|detail| error(&what, &fix, detail))
}

/// The nightly toolchain with Miri and rust-src, and Miri's sysroot.
pub fn ensure_miri(root: &Path) -> Result<(), SetupError> {
    let what = format!("the {MIRI_TOOLCHAIN} toolchain with the miri and rust-src components");
    let fix = format!(
        "rustup toolchain install {MIRI_TOOLCHAIN} --component miri --component rust-src \
         && cargo +{MIRI_TOOLCHAIN} miri setup"
    );
    let listing = rustup_list(
        root,
        [
            "component",
            "list",
            "--installed",
            "--toolchain",
            MIRI_TOOLCHAIN,
        ],
    );
    match listing {
        // No nightly at all (rustup fails to list components of a toolchain it lacks).
        Err(_) => {
            println!("xtask: installing the {MIRI_TOOLCHAIN} toolchain with Miri");
            let mut install_cmd = Cmd::new(
                "rustup",
                [
                    "toolchain",
                    "install",
                    MIRI_TOOLCHAIN,
                    "--profile",
                    "minimal",
                ],
            );
            for component in MIRI_COMPONENTS {
                install_cmd = install_cmd.args(["--component", component]);
            }
            // A nightly whose Miri did not build: take the newest one that has it.
            install_cmd = install_cmd.args(["--allow-downgrade"]);
            install(root, &install_cmd).map_err(|detail| error(&what, &fix, detail))?;
        }
        Ok(listing) => {
            let missing = missing(&listing, &MIRI_COMPONENTS);
            if !missing.is_empty() {
                println!("xtask: adding to {MIRI_TOOLCHAIN}: {}", missing.join(", "));
                let add = Cmd::new(
                    "rustup",
                    ["component", "add", "--toolchain", MIRI_TOOLCHAIN],
                )
                .args(&missing);
                install(root, &add).map_err(|detail| error(&what, &fix, detail))?;
            }
        }
    }
    // Builds Miri's sysroot once; a no-op taking well under a second afterwards.
    let setup = Cmd::cargo([format!("+{MIRI_TOOLCHAIN}"), "miri".into(), "setup".into()]);
    install(root, &setup).map_err(|detail| error(&what, &fix, detail))?;
    Ok(())
}

/// The toolchain rustup resolves in the workspace root (the pin, unless overridden).
fn active_toolchain(root: &Path) -> Result<String, SetupError> {
    let fix = "rustup toolchain install   (run in the repository root: installs the pinned one)";
    let what = "the toolchain pinned in rust-toolchain.toml";
    let shown = rustup_list(root, ["show", "active-toolchain"])
        .map_err(|detail| error(what, fix, detail))?;
    shown
        .split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| {
            error(
                what,
                fix,
                "`rustup show active-toolchain` printed nothing".into(),
            )
        })
}

/// Runs a read-only rustup command and returns what it printed.
fn rustup_list<const N: usize>(root: &Path, args: [&str; N]) -> Result<String, String> {
    process::capture(&Cmd::new("rustup", args), root).map_err(|e| e.to_string())
}

/// Runs an installing command with its output visible.
fn install(root: &Path, cmd: &Cmd) -> Result<(), String> {
    match process::run_inherited(cmd, root) {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{}` failed ({status})", cmd.display())),
        Err(e) => Err(format!("`{}` could not start: {e}", cmd.display())),
    }
}

fn error(what: &str, fix: &str, detail: String) -> SetupError {
    SetupError {
        what: what.to_string(),
        fix: fix.to_string(),
        detail,
    }
}

/// The names in `wanted` that `listing` (one `rustup ... list --installed` line each) lacks.
///
/// Components are listed with their host triple (`miri-x86_64-unknown-linux-gnu`) or without
/// one (`rust-src`), so a name matches a line equal to it or starting with `name-`.
fn missing<'a>(listing: &str, wanted: &[&'a str]) -> Vec<&'a str> {
    wanted
        .iter()
        .copied()
        .filter(|name| {
            !listing.lines().map(str::trim).any(|line| {
                line == *name
                    || line
                        .strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with('-'))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIGHTLY_COMPONENTS: &str = "\
cargo-x86_64-unknown-linux-gnu
clippy-x86_64-unknown-linux-gnu
miri-x86_64-unknown-linux-gnu
rust-docs-x86_64-unknown-linux-gnu
rust-src
rust-std-x86_64-unknown-linux-gnu
rustc-x86_64-unknown-linux-gnu
";

    #[test]
    fn finds_components_with_and_without_a_host_triple() {
        assert!(missing(NIGHTLY_COMPONENTS, &MIRI_COMPONENTS).is_empty());
        assert!(missing(NIGHTLY_COMPONENTS, &["clippy"]).is_empty());
    }

    #[test]
    fn reports_what_is_missing_without_prefix_confusion() {
        let without_miri = NIGHTLY_COMPONENTS.replace("miri-x86_64-unknown-linux-gnu\n", "");
        assert_eq!(missing(&without_miri, &MIRI_COMPONENTS), ["miri"]);
        // `rustc-...` and `rust-std-...` must not count as `rust` or `rust-s`.
        assert_eq!(missing(NIGHTLY_COMPONENTS, &["rustfmt"]), ["rustfmt"]);
        assert_eq!(
            missing("rust-std-x86_64-unknown-linux-gnu\n", &["rust-src"]),
            ["rust-src"]
        );
    }

    #[test]
    fn finds_installed_targets() {
        let listing = "riscv32imac-unknown-none-elf\nx86_64-unknown-linux-gnu\n";
        assert_eq!(
            missing(listing, &RISCV_TARGETS),
            ["riscv64imac-unknown-none-elf"]
        );
        assert_eq!(missing("", &RISCV_TARGETS), RISCV_TARGETS);
    }

    #[test]
    fn the_error_names_the_install_command() {
        let e = error("x", "rustup target add y", "boom".into());
        let text = e.to_string();
        assert!(text.contains("missing prerequisite: x"));
        assert!(text.contains("install it with: rustup target add y"));
    }
}
