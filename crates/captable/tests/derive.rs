//! Copy, mint and move: rights only shrink, badges are set once, and the
//! derived capability becomes a CDT child of its source.

mod common;

use bulkhead_captable::{CapError, CapRef, Capability, Rights, TableId};
use common::*;

const RW: Rights = Rights::READ.union(Rights::WRITE);

fn parent(space: &Space, t: TableId, r: CapRef) -> Option<(TableId, CapRef)> {
    space.parent_of(t, r).unwrap()
}

#[test]
fn copy_within_a_table_needs_only_copy() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let src = space.insert_root(t, cap(5, RW | Rights::COPY)).unwrap();
    let dst = space.copy(t, src, t, Rights::ALL).unwrap();
    assert_eq!(space.lookup(t, dst), Ok(&cap(5, RW | Rights::COPY)));
    assert_eq!(parent(&space, t, dst), Some((t, src)));
    let children: Vec<_> = space.children_of(t, src).unwrap().collect();
    assert_eq!(children, vec![(t, dst)]);
    assert_ok(&space);
}

#[test]
fn copy_without_copy_right_fails() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let src = space
        .insert_root(t, cap(5, Rights::ALL - Rights::COPY))
        .unwrap();
    let before = space.clone();
    assert_eq!(
        space.copy(t, src, t, Rights::ALL),
        Err(CapError::InsufficientRights)
    );
    assert_eq!(
        space.mint(t, src, t, Rights::ALL, 1),
        Err(CapError::InsufficientRights)
    );
    assert_eq!(space, before);
}

#[test]
fn copy_to_another_table_needs_grant() {
    let (mut space, t) = space_with_tables(2, 4);
    let (a, b) = (t[0], t[1]);
    let no_grant = space.insert_root(a, cap(1, RW | Rights::COPY)).unwrap();
    let with_grant = space
        .insert_root(a, cap(2, RW | Rights::COPY | Rights::GRANT))
        .unwrap();
    assert_eq!(
        space.copy(a, no_grant, b, Rights::ALL),
        Err(CapError::InsufficientRights)
    );
    let copied = space.copy(a, with_grant, b, Rights::ALL).unwrap();
    assert_eq!(space.lookup(b, copied).unwrap().object, 2);
    assert_eq!(parent(&space, b, copied), Some((a, with_grant)));
    assert_ok(&space);
}

#[test]
fn copy_masks_rights_and_never_adds() {
    let (mut space, t) = space_with_tables(1, 8);
    let t = t[0];
    let src = space
        .insert_root(t, cap(1, Rights::READ | Rights::COPY))
        .unwrap();
    let masked = space.copy(t, src, t, Rights::READ).unwrap();
    assert_eq!(space.lookup(t, masked).unwrap().rights, Rights::READ);
    let widened = space.copy(t, src, t, Rights::ALL).unwrap();
    assert_eq!(
        space.lookup(t, widened).unwrap().rights,
        Rights::READ | Rights::COPY
    );
    let none = space.copy(t, src, t, Rights::empty()).unwrap();
    assert_eq!(space.lookup(t, none).unwrap().rights, Rights::empty());
    // A copy without COPY cannot be copied further.
    assert_eq!(
        space.copy(t, masked, t, Rights::ALL),
        Err(CapError::InsufficientRights)
    );
}

#[test]
fn rights_shrink_along_a_chain() {
    let (mut space, t) = space_with_tables(1, 8);
    let t = t[0];
    let mut r = space.insert_root(t, full(1)).unwrap();
    let masks = [
        Rights::ALL - Rights::EXECUTE,
        Rights::ALL,
        Rights::COPY | Rights::READ | Rights::GRANT,
        Rights::ALL,
    ];
    let mut expected = Rights::ALL;
    for mask in masks {
        r = space.copy(t, r, t, mask).unwrap();
        expected &= mask;
        assert_eq!(space.lookup(t, r).unwrap().rights, expected);
    }
    assert_eq!(expected, Rights::COPY | Rights::READ | Rights::GRANT);
    assert_ok(&space);
}

#[test]
fn copy_keeps_the_badge() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let badged = Capability {
        badge: 77,
        ..full(3)
    };
    let src = space.insert_root(t, badged).unwrap();
    let copy = space.copy(t, src, t, Rights::ALL).unwrap();
    assert_eq!(space.lookup(t, copy).unwrap().badge, 77);
}

