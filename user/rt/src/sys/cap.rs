//! Capability calls: inspect, copy (with fewer rights), mint a badge,
//! delete, revoke, and create capability tables. A destination table of
//! `None` means the caller's own table (`CapRef::NULL` on the wire).

use bulkhead_abi::{CapRef, Error, ObjectType, Rights, Syscall};

use crate::syscall;

/// What `CapInfo` reports about a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapInfo {
    /// The object type, `None` if this runtime does not know the code.
    pub object_type: Option<ObjectType>,
    /// The rights the capability carries (unknown bits dropped).
    pub rights: Rights,
    /// The badge, 0 if none.
    pub badge: u64,
}

fn table_arg(table: Option<CapRef>) -> u64 {
    table.unwrap_or(CapRef::NULL).0
}

/// Type, rights and badge of `cap`.
pub fn cap_info(cap: CapRef) -> Result<CapInfo, Error> {
    // SAFETY: no pointer arguments.
    let [kind, rights, badge] = unsafe { syscall::syscall1(Syscall::CapInfo, cap.0) }?;
    Ok(CapInfo {
        object_type: ObjectType::from_u64(kind),
        rights: Rights::from_bits_truncate(rights as u32),
        badge,
    })
}

/// Copies `cap` into `table` (or the caller's own) keeping only `rights`.
pub fn cap_copy(cap: CapRef, table: Option<CapRef>, rights: Rights) -> Result<CapRef, Error> {
    let args = (cap.0, table_arg(table), u64::from(rights.bits()));
    // SAFETY: no pointer arguments.
    let [new, _, _] = unsafe { syscall::syscall3(Syscall::CapCopy, args.0, args.1, args.2) }?;
    Ok(CapRef(new))
}

/// As [`cap_copy`], setting `badge` on the copy (the source must be unbadged).
pub fn cap_mint(
    cap: CapRef,
    table: Option<CapRef>,
    rights: Rights,
    badge: u64,
) -> Result<CapRef, Error> {
    let rights = u64::from(rights.bits());
    // SAFETY: no pointer arguments.
    let [new, _, _] =
        unsafe { syscall::syscall4(Syscall::CapMint, cap.0, table_arg(table), rights, badge) }?;
    Ok(CapRef(new))
}

/// Empties `cap`'s slot; copies derived from it survive.
pub fn cap_delete(cap: CapRef) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall1(Syscall::CapDelete, cap.0) }.map(drop)
}

/// Deletes every capability derived from `cap`, in any table.
pub fn cap_revoke(cap: CapRef) -> Result<(), Error> {
    // SAFETY: no pointer arguments.
    unsafe { syscall::syscall1(Syscall::CapRevoke, cap.0) }.map(drop)
}

/// A new capability table of `slots` empty slots, paid from `memory`.
pub fn table_create(memory: CapRef, slots: u32) -> Result<CapRef, Error> {
    // SAFETY: no pointer arguments.
    let [table, _, _] =
        unsafe { syscall::syscall2(Syscall::TableCreate, memory.0, u64::from(slots)) }?;
    Ok(CapRef(table))
}
