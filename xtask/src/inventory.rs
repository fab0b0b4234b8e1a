//! The unsafe inventory: `docs/design.md` names, in a table under `## Unsafe inventory`, every
//! source file that holds `unsafe` code, and no other. This step keeps that list true.
//!
//! In scope: every `.rs` file below a `src/` directory of the repository (the workspace crates,
//! `kernel/`, and `abi/` and `user/` once they exist). Out of scope: integration tests, benches,
//! examples, build scripts, `fuzz/` and anything under `target*/`: they are not shipped code.
//!
//! The scanner is not a Rust lexer. It blanks out comments (`//`, nested `/* */`), string
//! literals (with escapes, raw and byte strings) and character literals, then looks for the
//! word `unsafe` (so `unsafe_code` in a lint name does not count, `#[unsafe(no_mangle)]` does).
//! Its limits: a `'` followed by a character and another `'` is a character literal, otherwise
//! a lifetime; unsafe code produced by a macro counts where the macro is written, not where it
//! is used; assembly (`global_asm!`, `.S` files) is not Rust and is not seen.

use std::collections::BTreeSet;
use std::path::Path;

use crate::summary::Outcome;

/// The file that holds the inventory, relative to the repository root.
const DESIGN: &str = "docs/design.md";

/// The heading of the inventory's section.
const HEADING: &str = "## Unsafe inventory";

/// The step of `cargo xtask test`: the files with unsafe code against the table.
pub fn step(root: &Path) -> Outcome {
    let checked = check(root);
    if let Ok(count) = checked {
        println!("xtask: {count} files with unsafe code, each in {DESIGN}'s inventory");
    }
    Outcome::of(checked.map(drop), None)
}

/// The number of files with unsafe code, or what is wrong.
fn check(root: &Path) -> Result<usize, String> {
    let mut found = BTreeSet::new();
    for file in source_files(root).map_err(|e| format!("could not list the sources: {e}"))? {
        let source = std::fs::read_to_string(root.join(&file));
        if has_unsafe_code(&source.map_err(|e| format!("could not read {file}: {e}"))?) {
            found.insert(file);
        }
    }
    let design = std::fs::read_to_string(root.join(DESIGN)).unwrap_or_default();
    let problems = match listed_files(&design) {
        None => vec![format!("{DESIGN} has no `{HEADING}` section")],
        Some(listed) => {
            let unlisted = found.difference(&listed).cloned().collect::<Vec<_>>();
            let stale = listed.difference(&found).cloned().collect::<Vec<_>>();
            let what = [
                ("unsafe code not in the inventory", unlisted),
                ("in the inventory without unsafe code", stale),
            ];
            let what = what.into_iter().filter(|(_, files)| !files.is_empty());
            what.map(|(what, files)| format!("{what}: {}", files.join(", ")))
                .collect()
        }
    };
    if problems.is_empty() {
        return Ok(found.len());
    }
    println!("xtask: the files with unsafe code, as rows of {DESIGN}'s `{HEADING}` table:");
    found.iter().for_each(|file| println!("| `{file}` | |"));
    Err(problems.join("; "))
}

/// The backticked paths in the first column of the table under [`HEADING`] (up to the next
/// `#` or `##` heading); `None` without that heading.
fn listed_files(design: &str) -> Option<BTreeSet<String>> {
    let mut lines = design.lines().skip_while(|line| line.trim_end() != HEADING);
    lines.next()?;
    let section = lines.take_while(|l| !l.starts_with("# ") && !l.starts_with("## "));
    let first_cells = section.filter_map(|line| line.trim().strip_prefix('|')?.split('|').next());
    let paths = first_cells.filter_map(|cell| cell.trim().strip_prefix('`')?.strip_suffix('`'));
    Some(paths.map(String::from).collect())
}

/// Every `.rs` file in scope (see the module's documentation), relative to `root` with `/`
/// separators.
fn source_files(root: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), String::new(), false)];
    while let Some((dir, relative, in_src)) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{relative}{name}");
            if entry.file_type()?.is_dir() {
                let skipped = name.starts_with('.') || name.starts_with("target") || name == "fuzz";
                if !skipped {
                    dirs.push((entry.path(), format!("{path}/"), in_src || name == "src"));
                }
            } else if in_src && name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Whether `source` holds the keyword `unsafe` outside comments and literals.
