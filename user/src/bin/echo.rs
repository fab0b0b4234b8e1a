//! `echo WORD...`: prints its arguments, separated by spaces.
#![no_std]
#![no_main]

user::entry!(main);

fn main(args: &user::Args) -> i32 {
    let mut out = user::Stdout::new(abi::fd::STDOUT);
    for (i, word) in args.iter().skip(1).enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = core::fmt::Write::write_fmt(&mut out, format_args!("{sep}{word}"));
    }
    let _ = core::fmt::Write::write_str(&mut out, "\n");
    out.flush();
    0
}
