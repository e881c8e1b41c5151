//! The COM1 serial console (16550 UART at I/O port 0x3f8).
//!
//! Everything the kernel says goes out here; QEMU maps it to its stdio and
//! Bochs to a file. The UART is set to 115200 baud, 8N1, FIFOs on (Bochs
//! starts with 5 data bits, so the line control register must be written).
//! Output is polled: each byte waits for the transmit holding register. One
//! spin lock serialises writers; it is taken with interrupts disabled so an
//! interrupt handler that logs cannot deadlock against the code it
//! interrupted.

use core::fmt;
use spin::Mutex;
use x86_64::instructions::interrupts;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
const LINE_STATUS_TX_EMPTY: u8 = 0x20;
const LINE_STATUS_TX_IDLE: u8 = 0x40;
const LINE_STATUS_DATA_READY: u8 = 0x01;

/// A 16550 UART addressed by its base I/O port.
pub struct Uart {
    base: u16,
}

impl Uart {
    const fn new(base: u16) -> Self {
        Self { base }
    }

    fn port(&self, offset: u16) -> Port<u8> {
        Port::new(self.base + offset)
    }

    /// Programs 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on.
    fn init(&mut self) {
        // SAFETY: COM1's registers are the standard 16550 layout; writing
        // them has no effect on memory.
        unsafe {
            self.port(1).write(0x00); // no UART interrupts
            self.port(3).write(0x80); // DLAB on
            self.port(0).write(0x01); // divisor 1 = 115200 baud
            self.port(1).write(0x00);
            self.port(3).write(0x03); // 8N1, DLAB off
            self.port(2).write(0xc7); // FIFO on, cleared, 14-byte threshold
            self.port(4).write(0x03); // DTR, RTS
        }
    }

    fn line_status(&self) -> u8 {
        // SAFETY: reading the line status register has no side effects.
        unsafe { self.port(5).read() }
    }

    fn write_byte(&mut self, byte: u8) {
        while self.line_status() & LINE_STATUS_TX_EMPTY == 0 {
            core::hint::spin_loop();
        }
        // SAFETY: the transmit holding register is empty.
        unsafe { self.port(0).write(byte) }
    }

    fn read_byte(&mut self) -> Option<u8> {
        if self.line_status() & LINE_STATUS_DATA_READY == 0 {
            return None;
        }
        // SAFETY: a byte is waiting in the receive buffer.
        Some(unsafe { self.port(0).read() })
    }

    /// Waits until every queued byte has left the wire (before power-off).
    fn drain(&self) {
        while self.line_status() & LINE_STATUS_TX_IDLE == 0 {
            core::hint::spin_loop();
        }
    }
}

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}

static CONSOLE: Mutex<Uart> = Mutex::new(Uart::new(COM1));

/// Programs the UART. Safe to call more than once.
pub fn init() {
    interrupts::without_interrupts(|| CONSOLE.lock().init());
}

/// Writes formatted text to the console.
pub fn print(args: fmt::Arguments) {
    interrupts::without_interrupts(|| {
        let _ = fmt::Write::write_fmt(&mut *CONSOLE.lock(), args);
    });
}

/// Writes raw bytes (user console output) to the console.
pub fn write_bytes(bytes: &[u8]) {
    interrupts::without_interrupts(|| {
        let mut uart = CONSOLE.lock();
        for &b in bytes {
            if b == b'\n' {
                uart.write_byte(b'\r');
            }
            uart.write_byte(b);
        }
    });
}

/// Returns a received byte, if one is waiting.
pub fn try_read() -> Option<u8> {
    interrupts::without_interrupts(|| CONSOLE.lock().read_byte())
}

/// Waits for the transmitter to go idle.
pub fn drain() {
    interrupts::without_interrupts(|| CONSOLE.lock().drain());
}

/// Writes to the console even if the lock is held (for the panic path, where
/// the holder may be the code that panicked). Output may interleave.
pub fn print_emergency(args: fmt::Arguments) {
    let mut uart = Uart::new(COM1);
    let _ = fmt::Write::write_fmt(&mut uart, args);
}

/// Prints to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::serial::print(format_args!($($arg)*)) };
}

/// Prints a line to the serial console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::serial::print(format_args!("{}\n", format_args!($($arg)*))) };
}
