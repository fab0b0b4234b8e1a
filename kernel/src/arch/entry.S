# Entry points: the M-mode start every hart jumps to (QEMU `-bios none`), the S-mode entry it
# drops into, the M-mode trap vector and the vector of traps taken in S-mode. The trampoline
# (user traps) is in trampoline.S, the context switch in switch.S.
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
    # mscratch = this hart's M-mode scratch words; the last one keeps the DTB address for
    # reports of fatal M-mode traps.
    la t0, M_SCRATCH
    slli t1, tp, {m_scratch_shift}
    add t0, t0, t1
    SXB a1, ({m_scratch_words} - 1), t0
    csrw mscratch, t0
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
    la t0, kernel_vector
    csrw stvec, t0
    # sscratch = top of this hart's trap stack, where kernel_vector saves registers. It keeps
    # that value whenever the hart runs kernel code (uservec borrows it; user_trap restores it).
    la t0, _trap_stacks_end
    slli t1, tp, {trap_stack_shift}
    sub t0, t0, t1
    csrw sscratch, t0
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

# Machine-mode traps. The one expected trap is the machine software interrupt another hart
# raises through the CLINT to wake this one: it is forwarded to S-mode as a supervisor
# software interrupt (S-mode cannot raise SSIP on another hart itself). Everything else that
# can be is delegated to S-mode, so any other trap here is a bug: Rust reports it through the
# test device and ends QEMU. Scratch words: 0 and 1 save t1 and t2, 2 holds this hart's MSIP
# register address (written by S-mode at boot), the last the DTB address.
    .align 4
m_trap_vector:
    csrrw t0, mscratch, t0
    SXB t1, 0, t0
    SXB t2, 1, t0
    csrr t1, mcause
    li t2, {mcause_msi}
    bne t1, t2, m_fatal
    LXB t1, 2, t0
    beqz t1, m_fatal
    sw zero, 0(t1)
    csrsi mip, 2
    LXB t1, 0, t0
    LXB t2, 1, t0
    csrrw t0, mscratch, t0
    mret
m_fatal:
    LXB a3, ({m_scratch_words} - 1), t0
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call m_trap
5:  wfi
    j 5b

# Traps taken in S-mode (the kernel's own: a fault in kernel code is a bug, or one a test
# provokes on purpose): save every register in a frame on the hart's trap stack, let Rust
# decide (it may move sepc past an expected fault), restore and return. Traps from user mode
# enter through the trampoline instead.
    .align 4
    .globl kernel_vector
kernel_vector:
    # Switch to the hart's trap stack: the interrupted stack may be the one that overflowed.
    csrrw sp, sscratch, sp
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
    csrr t0, sscratch
    SX t0, 2
    # Re-armed, so a fault inside the handler lands on this stack too.
    addi t0, sp, 32 * REGBYTES
    csrw sscratch, t0
    mv a0, sp
    call kernel_trap
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
    LX x2, 2
    sret

# Claimed with amoswap by the first hart in S-mode; in .data, not .bss, because .bss is
# cleared only after the claim.
    .section .data
    .align 2
boot_claim:
    .word 0
