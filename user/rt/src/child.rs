//! How the root server hands a child program its capabilities and options.
//!
//! The child's capability table is filled in the fixed order of
//! [`child_slots`] (the kernel gives each copy the lowest free slot, so in a
//! new table the copies land in exactly those slots). Because a slot's
//! generation is the kernel's business, the loader also writes a
//! [`StartInfo`] page with the exact [`CapRef`] of every slot and the test
//! filter, maps it read-only at [`START_INFO_ADDR`] and passes that address
//! as the start argument. The page is plain little-endian integers, encoded
//! and decoded here (no `unsafe`, host-tested); [`crate::boot::start_info`]
//! reads it in the child.
//!
//! The loader also maps a writable report page at [`REPORT_ADDR`]: a test
//! program writes its [`TestReport`] there (with `space_write` on its own
//! space, no `unsafe`) before exiting, and the root server reads it back
//! with `space_read` to print one combined summary.

use bulkhead_abi::CapRef;

/// Slots of a child's capability table: the first six slots of the root
/// server's own table, in the same order and meaning.
pub mod child_slots {
    pub use bulkhead_abi::root_slots::{
        CONSOLE, EXIT_PORTS, MEMORY, SELF_SPACE, SELF_TABLE, SELF_THREAD,
    };
    /// Number of slots in the convention.
    pub const COUNT: usize = 6;
}

/// Where the start info page is mapped in a child.
pub const START_INFO_ADDR: u64 = 0x0000_7fff_e000_0000;
/// Identifies a start info page ("BhStart1").
pub const START_INFO_MAGIC: u64 = u64::from_le_bytes(*b"BhStart1");
/// Longest test filter carried.
pub const FILTER_LEN: usize = 128;
/// Encoded size: magic, slot count, the slots, filter length, filter.
pub const START_INFO_SIZE: usize = 8 + 8 + 8 * child_slots::COUNT + 8 + FILTER_LEN;

/// What a child learns at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartInfo {
    /// The capability in each slot of [`child_slots`].
    pub caps: [CapRef; child_slots::COUNT],
    filter: [u8; FILTER_LEN],
    filter_len: usize,
}

impl StartInfo {
    /// Start info for `caps` and an optional test filter (cut to
    /// [`FILTER_LEN`] bytes at a character boundary).
    pub fn new(caps: [CapRef; child_slots::COUNT], filter: Option<&str>) -> Self {
        let text = filter.unwrap_or("");
        let mut len = text.len().min(FILTER_LEN);
        while !text.is_char_boundary(len) {
            len -= 1;
        }
        let mut bytes = [0; FILTER_LEN];
        bytes[..len].copy_from_slice(&text.as_bytes()[..len]);
        StartInfo {
            caps,
            filter: bytes,
            filter_len: len,
        }
    }

    /// The capability in `slot` (one of [`child_slots`]).
    pub fn cap(&self, slot: u32) -> CapRef {
        self.caps
            .get(slot as usize)
            .copied()
            .unwrap_or(CapRef::NULL)
    }

    /// The test filter, if one was given.
    pub fn filter(&self) -> Option<&str> {
        let text = core::str::from_utf8(&self.filter[..self.filter_len]).ok()?;
        (!text.is_empty()).then_some(text)
    }

    /// The page image.
    pub fn encode(&self) -> [u8; START_INFO_SIZE] {
        let mut out = [0u8; START_INFO_SIZE];
        let mut words = [0u64; 2 + child_slots::COUNT + 1];
        words[0] = START_INFO_MAGIC;
        words[1] = child_slots::COUNT as u64;
        for (word, cap) in words[2..].iter_mut().zip(self.caps) {
            *word = cap.0;
        }
        words[2 + child_slots::COUNT] = self.filter_len as u64;
        for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out[words.len() * 8..].copy_from_slice(&self.filter);
        out
    }

