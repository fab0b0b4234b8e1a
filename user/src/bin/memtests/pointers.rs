//! Bad pointers given to every syscall that takes one: each must be `EFAULT` (or succeed when
//! the buffer is valid), never a kernel fault, and a refused call must write nothing.

use crate::util::{self, Map, Outcome, call};
use abi::{Errno, ExitStatus, MemStat, RegionRow, Wire, nr};
use core::mem::size_of;
use user::sys;

mod cases;

use cases::{Buf, Case, each_bad, each_huge};
use core::mem::offset_of;

pub fn write(map: &Map) -> Outcome {
    let mut buf = Buf::new()?;
    buf.fill(b'x');
    let check = |c: Case| -> Outcome {
        let got = call(nr::WRITE, 1, c.addr, c.len);
        expect_eq!(
            got,
            Err(Errno::EFAULT),
            "write({}, {:#x}, {:#x})",
            c.what,
            c.addr,
            c.len
        );
        Ok(())
    };
    each_bad(map, buf.bounds(), 16, false, check)?;
    each_huge(buf.bounds(), check)?;
    // Valid: a buffer ending exactly at the break, zero bytes from NULL and the heap.
    let msg = b"  (write from a buffer ending at the break)\n";
    let at = buf.at_end(msg.len());
    buf.put(at, msg);
    expect_eq!(
        call(nr::WRITE, 1, at, msg.len()),
        Ok(msg.len()),
        "write ending at the break"
    );
    expect_eq!(
        call(nr::WRITE, 1, 0, 0),
        Ok(0),
        "write of 0 bytes from NULL"
    );
    expect_eq!(
        call(nr::WRITE, 1, buf.brk, 0),
        Ok(0),
        "write of 0 bytes at the break"
    );
    expect_eq!(
        call(nr::WRITE, 7, at, 1),
        Err(Errno::EBADF),
        "write to fd 7"
    );
    Ok(())
}

pub fn read(map: &Map) -> Outcome {
    let mut buf = Buf::new()?;
    buf.fill(0x5a);
    let check = |c: Case| -> Outcome {
        let got = call(nr::READ, 0, c.addr, c.len);
        expect_eq!(
            got,
            Err(Errno::EFAULT),
            "read({}, {:#x}, {:#x})",
            c.what,
            c.addr,
            c.len
        );
        ensure!(
            buf.all(0x5a),
            "read({}) refused but wrote to the heap",
            c.what
        );
        Ok(())
    };
    each_bad(map, buf.bounds(), 16, true, check)?;
    each_huge(buf.bounds(), check)?;
    // A valid buffer would wait for console input; zero bytes returns at once.
    expect_eq!(
        call(nr::READ, 0, buf.at_end(16), 0),
        Ok(0),
        "read of 0 bytes at the break"
    );
    expect_eq!(call(nr::READ, 0, 0, 0), Ok(0), "read of 0 bytes into NULL");
    expect_eq!(
        call(nr::READ, 1, buf.start, 16),
        Err(Errno::EBADF),
        "read from fd 1"
    );
    Ok(())
}

pub fn exec(map: &Map) -> Outcome {
    let mut buf = Buf::new()?;
    buf.fill(b'y'); // no NUL anywhere: a name that runs to the break is unterminated
    let word = size_of::<usize>();
    // A valid unknown name in the first page, a valid argv after it.
    let name = buf.start;
    buf.put(name, b"no-such-program\0");
    let argv = buf.start + 64;
    buf.put_word(argv, name);
    buf.put_word(argv + word, 0);
    expect_eq!(
        sys::exec_raw(name as *const u8, argv as *const *const u8),
        Errno::ENOENT,
        "exec of an unknown program with valid pointers"
    );
    each_bad(map, buf.bounds(), 8, false, |c| {
        // A name is read up to its NUL: the top of the stack holds argument strings, so a name
        // there is valid.
        if c.addr != map.stack_top - 4 {
            let got = call(nr::EXEC, c.addr, argv, 0);
            expect_eq!(
                got,
                Err(Errno::EFAULT),
                "exec(name {} {:#x})",
                c.what,
                c.addr
            );
        }
        let got = call(nr::EXEC, name, c.addr, 0);
        expect_eq!(
            got,
            Err(Errno::EFAULT),
            "exec(argv {} {:#x})",
            c.what,
            c.addr
        );
        if c.addr == 0 || c.addr == map.stack_top - 4 {
            return Ok(()); // NULL ends an argument vector; a string at the stack top is valid
        }
        let list = buf.start + 128;
        buf.put_word(list, name);
        buf.put_word(list + word, c.addr);
        buf.put_word(list + 2 * word, 0);
        let got = call(nr::EXEC, name, list, 0);
        expect_eq!(
            got,
            Err(Errno::EFAULT),
            "exec(argv[1] {} {:#x})",
            c.what,
            c.addr
        );
        Ok(())
    })?;
    // A name that runs into the unmapped page after the break without a NUL.
    let unterminated = buf.brk - 5;
    let got = call(nr::EXEC, unterminated, argv, 0);
    expect_eq!(
        got,
        Err(Errno::EFAULT),
        "exec of a name running past the break"
    );
    // An argv whose NULL would lie past the break.
    let cut = buf.brk - word;
    buf.put_word(cut, name);
    let got = call(nr::EXEC, name, cut, 0);
    expect_eq!(
        got,
        Err(Errno::EFAULT),
        "exec with argv running past the break"
    );
    // Name and argv ending exactly at the break: valid, so the answer is ENOENT.
    let end_name = buf.brk - 6;
    buf.put(end_name, b"nosuc\0");
    let end_argv = buf.brk - 6 - 2 * word - 2; // misaligned on purpose: the kernel copies bytes
    buf.put_word(end_argv, end_name);
    buf.put_word(end_argv + word, 0);
    let got = call(nr::EXEC, end_name, end_argv, 0);
    expect_eq!(
        got,
        Err(Errno::ENOENT),
        "exec with name and argv ending at the break"
    );
    Ok(())
}

