# Entry points: the M-mode start every hart jumps to (QEMU `-bios none`), the S-mode entry it
# drops into, the S-mode trap vector, and the trampoline page.
#
# Register width comes from the prelude in arch/mod.rs: REGBYTES, and the macros SX (store a
# register) and LX (load one), so the same text assembles for rv64 and rv32.

    .section .text.entry, "ax"
    .globl _start
_start:
    # a0 = hart id, a1 = DTB address (QEMU's reset vector sets both).
    csrw mie, zero
    csrr tp, mhartid
    li t0, {max_harts}
    bgeu tp, t0, park
    # sp = top of this hart's boot stack.
    la sp, _stacks_end
    slli t0, tp, {stack_shift}
    sub sp, sp, t0
    la t0, m_trap_vector
    csrw mtvec, t0
    csrw mscratch, a1
    mv s0, a0
    mv s1, a1
    la a0, s_entry
    call mstart
    mv a0, s0
    mv a1, s1
    mret

    # A hart with an id beyond the boot stacks: it never joins (the boot hart reports it).
park:
    wfi
    j park

# S-mode, paging off. One hart wins the claim and boots; the others wait in Rust for the
# kernel page table.
    .text
s_entry:
    la t0, s_trap_vector
    csrw stvec, t0
    la t0, boot_claim
    li t1, 1
    amoswap.w.aq t1, t1, (t0)
    bnez t1, 2f
    # The boot hart clears .bss: nobody else touches it before the boot hart releases them.
    la t0, _bss_start
    la t1, _bss_end
1:  bgeu t0, t1, 3f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
3:  call boot_main
2:  call secondary_main
4:  wfi
    j 4b

# Machine-mode traps are all unexpected (everything that can be is delegated to S-mode):
# Rust reports them through the test device and ends QEMU.
    .align 4
m_trap_vector:
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    csrr a3, mscratch
    call m_trap
5:  wfi
    j 5b

# S-mode traps: save every register in a frame on the current stack, let Rust decide (it may
# move sepc past an expected fault), restore and return.
    .align 4
s_trap_vector:
    addi sp, sp, -32 * REGBYTES
    SX x1, 1
    SX x3, 3
    SX x4, 4
    SX x5, 5
    SX x6, 6
    SX x7, 7
    SX x8, 8
    SX x9, 9
    SX x10, 10
    SX x11, 11
    SX x12, 12
    SX x13, 13
    SX x14, 14
    SX x15, 15
    SX x16, 16
    SX x17, 17
    SX x18, 18
    SX x19, 19
    SX x20, 20
    SX x21, 21
    SX x22, 22
    SX x23, 23
    SX x24, 24
    SX x25, 25
    SX x26, 26
    SX x27, 27
    SX x28, 28
    SX x29, 29
    SX x30, 30
    SX x31, 31
    addi t0, sp, 32 * REGBYTES
    SX t0, 2
    mv a0, sp
    call s_trap
    LX x1, 1
    LX x3, 3
    LX x4, 4
    LX x5, 5
    LX x6, 6
    LX x7, 7
    LX x8, 8
    LX x9, 9
    LX x10, 10
    LX x11, 11
    LX x12, 12
    LX x13, 13
    LX x14, 14
    LX x15, 15
    LX x16, 16
    LX x17, 17
    LX x18, 18
    LX x19, 19
    LX x20, 20
    LX x21, 21
    LX x22, 22
    LX x23, 23
    LX x24, 24
    LX x25, 25
    LX x26, 26
    LX x27, 27
    LX x28, 28
    LX x29, 29
    LX x30, 30
    LX x31, 31
    addi sp, sp, 32 * REGBYTES
    sret

# The trampoline: one page mapped R+X at the top of every address space, so the code that
# switches satp between a process and the kernel is at the same address in both. Processes
# arrive later; until then it holds the entry that parks a hart which lands here.
    .section .trampoline, "ax"
    .align 12
    .globl trampoline
trampoline:
    csrw sscratch, a0
6:  wfi
    j 6b
    .ascii "rvmm trampoline\0"

# Claimed with amoswap by the first hart in S-mode; in .data, not .bss, because .bss is
# cleared only after the claim.
    .section .data
    .align 2
boot_claim:
    .word 0
