//! The IPC message layout.
//!
//! A message is up to [`MAX_WORDS`] words in registers plus, optionally,
//! bytes from the sender's IPC buffer (registered with
//! `ThreadSetIpcBuffer`) copied into the receiver's. The registers of an
//! IPC call:
//!
//! ```text
//!  rax  syscall number            -> status (0 or an Error)
//!  rdi  endpoint capability       -> badge of the sender's capability (receives)
//!  rsi  MessageInfo               -> MessageInfo of the delivered message
//!  rdx r10 r8 r9 r12 r13 r14 r15  MR0..MR7, both ways
//! ```
//!
//! A Linux syscall number and its six arguments fit in MR0..MR6. With
//! [`MessageInfo::CAP`] set, MR7 names a capability in the sender's table
//! that is copied into the receiver's table (the endpoint capability needs
//! GRANT); the receiver finds the new handle in MR7 and the flag set.

/// Message registers.
pub const MAX_WORDS: usize = 8;
/// Longest buffer part of a message.
pub const MAX_BUFFER_BYTES: u64 = 0xffff;

/// The message-info word (rsi).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MessageInfo(pub u64);

impl MessageInfo {
    const WORDS_MASK: u64 = 0xf;
    /// MR7 carries a capability to transfer.
    pub const CAP: u64 = 1 << 4;
    /// Take the slow path even where the fast path applies (for tests that
    /// compare the two, and for the slow-path benchmark). The receiver does
    /// not see this bit.
    pub const FORCE_SLOW: u64 = 1 << 5;
    const BYTES_SHIFT: u32 = 8;
    const BYTES_MASK: u64 = 0xffff;
    const TIMEOUT_SHIFT: u32 = 32;

    /// A message of `words` register words.
    pub const fn new(words: u64) -> Self {
        MessageInfo(words & Self::WORDS_MASK)
    }

    /// With `bytes` from the IPC buffer.
    pub const fn with_bytes(self, bytes: u64) -> Self {
        MessageInfo(
            (self.0 & !(Self::BYTES_MASK << Self::BYTES_SHIFT))
                | ((bytes & Self::BYTES_MASK) << Self::BYTES_SHIFT),
        )
    }

    /// With MR7 transferring a capability.
    pub const fn with_cap(self) -> Self {
        MessageInfo(self.0 | Self::CAP)
    }

    /// Forcing the slow path.
    pub const fn with_slow_path(self) -> Self {
        MessageInfo(self.0 | Self::FORCE_SLOW)
    }

    /// With a timeout for the blocking part, in milliseconds (0 = none).
    pub const fn with_timeout_ms(self, ms: u32) -> Self {
        MessageInfo((self.0 & 0xffff_ffff) | ((ms as u64) << Self::TIMEOUT_SHIFT))
    }

    /// Register words (may exceed 8 in a malformed value; the kernel
    /// rejects that).
    pub const fn words(self) -> u64 {
        self.0 & Self::WORDS_MASK
    }

    /// Buffer bytes.
    pub const fn bytes(self) -> u64 {
        (self.0 >> Self::BYTES_SHIFT) & Self::BYTES_MASK
    }

    /// True if MR7 transfers a capability.
    pub const fn has_cap(self) -> bool {
        self.0 & Self::CAP != 0
    }

    /// Timeout in milliseconds (0 = wait forever).
    pub const fn timeout_ms(self) -> u32 {
        (self.0 >> Self::TIMEOUT_SHIFT) as u32
    }

    /// The same info with the timeout removed (what a receiver sees).
    pub const fn without_timeout(self) -> Self {
        MessageInfo(self.0 & 0xffff_ffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let i = MessageInfo::new(7)
            .with_bytes(300)
            .with_cap()
            .with_timeout_ms(50);
        assert_eq!(
            (i.words(), i.bytes(), i.has_cap(), i.timeout_ms()),
            (7, 300, true, 50)
        );
        assert_eq!(i.without_timeout().timeout_ms(), 0);
        assert_eq!(i.without_timeout().bytes(), 300);
    }
}
