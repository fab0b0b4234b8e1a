//! Sv39 and Sv32 page tables behind one generic walker.
