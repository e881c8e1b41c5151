//! The panic handler: print what and where, then end the run as a failure.
//!
//! It prints with `print_emergency`, which does not take the console lock
//! (the panicking code may hold it), and guards against a panic inside the
//! handler itself.

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    if PANICKING.swap(true, Ordering::SeqCst) {
        crate::serial::print_emergency(format_args!("\nKERNEL PANIC while panicking\n"));
        crate::exit::exit(crate::exit::FAILURE);
    }
    let location = info.location();
    crate::serial::print_emergency(format_args!(
        "\nKERNEL PANIC at {}:{}: {}\n",
        location.map_or("?", |l| l.file()),
        location.map_or(0, |l| l.line()),
        info.message()
    ));
    crate::exit::exit(crate::exit::FAILURE)
}
