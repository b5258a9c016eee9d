//! The one source of randomness in a simulation: a ChaCha stream seeded by the builder.
//!
//! Every random choice (ids, latencies, fault draws, placement ties) is drawn here, in the order
//! operations happen, so the same seed and the same commands replay the same run.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The seeded random stream of one simulation.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// A stream determined entirely by `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A value in `0..n` (0 when `n` is 0). Uses rejection sampling so small ranges are unbiased.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// True with probability `per_million / 1_000_000`.
    pub fn chance_ppm(&mut self, per_million: u32) -> bool {
        match per_million {
            0 => false,
            p if p >= 1_000_000 => true,
            p => self.below(1_000_000) < u64::from(p),
        }
    }

    /// Fills `dst` with random bytes (for ids and UUIDs).
    pub fn fill(&mut self, dst: &mut [u8]) {
        self.inner.fill_bytes(dst);
    }

    /// `n_bytes` random bytes as lower-case hex, as VIC renders container ids and handles.
    pub fn hex(&mut self, n_bytes: usize) -> String {
        let mut bytes = vec![0u8; n_bytes];
        self.fill(&mut bytes);
        to_hex(&bytes)
    }
}

/// Lower-case hex of `bytes` (ids, handles, digests are all rendered this way, often).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream() {
        let (mut a, mut b) = (SimRng::new(42), SimRng::new(42));
        let xs: Vec<u64> = (0..16).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..16).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(SimRng::new(43).next_u64(), xs[0]);
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SimRng::new(7);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..200 {
                assert!(r.below(n) < n);
            }
        }
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn chance_extremes_are_exact() {
        let mut r = SimRng::new(1);
        assert!((0..100).all(|_| !r.chance_ppm(0)));
        assert!((0..100).all(|_| r.chance_ppm(1_000_000)));
    }

    #[test]
    fn to_hex_matches_formatting() {
        let bytes = [0u8, 1, 15, 16, 127, 128, 255];
        let formatted: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(to_hex(&bytes), formatted);
    }

    #[test]
    fn hex_has_two_chars_per_byte() {
        let h = SimRng::new(3).hex(16);
        assert_eq!(h.len(), 32);
        assert!(
            h.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
