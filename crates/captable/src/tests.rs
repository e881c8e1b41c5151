//! Unit tests that corrupt the space's internals on purpose and check that
//! [`CapSpace::check_invariants`] notices each kind of damage.

use crate::handle::SlotId;
use crate::{CapRef, CapSpace, Capability, Rights, TableId};

type Space = CapSpace<u32>;

/// Table 0 holding root (slot 0) -> a (1), root -> b (2), a -> c (3).
fn sample() -> (Space, TableId) {
    let mut space = Space::new();
    let t = space.create_table(8).unwrap();
    let root = space
        .insert_root(t, Capability::new(1, Rights::ALL))
        .unwrap();
    let a = space.copy(t, root, t, Rights::ALL).unwrap();
    space.copy(t, root, t, Rights::READ | Rights::COPY).unwrap();
    space.copy(t, a, t, Rights::READ).unwrap();
    assert_eq!(space.check_invariants(), Ok(()));
    (space, t)
}

fn id(index: u32) -> SlotId {
    SlotId { table: 0, index }
}

fn expect_violation(space: &Space, needle: &str) {
    let message = space
        .check_invariants()
        .expect_err("corruption not detected");
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

#[test]
fn detects_links_on_empty_slot() {
    let (mut space, _) = sample();
    space.table_at_mut(0).slot_mut(5).links.parent = Some(id(0));
    expect_violation(&space, "empty slot has links");
}

#[test]
fn detects_link_to_empty_slot() {
    let (mut space, _) = sample();
    space.table_at_mut(0).slot_mut(3).links.next_sibling = Some(id(6));
    expect_violation(&space, "link to dead or empty");
}

#[test]
fn detects_link_to_dead_table() {
    let (mut space, _) = sample();
    space.table_at_mut(0).slot_mut(3).links.next_sibling = Some(SlotId { table: 4, index: 0 });
    expect_violation(&space, "link to dead or empty");
}

#[test]
fn detects_asymmetric_parent() {
    let (mut space, _) = sample();
    // c claims root as parent, but root's child list does not contain it.
    space.table_at_mut(0).slot_mut(3).links.parent = Some(id(0));
    expect_violation(
        &space,
        "first child SlotId { table: 0, index: 3 } does not point back",
    );
    // a (second in root's child list) forgets its previous sibling.
    let (mut space, _) = sample();
    space.links_mut_for_test(id(1)).prev_sibling = None;
    expect_violation(&space, "not its parent's first child");
}

#[test]
fn detects_broken_sibling_link() {
    let (mut space, _) = sample();
    let first = space.links(id(0)).first_child.unwrap();
    space.links_mut_for_test(first).next_sibling = None;
    expect_violation(&space, "does not point back");
}

#[test]
fn detects_root_with_siblings() {
    let mut space = Space::new();
    let t = space.create_table(4).unwrap();
    space
        .insert_root(t, Capability::new(1, Rights::ALL))
        .unwrap();
    space
        .insert_root(t, Capability::new(2, Rights::ALL))
        .unwrap();
    space.links_mut_for_test(id(0)).next_sibling = Some(id(1));
    space.links_mut_for_test(id(1)).prev_sibling = Some(id(0));
    expect_violation(&space, "root with siblings");
}

#[test]
fn detects_cycle() {
    let mut space = Space::new();
    let t = space.create_table(4).unwrap();
    space
        .insert_root(t, Capability::new(1, Rights::ALL))
        .unwrap();
    space
        .insert_root(t, Capability::new(1, Rights::ALL))
        .unwrap();
    // 0 and 1 each other's only child and parent: locally consistent, no root.
    space.links_mut_for_test(id(0)).parent = Some(id(1));
    space.links_mut_for_test(id(0)).first_child = Some(id(1));
    space.links_mut_for_test(id(1)).parent = Some(id(0));
    space.links_mut_for_test(id(1)).first_child = Some(id(0));
    expect_violation(&space, "unreachable from any root");
}

#[test]
fn detects_rights_amplification() {
    let (mut space, _) = sample();
    // a (slot 1) loses WRITE; its child c (slot 3) gains it.
    space
        .table_at_mut(0)
        .slot_mut(1)
        .cap
        .as_mut()
        .unwrap()
        .rights = Rights::READ;
    space
        .table_at_mut(0)
        .slot_mut(3)
        .cap
        .as_mut()
        .unwrap()
        .rights = Rights::READ | Rights::WRITE;
    expect_violation(&space, "cannot derive from parent");
}

#[test]
fn detects_badge_change_and_object_change() {
    let (mut space, _) = sample();
    space
        .table_at_mut(0)
        .slot_mut(1)
        .cap
        .as_mut()
        .unwrap()
        .badge = 3;
    space
        .table_at_mut(0)
        .slot_mut(3)
        .cap
        .as_mut()
        .unwrap()
        .badge = 3;
    assert_eq!(
        space.check_invariants(),
        Ok(()),
        "minted from unbadged root"
    );
    expect_badge_violation(space.clone());
    space
        .table_at_mut(0)
        .slot_mut(2)
        .cap
        .as_mut()
        .unwrap()
        .object = 2;
    expect_violation(&space, "cannot derive from parent");
}

fn expect_badge_violation(mut space: Space) {
    // c (slot 3) is a child of a (slot 1, now badged 3) with another badge.
    space
        .table_at_mut(0)
        .slot_mut(3)
        .cap
        .as_mut()
        .unwrap()
        .badge = 4;
    expect_violation(&space, "cannot derive from parent");
}

#[test]
fn detects_wrong_used_count_and_hint() {
    let (space, t) = sample();
    let mut broken = space.clone();
    broken.table_at_mut(0).slot_mut(6).cap = Some(Capability::new(1, Rights::ALL));
    expect_violation(&broken, "used 4 but 5 occupied");
    let mut hinted = space.clone();
    hinted.delete(t, CapRef::new(1, 0), |_| {}).unwrap();
    hinted.table_at_mut(0).slot_mut(1).cap = Some(Capability::new(1, Rights::ALL));
    expect_violation(&hinted, "used 3 but 4 occupied");
}

impl Space {
    fn links_mut_for_test(&mut self, id: SlotId) -> &mut crate::table::Links {
        &mut self.table_at_mut(id.table).slot_mut(id.index).links
    }
}

/// `get`, the short lookup of the IPC fast path, finds exactly what
/// `lookup` finds, and nothing where `lookup` fails.
#[test]
fn get_agrees_with_lookup() {
    let (mut space, t) = sample();
    let handle = |space: &Space, i: u32| space.table_at(0).handle(i);
    let deleted = handle(&space, 3);
    space.delete(t, deleted, |_| {}).unwrap();
    let other = space.create_table(2).unwrap();
    let gone = space.create_table(2).unwrap();
    space.destroy_table(gone, |_| {}).unwrap();
    let mut cases = alloc::vec![
        (t, deleted),
        (t, CapRef::NULL),
        (t, CapRef::new(8, 0)),
        (t, CapRef::new(5, 0)),
        (other, CapRef::new(0, 0)),
        (gone, CapRef::new(0, 0)),
        (TableId::new(9, 0), CapRef::new(0, 0)),
    ];
    cases.extend((0..3).map(|i| (t, handle(&space, i))));
    cases.push((t, CapRef::new(0, 1)));
    for (table, r) in cases {
        assert_eq!(
            space.get(table, r),
            space.lookup(table, r).ok().copied(),
            "{table:?} {r:?}"
        );
    }
}

/// The removal epoch moves on every operation that empties a slot or
/// destroys a table (so a remembered lookup is checked again), and stays
/// on those that only add capabilities or fail.
#[test]
fn epoch_moves_exactly_when_a_capability_goes() {
    let (mut space, t) = sample();
    let root = space.table_at(0).handle(0);
    let a = space.table_at(0).handle(1);
    let mut epoch = space.epoch();
    let mut moved = |space: &Space, expected: bool| {
        let now = space.epoch();
        assert_eq!(now != epoch, expected, "epoch {epoch} -> {now}");
        epoch = now;
    };
    let copy = space.copy(t, root, t, Rights::ALL).unwrap();
    space.mint(t, root, t, Rights::ALL, 7).unwrap();
    space
        .insert_root(t, Capability::new(9, Rights::READ))
        .unwrap();
    let _ = space.lookup(t, a);
    moved(&space, false);
    assert!(space.delete(t, CapRef::new(0, 99), |_| {}).is_err());
    moved(&space, false);
    space.delete(t, copy, |_| {}).unwrap();
    moved(&space, true);
    let t2 = space.create_table(4).unwrap();
    moved(&space, false);
    let moved_cap = space.move_cap(t, a, t2).unwrap();
    moved(&space, true);
    space.revoke(t, root, |_| {}).unwrap();
    moved(&space, true);
    assert!(space.lookup(t2, moved_cap).is_err());
    space.destroy_table(t2, |_| {}).unwrap();
    moved(&space, true);
    space.invalidate_lookups();
    moved(&space, true);
}
