//! Bounds on every size a flag or a model file can set, in one place: they keep allocations and
//! loops in proportion (a hidden size of 100,000 would ask for 160 GB), and errors quote them.
//! The CLI refuses flags beyond them (exit 2); loading refuses a model file beyond them (exit 4).

/// Days of history in one input window (four years of trading days).
pub const MAX_SEQ_LEN: usize = 1_000;
/// Trading days forecast at once (a year).
pub const MAX_HORIZON: usize = 250;
/// LSTM hidden size.
pub const MAX_HIDDEN: usize = 1_024;
/// Stacked LSTM layers.
pub const MAX_LAYERS: usize = 8;
/// Input features per day (forecast computes at most five).
pub const MAX_FEATURES: usize = 16;
/// Training epochs.
pub const MAX_EPOCHS: usize = 100_000;
/// Windows per minibatch.
pub const MAX_BATCH_SIZE: usize = 65_536;
/// Prediction-interval levels.
pub const MAX_LEVELS: usize = 16;
/// Worker threads.
pub const MAX_THREADS: usize = 1_024;
/// Walk-forward folds.
pub const MAX_FOLDS: usize = 1_000;
/// Bytes of a model file (the largest model the limits allow is about 270 MB).
pub const MAX_MODEL_FILE_BYTES: u64 = 512 << 20;
/// Bytes of the JSON header of a model file.
pub const MAX_MODEL_HEADER_BYTES: u64 = 16 << 20;
/// Epochs without a better validation loss before training stops.
pub const MAX_PATIENCE: usize = MAX_EPOCHS;
/// Days in one backtest test span (about 400 years of trading days).
pub const MAX_TEST_SIZE: usize = 100_000;
/// `predict --max-age`, in calendar days (about 2,700 years; keeps the day arithmetic exact).
pub const MAX_AGE_DAYS: u64 = 1_000_000;
/// Adam learning rate: above this, every step jumps across the whole range of the weights.
pub const MAX_LR: f64 = 10.0;
/// Gradient clipping norm.
pub const MAX_CLIP_NORM: f64 = 1e6;
/// `bench --samples`: training windows per timed epoch.
pub const MAX_BENCH_SAMPLES: usize = 1_000_000;
/// `bench --repeats`: timed epochs per case.
pub const MAX_BENCH_REPEATS: usize = 1_000;
/// `bench --case`: shapes measured in one run.
pub const MAX_BENCH_CASES: usize = 64;
/// Series in one global model (a watchlist).
pub const MAX_SERIES: usize = 100_000;
/// Characters of a series id (a ticker or a file name's stem).
pub const MAX_ID_CHARS: usize = 100;
/// `--windows-per-epoch`.
pub const MAX_WINDOWS_PER_EPOCH: usize = 1 << 30;

/// Most shards `--shard K/N` (or a job array) may split the work into.
pub const MAX_SHARDS: usize = 100_000;

/// Largest file `forecast merge` reads (a shard's backtest parts, forecasts or ledger).
pub const MAX_MERGE_FILE_BYTES: u64 = 1 << 30;
