//! What a syscall server tells its supervisor: how each program of its
//! container ended.
//!
//! The server keeps a [`ContainerReport`] in its report page
//! (`child::REPORT_ADDR`), rewrites it whenever a program starts or ends,
//! and then signals the supervisor's notification; the supervisor (the
//! root server) reads the page with `space_read`. Because the page lives
//! in the server's address space, it survives the server's crash long
//! enough to be read, which tells the supervisor which programs were
//! running when the server died (those started without an outcome). The encoding is plain little-endian words, host
//! tested, with no `unsafe`:
//!
//! ```text
//!  word 0  magic "BhCtRep1"
//!  word 1  the last program started (index into the container's list), or u64::MAX
//!  word 2  1 once every program the server was asked to run has ended
//!  word 3  number of outcomes n, then n × (program index, kind, value)
//! ```

use alloc::vec::Vec;

/// Identifies a report ("BhCtRep1").
pub const MAGIC: u64 = u64::from_le_bytes(*b"BhCtRep1");
/// Outcomes one page holds.
pub const MAX_OUTCOMES: usize = (4096 / 8 - 4) / 3;
/// "No program was started".
const NONE_RUNNING: u64 = u64::MAX;

/// How one program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It called exit or exit_group with this status.
    Exited(i32),
    /// It was stopped, as if by this Linux signal (11 for a page fault, 9
    /// when its syscall server died).
    Signaled(i32),
    /// It could not be started (missing file, malformed ELF, no memory);
    /// the value is a Linux errno.
    NotStarted(i32),
}

impl Ending {
    fn encode(self) -> (u64, u64) {
        match self {
            Ending::Exited(v) => (1, v as u32 as u64),
            Ending::Signaled(v) => (2, v as u32 as u64),
            Ending::NotStarted(v) => (3, v as u32 as u64),
        }
    }

    fn decode(kind: u64, value: u64) -> Option<Ending> {
        let v = value as u32 as i32;
        match kind {
            1 => Some(Ending::Exited(v)),
            2 => Some(Ending::Signaled(v)),
            3 => Some(Ending::NotStarted(v)),
            _ => None,
        }
    }
}

/// A server's report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerReport {
    /// The last program started (programs start in list order).
    pub last_started: Option<usize>,
    /// True once the server has nothing more to run.
    pub done: bool,
    /// (program index, how it ended), in the order they ended.
    pub outcomes: Vec<(usize, Ending)>,
}

impl ContainerReport {
    /// The page image (outcomes beyond [`MAX_OUTCOMES`] are left out).
    pub fn encode(&self) -> Vec<u8> {
        let mut words = alloc::vec![
            MAGIC,
            self.last_started.map_or(NONE_RUNNING, |i| i as u64),
            u64::from(self.done),
        ];
        let outcomes = &self.outcomes[..self.outcomes.len().min(MAX_OUTCOMES)];
        words.push(outcomes.len() as u64);
        for &(index, ending) in outcomes {
            let (kind, value) = ending.encode();
            words.extend([index as u64, kind, value]);
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Reads a page image; `None` unless it is a well-formed report.
    pub fn decode(bytes: &[u8]) -> Option<ContainerReport> {
        let word = |i: usize| -> Option<u64> {
            let raw = bytes.get(i * 8..i * 8 + 8)?;
            let mut w = [0u8; 8];
            w.copy_from_slice(raw);
            Some(u64::from_le_bytes(w))
        };
        if word(0)? != MAGIC {
            return None;
        }
        let last_started = match word(1)? {
            NONE_RUNNING => None,
            i => Some(usize::try_from(i).ok()?),
        };
        let count = usize::try_from(word(3)?).ok()?;
        if count > MAX_OUTCOMES {
            return None;
        }
        let outcomes = (0..count)
            .map(|n| {
                let base = 4 + 3 * n;
                let index = usize::try_from(word(base)?).ok()?;
                Some((index, Ending::decode(word(base + 1)?, word(base + 2)?)?))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ContainerReport {
            last_started,
            done: word(2)? != 0,
            outcomes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let report = ContainerReport {
            last_started: Some(3),
            done: false,
            outcomes: alloc::vec![
                (0, Ending::Exited(0)),
                (1, Ending::Exited(-1)),
                (2, Ending::Signaled(11)),
                (5, Ending::NotStarted(2)),
            ],
        };
        assert_eq!(ContainerReport::decode(&report.encode()), Some(report));
        let done = ContainerReport {
            last_started: None,
            done: true,
            outcomes: alloc::vec![],
        };
        assert_eq!(ContainerReport::decode(&done.encode()), Some(done));
    }

    #[test]
    fn blank_truncated_and_bad_pages_are_rejected() {
        assert_eq!(ContainerReport::decode(&[0u8; 4096]), None);
        let report = ContainerReport {
            last_started: None,
            done: true,
            outcomes: alloc::vec![(0, Ending::Exited(0))],
        };
        let bytes = report.encode();
        assert_eq!(ContainerReport::decode(&bytes[..bytes.len() - 1]), None);
        let mut bad_kind = bytes.clone();
        bad_kind[5 * 8] = 9;
        assert_eq!(ContainerReport::decode(&bad_kind), None);
        let mut huge = bytes;
        huge[3 * 8 + 7] = 0xff;
        assert_eq!(ContainerReport::decode(&huge), None);
    }

    #[test]
    fn a_full_page_of_outcomes_fits() {
        let report = ContainerReport {
            last_started: None,
            done: true,
            outcomes: (0..MAX_OUTCOMES + 5)
                .map(|i| (i, Ending::Exited(0)))
                .collect(),
        };
        let bytes = report.encode();
        assert!(bytes.len() <= 4096);
        assert_eq!(
            ContainerReport::decode(&bytes).unwrap().outcomes.len(),
            MAX_OUTCOMES
        );
    }
}
