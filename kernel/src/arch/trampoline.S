# The trampoline: one page mapped R+X (not U) at the top of the kernel's address space and of
# every process's, so the instructions that switch `satp` between a process and the kernel sit
# at the same address before and after the switch. Its trap frame is mapped R+W (not U) in the
# page just below, in the process's table only.
#
# uservec: stvec points here (at its top-of-space alias) while a process runs. It saves the
# user registers in the trap frame, loads the kernel's stack, hart id, satp and trap handler
# from it, switches to the kernel table and jumps to the handler.
#
# userret(satp): switches to the process's table, restores its registers from the trap frame
# and returns to user mode at `sepc` (which the kernel set).

    .section .trampoline, "ax"
    .align 12
    .globl trampoline
trampoline:
    .globl uservec
uservec:
    csrw sscratch, a0
    li a0, {trap_frame_va}
    SXB x1, ({tf_regs} + 1), a0
    SXB x2, ({tf_regs} + 2), a0
    SXB x3, ({tf_regs} + 3), a0
    SXB x4, ({tf_regs} + 4), a0
    SXB x5, ({tf_regs} + 5), a0
    SXB x6, ({tf_regs} + 6), a0
    SXB x7, ({tf_regs} + 7), a0
    SXB x8, ({tf_regs} + 8), a0
    SXB x9, ({tf_regs} + 9), a0
    SXB x11, ({tf_regs} + 11), a0
    SXB x12, ({tf_regs} + 12), a0
    SXB x13, ({tf_regs} + 13), a0
    SXB x14, ({tf_regs} + 14), a0
    SXB x15, ({tf_regs} + 15), a0
    SXB x16, ({tf_regs} + 16), a0
    SXB x17, ({tf_regs} + 17), a0
    SXB x18, ({tf_regs} + 18), a0
    SXB x19, ({tf_regs} + 19), a0
    SXB x20, ({tf_regs} + 20), a0
    SXB x21, ({tf_regs} + 21), a0
    SXB x22, ({tf_regs} + 22), a0
    SXB x23, ({tf_regs} + 23), a0
    SXB x24, ({tf_regs} + 24), a0
    SXB x25, ({tf_regs} + 25), a0
    SXB x26, ({tf_regs} + 26), a0
    SXB x27, ({tf_regs} + 27), a0
    SXB x28, ({tf_regs} + 28), a0
    SXB x29, ({tf_regs} + 29), a0
    SXB x30, ({tf_regs} + 30), a0
    SXB x31, ({tf_regs} + 31), a0
    csrr t0, sscratch
    SXB t0, ({tf_regs} + 10), a0
    LXB sp, {tf_kernel_sp}, a0
    LXB tp, {tf_hart}, a0
    LXB t0, {tf_kernel_trap}, a0
    LXB t1, {tf_kernel_satp}, a0
    # Order the process's page-table accesses before the switch, then drop its translations.
    sfence.vma zero, zero
    csrw satp, t1
    sfence.vma zero, zero
    jr t0

    .globl userret
userret:
    # a0: the process's satp. Kernel writes to its table (sbrk, stack growth) are ordered
    # before the switch, and no translation of another process survives it.
    sfence.vma zero, zero
    csrw satp, a0
    sfence.vma zero, zero
    li a0, {trap_frame_va}
    LXB x1, ({tf_regs} + 1), a0
    LXB x2, ({tf_regs} + 2), a0
    LXB x3, ({tf_regs} + 3), a0
    LXB x4, ({tf_regs} + 4), a0
    LXB x5, ({tf_regs} + 5), a0
    LXB x6, ({tf_regs} + 6), a0
    LXB x7, ({tf_regs} + 7), a0
    LXB x8, ({tf_regs} + 8), a0
    LXB x9, ({tf_regs} + 9), a0
    LXB x11, ({tf_regs} + 11), a0
    LXB x12, ({tf_regs} + 12), a0
    LXB x13, ({tf_regs} + 13), a0
    LXB x14, ({tf_regs} + 14), a0
    LXB x15, ({tf_regs} + 15), a0
    LXB x16, ({tf_regs} + 16), a0
    LXB x17, ({tf_regs} + 17), a0
    LXB x18, ({tf_regs} + 18), a0
    LXB x19, ({tf_regs} + 19), a0
    LXB x20, ({tf_regs} + 20), a0
    LXB x21, ({tf_regs} + 21), a0
    LXB x22, ({tf_regs} + 22), a0
    LXB x23, ({tf_regs} + 23), a0
    LXB x24, ({tf_regs} + 24), a0
    LXB x25, ({tf_regs} + 25), a0
    LXB x26, ({tf_regs} + 26), a0
    LXB x27, ({tf_regs} + 27), a0
    LXB x28, ({tf_regs} + 28), a0
    LXB x29, ({tf_regs} + 29), a0
    LXB x30, ({tf_regs} + 30), a0
    LXB x31, ({tf_regs} + 31), a0
    LXB a0, ({tf_regs} + 10), a0
    sret

    .ascii "rvmm trampoline\0"
