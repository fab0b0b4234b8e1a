//! A process address space (issue 3).
