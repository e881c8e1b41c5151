//! Randomized test: thousands of random operations (valid and invalid) on
//! several tables, each checked against a simple reference model that
//! predicts every result, every removed capability and the whole resulting
//! state, with `check_invariants` after every step.

mod common;

use bulkhead_captable::{CapError, CapRef, Capability, Rights, TableId};
use common::*;

/// xorshift64* PRNG, so runs are reproducible without dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn rights(&mut self) -> Rights {
        if self.chance(40) {
            Rights::ALL
        } else {
            Rights::from_bits_truncate(self.next() as u32)
        }
    }
}

type Cap = Capability<u32>;
/// Model address of a slot: (table entry index, slot index).
type Addr = (usize, u32);

#[derive(Clone, Debug)]
struct ModelSlot {
    generation: u32,
    cap: Option<(Cap, Option<Addr>)>,
}

#[derive(Clone, Debug, Default)]
struct Model {
    /// Per table entry: generation and, if live, its slots.
    entries: Vec<(u32, Option<Vec<ModelSlot>>)>,
}

impl Model {
    fn id(&self, entry: usize) -> TableId {
        TableId::new(entry as u32, self.entries[entry].0)
    }

    fn table(&self, id: TableId) -> Result<&Vec<ModelSlot>, CapError> {
        match self.entries.get(id.index() as usize) {
            Some((generation, Some(slots))) if *generation == id.generation() => Ok(slots),
            _ => Err(CapError::InvalidTable),
        }
    }

    fn slot_mut(&mut self, (entry, index): Addr) -> &mut ModelSlot {
        &mut self.entries[entry].1.as_mut().unwrap()[index as usize]
    }

    fn resolve(&self, t: TableId, r: CapRef) -> Result<(Addr, Cap), CapError> {
        let slot = self
            .table(t)?
            .get(r.index() as usize)
            .ok_or(CapError::InvalidIndex)?;
        if slot.generation != r.generation() {
            return Err(CapError::Stale);
        }
        let (cap, _) = slot.cap.ok_or(CapError::Empty)?;
        Ok(((t.index() as usize, r.index()), cap))
    }

    fn free_slot(&self, t: TableId, at: Option<u32>) -> Result<u32, CapError> {
        let slots = self.table(t)?;
        match at {
            Some(i) => match slots.get(i as usize) {
                None => Err(CapError::InvalidIndex),
                Some(s) if s.cap.is_some() => Err(CapError::SlotOccupied),
                Some(_) => Ok(i),
            },
            None => slots
                .iter()
                .position(|s| s.cap.is_none())
                .map(|i| i as u32)
                .ok_or(CapError::TableFull),
        }
    }

    fn fill(&mut self, t: TableId, index: u32, cap: Cap, parent: Option<Addr>) -> CapRef {
        let slot = self.slot_mut((t.index() as usize, index));
        slot.cap = Some((cap, parent));
        CapRef::new(index, slot.generation)
    }

    fn live_addrs(&self) -> Vec<Addr> {
        let mut out = Vec::new();
        for (entry, (_, table)) in self.entries.iter().enumerate() {
            for (index, slot) in table.iter().flatten().enumerate() {
                if slot.cap.is_some() {
                    out.push((entry, index as u32));
                }
            }
        }
        out
    }

    fn parent(&self, (entry, index): Addr) -> Option<Addr> {
        self.entries[entry].1.as_ref().unwrap()[index as usize]
            .cap
            .unwrap()
            .1
    }

    fn create(&mut self, capacity: u32) -> Result<TableId, CapError> {
        if capacity == 0 || capacity > 65536 {
            return Err(CapError::BadCapacity);
        }
        let slots = vec![
            ModelSlot {
                generation: 0,
                cap: None
            };
            capacity as usize
        ];
        let entry = match self.entries.iter().position(|(_, t)| t.is_none()) {
            Some(entry) => entry,
            None => {
                self.entries.push((0, None));
                self.entries.len() - 1
            }
        };
        self.entries[entry].1 = Some(slots);
        Ok(self.id(entry))
    }

    /// Removes one capability, moving its children up; returns it.
    fn remove(&mut self, addr: Addr) -> Cap {
        let parent = self.parent(addr);
        for child in self.live_addrs() {
            if self.parent(child) == Some(addr) {
                self.slot_mut(child).cap.as_mut().unwrap().1 = parent;
            }
        }
        let slot = self.slot_mut(addr);
        slot.generation = slot.generation.wrapping_add(1);
        slot.cap.take().unwrap().0
    }

