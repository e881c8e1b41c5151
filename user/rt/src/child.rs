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
/// Identifies a start info page ("BhStart2").
pub const START_INFO_MAGIC: u64 = u64::from_le_bytes(*b"BhStart2");
/// Longest test filter (or option string) carried.
pub const FILTER_LEN: usize = 128;
/// Capabilities beyond [`child_slots`] a child may be given (a syscall
/// server gets its container, endpoint, supervisor notification and file
/// archive this way).
pub const EXTRA_CAPS: usize = 4;
/// Words before the filter: magic, slot count, the slots, the extra
/// capabilities, config length, filter length.
const HEADER_WORDS: usize = 2 + child_slots::COUNT + EXTRA_CAPS + 2;
/// Encoded size.
pub const START_INFO_SIZE: usize = 8 * HEADER_WORDS + FILTER_LEN;
/// Where a child's configuration text is mapped read-only, if it has one
/// (its length is in the start info).
pub const CONFIG_ADDR: u64 = START_INFO_ADDR + 2 * bulkhead_abi::PAGE_SIZE;
/// Longest configuration text.
pub const MAX_CONFIG_LEN: u64 = 16 * bulkhead_abi::PAGE_SIZE;

/// What a child learns at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartInfo {
    /// The capability in each slot of [`child_slots`].
    pub caps: [CapRef; child_slots::COUNT],
    /// Further capabilities, by a convention between the child and its
    /// creator (NULL where unused).
    pub extra: [CapRef; EXTRA_CAPS],
    /// Bytes of configuration text at [`CONFIG_ADDR`] (0: none).
    pub config_len: u64,
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
            extra: [CapRef::NULL; EXTRA_CAPS],
            config_len: 0,
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
        let mut words = [0u64; HEADER_WORDS];
        words[0] = START_INFO_MAGIC;
        words[1] = child_slots::COUNT as u64;
        let caps = self.caps.iter().chain(self.extra.iter());
        for (word, cap) in words[2..].iter_mut().zip(caps) {
            *word = cap.0;
        }
        words[HEADER_WORDS - 2] = self.config_len;
        words[HEADER_WORDS - 1] = self.filter_len as u64;
        for (chunk, word) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out[HEADER_WORDS * 8..].copy_from_slice(&self.filter);
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
        let caps = core::array::from_fn(|i| CapRef(word(2 + i)));
        let extra = core::array::from_fn(|i| CapRef(word(2 + child_slots::COUNT + i)));
        let config_len = word(HEADER_WORDS - 2);
        if config_len > MAX_CONFIG_LEN {
            return None;
        }
        let filter_len = usize::try_from(word(HEADER_WORDS - 1)).ok()?;
        let filter_bytes = &bytes[HEADER_WORDS * 8..];
        let filter = core::str::from_utf8(filter_bytes.get(..filter_len)?).ok()?;
        let mut info = StartInfo::new(caps, Some(filter));
        info.extra = extra;
        info.config_len = config_len;
        Some(info)
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
    fn extra_caps_and_config_length_round_trip() {
        let mut info = StartInfo::new(caps(), Some("container=alpha"));
        info.extra = [
            CapRef::new(9, 1),
            CapRef::new(10, 2),
            CapRef::NULL,
            CapRef::new(12, 3),
        ];
        info.config_len = 300;
        assert_eq!(StartInfo::decode(&info.encode()), Some(info));
        let mut bytes = info.encode();
        bytes[(HEADER_WORDS - 2) * 8 + 2] = 0xff; // config length far too long
        assert_eq!(StartInfo::decode(&bytes), None);
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
        bytes[(HEADER_WORDS - 1) * 8] = 200; // filter length too long
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
