//! Standard normal draws, the same bits as `rand_distr::StandardNormal`, with its fast path
//! inlined into the caller.
//!
//! Every Gaussian of the project comes from `rand_distr`'s ziggurat (256 layers) over a
//! [`ParticleRng`]: a draw takes one 64-bit word w, the layer i = w mod 256 and
//! u = 2·(1 + ⌊w/2¹²⌋·2⁻⁵²) − 3 ∈ [−1, 1), and returns x = u·X_i when |x| < X_{i+1}
//! (≈ 98.8 % of draws); otherwise it goes on to the wedge test or the tail, drawing more
//! words. `StandardNormal::sample` is one out-of-line function that holds the rare paths
//! too, and its call (register saves for the `exp`/`ln` of the slow paths) costs about as
//! much as the fast path itself: in the particle kernels, about 60 instructions a draw.
//!
//! [`standard_normal`] evaluates the fast path inline on a *copy* of the generator; when
//! the draw is accepted there it keeps the copy's state, and otherwise it calls
//! `StandardNormal::sample` on the untouched generator, which reads the same word, rejects
//! it the same way and continues as always. Either way the value and the generator's state
//! afterwards are exactly `StandardNormal::sample`'s, so every random path of the project
//! is unchanged (`tests/normal.rs` compares 10⁷ draws bit for bit, and the state after).
//!
//! The layer table X_0 … X_256 is `rand_distr`'s own, read off its sampler once
//! ([`layer_table`]): fed the word with layer i and u = ½, the sampler returns ½X_i
//! (exact); for the top layer, whose fast test |x| < X_256 = 0 never passes, the word is
//! followed by one that passes the wedge test. If the sampler ever behaves differently
//! from that (another `rand_distr`), the table is refused and every draw takes
//! `StandardNormal::sample` itself: slower, never wrong.

use std::convert::Infallible;
use std::sync::OnceLock;

use rand::TryRng;
use rand::rand_core::utils;
use rand_distr::{Distribution, StandardNormal};

use crate::rng::ParticleRng;

/// The ziggurat's layer abscissae X_0 > X_1 > … > X_255 > X_256 = 0.
type Layers = [f64; 257];

/// One N(0, 1) draw from `rng`: bitwise `StandardNormal.sample(rng)`, and the same state
/// of `rng` afterwards (module docs), at about half its cost.
#[inline(always)]
pub fn standard_normal(rng: &mut ParticleRng) -> f64 {
    draw(fast_table(), rng)
}

/// The table the fast path reads: [`layer_table`], or all zeros when the sampler could not
/// be read, so that the fast test |x| < 0 never passes and every draw takes
/// `StandardNormal::sample` (no branch on the table's presence in the draw loops).
#[inline]
fn fast_table() -> &'static Layers {
    static NO_FAST_PATH: Layers = [0.0; 257];
    layer_table().unwrap_or(&NO_FAST_PATH)
}

/// The draw of [`standard_normal`] with the table already looked up.
#[inline(always)]
fn draw(x_tab: &Layers, rng: &mut ParticleRng) -> f64 {
    let mut copy = rng.clone();
    let w = rand::Rng::next_u64(&mut copy);
    let i = (w & 0xff) as usize;
    // rand's `into_float_with_exponent(1) - 3.0`: [2, 4) − 3 = [−1, 1).
    let u = f64::from_bits((w >> 12) | (1024u64 << 52)) - 3.0;
    let x = u * x_tab[i];
    if x.abs() < x_tab[i + 1] {
        *rng = copy;
        x
    } else {
        let (x, after) = slow_path(rng.clone());
        *rng = after;
        x
    }
}

/// The ≈ 1.2 % of draws the fast path rejects (wedge test, tail, or no layer table):
/// `StandardNormal::sample` on the untouched generator, returned with the generator's
/// state after it. Out of line and cold so that the fast path stays small enough to
/// inline into the particle loops, and by value so that the generator's state can stay in
/// registers there: with the sampler's `exp`/`ln` paths inlined into it, the callers'
/// draw iterators were not inlined and every draw paid a call with six register saves and
/// the state through memory (≈ 59 instructions a draw in the CBO step before).
#[cold]
#[inline(never)]
fn slow_path(mut rng: ParticleRng) -> (f64, ParticleRng) {
    let x = StandardNormal.sample(&mut rng);
    (x, rng)
}