pub fn memstat(map: &Map) -> Outcome {
    let mut buf = Buf::new()?;
    let len = size_of::<MemStat>();
    buf.fill(0x5a);
    each_bad(map, buf.bounds(), len, true, |c| {
        let got = call(nr::MEMSTAT, c.addr, 0, 0);
        expect_eq!(got, Err(Errno::EFAULT), "memstat({} {:#x})", c.what, c.addr);
        ensure!(
            buf.all(0x5a),
            "memstat({}) refused but wrote to the heap",
            c.what
        );
        Ok(())
    })?;
    let at = buf.at_end(len);
    expect_eq!(
        call(nr::MEMSTAT, at, 0, 0),
        Ok(0),
        "memstat ending at the break"
    );
    // `at` holds a MemStat the kernel just wrote (every field a u64).
    let field = |buf: &mut Buf, offset: usize| u64::from_le_bytes(buf.get(at + offset));
    let stat = MemStat {
        total_frames: field(&mut buf, offset_of!(MemStat, total_frames)),
        free_frames: field(&mut buf, offset_of!(MemStat, free_frames)),
        low_water: field(&mut buf, offset_of!(MemStat, low_water)),
        cached_frames: field(&mut buf, offset_of!(MemStat, cached_frames)),
        resident_pages: field(&mut buf, offset_of!(MemStat, resident_pages)),
        table_frames: field(&mut buf, offset_of!(MemStat, table_frames)),
        kernel_table_frames: field(&mut buf, offset_of!(MemStat, kernel_table_frames)),
        kernel_stack_frames: field(&mut buf, offset_of!(MemStat, kernel_stack_frames)),
        record_frames: field(&mut buf, offset_of!(MemStat, record_frames)),
        processes: field(&mut buf, offset_of!(MemStat, processes)),
    };
    ensure!(
        stat.total_frames == map.total_frames && stat.free_frames < stat.total_frames,
        "memstat ending at the break wrote nonsense: {stat:?}"
    );
    Ok(())
}

pub fn clock(map: &Map) -> Outcome {
    let mut buf = Buf::new()?;
    buf.fill(0x5a);
    each_bad(map, buf.bounds(), 16, true, |c| {
        let got = call(nr::CLOCK, c.addr, 0, 0);
        expect_eq!(got, Err(Errno::EFAULT), "clock({} {:#x})", c.what, c.addr);
        ensure!(
            buf.all(0x5a),
            "clock({}) refused but wrote to the heap",
            c.what
        );
        Ok(())
    })?;
    expect_eq!(
        call(nr::CLOCK, buf.at_end(16), 0, 0),
        Ok(0),
        "clock ending at the break"
    );
    Ok(())
}

