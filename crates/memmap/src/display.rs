//! Human-readable output: sizes, per-region table lines, and a summary.
//!
//! Sizes are printed with binary units and one decimal, computed in integer
//! arithmetic (no floating point, so this works in a kernel without SSE).

use core::fmt;

use crate::{MemoryMap, Region, RegionKind};

/// A byte count that displays as e.g. `126.9 MiB` or `512 B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

impl Size {
    fn write_to(&self, f: &mut impl fmt::Write) -> fmt::Result {
        const UNITS: [(&str, u32); 6] = [
            ("EiB", 60),
            ("PiB", 50),
            ("TiB", 40),
            ("GiB", 30),
            ("MiB", 20),
            ("KiB", 10),
        ];
        let bytes = self.0;
        for (unit, shift) in UNITS {
            if bytes >> shift != 0 {
                let tenths = (u128::from(bytes) * 10) >> shift;
                return write!(f, "{}.{} {unit}", tenths / 10, tenths % 10);
            }
        }
        write!(f, "{bytes} B")
    }
}

impl fmt::Display for Size {
    /// Honours width and alignment (`{:>11}`) via a small stack buffer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buffer = StackText {
            bytes: [0; 32],
            len: 0,
        };
        self.write_to(&mut buffer)?;
        f.pad(buffer.as_str())
    }
}

/// A fixed 32-byte text buffer (enough for any [`Size`]).
struct StackText {
    bytes: [u8; 32],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        let used = self.bytes.get(..self.len).unwrap_or(&[]);
        core::str::from_utf8(used).unwrap_or("")
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.len.checked_add(text.len()).ok_or(fmt::Error)?;
        let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl fmt::Display for Region {
    /// `0x0000000000100000-0x0000000007fe0000  126.9 MiB  usable`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = Size(self.len());
        write!(
            f,
            "{:#018x}-{:#018x} {size:>11}  {}",
            self.start, self.end, self.kind
        )
    }
}

impl fmt::Display for MemoryMap {
    /// One [`Region`] line per region, each ending in a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for region in self {
            writeln!(f, "{region}")?;
        }
        Ok(())
    }
}

/// Region counts and byte totals per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    regions: [usize; 8],
    bytes: [u64; 8],
}

impl Summary {
    /// Number of regions of `kind`.
    pub fn regions(&self, kind: RegionKind) -> usize {
        self.regions.get(kind.index()).copied().unwrap_or(0)
    }

    /// Total bytes of `kind`.
    pub fn bytes(&self, kind: RegionKind) -> u64 {
        self.bytes.get(kind.index()).copied().unwrap_or(0)
    }
}

impl fmt::Display for Summary {
    /// `usable: 3 regions, 126.9 MiB; reserved: 2 regions, 384.0 KiB`,
    /// listing only kinds that occur.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for kind in RegionKind::ALL {
            let count = self.regions(kind);
            if count == 0 {
                continue;
            }
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            let plural = if count == 1 { "region" } else { "regions" };
            write!(f, "{kind}: {count} {plural}, {}", Size(self.bytes(kind)))?;
        }
        if first {
            f.write_str("empty memory map")?;
        }
        Ok(())
    }
}

impl MemoryMap {
    /// Counts and bytes per kind.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            regions: [0; 8],
            bytes: [0; 8],
        };
        for region in self {
            let index = region.kind.index();
            if let Some(count) = summary.regions.get_mut(index) {
                *count = count.saturating_add(1);
            }
            if let Some(bytes) = summary.bytes.get_mut(index) {
                *bytes = bytes.saturating_add(region.len());
            }
        }
        summary
    }
}
