//! Table lifecycle, root insertion, lookup, iteration, stale handles.

mod common;

use bulkhead_captable::{CapError, CapRef, Rights, TableId, MAX_TABLE_SLOTS};
use common::*;

#[test]
fn create_table_checks_capacity() {
    let mut space = Space::new();
    assert_eq!(space.create_table(0), Err(CapError::BadCapacity));
    assert_eq!(
        space.create_table(MAX_TABLE_SLOTS + 1),
        Err(CapError::BadCapacity)
    );
    let big = space.create_table(MAX_TABLE_SLOTS).unwrap();
    assert_eq!(space.table_capacity(big), Ok(MAX_TABLE_SLOTS));
    assert_eq!(space.table_used(big), Ok(0));
    assert_eq!(space.table_count(), 1);
    assert_ok(&space);
}

#[test]
fn tables_get_distinct_ids() {
    let (space, tables) = space_with_tables(3, 4);
    assert_eq!(tables[0].index(), 0);
    assert_eq!(tables[1].index(), 1);
    assert_eq!(tables[2].index(), 2);
    assert!(tables.iter().all(|t| space.table_exists(*t)));
    assert_eq!(space.table_count(), 3);
}

#[test]
fn destroyed_table_id_is_stale_after_reuse() {
    let (mut space, tables) = space_with_tables(2, 4);
    let old = tables[0];
    assert_eq!(space.destroy_table(old, ignore), Ok(0));
    assert!(!space.table_exists(old));
    assert_eq!(space.table_count(), 1);
    let new = space.create_table(8).unwrap();
    assert_eq!(new.index(), old.index(), "table entry reused");
    assert_ne!(new, old);
    assert_eq!(space.table_capacity(old), Err(CapError::InvalidTable));
    assert_eq!(space.table_used(old), Err(CapError::InvalidTable));
    assert_eq!(space.insert_root(old, full(1)), Err(CapError::InvalidTable));
    assert_eq!(
        space.destroy_table(old, ignore),
        Err(CapError::InvalidTable)
    );
    assert!(space.iter_table(old).is_err());
    assert_eq!(space.table_capacity(new), Ok(8));
    assert_ok(&space);
}

#[test]
fn unknown_table_ids_are_rejected() {
    let (space, tables) = space_with_tables(1, 4);
    let wrong_generation = TableId::new(tables[0].index(), 1);
    assert_eq!(
        space.table_used(wrong_generation),
        Err(CapError::InvalidTable)
    );
    assert_eq!(
        space.table_used(TableId::new(5, 0)),
        Err(CapError::InvalidTable)
    );
    assert_eq!(
        space.table_used(TableId::from_raw(u64::MAX)),
        Err(CapError::InvalidTable)
    );
}

#[test]
fn insert_root_uses_lowest_free_slot() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let a = space.insert_root(t, full(10)).unwrap();
    let b = space.insert_root(t, full(11)).unwrap();
    let c = space.insert_root(t, full(12)).unwrap();
    assert_eq!((a.index(), b.index(), c.index()), (0, 1, 2));
    assert_eq!(a.generation(), 0);
    space.delete(t, b, ignore).unwrap();
    let d = space.insert_root(t, full(13)).unwrap();
    assert_eq!(d.index(), 1);
    assert_eq!(d.generation(), 1, "generation bumped when emptied");
    assert_eq!(space.table_used(t), Ok(3));
    assert_eq!(space.parent_of(t, d), Ok(None));
    assert_ok(&space);
}

#[test]
fn insert_root_fails_when_full() {
    let (mut space, t) = space_with_tables(1, 2);
    let t = t[0];
    space.insert_root(t, full(1)).unwrap();
    space.insert_root(t, full(2)).unwrap();
    let before = space.clone();
    assert_eq!(space.insert_root(t, full(3)), Err(CapError::TableFull));
    assert_eq!(space, before);
}

#[test]
fn insert_root_at_places_and_checks() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let r = space.insert_root_at(t, 2, full(7)).unwrap();
    assert_eq!(r, CapRef::new(2, 0));
    assert_eq!(
        space.insert_root_at(t, 2, full(8)),
        Err(CapError::SlotOccupied)
    );
    assert_eq!(
        space.insert_root_at(t, 4, full(8)),
        Err(CapError::InvalidIndex)
    );
    assert_eq!(space.insert_root(t, full(9)).unwrap().index(), 0);
    assert_eq!(space.insert_root(t, full(9)).unwrap().index(), 1);
    assert_eq!(
        space.insert_root(t, full(9)).unwrap().index(),
        3,
        "skips slot 2"
    );
    assert_eq!(space.insert_root(t, full(9)), Err(CapError::TableFull));
    assert_ok(&space);
}

