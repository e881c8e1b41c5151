//! Bounds-checked little-endian reads and table slicing.
//!
//! Every helper returns `None` rather than panicking: offsets are added with
//! checked arithmetic and slices are taken with `get`. Callers turn `None`
//! into the [`crate::ElfError`] that names the structure being read.

/// Reads `N` bytes at `at`.
fn array<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    data.get(at..end)?.try_into().ok()
}

pub(crate) fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

pub(crate) fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    array(data, at).map(u16::from_le_bytes)
}

pub(crate) fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    array(data, at).map(u32::from_le_bytes)
}

pub(crate) fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    array(data, at).map(u64::from_le_bytes)
}

/// The `size` bytes at file offset `offset`, if they lie inside `data`.
pub(crate) fn range(data: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(size).ok()?;
    data.get(start..start.checked_add(len)?)
}

/// A table of `count` entries of `stride` bytes each, inside `data`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entries<'a> {
    table: &'a [u8],
    stride: usize,
    count: usize,
}

impl<'a> Entries<'a> {
    /// Slices the table out of `data`; `None` if any part is out of bounds.
    pub(crate) fn new(data: &'a [u8], offset: u64, count: u64, stride: u64) -> Option<Self> {
        let table = range(data, offset, count.checked_mul(stride)?)?;
        Some(Entries {
            table,
            stride: usize::try_from(stride).ok()?,
            count: usize::try_from(count).ok()?,
        })
    }

    /// An empty table.
    pub(crate) fn empty() -> Self {
        Entries {
            table: &[],
            stride: 1,
            count: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The bytes of entry `index` (at least `stride` long), if it exists.
    pub(crate) fn get(&self, index: usize) -> Option<&'a [u8]> {
        if index >= self.count {
            return None;
        }
        let start = index.checked_mul(self.stride)?;
        self.table.get(start..start.checked_add(self.stride)?)
    }
}

/// Iterator over the raw entries of a table, in order.
#[derive(Clone, Debug)]
pub(crate) struct EntryIter<'a> {
    entries: Entries<'a>,
    next: usize,
}

impl<'a> EntryIter<'a> {
    pub(crate) fn new(entries: Entries<'a>) -> Self {
        EntryIter { entries, next: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.entries.len().saturating_sub(self.next)
    }
}

impl<'a> Iterator for EntryIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let entry = self.entries.get(self.next)?;
        self.next = self.next.saturating_add(1);
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining()))
    }
}
