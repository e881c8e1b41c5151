//! Delete, revoke and destroy over the derivation tree, including deep
//! chains that would overflow a recursive implementation.

mod common;

use bulkhead_captable::{CapError, CapRef, Rights, TableId};
use common::*;

fn parent(space: &Space, t: TableId, r: CapRef) -> Option<(TableId, CapRef)> {
    space.parent_of(t, r).unwrap()
}

fn children(space: &Space, t: TableId, r: CapRef) -> Vec<(TableId, CapRef)> {
    let mut kids: Vec<_> = space.children_of(t, r).unwrap().collect();
    kids.sort_by_key(|&(t, r)| (t, r.0));
    kids
}

#[test]
fn delete_reparents_children_to_parent() {
    let (mut space, t) = space_with_tables(2, 8);
    let (a, b) = (t[0], t[1]);
    let root = space.insert_root(a, full(1)).unwrap();
    let mid = space.copy(a, root, b, Rights::ALL).unwrap();
    let c1 = space.copy(b, mid, a, Rights::READ).unwrap();
    let c2 = space.copy(b, mid, b, Rights::WRITE).unwrap();
    let sibling = space.copy(a, root, a, Rights::ALL).unwrap();
    let mut removed = Vec::new();
    space.delete(b, mid, collect(&mut removed)).unwrap();
    assert_eq!(removed, vec![full(1)]);
    assert_eq!(parent(&space, a, c1), Some((a, root)));
    assert_eq!(parent(&space, b, c2), Some((a, root)));
    assert_eq!(children(&space, a, root), {
        let mut v = vec![(a, c1), (b, c2), (a, sibling)];
        v.sort_by_key(|&(t, r)| (t, r.0));
        v
    });
    assert_ok(&space);
}

#[test]
fn delete_of_a_root_makes_children_roots() {
    let (mut space, t) = space_with_tables(1, 8);
    let t = t[0];
    let root = space.insert_root(t, full(1)).unwrap();
    let c1 = space.copy(t, root, t, Rights::ALL).unwrap();
    let c2 = space.copy(t, root, t, Rights::ALL).unwrap();
    let grandchild = space.copy(t, c1, t, Rights::ALL).unwrap();
    space.delete(t, root, ignore).unwrap();
    assert_eq!(parent(&space, t, c1), None);
    assert_eq!(parent(&space, t, c2), None);
    assert_eq!(parent(&space, t, grandchild), Some((t, c1)));
    assert_ok(&space);
}

#[test]
fn delete_of_a_middle_sibling_keeps_the_list() {
    let (mut space, t) = space_with_tables(1, 8);
    let t = t[0];
    let root = space.insert_root(t, full(1)).unwrap();
    let kids: Vec<_> = (0..5)
        .map(|_| space.copy(t, root, t, Rights::ALL).unwrap())
        .collect();
    space.delete(t, kids[2], ignore).unwrap();
    assert_ok(&space);
    space.delete(t, kids[4], ignore).unwrap(); // first in the list
    assert_ok(&space);
    space.delete(t, kids[0], ignore).unwrap(); // last in the list
    assert_ok(&space);
    assert_eq!(children(&space, t, root), vec![(t, kids[1]), (t, kids[3])]);
}

#[test]
fn delete_errors() {
    let (mut space, t) = space_with_tables(1, 2);
    let t = t[0];
    assert_eq!(
        space.delete(t, CapRef::NULL, ignore),
        Err(CapError::InvalidIndex)
    );
    assert_eq!(
        space.delete(t, CapRef::new(0, 0), ignore),
        Err(CapError::Empty)
    );
    assert_eq!(
        space.delete(TableId::new(1, 0), CapRef::new(0, 0), ignore),
        Err(CapError::InvalidTable)
    );
}

