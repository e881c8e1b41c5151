//! The Linux initial process stack (System V x86-64 ABI, section 3.4.1).
//!
//! When a Linux program starts, `rsp` points at this, from low to high
//! addresses:
//!
//! ```text
//!   rsp ->  argc
//!           argv[0] .. argv[argc-1], NULL
//!           envp[0] .. envp[n-1], NULL
//!           auxv: (type, value) pairs, ending with (AT_NULL, 0)
//!           zero padding to 16 bytes
//!           information block: program headers copy (optional), the 16
//!           AT_RANDOM bytes, the platform string, argv strings, envp
//!           strings, the AT_EXECFN string, 8 zero bytes
//!   stack_top
//! ```
//!
//! [`build_stack`] is a pure function: it computes every address from
//! `stack_top` and returns the bytes to write at the new stack pointer, so
//! it can be tested without any address space. Invariants of its result:
//! `stack_pointer` is 16-byte aligned (the ABI requires it at process
//! entry), `stack_pointer + bytes.len() == stack_top`, every pointer in the
//! vectors points inside `bytes`, and every string is NUL-terminated. All
//! arithmetic is checked; an oversized request is an error, never a panic.

use alloc::vec::Vec;

/// `AT_NULL`: ends the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// `AT_PHDR`: address of the program headers in memory.
pub const AT_PHDR: u64 = 3;
/// `AT_PHENT`: size of one program header.
pub const AT_PHENT: u64 = 4;
/// `AT_PHNUM`: number of program headers.
pub const AT_PHNUM: u64 = 5;
/// `AT_PAGESZ`: the page size.
pub const AT_PAGESZ: u64 = 6;
/// `AT_BASE`: load address of the interpreter (0: none).
pub const AT_BASE: u64 = 7;
/// `AT_FLAGS`: unused flags (0).
pub const AT_FLAGS: u64 = 8;
/// `AT_ENTRY`: the program's entry point.
pub const AT_ENTRY: u64 = 9;
/// `AT_UID`: real user id.
pub const AT_UID: u64 = 11;
/// `AT_EUID`: effective user id.
pub const AT_EUID: u64 = 12;
/// `AT_GID`: real group id.
pub const AT_GID: u64 = 13;
/// `AT_EGID`: effective group id.
pub const AT_EGID: u64 = 14;
/// `AT_PLATFORM`: address of the platform string ("x86_64").
pub const AT_PLATFORM: u64 = 15;
/// `AT_HWCAP`: CPU feature bits (0: none promised).
pub const AT_HWCAP: u64 = 16;
/// `AT_CLKTCK`: the `times()` clock frequency.
pub const AT_CLKTCK: u64 = 17;
/// `AT_SECURE`: non-zero for set-uid programs.
pub const AT_SECURE: u64 = 23;
/// `AT_RANDOM`: address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// `AT_EXECFN`: address of the executed file name.
pub const AT_EXECFN: u64 = 31;

/// Everything [`build_stack`] needs.
#[derive(Clone, Copy, Debug)]
pub struct StackSpec<'a> {
    /// One past the highest stack byte; must be 16-byte aligned.
    pub stack_top: u64,
    /// The stack size in bytes: the whole result must fit in it.
    pub stack_size: u64,
    /// Upper bound on argument and environment bytes (strings with their
    /// NULs, plus 8 bytes of pointer per string).
    pub argument_limit: u64,
    pub argv: &'a [&'a [u8]],
    pub envp: &'a [&'a [u8]],
    /// The `AT_EXECFN` string.
    pub exec_fn: &'a [u8],
    /// The `AT_PLATFORM` string; empty means no `AT_PLATFORM` entry.
    pub platform: &'a [u8],
    /// The `AT_RANDOM` bytes.
    pub random: [u8; 16],
    /// If not empty, a copy of the program headers is put in the
    /// information block and `AT_PHDR` is added pointing at it.
    pub phdr_copy: &'a [u8],
    /// Auxiliary entries to emit first; `build_stack` appends
    /// `AT_PHDR` (only with `phdr_copy`), `AT_PLATFORM`, `AT_RANDOM`,
    /// `AT_EXECFN` and `AT_NULL`.
    pub auxv: &'a [(u64, u64)],
}

/// The result of [`build_stack`]: write `bytes` at `stack_pointer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    /// The initial `rsp`, pointing at `argc`, 16-byte aligned.
    pub stack_pointer: u64,
    /// The stack contents from `stack_pointer` up to `stack_top`.
    pub bytes: Vec<u8>,
}

/// Why [`build_stack`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// A string contains a NUL byte.
    ArgumentContainsNul,
    /// Argument and environment bytes exceed `argument_limit`.
    ArgumentsTooLarge,
    /// The image is larger than `stack_size` (or than `stack_top` itself).
    StackTooSmall,
    /// `stack_top` is not 16-byte aligned.
    MisalignedTop,
}

