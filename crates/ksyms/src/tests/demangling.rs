//! Demangler tests: legacy names, escapes, hashes, suffixes, and fallbacks.

use crate::demangle;

fn show(name: &str) -> String {
    demangle(name).to_string()
}

#[test]
fn legacy_paths() {
    assert_eq!(
        show("_ZN4core3fmt5write17h0123456789abcdefE"),
        "core::fmt::write"
    );
    assert_eq!(show("_ZN3foo3barE"), "foo::bar");
    assert_eq!(show("__ZN3foo3barE"), "foo::bar");
    assert_eq!(show("_ZN4main17h0123456789abcdefE"), "main");
    // A lone hash-looking component is kept (nothing else to show).
    assert_eq!(show("_ZN17h0123456789abcdefE"), "h0123456789abcdef");
    // Not a hash: wrong length or not hex.
    assert_eq!(show("_ZN1a16h0123456789abcdeE"), "a::h0123456789abcde");
    assert_eq!(show("_ZN1a17h0123456789abcdegE"), "a::h0123456789abcdeg");
}

#[test]
fn escapes() {
    assert_eq!(
        show("_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h2cfb1c5e0e0b5f5eE"),
        "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop"
    );
    assert_eq!(
        show("_ZN4test42_$LT$$RF$$BP$$C$$SP$$LP$$RP$$u7b$$u7d$$GT$E"),
        "test::<&*,@(){}>"
    );
    assert_eq!(
        show("_ZN6kernel12foo$u27$_bar17h0000000000000000E"),
        "kernel::foo'_bar"
    );
    assert_eq!(show("_ZN1a3b.c17h0000000000000000E"), "a::b.c");
    assert_eq!(
        show("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h1111111111111111E"),
        "std::rt::lang_start::{{closure}}"
    );
}

#[test]
fn bad_escapes_print_verbatim() {
    assert_eq!(show("_ZN1a4$XY$E"), "a::$XY$");
    assert_eq!(show("_ZN1a3$LTE"), "a::$LT");
    assert_eq!(show("_ZN1a7$uzzzz$E"), "a::$uzzzz$");
    assert_eq!(show("_ZN1a7$ud800$E"), "a::$ud800$");
}

#[test]
fn suffixes() {
    assert_eq!(
        show("_ZN3foo3bar17h0123456789abcdefE.llvm.1234567"),
        "foo::bar"
    );
    assert_eq!(show("_ZN3foo3barE.cold"), "foo::bar.cold");
    // Anything else after `E` is not legacy mangling.
    assert_eq!(show("_ZN3foo3barEx"), "_ZN3foo3barEx");
}

#[test]
fn non_legacy_names_are_raw() {
    for name in [
        "",
        "main",
        "_start",
        "_ZN",
        "_ZNE",
        "_ZN3fooE3",
        "_ZN3fo",
        "_ZN0E",
        "_ZN99999999999999999999999fooE",
        "_ZN3foo",
        "_ZN1\u{e9}E",
        "_RNvCs1234_7mycrate3foo",
        "_Z3foov",
    ] {
        assert_eq!(show(name), name, "{name:?}");
    }
    assert!(!demangle("_RNvCs1234_7mycrate3foo").is_legacy());
    assert!(demangle("_ZN3fooE").is_legacy());
    assert_eq!(demangle("_ZN3fooE").raw(), "_ZN3fooE");
}

#[test]
fn never_panics() {
    let mut state = 0x0123_4567_89ab_cdefu64;
    let alphabet = "_ZNE0123456789$LTGu.hab\u{e9}";
    let chars: Vec<char> = alphabet.chars().collect();
    for _ in 0..20_000 {
        let mut name = String::from("_ZN");
        for _ in 0..state % 24 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            name.push(chars[(state % chars.len() as u64) as usize]);
        }
        let _ = show(&name);
    }
}