#[test]
fn revoke_reaches_all_descendants_in_all_tables() {
    let (mut space, t) = space_with_tables(3, 8);
    let (a, b, c) = (t[0], t[1], t[2]);
    let root = space.insert_root(a, full(1)).unwrap();
    let target = space.copy(a, root, a, Rights::ALL).unwrap();
    let in_b = space.copy(a, target, b, Rights::ALL).unwrap();
    let in_c = space.mint(b, in_b, c, Rights::ALL, 9).unwrap();
    let deeper = space.copy(c, in_c, a, Rights::READ).unwrap();
    let also = space.copy(a, target, c, Rights::ALL).unwrap();
    let sibling = space.copy(a, root, b, Rights::ALL).unwrap();
    let unrelated = space.insert_root(b, full(1)).unwrap();
    let mut removed = Vec::new();
    assert_eq!(space.revoke(a, target, collect(&mut removed)), Ok(4));
    assert_eq!(removed.len(), 4);
    assert_eq!(removed.iter().filter(|c| c.badge == 9).count(), 2);
    for (table, r) in [(b, in_b), (c, in_c), (a, deeper), (c, also)] {
        assert_eq!(space.lookup(table, r), Err(CapError::Stale));
    }
    assert!(space.lookup(a, target).is_ok(), "revoked cap survives");
    assert_eq!(parent(&space, a, target), Some((a, root)));
    assert!(children(&space, a, target).is_empty());
    assert!(space.lookup(b, sibling).is_ok());
    assert!(space.lookup(b, unrelated).is_ok());
    assert_eq!(space.revoke(a, target, ignore), Ok(0));
    assert_ok(&space);
}

#[test]
fn revoke_errors() {
    let (mut space, t) = space_with_tables(1, 2);
    let t = t[0];
    let r = space.insert_root(t, full(1)).unwrap();
    space.delete(t, r, ignore).unwrap();
    assert_eq!(space.revoke(t, r, ignore), Err(CapError::Stale));
    assert_eq!(
        space.revoke(t, CapRef::NULL, ignore),
        Err(CapError::InvalidIndex)
    );
    assert_eq!(space.revoke_bounded(t, r, 1, ignore), Err(CapError::Stale));
}

const DEEP: u32 = 10_000;

/// A chain root -> c1 -> c2 -> ... of `DEEP` copies, alternating tables.
fn deep_chain() -> (Space, Vec<TableId>, Vec<(TableId, CapRef)>) {
    let (mut space, tables) = space_with_tables(2, DEEP + 1);
    let mut chain = vec![(tables[0], space.insert_root(tables[0], full(1)).unwrap())];
    for i in 0..DEEP as usize {
        let (src_table, src) = chain[i];
        let dst_table = tables[(i + 1) % 2];
        chain.push((
            dst_table,
            space.copy(src_table, src, dst_table, Rights::ALL).unwrap(),
        ));
    }
    (space, tables, chain)
}

#[test]
fn revoke_deep_chain_without_recursion() {
    let (mut space, tables, chain) = deep_chain();
    assert_ok(&space);
    let (t, root) = chain[0];
    let mut count = 0;
    assert_eq!(space.revoke(t, root, |_| count += 1), Ok(DEEP as usize));
    assert_eq!(count, DEEP as usize);
    assert_eq!(space.table_used(tables[0]), Ok(1));
    assert_eq!(space.table_used(tables[1]), Ok(0));
    assert_ok(&space);
}

#[test]
fn revoke_middle_of_deep_chain() {
    let (mut space, _, chain) = deep_chain();
    let (t, mid) = chain[5000];
    assert_eq!(space.revoke(t, mid, ignore), Ok(5000));
    for (table, r) in &chain[..=5000] {
        assert!(space.lookup(*table, *r).is_ok());
    }
    assert_ok(&space);
}

#[test]
fn revoke_bounded_resumes() {
    let (mut space, _, chain) = deep_chain();
    let (t, root) = chain[0];
    let mut total = 0;
    let mut calls = 0;
    loop {
        let progress = space.revoke_bounded(t, root, 3000, ignore).unwrap();
        total += progress.removed;
        calls += 1;
        assert_ok(&space);
        if progress.complete {
            break;
        }
        assert_eq!(progress.removed, 3000);
    }
    assert_eq!((total, calls), (DEEP as usize, 4));
    let done = space.revoke_bounded(t, root, 0, ignore).unwrap();
    assert_eq!((done.removed, done.complete), (0, true));
}