/// Offsets (from the start of the information block) of what the vectors
/// point at.
struct InfoBlock {
    bytes: Vec<u8>,
    phdr: Option<usize>,
    random: usize,
    platform: Option<usize>,
    argv: Vec<usize>,
    envp: Vec<usize>,
    exec_fn: usize,
}

/// Builds the initial stack described in the module documentation.
pub fn build_stack(spec: &StackSpec<'_>) -> Result<StackImage, StackError> {
    if !spec.stack_top.is_multiple_of(16) {
        return Err(StackError::MisalignedTop);
    }
    check_strings(spec)?;
    let info = information_block(spec);
    let info_len = as_u64(info.bytes.len())?;
    let info_start = spec
        .stack_top
        .checked_sub(info_len)
        .ok_or(StackError::StackTooSmall)?;
    let words = vector_words(spec, &info, info_start)?;
    let vector_len = as_u64(words.len())?
        .checked_mul(8)
        .and_then(|len| len.checked_next_multiple_of(16))
        .ok_or(StackError::StackTooSmall)?;
    let stack_pointer = info_start
        .checked_sub(vector_len)
        .ok_or(StackError::StackTooSmall)?;
    let total = spec.stack_top.saturating_sub(stack_pointer);
    if total > spec.stack_size {
        return Err(StackError::StackTooSmall);
    }
    let mut bytes = Vec::new();
    for word in &words {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes.resize(bytes.len().next_multiple_of(16), 0);
    bytes.extend_from_slice(&info.bytes);
    Ok(StackImage {
        stack_pointer,
        bytes,
    })
}

/// Rejects NULs inside strings and argument lists over the limit.
fn check_strings(spec: &StackSpec<'_>) -> Result<(), StackError> {
    let all = || {
        spec.argv
            .iter()
            .chain(spec.envp)
            .chain([&spec.exec_fn, &spec.platform])
    };
    if all().any(|string| string.contains(&0)) {
        return Err(StackError::ArgumentContainsNul);
    }
    let mut total: u64 = 0;
    for string in spec.argv.iter().chain(spec.envp) {
        let cost = as_u64(string.len())
            .ok()
            .and_then(|len| len.checked_add(9))
            .ok_or(StackError::ArgumentsTooLarge)?;
        total = total
            .checked_add(cost)
            .ok_or(StackError::ArgumentsTooLarge)?;
        if total > spec.argument_limit {
            return Err(StackError::ArgumentsTooLarge);
        }
    }
    Ok(())
}

/// Lays out the information block; its length is a multiple of 16.
///
/// Sizes are already bounded by `check_strings`, so `Vec` growth cannot
/// overflow here.
fn information_block(spec: &StackSpec<'_>) -> InfoBlock {
    let mut bytes = Vec::new();
    let phdr = (!spec.phdr_copy.is_empty()).then(|| push_aligned(&mut bytes, spec.phdr_copy));
    let random = push_aligned(&mut bytes, &spec.random);
    let platform = (!spec.platform.is_empty()).then(|| push_string(&mut bytes, spec.platform));
    let argv = spec
        .argv
        .iter()
        .map(|arg| push_string(&mut bytes, arg))
        .collect();
    let envp = spec
        .envp
        .iter()
        .map(|env| push_string(&mut bytes, env))
        .collect();
    let exec_fn = push_string(&mut bytes, spec.exec_fn);
    bytes.extend_from_slice(&[0; 8]);
    let padded = bytes.len().next_multiple_of(16);
    bytes.resize(padded, 0);
    InfoBlock {
        bytes,
        phdr,
        random,
        platform,
        argv,
        envp,
        exec_fn,
    }
}

/// Pads `bytes` to 8, appends `data`, returns where it starts.
fn push_aligned(bytes: &mut Vec<u8>, data: &[u8]) -> usize {
    bytes.resize(bytes.len().next_multiple_of(8), 0);
    let at = bytes.len();
    bytes.extend_from_slice(data);
    at
}

/// Appends `string` and a NUL, returns where it starts.
fn push_string(bytes: &mut Vec<u8>, string: &[u8]) -> usize {
    let at = bytes.len();
    bytes.extend_from_slice(string);
    bytes.push(0);
    at
}

/// argc, argv, NULL, envp, NULL, auxv, AT_NULL, with absolute pointers.
fn vector_words(
    spec: &StackSpec<'_>,
    info: &InfoBlock,
    info_start: u64,
) -> Result<Vec<u64>, StackError> {
    let address = |offset: usize| {
        as_u64(offset)
            .ok()
            .and_then(|offset| info_start.checked_add(offset))
            .ok_or(StackError::StackTooSmall)
    };
    let mut words = Vec::new();
    words.push(as_u64(spec.argv.len())?);
    for &offset in &info.argv {
        words.push(address(offset)?);
    }
    words.push(0);
    for &offset in &info.envp {
        words.push(address(offset)?);
    }
    words.push(0);
    for &(kind, value) in spec.auxv {
        words.extend_from_slice(&[kind, value]);
    }
    if let Some(offset) = info.phdr {
        words.extend_from_slice(&[AT_PHDR, address(offset)?]);
    }
    if let Some(offset) = info.platform {
        words.extend_from_slice(&[AT_PLATFORM, address(offset)?]);
    }
    words.extend_from_slice(&[AT_RANDOM, address(info.random)?]);
    words.extend_from_slice(&[AT_EXECFN, address(info.exec_fn)?]);
    words.extend_from_slice(&[AT_NULL, 0]);
    Ok(words)
}

fn as_u64(value: usize) -> Result<u64, StackError> {
    u64::try_from(value).map_err(|_| StackError::StackTooSmall)
}

/// A stack image read back: what the program will see at entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedStack {
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// The auxiliary vector without the final `AT_NULL`.
    pub auxv: Vec<(u64, u64)>,
}