#[test]
fn lookup_returns_the_capability() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let rw = cap(42, Rights::READ | Rights::WRITE);
    let r = space.insert_root(t, rw).unwrap();
    assert_eq!(space.lookup(t, r), Ok(&rw));
    assert_eq!(space.lookup_with(t, r, Rights::READ), Ok(&rw));
    assert_eq!(space.lookup_with(t, r, Rights::empty()), Ok(&rw));
    assert_eq!(
        space.lookup_with(t, r, Rights::READ | Rights::EXECUTE),
        Err(CapError::InsufficientRights)
    );
}

#[test]
fn lookup_error_cases() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let r = space.insert_root(t, full(1)).unwrap();
    assert_eq!(space.lookup(t, CapRef::NULL), Err(CapError::InvalidIndex));
    assert_eq!(
        space.lookup(t, CapRef::new(4, 0)),
        Err(CapError::InvalidIndex)
    );
    assert_eq!(space.lookup(t, CapRef::new(0, 1)), Err(CapError::Stale));
    assert_eq!(space.lookup(t, CapRef::new(1, 0)), Err(CapError::Empty));
    assert_eq!(
        space.lookup(TableId::new(9, 0), r),
        Err(CapError::InvalidTable)
    );
    assert_eq!(
        space.lookup_with(t, CapRef::NULL, Rights::empty()),
        Err(CapError::InvalidIndex)
    );
}

#[test]
fn stale_handle_rejected_after_delete_and_reuse() {
    let (mut space, t) = space_with_tables(1, 1);
    let t = t[0];
    let old = space.insert_root(t, full(1)).unwrap();
    space.delete(t, old, ignore).unwrap();
    assert_eq!(space.lookup(t, old), Err(CapError::Stale));
    let new = space.insert_root(t, full(2)).unwrap();
    assert_eq!(new.index(), old.index());
    assert_eq!(space.lookup(t, old), Err(CapError::Stale));
    assert_eq!(space.delete(t, old, ignore), Err(CapError::Stale));
    assert_eq!(space.copy(t, old, t, Rights::ALL), Err(CapError::Stale));
    assert_eq!(space.revoke(t, old, ignore), Err(CapError::Stale));
    assert_eq!(space.lookup(t, new).unwrap().object, 2);
}

#[test]
fn generation_increments_on_every_emptying() {
    let (mut space, t) = space_with_tables(1, 1);
    let t = t[0];
    for expected in 0..5 {
        let r = space.insert_root(t, full(1)).unwrap();
        assert_eq!(r.generation(), expected);
        space.delete(t, r, ignore).unwrap();
    }
}

#[test]
fn iter_table_lists_occupied_slots_in_order() {
    let (mut space, t) = space_with_tables(2, 5);
    let (a, b) = (t[0], t[1]);
    let r0 = space.insert_root_at(a, 0, full(10)).unwrap();
    let r3 = space.insert_root_at(a, 3, full(13)).unwrap();
    space.insert_root(b, full(99)).unwrap();
    let listed: Vec<_> = space
        .iter_table(a)
        .unwrap()
        .map(|(r, c)| (r, c.object))
        .collect();
    assert_eq!(listed, vec![(r0, 10), (r3, 13)]);
}

#[test]
fn find_object_finds_lowest_slot() {
    let (mut space, t) = space_with_tables(1, 5);
    let t = t[0];
    space.insert_root(t, full(1)).unwrap();
    let second = space.insert_root(t, full(2)).unwrap();
    space.insert_root(t, full(2)).unwrap();
    assert_eq!(space.find_object(t, 2), Some(second));
    assert_eq!(space.find_object(t, 3), None);
    assert_eq!(space.find_object(TableId::new(7, 7), 1), None);
}

#[test]
fn destroy_table_reports_every_capability() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    for object in [1, 2, 3] {
        space.insert_root(t, full(object)).unwrap();
    }
    let mut removed = Vec::new();
    assert_eq!(space.destroy_table(t, collect(&mut removed)), Ok(3));
    let objects: Vec<_> = removed.iter().map(|c| c.object).collect();
    assert_eq!(objects, vec![1, 2, 3]);
    assert_eq!(space.table_count(), 0);
    assert_ok(&space);
}

#[test]
fn default_space_is_empty() {
    let space = Space::default();
    assert_eq!(space.table_count(), 0);
    assert_ok(&space);
}