#[test]
fn revoke_bounded_zero_budget_reports_incomplete() {
    let (mut space, t) = space_with_tables(1, 4);
    let t = t[0];
    let root = space.insert_root(t, full(1)).unwrap();
    space.copy(t, root, t, Rights::ALL).unwrap();
    let progress = space.revoke_bounded(t, root, 0, ignore).unwrap();
    assert_eq!((progress.removed, progress.complete), (0, false));
    assert_eq!(space.table_used(t), Ok(2));
}

#[test]
fn wide_tree_revoke() {
    let (mut space, t) = space_with_tables(1, 5001);
    let t = t[0];
    let root = space.insert_root(t, full(1)).unwrap();
    for _ in 0..5000 {
        space.copy(t, root, t, Rights::ALL).unwrap();
    }
    assert_eq!(space.revoke(t, root, ignore), Ok(5000));
    assert_ok(&space);
}

#[test]
fn delete_through_deep_chain() {
    let (mut space, _, chain) = deep_chain();
    let (t, mid) = chain[1];
    space.delete(t, mid, ignore).unwrap();
    assert_eq!(parent(&space, chain[2].0, chain[2].1), Some(chain[0]));
    let (t, root) = chain[0];
    space.delete(t, root, ignore).unwrap();
    assert_eq!(parent(&space, chain[2].0, chain[2].1), None);
    assert_ok(&space);
}

#[test]
fn destroy_table_reparents_survivors() {
    let (mut space, t) = space_with_tables(2, 8);
    let (a, b) = (t[0], t[1]);
    let root = space.insert_root(a, full(1)).unwrap();
    let x = space.copy(a, root, b, Rights::ALL).unwrap();
    let y = space.copy(b, x, a, Rights::ALL).unwrap();
    let z = space.copy(a, y, b, Rights::READ).unwrap();
    let other_root = space.insert_root(b, full(2)).unwrap();
    let w = space.copy(b, other_root, a, Rights::ALL).unwrap();
    let mut removed = Vec::new();
    assert_eq!(space.destroy_table(a, collect(&mut removed)), Ok(3));
    assert_eq!(removed.len(), 3);
    assert_eq!(parent(&space, b, x), None, "x lost its parent root");
    assert_eq!(parent(&space, b, z), Some((b, x)), "z skips deleted y");
    assert!(children(&space, b, other_root).is_empty());
    assert_eq!(space.lookup(a, w), Err(CapError::InvalidTable));
    assert_ok(&space);
}

#[test]
fn destroy_table_with_deep_chain() {
    let (mut space, tables, chain) = deep_chain();
    let mut count = 0;
    assert_eq!(space.destroy_table(tables[1], |_| count += 1), Ok(5000));
    assert_eq!(count, 5000);
    // Survivors in table 0 now form a chain of every other link.
    assert_eq!(parent(&space, chain[2].0, chain[2].1), Some(chain[0]));
    assert_ok(&space);
    assert_eq!(space.destroy_table(tables[0], ignore), Ok(5001));
    assert_eq!(space.table_count(), 0);
    assert_ok(&space);
}

#[test]
fn destroy_then_revoke_elsewhere() {
    let (mut space, t) = space_with_tables(3, 4);
    let (a, b, c) = (t[0], t[1], t[2]);
    let root = space.insert_root(a, full(1)).unwrap();
    let mid = space.copy(a, root, b, Rights::ALL).unwrap();
    space.copy(b, mid, c, Rights::ALL).unwrap();
    space.destroy_table(b, ignore).unwrap();
    assert_eq!(space.revoke(a, root, ignore), Ok(1));
    assert_eq!(space.table_used(c), Ok(0));
    assert_ok(&space);
}
