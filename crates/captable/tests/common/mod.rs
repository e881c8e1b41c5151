//! Helpers shared by the integration tests: a `u32` object type, short
//! constructors, and an invariant assertion.
#![allow(dead_code)]

use bulkhead_captable::{CapSpace, Capability, Rights, TableId};

pub type Space = CapSpace<u32>;

pub fn cap(object: u32, rights: Rights) -> Capability<u32> {
    Capability::new(object, rights)
}

pub fn full(object: u32) -> Capability<u32> {
    cap(object, Rights::ALL)
}

pub fn assert_ok(space: &Space) {
    if let Err(message) = space.check_invariants() {
        panic!("invariant violated: {message}");
    }
}

/// A space with `count` tables of `capacity` slots each.
pub fn space_with_tables(count: usize, capacity: u32) -> (Space, Vec<TableId>) {
    let mut space = Space::new();
    let tables = (0..count)
        .map(|_| space.create_table(capacity).unwrap())
        .collect();
    (space, tables)
}

/// A callback that records removed capabilities into `out`.
pub fn collect(out: &mut Vec<Capability<u32>>) -> impl FnMut(Capability<u32>) + '_ {
    move |cap| out.push(cap)
}

pub fn ignore(_: Capability<u32>) {}
