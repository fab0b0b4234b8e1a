//! `cat`: copies console input to output until the end of input (Ctrl-D).
#![no_std]
#![no_main]

use user::sys;

user::entry!(main);

fn main(_args: &user::Args) -> i32 {
    let mut buf = [0u8; 128];
    loop {
        match sys::read(0, &mut buf) {
            Ok(0) => return 0,
            Ok(n) => user::write_all(1, &buf[..n]),
            Err(e) => {
                user::eprintln!("cat: {e}");
                return 1;
            }
        }
    }
}