    /// Reads a page image; `None` unless it is a well-formed start info.
    pub fn decode(bytes: &[u8]) -> Option<StartInfo> {
        let bytes = bytes.get(..START_INFO_SIZE)?;
        let word = |i: usize| -> u64 {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(raw)
        };
        if word(0) != START_INFO_MAGIC || word(1) != child_slots::COUNT as u64 {
            return None;
        }
        let mut caps = [CapRef::NULL; child_slots::COUNT];
        for (i, cap) in caps.iter_mut().enumerate() {
            *cap = CapRef(word(2 + i));
        }
        let filter_len = usize::try_from(word(2 + child_slots::COUNT)).ok()?;
        let filter_bytes = &bytes[(3 + child_slots::COUNT) * 8..];
        let filter = core::str::from_utf8(filter_bytes.get(..filter_len)?).ok()?;
        Some(StartInfo::new(caps, Some(filter)))
    }
}

/// Where the report page is mapped in a child (read-write).
pub const REPORT_ADDR: u64 = START_INFO_ADDR + bulkhead_abi::PAGE_SIZE;
/// Identifies a written report ("BhReport").
pub const REPORT_MAGIC: u64 = u64::from_le_bytes(*b"BhReport");
/// Encoded size of a [`TestReport`].
pub const REPORT_SIZE: usize = 32;

/// A child's test counts, handed back to the root server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestReport {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl TestReport {
    /// The page image.
    pub fn encode(&self) -> [u8; REPORT_SIZE] {
        let mut out = [0u8; REPORT_SIZE];
        let words = [REPORT_MAGIC, self.passed, self.failed, self.skipped];
        for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// Reads a page image; `None` if no report was written.
    pub fn decode(bytes: &[u8]) -> Option<TestReport> {
        let bytes = bytes.get(..REPORT_SIZE)?;
        let mut words = bytes.chunks_exact(8).map(|chunk| {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(chunk);
            u64::from_le_bytes(raw)
        });
        if words.next()? != REPORT_MAGIC {
            return None;
        }
        Some(TestReport {
            passed: words.next()?,
            failed: words.next()?,
            skipped: words.next()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> [CapRef; child_slots::COUNT] {
        core::array::from_fn(|i| CapRef::new(i as u32, 7))
    }

    #[test]
    fn encoding_round_trips() {
        let info = StartInfo::new(caps(), Some("caps::"));
        let decoded = StartInfo::decode(&info.encode()).unwrap();
        assert_eq!(decoded, info);
        assert_eq!(decoded.filter(), Some("caps::"));
        assert_eq!(decoded.cap(child_slots::CONSOLE), CapRef::new(4, 7));
        assert_eq!(decoded.cap(99), CapRef::NULL);
    }

    #[test]
    fn empty_filter_means_none() {
        let info = StartInfo::new(caps(), Some(""));
        assert_eq!(StartInfo::decode(&info.encode()).unwrap().filter(), None);
    }

    #[test]
    fn long_filters_are_cut_at_a_char_boundary() {
        let long = "é".repeat(100);
        let info = StartInfo::new(caps(), Some(&long));
        assert_eq!(info.filter().unwrap().len(), FILTER_LEN);
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(StartInfo::decode(&[0u8; START_INFO_SIZE]), None);
        let mut bytes = StartInfo::new(caps(), None).encode();
        assert_eq!(StartInfo::decode(&bytes[..10]), None);
        bytes[2 * 8 + child_slots::COUNT * 8] = 200; // filter length too long
        assert_eq!(StartInfo::decode(&bytes), None);
    }

    #[test]
    fn reports_round_trip_and_blank_pages_are_none() {
        let report = TestReport {
            passed: 40,
            failed: 2,
            skipped: 1,
        };
        assert_eq!(TestReport::decode(&report.encode()), Some(report));
        assert_eq!(TestReport::decode(&[0u8; REPORT_SIZE]), None);
        assert_eq!(TestReport::decode(&[0u8; 4]), None);
    }
}