impl DecodedStack {
    /// The value of the first auxiliary entry of type `kind`.
    pub fn aux(&self, kind: u64) -> Option<u64> {
        self.auxv
            .iter()
            .find(|&&(entry, _)| entry == kind)
            .map(|&(_, value)| value)
    }
}

/// Reads a stack image the way a C runtime does (argc, argv, envp, auxv),
/// following pointers only inside `bytes` (which start at
/// `stack_pointer`). `None` if anything points outside or is unterminated.
pub fn decode_stack(stack_pointer: u64, bytes: &[u8]) -> Option<DecodedStack> {
    let reader = Reader {
        base: stack_pointer,
        bytes,
    };
    let argc = usize::try_from(reader.word(0)?).ok()?;
    let mut at = 1;
    let mut decoded = DecodedStack::default();
    for _ in 0..argc {
        decoded.argv.push(reader.string(reader.word(at)?)?);
        at += 1;
    }
    if reader.word(at)? != 0 {
        return None;
    }
    at += 1;
    while reader.word(at)? != 0 {
        decoded.envp.push(reader.string(reader.word(at)?)?);
        at += 1;
    }
    at += 1;
    while reader.word(at)? != AT_NULL {
        decoded.auxv.push((reader.word(at)?, reader.word(at + 1)?));
        at += 2;
    }
    Some(decoded)
}

/// Bounds-checked reads of a stack image by address.
struct Reader<'a> {
    base: u64,
    bytes: &'a [u8],
}

impl Reader<'_> {
    /// The 64-bit word number `index` from the start.
    fn word(&self, index: usize) -> Option<u64> {
        let start = index.checked_mul(8)?;
        let chunk = self.bytes.get(start..start.checked_add(8)?)?;
        Some(u64::from_le_bytes(chunk.try_into().ok()?))
    }

    /// The NUL-terminated string at `address`.
    fn string(&self, address: u64) -> Option<Vec<u8>> {
        let offset = usize::try_from(address.checked_sub(self.base)?).ok()?;
        let rest = self.bytes.get(offset..)?;
        let len = rest.iter().position(|&byte| byte == 0)?;
        Some(rest.get(..len)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]]) -> StackSpec<'a> {
        StackSpec {
            stack_top: 0x7fff_ffff_f000,
            stack_size: 0x4_0000,
            argument_limit: 0x1_0000,
            argv,
            envp,
            exec_fn: b"/bin/x",
            platform: b"x86_64",
            random: [7; 16],
            phdr_copy: &[],
            auxv: &[(AT_PAGESZ, 4096)],
        }
    }

    #[test]
    fn aligned_and_ends_at_top() {
        for argc in 0..5 {
            let args: Vec<&[u8]> = (0..argc).map(|_| b"ab".as_slice()).collect();
            let image = build_stack(&spec(&args, &[b"A=1"])).unwrap();
            assert_eq!(image.stack_pointer % 16, 0);
            let end = image.stack_pointer + image.bytes.len() as u64;
            assert_eq!(end, 0x7fff_ffff_f000);
            let decoded = decode_stack(image.stack_pointer, &image.bytes).unwrap();
            assert_eq!(decoded.argv.len(), argc);
            assert_eq!(decoded.envp, [b"A=1".to_vec()]);
        }
    }

    #[test]
    fn misaligned_top_is_rejected() {
        let mut bad = spec(&[], &[]);
        bad.stack_top += 8;
        assert_eq!(build_stack(&bad), Err(StackError::MisalignedTop));
    }

    #[test]
    fn top_too_low_is_an_error() {
        let mut low = spec(&[b"x"], &[]);
        low.stack_top = 16;
        assert_eq!(build_stack(&low), Err(StackError::StackTooSmall));
    }
}
