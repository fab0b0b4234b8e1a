//! `umalloc`: user-space `malloc`/`free` over an `sbrk` heap.
#![no_std]