    fn destroy(&mut self, t: TableId) -> Result<Vec<Cap>, CapError> {
        let capacity = self.table(t)?.len() as u32;
        let entry = t.index() as usize;
        let mut removed = Vec::new();
        for index in 0..capacity {
            if self.slot_mut((entry, index)).cap.is_some() {
                removed.push(self.remove((entry, index)));
            }
        }
        self.entries[entry].1 = None;
        self.entries[entry].0 += 1;
        Ok(removed)
    }

    fn is_descendant(&self, mut node: Addr, ancestor: Addr) -> bool {
        while let Some(parent) = self.parent(node) {
            if parent == ancestor {
                return true;
            }
            node = parent;
        }
        false
    }

    fn revoke(&mut self, t: TableId, r: CapRef) -> Result<Vec<Cap>, CapError> {
        let (addr, _) = self.resolve(t, r)?;
        let doomed: Vec<Addr> = self
            .live_addrs()
            .into_iter()
            .filter(|a| self.is_descendant(*a, addr))
            .collect();
        Ok(doomed.into_iter().map(|a| self.remove(a)).collect())
    }

    fn derive(&mut self, op: &Derive) -> Result<CapRef, CapError> {
        let (src, cap) = self.resolve(op.src_table, op.src)?;
        let mut needed = Rights::COPY;
        if op.src_table != op.dst_table {
            needed |= Rights::GRANT;
        }
        if !cap.rights.contains(needed) {
            return Err(CapError::InsufficientRights);
        }
        let badge = match op.badge {
            None => cap.badge,
            Some(0) => return Err(CapError::InvalidBadge),
            Some(_) if cap.badge != 0 => return Err(CapError::BadgeAlreadySet),
            Some(b) => b,
        };
        let index = self.free_slot(op.dst_table, op.at)?;
        let child = Capability {
            object: cap.object,
            rights: cap.rights & op.mask,
            badge,
        };
        Ok(self.fill(op.dst_table, index, child, Some(src)))
    }

    fn move_cap(
        &mut self,
        src_t: TableId,
        src: CapRef,
        dst_t: TableId,
        at: Option<u32>,
    ) -> Result<CapRef, CapError> {
        let (addr, cap) = self.resolve(src_t, src)?;
        if src_t != dst_t && !cap.rights.contains(Rights::GRANT) {
            return Err(CapError::InsufficientRights);
        }
        let index = self.free_slot(dst_t, at)?;
        let new_addr = (dst_t.index() as usize, index);
        for child in self.live_addrs() {
            if self.parent(child) == Some(addr) {
                self.slot_mut(child).cap.as_mut().unwrap().1 = Some(new_addr);
            }
        }
        let parent = self.parent(addr);
        let slot = self.slot_mut(addr);
        slot.generation = slot.generation.wrapping_add(1);
        slot.cap = None;
        Ok(self.fill(dst_t, index, cap, parent))
    }
}

struct Derive {
    src_table: TableId,
    src: CapRef,
    dst_table: TableId,
    at: Option<u32>,
    mask: Rights,
    badge: Option<u64>,
}

/// Drives one random run: the real space and the model side by side.
struct Run {
    rng: Rng,
    space: Space,
    model: Model,
    /// The last derived capability, often reused as a source to grow chains.
    last: Option<(TableId, CapRef)>,
}

impl Run {
    /// A table id: usually a live one, sometimes dead or bogus.
    fn pick_table(&mut self) -> TableId {
        let live: Vec<usize> = (0..self.model.entries.len())
            .filter(|e| self.model.entries[*e].1.is_some())
            .collect();
        if live.is_empty() || self.rng.chance(5) {
            let entry = self.rng.below(self.model.entries.len() as u64 + 1) as u32;
            return TableId::new(entry, self.rng.below(3) as u32);
        }
        let entry = live[self.rng.below(live.len() as u64) as usize];
        self.model.id(entry)
    }

