//! Tests of the kernel object layer: quota charging and refunds, frames
//! returned when the last reference goes, capability deletion releasing
//! objects.

use super::Test;
use crate::mm::frames;
use crate::object::frames::Frames;
use crate::object::memory::{self, Memory};
use crate::object::{space, Object, KERNEL};
use crate::{check, check_eq};
use alloc::string::String;
use bulkhead_abi::{Error, Rights};

pub const TESTS: &[Test] = &[
    Test {
        name: "object::quota_charge_and_refund",
        run: quota_charge_and_refund,
    },
    Test {
        name: "object::quota_exhaustion_is_an_error",
        run: quota_exhaustion_is_an_error,
    },
    Test {
        name: "object::space_teardown_frees_every_frame",
        run: space_teardown_frees_every_frame,
    },
    Test {
        name: "object::deleting_last_cap_destroys_object",
        run: deleting_last_cap_destroys_object,
    },
];

fn used_pages(k: &crate::object::Kernel, q: crate::object::ObjRef) -> u64 {
    match k.get(q) {
        Some(Object::Memory(m)) => m.used,
        _ => u64::MAX,
    }
}

fn quota_charge_and_refund() -> Result<(), String> {
    let mut k = KERNEL.lock();
    let q = k.insert(
        Object::Memory(Memory {
            limit: 100,
            used: 0,
        }),
        None,
    );
    k.add_ref(q);
    let sub = memory::split(&mut k, q, 40).map_err(|e| alloc::format!("{e:?}"))?;
    k.add_ref(sub);
    check_eq!(used_pages(&k, q), 40);
    memory::charge(&mut k, sub, 10).map_err(|e| alloc::format!("{e:?}"))?;
    check_eq!(used_pages(&k, sub), 10);
    memory::uncharge(&mut k, sub, 10);
    k.release(sub);
    check_eq!(used_pages(&k, q), 0);
    k.release(q);
    check!(k.get(q).is_none(), "quota outlived its last reference");
    Ok(())
}

fn quota_exhaustion_is_an_error() -> Result<(), String> {
    let mut k = KERNEL.lock();
    let q = k.insert(Object::Memory(Memory { limit: 3, used: 0 }), None);
    k.add_ref(q);
    check_eq!(memory::charge(&mut k, q, 4), Err(Error::QuotaExhausted));
    check_eq!(
        memory::split(&mut k, q, 4).err(),
        Some(Error::QuotaExhausted)
    );
    check_eq!(used_pages(&k, q), 0);
    // A space needs a PML4 page plus three table pages for its first mapping.
    let s = space::create(&mut k, Some(q)).map_err(|e| alloc::format!("{e:?}"))?;
    k.add_ref(s);
    let f = k.insert(
        Object::Frames(Frames::alloc(1).map_err(|e| alloc::format!("{e:?}"))?),
        None,
    );
    k.add_ref(f);
    let mapped = space::map(&mut k, s, f, Rights::ALL, 0, 1, 0x40_0000, Rights::READ);
    check_eq!(mapped, Err(Error::QuotaExhausted));
    k.release(f);
    k.release(s);
    check_eq!(used_pages(&k, q), 0);
    k.release(q);
    Ok(())
}

fn space_teardown_frees_every_frame() -> Result<(), String> {
    let before = frames::stats().used_frames;
    {
        let mut k = KERNEL.lock();
        let q = k.insert(
            Object::Memory(Memory {
                limit: 1000,
                used: 0,
            }),
            None,
        );
        k.add_ref(q);
        let s = space::create(&mut k, Some(q)).map_err(|e| alloc::format!("{e:?}"))?;
        k.add_ref(s);
        let f = k.insert(
            Object::Frames(Frames::alloc(8).map_err(|e| alloc::format!("{e:?}"))?),
            Some((q, 8)),
        );
        memory::charge(&mut k, q, 8).map_err(|e| alloc::format!("{e:?}"))?;
        k.add_ref(q);
        k.add_ref(f);
        // Two far-apart ranges so several page tables are needed.
        for base in [0x40_0000u64, 0x7f00_0000_0000] {
            space::map(
                &mut k,
                s,
                f,
                Rights::ALL,
                0,
                8,
                base,
                Rights::READ | Rights::WRITE,
            )
            .map_err(|e| alloc::format!("{e:?}"))?;
        }
        check!(used_pages(&k, q) > 8 + 1, "page tables were not charged");
        space::unmap(&mut k, s, 0x40_0000, 8).map_err(|e| alloc::format!("{e:?}"))?;
        k.release(f);
        check!(k.get(f).is_some(), "frames freed while still mapped");
        k.release(s);
        check!(
            k.get(f).is_none(),
            "frames outlived the space that mapped them"
        );
        check_eq!(used_pages(&k, q), 0);
        k.release(q);
    }
    check_eq!(frames::stats().used_frames, before);
    Ok(())
}

fn deleting_last_cap_destroys_object() -> Result<(), String> {
    let mut k = KERNEL.lock();
    let table = k
        .caps
        .create_table(4)
        .map_err(|e| alloc::format!("{e:?}"))?;
    let q = k.insert(Object::Memory(Memory { limit: 1, used: 0 }), None);
    let first = k
        .grant_root(table, q, Rights::ALL)
        .map_err(|e| alloc::format!("{e:?}"))?;
    let copy = k
        .caps
        .copy(table, first, table, Rights::READ)
        .map_err(|e| alloc::format!("{e:?}"))?;
    k.add_ref(q);
    let mut removed = alloc::vec::Vec::new();
    k.caps
        .revoke(table, first, |c| removed.push(c.object))
        .map_err(|e| alloc::format!("{e:?}"))?;
    check_eq!(removed.len(), 1);
    for o in core::mem::take(&mut removed) {
        k.release(o);
    }
    check!(
        k.caps.lookup(table, copy).is_err(),
        "revoked copy still usable"
    );
    check!(
        k.get(q).is_some(),
        "object destroyed while a capability remains"
    );
    k.caps
        .delete(table, first, |c| removed.push(c.object))
        .map_err(|e| alloc::format!("{e:?}"))?;
    for o in core::mem::take(&mut removed) {
        k.release(o);
    }
    check!(k.get(q).is_none(), "object survived its last capability");
    let _ = k.caps.destroy_table(table, |_| {});
    Ok(())
}