pub fn wait(map: &Map) -> Outcome {
    let mut buf = Buf::new()?;
    let len = size_of::<ExitStatus>();
    // No children: the pointer is still checked first.
    let got = call(nr::WAIT, 0x8000_0000, 0, 0);
    expect_eq!(
        got,
        Err(Errno::EFAULT),
        "wait(kernel address) without children"
    );
    expect_eq!(
        call(nr::WAIT, 0, 0, 0),
        Err(Errno::ECHILD),
        "wait(NULL) without children"
    );
    let child = util::spawn(|| user::sys::exit(42)).map_err(|e| {
        user::println!("  fork: {e}");
        util::Failed
    })?;
    buf.fill(0x5a);
    each_bad(map, buf.bounds(), len, true, |c| {
        if c.addr == 0 {
            return Ok(()); // NULL: "don't report the status", valid
        }
        let got = call(nr::WAIT, c.addr, 0, 0);
        expect_eq!(got, Err(Errno::EFAULT), "wait({} {:#x})", c.what, c.addr);
        ensure!(
            buf.all(0x5a),
            "wait({}) refused but wrote to the heap",
            c.what
        );
        Ok(())
    })?;
    // The child was not reaped by any refused call: a valid pointer ending at the break gets it.
    let at = buf.at_end(len);
    expect_eq!(
        call(nr::WAIT, at, 0, 0),
        Ok(child),
        "wait with a status ending at the break"
    );
    // The kernel wrote an ExitStatus (a u32) at `at`.
    let status = ExitStatus(u32::from_le_bytes(buf.get(at)));
    expect_eq!(status, ExitStatus::exited(42), "status of the child");
    // NULL: reap without the status.
    let second = util::spawn(|| user::sys::exit(1)).map_err(|_| util::Failed)?;
    expect_eq!(
        call(nr::WAIT, 0, 0, 0),
        Ok(second),
        "wait(NULL) with a child"
    );
    expect_eq!(
        call(nr::WAIT, 0, 0, 0),
        Err(Errno::ECHILD),
        "wait(NULL) after reaping all"
    );
    Ok(())
}

pub fn regions(map: &Map) -> Outcome {
    let mut buf = Buf::new()?;
    let count = call(nr::REGIONS, 0, 0, 0);
    let Ok(count) = count else {
        ensure!(false, "regions(0, NULL, 0) must count the rows: {count:?}");
        return Ok(());
    };
    ensure!(
        (5..=12).contains(&count),
        "a process has 5 to 12 regions, got {count}"
    );
    let len = count * size_of::<RegionRow>();
    buf.fill(0x5a);
    each_bad(map, buf.bounds(), len, true, |c| {
        let got = call(nr::REGIONS, 0, c.addr, count);
        expect_eq!(
            got,
            Err(Errno::EFAULT),
            "regions({} {:#x}, {count})",
            c.what,
            c.addr
        );
        ensure!(
            buf.all(0x5a),
            "regions({}) refused but wrote to the heap",
            c.what
        );
        Ok(())
    })?;
    let at = buf.at_end(len);
    expect_eq!(
        call(nr::REGIONS, 0, at, count),
        Ok(count),
        "regions ending at the break"
    );
    // A huge row count writes only the rows there are.
    expect_eq!(
        call(nr::REGIONS, 0, at, usize::MAX),
        Ok(count),
        "regions with n = usize::MAX"
    );
    let got = call(nr::REGIONS, 0, at + 1, usize::MAX);
    expect_eq!(
        got,
        Err(Errno::EFAULT),
        "regions with room for all rows but one byte"
    );
    let got = call(nr::REGIONS, usize::MAX, at, count);
    expect_eq!(
        got,
        Err(Errno::ESRCH),
        "regions of a pid that never existed"
    );
    Ok(())
}

/// `procs` or `kmap` (syscall `number`, rows of `row` bytes): bad pointers for all its rows are
/// `EFAULT` and write nothing; rows ending at the break, a huge row count, and 0 rows into
/// NULL succeed.
fn listing(map: &Map, number: usize, what: &str, row: usize) -> Outcome {
    let mut buf = Buf::new()?;
    let count = call(number, 0, 0, 0);
    let Ok(count) = count else {
        ensure!(false, "{what}(NULL, 0) must count the rows: {count:?}");
        return Ok(());
    };
    ensure!(
        count > 0 && count * row <= 2 * util::PAGE,
        "{what}: {count} rows"
    );
    buf.fill(0x5a);
    each_bad(map, buf.bounds(), count * row, true, |c| {
        let got = call(number, c.addr, count, 0);
        expect_eq!(
            got,
            Err(Errno::EFAULT),
            "{what}({} {:#x}, {count})",
            c.what,
            c.addr
        );
        ensure!(
            buf.all(0x5a),
            "{what}({}) refused but wrote to the heap",
            c.what
        );
        Ok(())
    })?;
    // The count may change between calls (processes and kernel stacks come and go): room for
    // one row more than counted, ending at the break.
    let at = buf.at_end((count + 1) * row);
    let got = call(number, at, count + 1, 0);
    ensure!(
        got.is_ok_and(|n| n > 0),
        "{what} ending at the break: {got:?}"
    );
    let got = call(number, at, usize::MAX, 0);
    ensure!(
        got.is_ok_and(|n| n <= count + 1) || got == Err(Errno::EFAULT),
        "{what} with n = usize::MAX: {got:?}"
    );
    Ok(())
}

pub fn procs(map: &Map) -> Outcome {
    listing(map, nr::PROCS, "procs", abi::ProcRow::SIZE)
}

pub fn kmap(map: &Map) -> Outcome {
    listing(map, nr::KMAP, "kmap", abi::KmapRow::SIZE)
}