    /// A handle in `t`: usually a live capability, sometimes stale, empty,
    /// out of range or null.
    fn pick_handle(&mut self, t: TableId) -> CapRef {
        let Ok(slots) = self.model.table(t) else {
            return CapRef::new(0, 0);
        };
        let live: Vec<u32> = (0..slots.len() as u32)
            .filter(|i| slots[*i as usize].cap.is_some())
            .collect();
        let roll = self.rng.below(100);
        if !live.is_empty() && roll < 85 {
            let index = live[self.rng.below(live.len() as u64) as usize];
            return CapRef::new(index, slots[index as usize].generation);
        }
        match roll % 4 {
            0 => CapRef::NULL,
            1 => CapRef::new(slots.len() as u32, 0),
            _ => {
                let index = self.rng.below(slots.len() as u64) as u32;
                let generation = slots[index as usize].generation;
                CapRef::new(index, generation.wrapping_sub(self.rng.below(2) as u32))
            }
        }
    }

    fn maybe_index(&mut self) -> Option<u32> {
        self.rng.chance(20).then(|| self.rng.below(14) as u32)
    }

    fn step(&mut self) {
        let before = self.space.clone();
        let (ok, desc) = match self.rng.below(100) {
            0..=3 => self.op_create(),
            4..=5 => self.op_destroy(),
            6..=17 => self.op_insert(),
            18..=45 => self.op_derive(),
            46..=57 => self.op_delete(),
            58..=67 => self.op_revoke(),
            68..=77 => self.op_move(),
            _ => self.op_lookup(),
        };
        if !ok {
            assert_eq!(self.space, before, "failed {desc} changed the space");
        }
        if let Err(message) = self.space.check_invariants() {
            panic!("after {desc}: {message}");
        }
        self.compare(&desc);
    }

    fn op_create(&mut self) -> (bool, String) {
        if self.model.entries.iter().filter(|e| e.1.is_some()).count() >= 6 {
            return (true, "skip".into());
        }
        let capacity = self.rng.below(25) as u32;
        let got = self.space.create_table(capacity);
        assert_eq!(got, self.model.create(capacity), "create {capacity}");
        (got.is_ok(), format!("create({capacity})"))
    }

    fn op_destroy(&mut self) -> (bool, String) {
        let t = self.pick_table();
        let mut removed = Vec::new();
        let got = self.space.destroy_table(t, collect(&mut removed));
        let expected = self.model.destroy(t);
        assert_eq!(got, expected.as_ref().map(|v| v.len()).map_err(|e| *e));
        check_removed(removed, expected.unwrap_or_default());
        (got.is_ok(), format!("destroy({t:?})"))
    }

    fn op_insert(&mut self) -> (bool, String) {
        let t = self.pick_table();
        let badge = if self.rng.chance(30) {
            self.rng.below(4)
        } else {
            0
        };
        let cap = Capability {
            object: self.rng.below(6) as u32,
            rights: self.rng.rights(),
            badge,
        };
        let at = self.maybe_index();
        let got = match at {
            Some(i) => self.space.insert_root_at(t, i, cap),
            None => self.space.insert_root(t, cap),
        };
        let expected = self
            .model
            .free_slot(t, at)
            .map(|i| self.model.fill(t, i, cap, None));
        assert_eq!(got, expected, "insert {t:?} at {at:?}");
        (got.is_ok(), format!("insert({t:?}, {at:?})"))
    }

    fn op_derive(&mut self) -> (bool, String) {
        let (src_table, src) = match self.last {
            Some(last) if self.rng.chance(40) => last,
            _ => {
                let t = self.pick_table();
                (t, self.pick_handle(t))
            }
        };
        let dst_table = if self.rng.chance(50) {
            src_table
        } else {
            self.pick_table()
        };
        let badge = self.rng.chance(30).then(|| self.rng.below(4));
        let op = Derive {
            src_table,
            src,
            dst_table,
            at: self.maybe_index(),
            mask: self.rng.rights(),
            badge,
        };
        let got = match (op.at, op.badge) {
            (None, None) => self.space.copy(src_table, src, dst_table, op.mask),
            (Some(i), None) => self.space.copy_at(src_table, src, dst_table, i, op.mask),
            (None, Some(b)) => self.space.mint(src_table, src, dst_table, op.mask, b),
            (Some(i), Some(b)) => self.space.mint_at(src_table, src, dst_table, i, op.mask, b),
        };
        let desc = format!(
            "derive({src_table:?} {src:?} -> {dst_table:?} {:?} badge {badge:?})",
            op.at
        );
        assert_eq!(got, self.model.derive(&op), "{desc}");
        if let Ok(r) = got {
            self.last = Some((dst_table, r));
        }
        (got.is_ok(), desc)
    }

