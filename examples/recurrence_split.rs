//! Issue 15's open question: split a minibatch's recurrence over two threads by rows (what
//! training does) or by gate columns? The forward recurrence of one LSTM layer (hidden 64, batch
//! 64, `seq` steps) with the project's own per-step product (`fused::gemm`) and gate pass
//! (`fastmath::lstm_forward_step`), timed both ways on 2 threads, in turn, 5 rounds:
//! - batch split: each thread 32 rows and all 4·64 gate columns; the threads never wait;
//! - gate-column split: each thread all 64 rows and the four gates of its 32 hidden units (a
//!   product twice as tall and half as wide), then a spin barrier per step, since every unit's
//!   next gates need the whole h.
//!
//!     cargo run --release --example recurrence_split -- [SEQ (60)] [REPEATS (200)]
//!
//! Measured on the 2-core development machine (see the README's Performance section): the
//! column split is no faster, so training keeps the batch split.
use forecast::model::fastmath::{lstm_forward_step, ForwardStep};
use forecast::model::fused::gemm;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const H: usize = 64;
const B: usize = 64;

/// Two threads meet here once a step: the last to arrive starts the next generation.
struct Barrier {
    count: AtomicUsize,
    gen: AtomicUsize,
}
impl Barrier {
    fn wait(&self, n: usize) {
        let g = self.gen.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == n {
            self.count.store(0, Ordering::Release);
            self.gen.fetch_add(1, Ordering::AcqRel);
        } else {
            while self.gen.load(Ordering::Acquire) == g {
                std::hint::spin_loop();
            }
        }
    }
}
/// The two threads' shared h buffers. Each thread writes only its own half of step t and reads
/// both halves of step t − 1, after the barrier that ends step t − 1.
#[derive(Clone, Copy)]
struct P(*mut f32);
// SAFETY: see `P`: the barrier orders every write before the other thread's reads.
unsafe impl Send for P {}
// SAFETY: as above.
unsafe impl Sync for P {}

fn rnd(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32 - 0.5) * 0.2
        })
        .collect()
}

fn batch_split(s: usize, w_t: &[f32], bias: &[f32], xproj: &[f32], reps: usize) -> f64 {
    let t0 = Instant::now();
    std::thread::scope(|sc| {
        for part in 0..2 {
            sc.spawn(move || {
                let n = B / 2;
                let (mut gates, mut h, mut c, mut tc) = (
                    vec![0f32; s * n * 4 * H],
                    vec![0f32; s * n * H],
                    vec![0f32; s * n * H],
                    vec![0f32; s * n * H],
                );
                let zeros = vec![0f32; n * H];
                for _ in 0..reps {
                    for t in 0..s {
                        let g = &mut gates[t * n * 4 * H..(t + 1) * n * 4 * H];
                        g.copy_from_slice(&xproj[(t * B + part * n) * 4 * H..][..n * 4 * H]);
                        let (hb, hn) = h.split_at_mut(t * n * H);
                        if t > 0 {
                            gemm(
                                n,
                                4 * H,
                                H,
                                g,
                                (4 * H, 1),
                                true,
                                &hb[(t - 1) * n * H..],
                                (H, 1),
                                w_t,
                                (4 * H, 1),
                            );
                        }
                        let (cb, cn) = c.split_at_mut(t * n * H);
                        let cp = if t > 0 { &cb[(t - 1) * n * H..] } else { &zeros[..] };
                        lstm_forward_step(
                            ForwardStep {
                                gates: g,
                                bias,
                                c_prev: cp,
                                c: &mut cn[..n * H],
                                tanh_c: &mut tc[t * n * H..(t + 1) * n * H],
                                h: &mut hn[..n * H],
                            },
                            H,
                        );
                    }
                }
                std::hint::black_box(&h);
            });
        }
    });
    t0.elapsed().as_secs_f64()
}

