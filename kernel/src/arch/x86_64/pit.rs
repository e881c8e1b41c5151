//! The 8254 programmable interval timer, as a calibration reference when
//! the machine has no HPET.
//!
//! Only channel 2 is used: its gate and output are visible in port 0x61
//! (the "speaker" port), so a one-shot countdown can be polled without
//! interrupts. The speaker itself is kept off. Channel 0 (the old system
//! tick, wired to ISA IRQ 0) is left as the firmware set it; its interrupt
//! is masked at both the PIC and the IO-APIC.

use x86_64::instructions::port::Port;

/// The PIT's input clock, in Hz.
pub const FREQUENCY_HZ: u64 = 1_193_182;

const CHANNEL2_DATA: u16 = 0x42;
const COMMAND: u16 = 0x43;
/// Port 0x61: bit 0 gates channel 2, bit 1 drives the speaker, bit 5 shows
/// channel 2's output.
const GATE_PORT: u16 = 0x61;
const GATE_CHANNEL2: u8 = 1 << 0;
const SPEAKER_DATA: u8 = 1 << 1;
const CHANNEL2_OUTPUT: u8 = 1 << 5;
/// Command: channel 2, low byte then high byte, mode 0 (interrupt on
/// terminal count: output goes high when the count reaches zero), binary.
const CHANNEL2_ONESHOT: u8 = 0xb0;
/// Polls of the output bit before concluding the PIT does not count
/// (each poll is a port read of about a microsecond, so this is seconds).
const MAX_POLLS: u64 = 50_000_000;

/// Counts `count` PIT ticks down on channel 2 and busy-waits until they
/// have passed. Returns `false` if the output never went high (no working
/// PIT). `started` runs right after the count was loaded, `ended` right
/// after the output went high, so the caller can take its snapshots there.
pub fn oneshot_wait(count: u16, started: impl FnOnce(), ended: impl FnOnce()) -> bool {
    let mut gate = Port::<u8>::new(GATE_PORT);
    let mut command = Port::<u8>::new(COMMAND);
    let mut data = Port::<u8>::new(CHANNEL2_DATA);
    let [low, high] = count.to_le_bytes();
    // SAFETY: ports 0x42, 0x43 and 0x61 belong to the PIT
    // and the speaker control; channel 2 is used by nothing else in the
    // kernel, and the speaker data bit is kept clear so nothing sounds.
    let old = unsafe { gate.read() };
    // SAFETY: as above.
    unsafe {
        gate.write((old & !SPEAKER_DATA) | GATE_CHANNEL2);
        command.write(CHANNEL2_ONESHOT);
        data.write(low);
        data.write(high);
    }
    started();
    // SAFETY: as above; reading port 0x61 has no side effects.
    let finished = (0..MAX_POLLS).any(|_| unsafe { gate.read() } & CHANNEL2_OUTPUT != 0);
    ended();
    // SAFETY: as above; restores the gate and speaker bits, gate closed.
    unsafe { gate.write(old & !(SPEAKER_DATA | GATE_CHANNEL2)) };
    finished
}

/// Nanoseconds that `count` PIT ticks take.
pub fn ticks_to_nanos(count: u16) -> u64 {
    const NANOS_PER_SEC: u64 = 1_000_000_000;
    u64::from(count) * NANOS_PER_SEC / FREQUENCY_HZ
}