    fn op_delete(&mut self) -> (bool, String) {
        let t = self.pick_table();
        let r = self.pick_handle(t);
        let mut removed = Vec::new();
        let got = self.space.delete(t, r, collect(&mut removed));
        let expected = self
            .model
            .resolve(t, r)
            .map(|(addr, _)| self.model.remove(addr));
        assert_eq!(got, expected.map(|_| ()), "delete {t:?} {r:?}");
        check_removed(removed, expected.into_iter().collect());
        (got.is_ok(), format!("delete({t:?}, {r:?})"))
    }

    fn op_revoke(&mut self) -> (bool, String) {
        let t = self.pick_table();
        let r = self.pick_handle(t);
        let mut removed = Vec::new();
        let got = self.space.revoke(t, r, collect(&mut removed));
        let expected = self.model.revoke(t, r);
        assert_eq!(
            got,
            expected.as_ref().map(|v| v.len()).map_err(|e| *e),
            "revoke {t:?} {r:?}"
        );
        check_removed(removed, expected.unwrap_or_default());
        (got.is_ok(), format!("revoke({t:?}, {r:?})"))
    }

    fn op_move(&mut self) -> (bool, String) {
        let src_t = self.pick_table();
        let src = self.pick_handle(src_t);
        let dst_t = if self.rng.chance(50) {
            src_t
        } else {
            self.pick_table()
        };
        let at = self.maybe_index();
        let got = match at {
            Some(i) => self.space.move_cap_at(src_t, src, dst_t, i),
            None => self.space.move_cap(src_t, src, dst_t),
        };
        let desc = format!("move({src_t:?} {src:?} -> {dst_t:?} {at:?})");
        assert_eq!(got, self.model.move_cap(src_t, src, dst_t, at), "{desc}");
        (got.is_ok(), desc)
    }

    fn op_lookup(&mut self) -> (bool, String) {
        let t = self.pick_table();
        let r = self.pick_handle(t);
        let required = Rights::from_bits_truncate(self.rng.next() as u32 & self.rng.next() as u32);
        let got = self.space.lookup_with(t, r, required).copied();
        let expected = self.model.resolve(t, r).and_then(|(_, cap)| {
            if cap.rights.contains(required) {
                Ok(cap)
            } else {
                Err(CapError::InsufficientRights)
            }
        });
        assert_eq!(got, expected, "lookup {t:?} {r:?}");
        (false, format!("lookup({t:?}, {r:?})"))
    }

    /// The space's whole visible state equals the model's.
    fn compare(&self, desc: &str) {
        let live = self.model.entries.iter().filter(|e| e.1.is_some()).count();
        assert_eq!(self.space.table_count(), live, "{desc}: table count");
        for (entry, (_, slots)) in self.model.entries.iter().enumerate() {
            let Some(slots) = slots else { continue };
            let t = self.model.id(entry);
            let expected: Vec<(CapRef, Cap)> = slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.cap.map(|(c, _)| (CapRef::new(i as u32, s.generation), c)))
                .collect();
            let got: Vec<(CapRef, Cap)> = self
                .space
                .iter_table(t)
                .unwrap()
                .map(|(r, c)| (r, *c))
                .collect();
            assert_eq!(got, expected, "{desc}: table {t:?} contents");
            assert_eq!(self.space.table_capacity(t), Ok(slots.len() as u32));
            assert_eq!(self.space.table_used(t), Ok(expected.len() as u32));
            for (r, _) in expected {
                let parent = self.space.parent_of(t, r).unwrap();
                let parent = parent.map(|(pt, pr)| (pt.index() as usize, pr.index()));
                assert_eq!(
                    parent,
                    self.model.parent((entry, r.index())),
                    "{desc}: parent of {t:?} {r:?}"
                );
            }
        }
    }
}

fn check_removed(mut got: Vec<Cap>, mut expected: Vec<Cap>) {
    let key = |c: &Cap| (c.object, c.rights.bits(), c.badge);
    got.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(got, expected, "removed capabilities");
}

fn run(seed: u64, steps: usize) {
    let mut run = Run {
        rng: Rng(seed),
        space: Space::new(),
        model: Model::default(),
        last: None,
    };
    for _ in 0..3 {
        let capacity = 4 + run.rng.below(21) as u32;
        assert_eq!(run.space.create_table(capacity), run.model.create(capacity));
    }
    for _ in 0..steps {
        run.step();
    }
}

#[test]
fn random_operations_match_the_model() {
    for seed in 1..=24u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 2_500);
    }
}