fn has_unsafe_code(source: &str) -> bool {
    let code = blank_comments_and_literals(source);
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    code.match_indices("unsafe").any(|(at, word)| {
        !ident(code[..at].chars().next_back()) && !ident(code[at + word.len()..].chars().next())
    })
}

/// `source` with every comment and string or character literal replaced by one space.
fn blank_comments_and_literals(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        let skip = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            block_comment_len(rest)
        } else if let Some(len) = raw_string_len(rest) {
            len
        } else if c == '"' {
            string_len(rest)
        } else if c == '\'' {
            char_literal_len(rest).unwrap_or(0)
        } else {
            0
        };
        if skip == 0 {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            out.push(' ');
            rest = &rest[skip..];
        }
    }
    out
}

/// Length of the (possibly nested) block comment at the start of `text`, or all of it.
fn block_comment_len(text: &str) -> usize {
    let mut depth = 0;
    let mut i = 0;
    while i < text.len() {
        match text.get(i..i + 2) {
            Some("/*") => (depth, i) = (depth + 1, i + 2),
            Some("*/") if depth == 1 => return i + 2,
            Some("*/") => (depth, i) = (depth - 1, i + 2),
            _ => i += text[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    text.len()
}

/// Length of the `"..."` string at the start of `text` (escapes skipped), or all of it.
fn string_len(text: &str) -> usize {
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => drop(chars.next()),
            '"' => return i + 1,
            _ => {}
        }
    }
    text.len()
}

/// Length of the raw string (`r"..."`, `r#"..."#`, `br"..."`) at the start of `text`.
fn raw_string_len(text: &str) -> Option<usize> {
    let after_r = text.strip_prefix("br").or_else(|| text.strip_prefix('r'))?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    let body = after_r[hashes..].strip_prefix('"')?;
    let end = format!("\"{}", "#".repeat(hashes));
    let close = body.find(&end).map_or(body.len(), |at| at + end.len());
    Some(text.len() - body.len() + close)
}

/// Length of the character literal at the start of `text` (`'a'`, `'\n'`, `'\u{1F600}'`);
/// `None` for a lifetime or label (`'a`, `'static`).
fn char_literal_len(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    match chars.next()? {
        (_, '\\') => text.get(3..)?.find('\'').map(|at| at + 4),
        (_, c) => {
            let (at, next) = chars.next()?;
            (next == '\'' && c != '\'').then_some(at + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unsafe_blocks_functions_impls_and_attributes() {
        for code in [
            "fn f() { unsafe { g() } }",
            "pub unsafe fn f() {}",
            "unsafe impl Send for X {}",
            "#[unsafe(no_mangle)]\nextern \"C\" fn f() {}",
            "let x = 'a'; unsafe{ y() }",
            "fn f<'a>(x: &'a u8) { unsafe { g(x) } }",
        ] {
            assert!(has_unsafe_code(code), "{code}");
        }
    }

    #[test]
    fn ignores_unsafe_in_comments_literals_and_longer_words() {
        for code in [
            "// unsafe { here }",
            "/// # Safety: unsafe to call\nfn f() {}",
            "/* outer /* unsafe */ still comment unsafe */ fn f() {}",
            "let s = \"an unsafe string\";",
            "let s = \"quote \\\" unsafe\";",
            "let s = r#\"raw \" unsafe\"#;",
            "let s = br\"unsafe\";",
            "let c = '\"'; let s = \"unsafe\";",
            "let c = '\\''; // unsafe",
            "#![forbid(unsafe_code)]",
            "#![deny(unsafe_op_in_unsafe_fn)]",
            "let not_unsafe = 1;",
        ] {
            assert!(!has_unsafe_code(code), "{code}");
        }
    }

    #[test]
    fn code_after_a_comment_or_literal_is_still_scanned() {
        assert!(has_unsafe_code("/* c */ unsafe { x() }"));
        assert!(has_unsafe_code("let s = \"a\"; unsafe { x() }"));
        assert!(has_unsafe_code("let s = r#\"a\"#; unsafe { x() }"));
        assert!(has_unsafe_code("let c = '\\n';\nunsafe { x() }"));
        assert!(has_unsafe_code("// line\nunsafe { x() }"));
    }

    #[test]
    fn reads_the_first_column_of_the_inventory_table_only() {
        let design = "\
# Design

| file | what |
|---|---|
| `not/in/the/section.rs` | x |

## Unsafe inventory

Some text about `mm/src/text.rs`.

| file | why |
|---|---|
| `mm/src/phys.rs` | frame to pointer: `mm/src/other.rs` |
|`kernel/src/arch/mod.rs`|csr access|

### A subsection does not end it
| `umalloc/src/sbrk.rs` | the break |

## How it is checked
| `after/the/section.rs` | x |
";
        let listed = listed_files(design).expect("has the section");
        let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
        assert_eq!(
            listed,
            [
                "kernel/src/arch/mod.rs",
                "mm/src/phys.rs",
                "umalloc/src/sbrk.rs"
            ]
        );
        assert_eq!(listed_files("# Design\n## Unsafe\n| `a.rs` |"), None);
        assert_eq!(
            listed_files("## Unsafe inventory\n").map(|l| l.len()),
            Some(0)
        );
    }

    /// A fresh directory holding `files` (path, contents).
    fn tree(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (file, contents) in files {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, contents).expect("write");
        }
        root
    }

    #[test]
    fn source_files_are_those_below_src_outside_tests_fuzz_and_targets() {
        let files = [
            "a/src/lib.rs",
            "a/src/deep/mod.rs",
            "a/src/notes.md",
            "a/tests/t.rs",
            "a/build.rs",
            "a/fuzz/src/f.rs",
            "target/debug/src/x.rs",
            "user/prog/src/main.rs",
        ];
        let root = tree("sources", &files.map(|f| (f, "")));
        let found = source_files(&root).expect("listed");
        std::fs::remove_dir_all(&root).expect("cleaned up");
        assert_eq!(
            found,
            ["a/src/deep/mod.rs", "a/src/lib.rs", "user/prog/src/main.rs"]
        );
    }

    #[test]
    fn the_check_names_unlisted_and_stale_files_and_passes_when_they_agree() {
        let table = "## Unsafe inventory\n| file | why |\n|--|--|\n| `a/src/b.rs` | x |\n";
        let files = [
            ("a/src/a.rs", "unsafe fn f() {}"),
            ("a/src/b.rs", "// unsafe\nfn g() {}"),
            ("a/src/c.rs", "unsafe impl Send for X {}"),
            (
                "docs/design.md",
                &table.replace("b.rs` | x |", "b.rs` | x |\n| `a/src/c.rs` |"),
            ),
        ];
        let root = tree("check", &files);
        let wrong = check(&root);
        let agreeing = table.replace("b.rs", "a.rs") + "| `a/src/c.rs` | y |\n";
        std::fs::write(root.join(DESIGN), agreeing).expect("write");
        let right = check(&root);
        std::fs::remove_file(root.join(DESIGN)).expect("removed");
        let missing = check(&root);
        std::fs::remove_dir_all(&root).expect("cleaned up");
        let problems = "unsafe code not in the inventory: a/src/a.rs; \
                        in the inventory without unsafe code: a/src/b.rs";
        assert_eq!(wrong, Err(problems.into()));
        assert_eq!(right, Ok(2));
        assert_eq!(
            missing,
            Err("docs/design.md has no `## Unsafe inventory` section".into())
        );
    }

    #[test]
    fn this_file_and_the_repository_are_scanned_as_expected() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let files = source_files(root).expect("listed");
        assert!(files.iter().any(|f| f == "xtask/src/inventory.rs"));
        assert!(
            !files
                .iter()
                .any(|f| f.starts_with("xtask/src/") && !f.ends_with(".rs"))
        );
        // This file names the keyword only in comments and literals.
        assert!(!has_unsafe_code(include_str!("inventory.rs")));
    }
}
