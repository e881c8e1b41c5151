//! Every failing operation leaves the space exactly as it was and reports
//! nothing removed.

mod common;

use bulkhead_captable::{CapError, CapRef, Capability, Rights, TableId};
use common::*;

struct Fixture {
    space: Space,
    a: TableId,
    full_table: TableId,
    dead_table: TableId,
    root: CapRef,
    badged: CapRef,
    weak: CapRef,
    stale: CapRef,
}

fn fixture() -> Fixture {
    let (mut space, t) = space_with_tables(3, 4);
    let (a, full_table) = (t[0], t[1]);
    let dead_table = t[2];
    space.destroy_table(dead_table, ignore).unwrap();
    let root = space.insert_root(a, full(1)).unwrap();
    let badged = space.mint(a, root, a, Rights::ALL, 5).unwrap();
    let weak = space.copy(a, root, a, Rights::READ).unwrap();
    let stale = space.copy(a, badged, a, Rights::ALL).unwrap();
    space.delete(a, stale, ignore).unwrap();
    for object in 0..4 {
        space.insert_root(full_table, full(object)).unwrap();
    }
    assert_ok(&space);
    Fixture {
        space,
        a,
        full_table,
        dead_table,
        root,
        badged,
        weak,
        stale,
    }
}

type Op = fn(&mut Space, &Fixture, &mut dyn FnMut(Capability<u32>)) -> Result<(), CapError>;

fn unit<T>(result: Result<T, CapError>) -> Result<(), CapError> {
    result.map(|_| ())
}

fn failing_ops() -> Vec<(&'static str, CapError, Op)> {
    use CapError::*;
    vec![
        ("create cap 0", BadCapacity, |s, _, _| {
            unit(s.create_table(0))
        }),
        ("create too big", BadCapacity, |s, _, _| {
            unit(s.create_table(65537))
        }),
        ("destroy dead", InvalidTable, |s, f, cb| {
            unit(s.destroy_table(f.dead_table, cb))
        }),
        ("insert full", TableFull, |s, f, _| {
            unit(s.insert_root(f.full_table, full(9)))
        }),
        ("insert dead", InvalidTable, |s, f, _| {
            unit(s.insert_root(f.dead_table, full(9)))
        }),
        ("insert_at occupied", SlotOccupied, |s, f, _| {
            unit(s.insert_root_at(f.a, 0, full(9)))
        }),
        ("insert_at range", InvalidIndex, |s, f, _| {
            unit(s.insert_root_at(f.a, 4, full(9)))
        }),
        ("copy stale", Stale, |s, f, _| {
            unit(s.copy(f.a, f.stale, f.a, Rights::ALL))
        }),
        ("copy null", InvalidIndex, |s, f, _| {
            unit(s.copy(f.a, CapRef::NULL, f.a, Rights::ALL))
        }),
        ("copy weak", InsufficientRights, |s, f, _| {
            unit(s.copy(f.a, f.weak, f.a, Rights::ALL))
        }),
        ("copy to full", TableFull, |s, f, _| {
            unit(s.copy(f.a, f.root, f.full_table, Rights::ALL))
        }),
        ("copy to dead", InvalidTable, |s, f, _| {
            unit(s.copy(f.a, f.root, f.dead_table, Rights::ALL))
        }),
        ("copy_at occupied", SlotOccupied, |s, f, _| {
            unit(s.copy_at(f.a, f.root, f.a, 1, Rights::ALL))
        }),
        ("mint badged", BadgeAlreadySet, |s, f, _| {
            unit(s.mint(f.a, f.badged, f.a, Rights::ALL, 2))
        }),
        ("mint zero", InvalidBadge, |s, f, _| {
            unit(s.mint(f.a, f.root, f.a, Rights::ALL, 0))
        }),
        ("mint weak", InsufficientRights, |s, f, _| {
            unit(s.mint(f.a, f.weak, f.a, Rights::ALL, 3))
        }),
        ("mint_at range", InvalidIndex, |s, f, _| {
            unit(s.mint_at(f.a, f.root, f.a, 9, Rights::ALL, 3))
        }),
        ("move weak across", InsufficientRights, |s, f, _| {
            unit(s.move_cap(f.a, f.weak, f.full_table))
        }),
        ("move to full", TableFull, |s, f, _| {
            unit(s.move_cap(f.a, f.root, f.full_table))
        }),
        ("move_at occupied", SlotOccupied, |s, f, _| {
            unit(s.move_cap_at(f.a, f.root, f.a, 2))
        }),
        ("delete stale", Stale, |s, f, cb| s.delete(f.a, f.stale, cb)),
        ("delete empty", Empty, |s, f, cb| {
            s.delete(f.a, CapRef::new(3, 1), cb)
        }),
        ("delete dead", InvalidTable, |s, f, cb| {
            s.delete(f.dead_table, f.root, cb)
        }),
        ("revoke stale", Stale, |s, f, cb| {
            unit(s.revoke(f.a, f.stale, cb))
        }),
        ("revoke null", InvalidIndex, |s, f, cb| {
            unit(s.revoke(f.a, CapRef::NULL, cb))
        }),
        ("revoke_bounded dead", InvalidTable, |s, f, cb| {
            unit(s.revoke_bounded(f.dead_table, f.root, 1, cb))
        }),
    ]
}

#[test]
fn failed_operations_change_nothing() {
    let fixture = fixture();
    for (name, expected, op) in failing_ops() {
        let mut space = fixture.space.clone();
        let mut removed = 0;
        let result = op(&mut space, &fixture, &mut |_| removed += 1);
        assert_eq!(result, Err(expected), "{name}");
        assert_eq!(space, fixture.space, "{name} changed the space");
        assert_eq!(removed, 0, "{name} reported a removal");
    }
}

#[test]
fn failed_lookups_report_the_right_error() {
    let f = fixture();
    assert_eq!(f.space.lookup(f.a, f.stale), Err(CapError::Stale));
    assert_eq!(
        f.space.lookup_with(f.a, f.weak, Rights::WRITE),
        Err(CapError::InsufficientRights)
    );
    assert_eq!(f.space.parent_of(f.a, f.stale), Err(CapError::Stale));
    assert!(f.space.children_of(f.dead_table, f.root).is_err());
}
