//! The reference kernel: boots `rvmm` on QEMU `virt` for rv64 (Sv39) and rv32 (Sv32).
//!
//! Every hart enters at `_start` in M-mode (`-bios none`), drops to S-mode, and the first one
//! there boots: it reads the device tree, starts the console, gives all free RAM to the frame
//! allocator, builds the one kernel page table and switches to it. Only then are the other
//! harts released to switch to the same table. After boot every hart idles, unless the boot
//! arguments (`-append test`) ask for the in-kernel tests, which end QEMU with their verdict.
#![no_std]
#![no_main]

mod arch;
mod boot;
mod console;
mod exit;
mod ktest;
mod mem;
mod panic;
mod proc;
mod sched;
mod sync;
mod syscall;
mod trap;

use arch::{MAX_HARTS, csr};
use boot::dtb::BootInfo;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use exit::Code;
use rvmm::Frame;

/// `satp` of the kernel table, 0 until it exists: the secondary harts wait for it. In .data,
/// not .bss: they read it before the boot hart has cleared .bss.
#[unsafe(link_section = ".data.release")]
static KERNEL_SATP: AtomicUsize = AtomicUsize::new(0);

/// Bit `h` is set once hart `h` runs on the kernel table.
static HARTS_UP: AtomicUsize = AtomicUsize::new(0);

/// How long waiting harts sleep between looks (10 us at QEMU virt's 10 MHz timebase).
const NAP_TICKS: u64 = 100;

/// What the device tree said, for every hart.
static INFO: sync::Once<BootInfo> = sync::Once::new();

/// The boot information (set before any secondary hart is released).
pub fn info() -> &'static BootInfo {
    INFO.get()
        .unwrap_or_else(|| panic!("boot information read before boot set it"))
}

/// Whether the boot arguments hold the word `arg`.
pub fn has_arg(info: &BootInfo, arg: &str) -> bool {
    info.bootargs.split_whitespace().any(|a| a == arg)
}

/// The value of boot argument `name=VALUE`, if given.
pub fn arg_value<'a>(info: &'a BootInfo, name: &str) -> Option<&'a str> {
    info.bootargs
        .split_whitespace()
        .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
}

/// Whether the boot arguments ask for the in-kernel tests.
pub fn test_mode(info: &BootInfo) -> bool {
    has_arg(info, "test")
}

fn arch_name() -> &'static str {
    if cfg!(target_pointer_width = "64") {
        "rv64"
    } else {
        "rv32"
    }
}

/// Reports a boot failure and ends QEMU with `code`.
fn fatal(code: Code, args: core::fmt::Arguments<'_>) -> ! {
    crate::println!("boot failed: {args}");
    exit::failure(code)
}

