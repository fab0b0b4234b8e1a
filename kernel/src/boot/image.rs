//! The kernel image's sections, from the symbols the linker script defines.

use rvmm::addr::PhysRange;
use rvmm::space::kernel::KernelImage;

unsafe extern "C" {
    static _kernel_start: u8;
    static _text_start: u8;
    static _text_end: u8;
    static _trampoline_start: u8;
    static _trampoline_end: u8;
    static _rodata_start: u8;
    static _rodata_end: u8;
    static _data_start: u8;
    static _kernel_end: u8;
}

/// The address of a linker symbol.
macro_rules! symbol {
    ($name:ident) => {
        // Only the address is taken; the symbol is never read.
        (&raw const $name).addr() as u64
    };
}

/// The kernel image's parts, page-aligned by the linker script; VA = PA.
#[derive(Clone, Copy, Debug)]
pub struct Image {
    /// Everything from the first byte to the end of the boot stacks.
    pub whole: PhysRange,
    /// The trampoline page, inside `sections.text`.
    pub trampoline: PhysRange,
    /// Text (with the trampoline, R+X), rodata (R), and data with .bss and the boot stacks
    /// (R+W), as the kernel map takes them.
    pub sections: KernelImage,
}

fn range(start: u64, end: u64) -> PhysRange {
    match PhysRange::with_len(start, end - start) {
        Ok(r) => r,
        Err(e) => panic!("linker symbols give a bad range {start:#x}..{end:#x}: {e}"),
    }
}

/// The image as the linker laid it out.
pub fn image() -> Image {
    Image {
        whole: range(symbol!(_kernel_start), symbol!(_kernel_end)),
        trampoline: range(symbol!(_trampoline_start), symbol!(_trampoline_end)),
        sections: KernelImage {
            text: range(symbol!(_text_start), symbol!(_text_end)),
            rodata: range(symbol!(_rodata_start), symbol!(_rodata_end)),
            data: range(symbol!(_data_start), symbol!(_kernel_end)),
        },
    }
}
