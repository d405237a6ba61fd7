//! A small deterministic generator, so the same seed gives the same county on every platform
//! and no `rand` dependency is needed.

/// SplitMix64: one word of state, fast, and statistically good enough for test data.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Mix the seed once so that nearby seeds start far apart.
        let mut r = Rng(seed ^ 0x6A09_E667_F3BC_C909);
        r.next_u64();
        r
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything a test could see).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        debug_assert!(lo <= hi);
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// An index drawn with the given relative weights.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut r = self.below(u64::from(total)) as u32;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// Splits `total` into `parts` uneven shares, each within `lo..=hi` when that is possible;
/// otherwise the bounds are widened just enough (tiny or odd totals). `weights` bias the
/// shares (one per part) and are jittered so that siblings differ.
pub(crate) fn split(rng: &mut Rng, total: usize, weights: &[u32], lo: usize, hi: usize) -> Vec<usize> {
    let parts = weights.len();
    assert!(parts > 0, "cannot split into zero parts");
    let lo = lo.min(total / parts);
    let hi = hi.max(total.div_ceil(parts));
    let mut out = vec![lo; parts];
    let spare = total - lo * parts;
    let jittered: Vec<u64> = weights.iter().map(|w| u64::from(*w) * (100 + rng.below(150))).collect();
    let sum: u64 = jittered.iter().sum::<u64>().max(1);
    let mut left = spare;
    for (slot, w) in out.iter_mut().zip(&jittered) {
        let share = ((spare as u64 * w / sum) as usize).min(hi - lo).min(left);
        *slot += share;
        left -= share;
    }
    // The rounding remainder, one at a time to random parts that still have room.
    while left > 0 {
        let i = rng.index(parts);
        if out[i] < hi {
            out[i] += 1;
            left -= 1;
        }
    }
    out
}
