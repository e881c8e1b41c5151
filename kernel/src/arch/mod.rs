//! Architecture support. Bulkhead runs on x86_64 only; everything that is
//! instruction-set specific (descriptor tables, trap entry, paging bits,
//! interrupt controllers) lives under [`x86_64`].

pub mod x86_64;

/// Stops this CPU for good: interrupts off, `hlt` forever.
pub fn halt_forever() -> ! {
    ::x86_64::instructions::interrupts::disable();
    loop {
        ::x86_64::instructions::hlt();
    }
}