/// The first hart in S-mode, paging off, .bss cleared, on its boot stack.
#[unsafe(no_mangle)]
extern "C" fn boot_main(hart: usize, dtb: usize) -> ! {
    boot::early_devices(dtb);
    // SAFETY: the device tree stays in RAM unchanged: kalloc is told to leave it alone.
    let fdt = unsafe { boot::dtb::open(dtb) }
        .unwrap_or_else(|e| fatal(Code::BadDeviceTree, format_args!("{e}")));
    let info = boot::dtb::parse(&fdt, dtb)
        .unwrap_or_else(|e| fatal(Code::BadDeviceTree, format_args!("{e}")));
    // SAFETY: the device tree's 16550, paging still off.
    unsafe { console::uart::init(info.uart.base as usize) };
    exit::set_test_device(info.test.base as usize);
    console::logger::init(console::logger::level_from(info.bootargs));
    let info = INFO
        .set(info)
        .unwrap_or_else(|_| unreachable!("one boot hart"));
    let ram: u64 = info.ram.as_slice().iter().map(|r| r.len()).sum();
    println!(
        "\nrvmm reference kernel: {} ({}), {} hart(s), {} of RAM, timebase {} MHz",
        arch_name(),
        <mem::KernelMode as rvmm::paging::Mode>::NAME,
        info.harts.as_slice().len(),
        abi::Size(ram),
        info.timebase_hz / 1_000_000,
    );
    if !info.bootargs.is_empty() {
        println!("boot arguments: {}", info.bootargs);
    }
    log::debug!(
        "device tree at {dtb:#x}, booting on hart {hart}: harts {:?}, timebase {} Hz, UART \
         {:#x}, test device {:#x}",
        info.harts.as_slice(),
        info.timebase_hz,
        info.uart.base,
        info.test.base
    );

    let image = boot::image::image();
    log::debug!("time {} at kalloc init", csr::time());
    let frames = mem::init_frames(info, &image)
        .unwrap_or_else(|e| fatal(Code::BootFailed, format_args!("frame allocator: {e}")));
    log::debug!("time {} at table build", csr::time());
    let phys = mem::identity(info, &image)
        .unwrap_or_else(|| fatal(Code::BootFailed, format_args!("no RAM above the kernel")));
    let phys = mem::keep_phys(phys);
    let procs = arg_value(info, "procs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(proc::table::DEFAULT_PROCS)
        .clamp(1, proc::table::MAX_PROCS);
    let table = mem::build_kernel_table(info, &image, frames, phys, procs)
        .unwrap_or_else(|e| fatal(Code::BootFailed, format_args!("kernel table: {e}")));
    let satp = table.satp() as usize;
    // SAFETY: the map holds the image (code, statics, boot stacks), all RAM and the devices
    // at the addresses used now (VA = PA).
    unsafe { arch::switch_table(satp) };
    mem::keep_top(Frame::containing(image.trampoline.start()), satp);
    let _ = mem::TABLE.set(sync::Mutex::new(table));
    mem::show::print_map(satp);
    mem::show::print_frames(frames, info, &image);
    if let Some(clint) = info.clint {
        arch::ipi::init(clint.base as usize);
    }
    if let (Some(plic), Some(irq)) = (info.plic, info.uart_irq) {
        trap::device::init(plic.base as usize, irq, info.harts.as_slice());
    }
    if let Some(archive) = info.initrd {
        // SAFETY: the archive is reserved from kalloc and mapped read-only; nothing writes it.
        unsafe { boot::initrd::init(archive) };
    }

    log::debug!("time {} at release", csr::time());
    HARTS_UP.fetch_or(1 << hart, Ordering::AcqRel);
    KERNEL_SATP.store(satp, Ordering::Release);
    wait_for_harts(info);

    if test_mode(info) {
        ktest::run_all(hart)
    }
    if has_arg(info, "panic") {
        // For the suite: shows that a panic reports hart, location and message and ends QEMU
        // with the panic code.
        panic!("panic requested by the boot arguments");
    }
    if has_arg(info, "exit") {
        // For measurements and smoke tests: QEMU with `-icount sleep=off` does not stop on
        // signals while every hart waits in `wfi`, so such runs end themselves.
        println!("boot complete; exiting as the boot arguments ask");
        exit::success()
    }
    start_processes(info, procs);
    PROCESSES_READY.store(true, Ordering::Release);
    sched::run()
}

/// Set once `init` is queued: the other harts then enter their schedulers.
static PROCESSES_READY: AtomicBool = AtomicBool::new(false);

/// Makes the process table and the run queue, and starts `init`: `init` alone, or with the
/// program and arguments `run=PROGRAM,ARG,...` names (commas between words).
fn start_processes(info: &BootInfo, procs: usize) {
    let table = proc::ProcTable::new(procs)
        .unwrap_or_else(|e| fatal(Code::BootFailed, format_args!("process table: {e}")));
    let _ = proc::TABLE.set(sync::Mutex::new(table));
    let tick_ms = arg_value(info, "tick")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(10);
    let slice = info.timebase_hz.max(1) * tick_ms / 1000;
    sched::init(procs, slice)
        .unwrap_or_else(|e| fatal(Code::BootFailed, format_args!("run queue: {e}")));
    let mut argv: [&[u8]; abi::MAX_ARGS] = [&[]; abi::MAX_ARGS];
    argv[0] = b"init";
    let mut argc = 1;
    for word in arg_value(info, "run").unwrap_or("").split(',') {
        if !word.is_empty() && argc < argv.len() {
            argv[argc] = word.as_bytes();
            argc += 1;
        }
    }
    if let Err(e) = proc::spawn_init(&argv[..argc]) {
        fatal(
            Code::BootFailed,
            format_args!(
                "cannot start init: {e} (programs in the archive: {})",
                boot::initrd::names().count()
            ),
        );
    }
    let ms = csr::time() * 1000 / info.timebase_hz.max(1);
    println!(
        "boot: {procs} process slots, {tick_ms} ms time slice; init starts {ms} ms after reset"
    );
}

/// Waits (a bounded time) until every hart the device tree lists has switched to the kernel
/// table, then says which are up.
fn wait_for_harts(info: &BootInfo) {
    let expected = info
        .harts
        .as_slice()
        .iter()
        .filter(|&&h| h < MAX_HARTS)
        .fold(0usize, |m, &h| m | 1 << h);
    let deadline = csr::time() + info.timebase_hz.max(1);
    while HARTS_UP.load(Ordering::Acquire) & expected != expected && csr::time() < deadline {
        arch::nap(NAP_TICKS);
    }
    let up = HARTS_UP.load(Ordering::Acquire);
    print!("harts up:");
    for h in (0..MAX_HARTS).filter(|h| up & 1 << h != 0) {
        print!(" {h}");
    }
    println!(" ({} of {})", up.count_ones(), info.harts.as_slice().len());
    if up & expected != expected {
        log::warn!(
            "harts that did not come up within 1 s: mask {:#x}",
            expected & !up
        );
    }
    if info.harts_ignored > 0 {
        log::warn!(
            "{} hart(s) beyond the first {MAX_HARTS} stay parked",
            info.harts_ignored
        );
    }
}

/// Every other hart, in S-mode with paging off: waits for the kernel table, switches to it.
#[unsafe(no_mangle)]
extern "C" fn secondary_main(hart: usize) -> ! {
    let satp = loop {
        let satp = KERNEL_SATP.load(Ordering::Acquire);
        if satp != 0 {
            break satp;
        }
        arch::nap(NAP_TICKS);
    };
    // SAFETY: the boot hart built the table before publishing its satp; it maps this hart's
    // code, boot stack and statics at their current addresses.
    unsafe { arch::switch_table(satp) };
    HARTS_UP.fetch_or(1 << hart, Ordering::AcqRel);
    if test_mode(info()) {
        ktest::serve(hart)
    }
    while !PROCESSES_READY.load(Ordering::Acquire) {
        arch::nap(NAP_TICKS);
    }
    sched::run()
}