fn column_split(s: usize, w_t: &[f32], bias: &[f32], xproj: &[f32], reps: usize) -> f64 {
    let hh = H / 2;
    // Each thread's W: rows k of one h half (32), columns = its units' 4 gates (4*32), for both halves of k.
    let w_of = |part: usize, khalf: usize| -> Vec<f32> {
        let mut w = vec![0f32; hh * 4 * hh];
        for k in 0..hh {
            for gate in 0..4 {
                for u in 0..hh {
                    w[k * 4 * hh + gate * hh + u] = w_t[(khalf * hh + k) * 4 * H + gate * H + part * hh + u];
                }
            }
        }
        w
    };
    let b_of =
        |part: usize| -> Vec<f32> { (0..4).flat_map(|g| bias[g * H + part * hh..][..hh].to_vec()).collect() };
    let mut hbuf = [vec![0f32; s * B * hh], vec![0f32; s * B * hh]];
    let hp = [P(hbuf[0].as_mut_ptr()), P(hbuf[1].as_mut_ptr())];
    let barrier = Barrier { count: AtomicUsize::new(0), gen: AtomicUsize::new(0) };
    let t0 = Instant::now();
    std::thread::scope(|sc| {
        for part in 0..2 {
            let (w0, w1, bp) = (w_of(part, 0), w_of(part, 1), b_of(part));
            let barrier = &barrier;
            sc.spawn(move || {
                let (mut gates, mut c, mut tc) =
                    (vec![0f32; B * 4 * hh], vec![0f32; s * B * hh], vec![0f32; s * B * hh]);
                let zeros = vec![0f32; B * hh];
                for _ in 0..reps {
                    for t in 0..s {
                        for r in 0..B {
                            for gate in 0..4 {
                                gates[r * 4 * hh + gate * hh..][..hh].copy_from_slice(
                                    &xproj[(t * B + r) * 4 * H + gate * H + part * hh..][..hh],
                                );
                            }
                        }
                        if t > 0 {
                            // SAFETY: step t − 1 of both halves, complete since the last barrier;
                            // in bounds (t < s).
                            let ha =
                                unsafe { std::slice::from_raw_parts(hp[0].0.add((t - 1) * B * hh), B * hh) };
                            let hb =
                                unsafe { std::slice::from_raw_parts(hp[1].0.add((t - 1) * B * hh), B * hh) };
                            gemm(B, 4 * hh, hh, &mut gates, (4 * hh, 1), true, ha, (hh, 1), &w0, (4 * hh, 1));
                            gemm(B, 4 * hh, hh, &mut gates, (4 * hh, 1), true, hb, (hh, 1), &w1, (4 * hh, 1));
                        }
                        let (cb, cn) = c.split_at_mut(t * B * hh);
                        let cp = if t > 0 { &cb[(t - 1) * B * hh..] } else { &zeros[..] };
                        // SAFETY: this thread's own half of step t, which the other reads only
                        // after the barrier below; in bounds (t < s).
                        let hmine =
                            unsafe { std::slice::from_raw_parts_mut(hp[part].0.add(t * B * hh), B * hh) };
                        lstm_forward_step(
                            ForwardStep {
                                gates: &mut gates,
                                bias: &bp,
                                c_prev: cp,
                                c: &mut cn[..B * hh],
                                tanh_c: &mut tc[t * B * hh..(t + 1) * B * hh],
                                h: hmine,
                            },
                            hh,
                        );
                        barrier.wait(2);
                    }
                }
            });
        }
    });
    std::hint::black_box(&hbuf);
    t0.elapsed().as_secs_f64()
}

fn main() {
    let s: usize = std::env::args().nth(1).map_or(60, |a| a.parse().unwrap());
    let reps: usize = std::env::args().nth(2).map_or(200, |a| a.parse().unwrap());
    let w_t = rnd(H * 4 * H, 1);
    let bias = rnd(4 * H, 2);
    let xproj = rnd(s * B * 4 * H, 3);
    for round in 0..5 {
        let a = batch_split(s, &w_t, &bias, &xproj, reps);
        let b = column_split(s, &w_t, &bias, &xproj, reps);
        println!(
            "round {round}: seq {s}: batch split {:.1} ms, column split {:.1} ms, column/batch {:.3}",
            a * 1e3,
            b * 1e3,
            b / a
        );
    }
}
