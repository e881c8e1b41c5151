//! Capability operations: info, copy, mint, delete, revoke.
//!
//! Copy and mint take an optional destination table capability (it needs
//! WRITE); without one the copy lands in the caller's own table. The
//! capability table code (`bulkhead-captable`) enforces that rights only
//! shrink, that COPY is needed to copy at all and GRANT to copy into
//! another table, and keeps the derivation tree that revoke follows.

use super::{locked, lookup, Caller, Results};
use crate::object::{cap_error, Kernel, ObjRef, Object};
use alloc::vec::Vec;
use bulkhead_abi::{Error, ObjectType, Rights};
use bulkhead_captable::TableId;

/// `CapInfo(cap)` → type, rights, badge.
pub fn info(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let ctx = caller.context(k)?;
        let cap = k
            .caps
            .lookup(ctx.table, caller.cap_arg(0))
            .map_err(cap_error)?;
        let kind = k.get(cap.object).ok_or(Error::InvalidCap)?.kind();
        Ok([kind as u64, u64::from(cap.rights.bits()), cap.badge])
    })
}

/// The table a copy goes to: argument `i` names a table capability, or is
/// NULL for the caller's own.
fn destination(k: &Kernel, caller: &Caller, i: usize) -> Result<TableId, Error> {
    let r = caller.cap_arg(i);
    if r.is_null() {
        return Ok(caller.context(k)?.table);
    }
    let (obj, _, _) = lookup(k, caller, r, ObjectType::CapTable, Rights::WRITE)?;
    match k.get(obj) {
        Some(Object::Table(t)) => Ok(*t),
        _ => Err(Error::WrongType),
    }
}

fn copy_or_mint(caller: &mut Caller, badge: Option<u64>) -> Result<Results, Error> {
    locked(|k| {
        let ctx = caller.context(k)?;
        let dst = destination(k, caller, 1)?;
        let mask = caller.rights_arg(2)?;
        let src = caller.cap_arg(0);
        let new = match badge {
            None => k.caps.copy(ctx.table, src, dst, mask),
            Some(b) => k.caps.mint(ctx.table, src, dst, mask, b),
        }
        .map_err(cap_error)?;
        let object = k.caps.lookup(dst, new).map_err(cap_error)?.object;
        k.add_ref(object);
        Ok([new.0, 0, 0])
    })
}

/// `CapCopy(cap, table|NULL, rights mask)` → new cap.
pub fn copy(caller: &mut Caller) -> Result<Results, Error> {
    copy_or_mint(caller, None)
}

/// `CapMint(cap, table|NULL, rights mask, badge)` → new cap.
pub fn mint(caller: &mut Caller) -> Result<Results, Error> {
    let badge = caller.arg(3);
    copy_or_mint(caller, Some(badge))
}

fn release_all(k: &mut Kernel, removed: Vec<ObjRef>) {
    for object in removed {
        k.release(object);
    }
}

/// `CapDelete(cap)`.
pub fn delete(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let ctx = caller.context(k)?;
        let mut removed = Vec::new();
        k.caps
            .delete(ctx.table, caller.cap_arg(0), |cap| removed.push(cap.object))
            .map_err(cap_error)?;
        release_all(k, removed);
        Ok([0; 3])
    })
}

/// `CapRevoke(cap)` → number of capabilities removed.
pub fn revoke(caller: &mut Caller) -> Result<Results, Error> {
    locked(|k| {
        let ctx = caller.context(k)?;
        let mut removed = Vec::new();
        let count = k
            .caps
            .revoke(ctx.table, caller.cap_arg(0), |cap| removed.push(cap.object))
            .map_err(cap_error)?;
        release_all(k, removed);
        Ok([count as u64, 0, 0])
    })
}