#[test]
fn mint_sets_badge_once() {
    let (mut space, t) = space_with_tables(2, 4);
    let (a, b) = (t[0], t[1]);
    let src = space.insert_root(a, full(9)).unwrap();
    let minted = space.mint(a, src, b, RW | Rights::COPY, 1234).unwrap();
    let got = space.lookup(b, minted).unwrap();
    assert_eq!(
        (got.object, got.rights, got.badge),
        (9, RW | Rights::COPY, 1234)
    );
    assert_eq!(parent(&space, b, minted), Some((a, src)));
    let before = space.clone();
    assert_eq!(
        space.mint(b, minted, b, Rights::ALL, 5),
        Err(CapError::BadgeAlreadySet)
    );
    assert_eq!(
        space.mint(a, src, b, Rights::ALL, 0),
        Err(CapError::InvalidBadge)
    );
    assert_eq!(space, before);
    // A badged capability can still be copied, keeping its badge.
    let copy = space.copy(b, minted, b, Rights::READ).unwrap();
    assert_eq!(space.lookup(b, copy).unwrap().badge, 1234);
    assert_ok(&space);
}

#[test]
fn derive_into_full_table_fails() {
    let (mut space, t) = space_with_tables(2, 1);
    let (a, b) = (t[0], t[1]);
    let src = space.insert_root(a, full(1)).unwrap();
    space.insert_root(b, full(2)).unwrap();
    assert_eq!(space.copy(a, src, a, Rights::ALL), Err(CapError::TableFull));
    assert_eq!(space.copy(a, src, b, Rights::ALL), Err(CapError::TableFull));
    assert_eq!(
        space.mint(a, src, b, Rights::ALL, 3),
        Err(CapError::TableFull)
    );
}

#[test]
fn derive_into_invalid_table_fails() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let src = space.insert_root(t, full(1)).unwrap();
    let bogus = TableId::new(3, 0);
    assert_eq!(
        space.copy(t, src, bogus, Rights::ALL),
        Err(CapError::InvalidTable)
    );
    assert_eq!(
        space.copy(bogus, src, t, Rights::ALL),
        Err(CapError::InvalidTable)
    );
}

#[test]
fn copy_at_and_mint_at_use_the_given_slot() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let src = space.insert_root(t, full(1)).unwrap();
    let c = space.copy_at(t, src, t, 3, Rights::READ).unwrap();
    assert_eq!(c.index(), 3);
    let m = space.mint_at(t, src, t, 2, Rights::READ, 8).unwrap();
    assert_eq!(m.index(), 2);
    assert_eq!(space.lookup(t, m).unwrap().badge, 8);
    assert_eq!(
        space.copy_at(t, src, t, 3, Rights::ALL),
        Err(CapError::SlotOccupied)
    );
    assert_eq!(
        space.copy_at(t, src, t, 4, Rights::ALL),
        Err(CapError::InvalidIndex)
    );
    assert_eq!(
        space.mint_at(t, src, t, 0, Rights::ALL, 1),
        Err(CapError::SlotOccupied)
    );
    let kids: Vec<_> = space.children_of(t, src).unwrap().map(|(_, r)| r).collect();
    assert_eq!(kids, vec![m, c], "most recent first");
    assert_ok(&space);
}

#[test]
fn move_keeps_tree_position() {
    let (mut space, t) = space_with_tables(2, 4);
    let (a, b) = (t[0], t[1]);
    let root = space.insert_root(a, full(1)).unwrap();
    let mid = space.copy(a, root, a, Rights::ALL).unwrap();
    let leaf = space.copy(a, mid, a, Rights::READ).unwrap();
    let moved = space.move_cap(a, mid, b).unwrap();
    assert_eq!(space.lookup(a, mid), Err(CapError::Stale));
    assert_eq!(space.lookup(b, moved).unwrap().rights, Rights::ALL);
    assert_eq!(parent(&space, b, moved), Some((a, root)));
    assert_eq!(parent(&space, a, leaf), Some((b, moved)));
    assert_ok(&space);
    assert_eq!(space.revoke(a, root, ignore), Ok(2));
    assert_eq!(space.table_used(b), Ok(0));
    assert_ok(&space);
}

#[test]
fn move_rules() {
    let (mut space, t) = space_with_tables(2, 2);
    let (a, b) = (t[0], t[1]);
    let no_grant = space.insert_root(a, cap(1, Rights::READ)).unwrap();
    let before = space.clone();
    assert_eq!(
        space.move_cap(a, no_grant, b),
        Err(CapError::InsufficientRights)
    );
    assert_eq!(space.move_cap_at(a, no_grant, a, 1,), Ok(CapRef::new(1, 0)));
    assert_eq!(space.lookup(a, no_grant), Err(CapError::Stale));
    let back = space.move_cap_at(a, CapRef::new(1, 0), a, 0).unwrap();
    assert_eq!(back, CapRef::new(0, 1));
    let occupied = space.insert_root(a, full(2)).unwrap();
    assert_eq!(
        space.move_cap_at(a, back, a, occupied.index()),
        Err(CapError::SlotOccupied)
    );
    assert_eq!(space.move_cap(a, back, a), Err(CapError::TableFull));
    assert_ne!(space, before);
    assert_ok(&space);
}