/// An endless iterator of N(0, 1) draws from one generator: the draws of
/// [`standard_normal`], bit for bit, with the layer table looked up once for the stream
/// rather than once a draw. The particle loops zip it with the coordinates.
#[derive(Debug, Clone)]
pub struct Normals {
    rng: ParticleRng,
    table: &'static Layers,
}

impl Normals {
    /// The draws of `rng`.
    #[inline]
    pub fn new(rng: ParticleRng) -> Self {
        Self {
            rng,
            table: fast_table(),
        }
    }

    /// The generator, in the state after the draws taken so far.
    pub fn into_rng(self) -> ParticleRng {
        self.rng
    }
}

impl Iterator for Normals {
    type Item = f64;

    #[inline(always)]
    fn next(&mut self) -> Option<f64> {
        Some(draw(self.table, &mut self.rng))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// Fills `out` with i.i.d. N(0, 1) draws from `rng` ([`standard_normal`]).
#[inline]
pub fn fill_standard_normal(rng: &mut ParticleRng, out: &mut [f64]) {
    let table = fast_table();
    for v in out {
        *v = draw(table, rng);
    }
}

/// `rand_distr`'s layer table, read off its sampler on first use; `None` if the sampler
/// does not behave as the ziggurat of the module docs (then [`standard_normal`] always
/// calls it). Inlined, so that a draw pays one atomic load for it, not a call.
#[inline]
pub fn layer_table() -> Option<&'static Layers> {
    static TABLE: OnceLock<Option<Layers>> = OnceLock::new();
    TABLE.get_or_init(read_layer_table).as_ref()
}

/// The word of layer i with u = ½: ⌊w/2¹²⌋ = 0.75·2⁵² makes 2·1.75 − 3 = ½.
fn half_word(i: u64) -> u64 {
    (3u64 << 62) | i
}

fn read_layer_table() -> Option<Layers> {
    let mut x = [0.0; 257];
    for i in 0..255 {
        // Accepted on the fast path (½X_i < X_{i+1} for every layer below the top).
        x[i as usize] = 2.0 * sample_consuming(&[half_word(i)], 1)?;
    }
    // The top layer: the fast test fails (X_256 = 0), a uniform of 1 − 2⁻⁵³ (all ones) then
    // passes the wedge test f_256 + (f_255 − f_256)·U < e^{−x²/2} at x = ½X_255.
    x[255] = 2.0 * sample_consuming(&[half_word(255), u64::MAX], 2)?;
    // X_256 = 0: even the smallest |u| of the top layer fails the fast test and reads the
    // wedge uniform (a positive X_256 would accept it from the one word).
    // ⌊w/2¹²⌋ = 2⁵¹ + 1 gives u = 2(1 + ⌊w/2¹²⌋·2⁻⁵²) − 3 = 2⁻⁵¹.
    let smallest = (((1u64 << 51) + 1) << 12) | 255;
    sample_consuming(&[smallest, u64::MAX], 2)?;
    // The table must decrease strictly to 0, as every ziggurat's does.
    let decreasing = x[..256].windows(2).all(|w| w[0] > w[1]) && x[255] > 0.0;
    decreasing.then_some(x)
}

/// `StandardNormal.sample` on a generator that returns `words` (then zeros), if it read
/// exactly `expect` of them.
fn sample_consuming(words: &[u64], expect: usize) -> Option<f64> {
    let mut rng = Scripted { words, read: 0 };
    let x: f64 = StandardNormal.sample(&mut rng);
    (rng.read == expect && x.is_finite()).then_some(x)
}

/// A generator that returns given words (then zeros) and counts them.
struct Scripted<'a> {
    words: &'a [u64],
    read: usize,
}

impl TryRng for Scripted<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.try_next_u64().map(|w| w as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let w = self.words.get(self.read).copied().unwrap_or(0);
        self.read += 1;
        Ok(w)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        utils::fill_bytes_via_next_word(dest, || self.try_next_u64())
    }
}
