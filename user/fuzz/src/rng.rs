//! The fuzzer's random numbers: xorshift64* seeded through splitmix64.
//!
//! Everything the fuzzer decides comes from one [`Rng`] made from the seed
//! on the command line, so a seed names one sequence of decisions. (The
//! partner thread has its own generator, derived from the same seed.)
//! Neither generator is cryptographic; they only need to be fast, cheap and
//! repeatable.

/// splitmix64: turns any seed (0 included) into a well-mixed state.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xorshift64*: a 64-bit state, never zero.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for `seed`; `stream` separates independent generators
    /// made from the same seed.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut mix = seed ^ stream.wrapping_mul(0xd605_bbb5_8c8a_bbd7);
        let state = splitmix64(&mut mix);
        Rng {
            state: if state == 0 {
                0x2545_f491_4f6c_dd1d
            } else {
                state
            },
        }
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            // The bias of a plain modulo is irrelevant here.
            self.next() % n
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of `items`. Panics on an empty slice; callers pass
    /// constant, non-empty tables.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}
