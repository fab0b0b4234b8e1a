# switch_context(from: *mut Context, to: *const Context): saves the callee-saved registers
# (ra, sp, s0..s11) of the running kernel thread in `from` and resumes the one saved in `to`.
# The caller-saved registers need no saving: Rust saved what it needs before the call.

    .text
    .globl switch_context
switch_context:
    SXB ra, 0, a0
    SXB sp, 1, a0
    SXB s0, 2, a0
    SXB s1, 3, a0
    SXB s2, 4, a0
    SXB s3, 5, a0
    SXB s4, 6, a0
    SXB s5, 7, a0
    SXB s6, 8, a0
    SXB s7, 9, a0
    SXB s8, 10, a0
    SXB s9, 11, a0
    SXB s10, 12, a0
    SXB s11, 13, a0
    LXB ra, 0, a1
    LXB sp, 1, a1
    LXB s0, 2, a1
    LXB s1, 3, a1
    LXB s2, 4, a1
    LXB s3, 5, a1
    LXB s4, 6, a1
    LXB s5, 7, a1
    LXB s6, 8, a1
    LXB s7, 9, a1
    LXB s8, 10, a1
    LXB s9, 11, a1
    LXB s10, 12, a1
    LXB s11, 13, a1
    ret
