//! What is being translated: load, store or fetch, from which privilege, with which `sstatus`
//! bits; and step 5 of the spec's algorithm, the permission check, which depends on all four.

use super::{PTE_R, PTE_U, PTE_W, PTE_X};

/// What kind of access is translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// A load.
    Read,
    /// A store (or AMO).
    Write,
    /// An instruction fetch.
    Execute,
}

/// The privilege mode the access is made in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// U-mode: only U=1 pages.
    User,
    /// S-mode: only U=0 pages, unless SUM allows loads and stores to U=1 pages.
    Supervisor,
}

/// One access: its kind, its privilege, and the `sstatus` bits that change the permission check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    kind: AccessKind,
    privilege: Privilege,
    sum: bool,
    mxr: bool,
}

impl Access {
    /// A `kind` access from `privilege`, with SUM and MXR clear.
    pub const fn new(kind: AccessKind, privilege: Privilege) -> Self {
        Access {
            kind,
            privilege,
            sum: false,
            mxr: false,
        }
    }

    /// A supervisor load.
    pub const fn read() -> Self {
        Access::new(AccessKind::Read, Privilege::Supervisor)
    }

    /// A supervisor store.
    pub const fn write() -> Self {
        Access::new(AccessKind::Write, Privilege::Supervisor)
    }

    /// A supervisor instruction fetch.
    pub const fn execute() -> Self {
        Access::new(AccessKind::Execute, Privilege::Supervisor)
    }

    /// The same access made from U-mode.
    pub const fn from_user(self) -> Self {
        Access {
            privilege: Privilege::User,
            ..self
        }
    }

    /// The same access with `sstatus.SUM` set: S-mode loads and stores may touch U=1 pages.
    pub const fn with_sum(self) -> Self {
        Access { sum: true, ..self }
    }

    /// The same access with `sstatus.MXR` set: loads may read X=1 pages that lack R.
    pub const fn with_mxr(self) -> Self {
        Access { mxr: true, ..self }
    }

    /// The access kind.
    pub const fn kind(self) -> AccessKind {
        self.kind
    }

    /// The privilege mode.
    pub const fn privilege(self) -> Privilege {
        self.privilege
    }

    /// Whether `sstatus.SUM` is set.
    pub const fn sum(self) -> bool {
        self.sum
    }

    /// Whether `sstatus.MXR` is set.
    pub const fn mxr(self) -> bool {
        self.mxr
    }
}

/// Step 5: R/W/X against the access kind (MXR lets loads read X pages), U against the privilege
/// (SUM lets S-mode load and store, never execute, on U pages).
pub(super) fn permitted(pte: u64, access: Access) -> bool {
    let user_page = pte & PTE_U != 0;
    let privilege_ok = match access.privilege {
        Privilege::User => user_page,
        Privilege::Supervisor => !user_page || (access.sum && access.kind != AccessKind::Execute),
    };
    let kind_ok = match access.kind {
        AccessKind::Read => pte & PTE_R != 0 || (access.mxr && pte & PTE_X != 0),
        AccessKind::Write => pte & PTE_W != 0,
        AccessKind::Execute => pte & PTE_X != 0,
    };
    privilege_ok && kind_ok
}
