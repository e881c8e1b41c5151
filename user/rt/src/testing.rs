//! A small test framework for programs running on Bulkhead.
//!
//! A [`Test`] is a name and a function returning `Result<(), String>`; the
//! [`check!`](crate::check), [`check_eq!`](crate::check_eq),
//! [`check_ok!`](crate::check_ok) and [`check_err!`](crate::check_err)
//! macros return an `Err` naming the failed expression and its location.
//! [`run_tests`] runs the tests a filter selects and prints results in the
//! format of [`crate::report`]. Each test runs to completion in the calling
//! thread; a test that panics ends the thread (the panic handler reports
//! it), so the summary is then missing, which the runner treats as failure.

use alloc::string::String;

use crate::report::{self, Tally};

/// One test case.
#[derive(Clone, Copy)]
pub struct Test {
    pub name: &'static str,
    pub run: fn() -> Result<(), String>,
}

/// Runs the tests `filter` selects; returns `(passed, failed)`.
pub fn run_tests(tests: &[Test], filter: Option<&str>) -> (usize, usize) {
    let tally = run_and_tally(tests, filter);
    (tally.passed, tally.failed)
}

/// As [`run_tests`], returning the whole tally.
pub fn run_and_tally(tests: &[Test], filter: Option<&str>) -> Tally {
    let mut tally = Tally::default();
    for test in tests {
        if !report::selected(test.name, filter) {
            tally.skipped += 1;
            continue;
        }
        let outcome = (test.run)();
        crate::println!("{}", report::result_line(test.name, outcome.is_ok()));
        if let Err(reason) = &outcome {
            crate::print!("{}", report::reason_text(reason));
        }
        tally.record(outcome.is_ok());
    }
    // Prefixed with the program's name: the plain `N passed, N failed`
    // line is the combined one the root server prints last.
    crate::println!("{}: {}", crate::start::program_name(), tally.summary_line());
    tally
}

/// Fails the test unless `cond` holds; an optional message follows.
#[macro_export]
macro_rules! check {
    ($cond:expr $(,)?) => {
        if !$cond {
            return Err($crate::__format!(
                "check failed: {} at {}:{}",
                stringify!($cond),
                file!(),
                line!()
            ));
        }
    };
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::__format!(
                "check failed: {} ({}) at {}:{}",
                stringify!($cond),
                $crate::__format!($($msg)+),
                file!(),
                line!()
            ));
        }
    };
}

/// Fails the test unless `left == right`, showing both values.
#[macro_export]
macro_rules! check_eq {
    ($left:expr, $right:expr $(,)?) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err($crate::__format!(
                        "check failed: {} == {}\n  left: {:?}\n right: {:?}\nat {}:{}",
                        stringify!($left),
                        stringify!($right),
                        left,
                        right,
                        file!(),
                        line!()
                    ));
                }
            }
        }
    };
    ($left:expr, $right:expr, $($msg:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err($crate::__format!(
                        "check failed: {} == {} ({})\n  left: {:?}\n right: {:?}\nat {}:{}",
                        stringify!($left),
                        stringify!($right),
                        $crate::__format!($($msg)+),
                        left,
                        right,
                        file!(),
                        line!()
                    ));
                }
            }
        }
    };
}

/// Evaluates to the `Ok` value, or fails the test showing the error.
#[macro_export]
macro_rules! check_ok {
    ($result:expr $(,)?) => {
        match $result {
            Ok(value) => value,
            Err(error) => {
                return Err($crate::__format!(
                    "{} failed: {:?} at {}:{}",
                    stringify!($result),
                    error,
                    file!(),
                    line!()
                ))
            }
        }
    };
}

/// Fails the test unless `result` is an `Err` equal to one of the listed
/// errors (`check_err!(expr, Error::A)` or `check_err!(expr, Error::A | Error::B)`).
#[macro_export]
macro_rules! check_err {
    ($result:expr, $($expected:pat_param)|+ $(,)?) => {
        match $result {
            Err($($expected)|+) => {}
            other => {
                return Err($crate::__format!(
                    "{} gave {:?}, expected {} at {}:{}",
                    stringify!($result),
                    other,
                    stringify!($($expected)|+),
                    file!(),
                    line!()
                ))
            }
        }
    };
}
