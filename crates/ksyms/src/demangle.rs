//! A small demangler for Rust's legacy symbol mangling (`_ZN...E`).
//!
//! A legacy name is `_ZN` followed by length-prefixed path components and a
//! closing `E`, e.g. `_ZN4core3fmt5write17h0123456789abcdefE`. The last
//! component is usually a hash (`h` + 16 hex digits); it is left out. Inside
//! components, `$..$` escapes (`$LT$` → `<`, `$u20$` → ` `, ...) and `..`
//! (→ `::`) are decoded. A `.llvm.NNNN` suffix after `E` is dropped; any
//! other `.suffix` is printed as is.
//!
//! Invariants: [`Demangled`] never allocates and never panics; it validates
//! the whole component structure first and falls back to printing the raw
//! name for anything that is not well-formed legacy mangling (including v0
//! `_R` names, which are printed raw).

use core::fmt::{self, Write};

/// A symbol name that displays in demangled form (see module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Demangled<'a> {
    raw: &'a str,
}

/// Wraps `name` for demangled display.
pub fn demangle(name: &str) -> Demangled<'_> {
    Demangled { raw: name }
}

impl<'a> Demangled<'a> {
    /// The name exactly as stored in the symbol table.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True if the name is well-formed legacy mangling and will be decoded.
    pub fn is_legacy(&self) -> bool {
        split_legacy(self.raw).is_some()
    }
}

impl fmt::Display for Demangled<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((path, suffix)) = split_legacy(self.raw) else {
            return f.write_str(self.raw);
        };
        let count = Components(path).count();
        for (index, component) in Components(path).enumerate() {
            let last = index + 1 == count;
            if last && index > 0 && is_hash(component) {
                break;
            }
            if index > 0 {
                f.write_str("::")?;
            }
            write_component(f, component)?;
        }
        if !suffix.starts_with(".llvm.") {
            f.write_str(suffix)?;
        }
        Ok(())
    }
}

/// Splits a legacy name into its component list (between `_ZN` and `E`)
/// and its suffix (after `E`); `None` if the name is not legacy mangling.
fn split_legacy(name: &str) -> Option<(&str, &str)> {
    let body = name
        .strip_prefix("_ZN")
        .or_else(|| name.strip_prefix("__ZN"))
        .or_else(|| name.strip_prefix("ZN"))?;
    let mut rest = body;
    let mut components = 0usize;
    while !rest.starts_with('E') {
        let (_, after) = next_component(rest)?;
        rest = after;
        components += 1;
    }
    let path_len = body.len().checked_sub(rest.len())?;
    let path = body.get(..path_len)?;
    let suffix = rest.get(1..)?;
    let suffix_ok = suffix.is_empty() || suffix.starts_with('.');
    (components > 0 && suffix_ok).then_some((path, suffix))
}

/// Parses one `<decimal length><bytes>` component from the front of `text`.
fn next_component(text: &str) -> Option<(&str, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let len: usize = text.get(..digits)?.parse().ok()?;
    if len == 0 {
        return None;
    }
    let rest = text.get(digits..)?;
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// Iterator over the components of a validated path.
struct Components<'a>(&'a str);

impl<'a> Iterator for Components<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (component, rest) = next_component(self.0)?;
        self.0 = rest;
        Some(component)
    }
}

/// True for the trailing hash component: `h` followed by 16 hex digits.
fn is_hash(component: &str) -> bool {
    component.len() == 17
        && component
            .strip_prefix('h')
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Writes one component, decoding `$..$` escapes and `..`.
fn write_component(f: &mut fmt::Formatter<'_>, component: &str) -> fmt::Result {
    let mut rest = match component.strip_prefix('_') {
        Some(after) if after.starts_with('$') => after,
        _ => component,
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("..") {
            f.write_str("::")?;
            rest = after;
        } else if rest.starts_with('$') {
            match decode_escape(rest) {
                Some((ch, after)) => {
                    f.write_char(ch)?;
                    rest = after;
                }
                None => return f.write_str(rest),
            }
        } else {
            let plain = rest
                .char_indices()
                .skip(1)
                .find(|&(_, c)| c == '$' || c == '.')
                .map_or(rest.len(), |(at, _)| at);
            f.write_str(rest.get(..plain).unwrap_or(rest))?;
            rest = rest.get(plain..).unwrap_or("");
        }
    }
    Ok(())
}

/// Decodes a `$NAME$` escape at the front of `text`; returns the character
/// and the text after the closing `$`.
fn decode_escape(text: &str) -> Option<(char, &str)> {
    let inner = text.strip_prefix('$')?;
    let close = inner.find('$')?;
    let name = inner.get(..close)?;
    let rest = inner.get(close.checked_add(1)?..)?;
    let ch = match name {
        "SP" => '@',
        "BP" => '*',
        "RF" => '&',
        "LT" => '<',
        "GT" => '>',
        "LP" => '(',
        "RP" => ')',
        "C" => ',',
        _ => {
            let hex = name.strip_prefix('u')?;
            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
        }
    };
    Some((ch, rest))
}
