//! In-kernel tests, run when the boot arguments say `test`. Each prints
//! `ktest NAME ... ok` or `ktest NAME ... FAILED`, then a summary line
//! `ktest result: N passed, M failed`; QEMU then exits 0 when all passed, else with
//! [`Code::TestsFailed`](crate::exit::Code). `cargo xtask test` reads those lines.

pub mod fault;
mod frames;
pub mod harts;
mod mmu;
mod procs;
mod raw;
mod stacks;

use crate::{exit, println};

/// A test's verdict; failures have printed their reason already.
pub type Outcome = Result<(), ()>;

/// Fails the test with a message when `cond` is false.
macro_rules! check {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            $crate::println!("    check failed at {}:{}: {}", file!(), line!(), format_args!($($msg)*));
            return Err(());
        }
    };
}
pub(crate) use check;

/// A test: its name and its body.
type Test = (&'static str, fn() -> Outcome);

/// The tests, in the order they run.
const TESTS: &[Test] = &[
    (
        "free_ram_reachable_and_each_frame_allocated_once",
        frames::every_free_frame_once,
    ),
    (
        "text_and_rodata_writes_fault",
        mmu::text_and_rodata_refuse_writes,
    ),
    ("stack_guard_page_faults", mmu::stack_guard_page_faults),
    (
        "fault_with_sp_in_a_guard_page_is_handled",
        mmu::fault_with_sp_in_a_guard_page_is_handled,
    ),
    ("trampoline_rx_at_top", mmu::trampoline_is_rx_at_the_top),
    (
        "all_harts_same_satp_and_kalloc_hammer",
        harts::all_harts_share_satp_and_kalloc,
    ),
    (
        "kernel_stacks_map_unmap_every_slot",
        stacks::map_and_unmap_every_slot,
    ),
    (
        "recycled_kernel_stack_slot_seen_fresh_on_another_hart",
        stacks::recycled_slot_is_seen_fresh_on_another_hart,
    ),
    (
        "process_records_stacks_and_spaces_return",
        procs::records_stacks_and_spaces_return,
    ),
];

/// Runs every test on the boot hart and ends QEMU with the verdict.
pub fn run_all(_hart: usize) -> ! {
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in TESTS {
        println!("ktest {name} ...");
        match test() {
            Ok(()) => {
                passed += 1;
                println!("ktest {name} ... ok");
            }
            Err(()) => {
                failed += 1;
                println!("ktest {name} ... FAILED");
            }
        }
    }
    println!("ktest result: {passed} passed, {failed} failed");
    if failed == 0 {
        exit::success()
    } else {
        exit::failure(exit::Code::TestsFailed)
    }
}

/// What the other harts do in test mode: serve the tests that need every hart.
pub fn serve(hart: usize) -> ! {
    harts::serve(hart)
}
