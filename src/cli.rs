//! The command line, declared with clap's derive API: one struct per subcommand, shared flag groups
//! flattened into each.
//!
//! Every value is checked as it is parsed: sizes against [`crate::limits`] (the message says the
//! range: `--hidden 100000: must be between 1 and 1024`), negative numbers are values (so they get
//! that message too, not "unexpected argument"), `--plot` must name a .png or .svg file. Before a
//! command does any work, the files it will write are checked against the files it reads
//! ([`TrainArgs::check_paths`] and its siblings). [`error_line`] makes clap's own errors one line.

use crate::calendar::Calendar;
use crate::data::load::TickerChoice;
use crate::data::LoadOptions;
use crate::distribution::Distribution;
use crate::error::{Error, Result};
use crate::exit::EXIT_CODES_HELP;
use crate::limits::*;
use crate::paths::check_outputs;
use crate::promotion::PromoteMetric;
use crate::shard::Shard;
use crate::train::{Settings, TrainConfig};
use chrono::NaiveDate;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `forecast --version`: the crate version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("FORECAST_GIT_HASH"), ")");

/// Defaults of the model and training flags (`inspect` judges a file against the first two).
pub const DEFAULT_SEQ_LEN: usize = 30;
/// The head `--distribution` chooses when not given (see the README's measurements).
pub const DEFAULT_DISTRIBUTION: &str = "normal";
pub const DEFAULT_VAL_FRACTION: f64 = 0.1;
pub const DEFAULT_HORIZON: usize = 1;
pub const DEFAULT_HIDDEN: usize = 64;
pub const DEFAULT_LAYERS: usize = 2;
pub const DEFAULT_DROPOUT: f32 = 0.0;
pub const DEFAULT_EPOCHS: usize = 100;
pub const DEFAULT_BATCH_SIZE: usize = 64;
pub const DEFAULT_LR: f64 = 1e-3;
pub const DEFAULT_PATIENCE: usize = 10;
pub const DEFAULT_SEED: u64 = 42;
pub const DEFAULT_CLIP_NORM: f64 = 1.0;
pub const DEFAULT_FOLDS: usize = 5;

#[derive(Debug, Parser)]
#[command(name = "forecast", version = VERSION, about = "LSTM stock-price forecaster: train on daily prices, predict the next close", after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit a model on a CSV of daily prices, write the model file, report validation metrics
    /// beside the naive forecast, and print the next-day forecast.
    #[command(after_help = EXIT_CODES_HELP)]
    Train(TrainArgs),
    /// Forecast the next close from the latest rows of the CSV (by default the one the model was
    /// trained on, re-read so a refreshed file gives a fresh forecast).
    #[command(after_help = EXIT_CODES_HELP)]
    Predict(PredictArgs),
    /// Walk-forward evaluation: retrain on the history before each of several test spans, forecast
    /// every day of each span, and compare with the naive, drift and moving-average forecasts.
    #[command(after_help = EXIT_CODES_HELP)]
    Backtest(BacktestArgs),
    /// Show what the loader makes of a CSV: delimiter, columns, date format, rows used and
    /// dropped, first and last date and close, gaps, duplicates, warnings. Nothing is trained.
    #[command(after_help = EXIT_CODES_HELP)]
    Inspect(InspectArgs),
    /// Measure training throughput and inference latency of the LSTM on random data.
    #[command(after_help = EXIT_CODES_HELP)]
    Bench(BenchArgs),
    /// Score past forecasts: join the ledger written by `predict --log` with the actual closes
    /// that have arrived, and print each model's realised errors beside naive's.
    #[command(after_help = EXIT_CODES_HELP)]
    Score(ScoreArgs),
    /// Combine the outputs of a sharded run (`--shard K/N`, or a Slurm or Kubernetes job array)
    /// into what one unsharded run prints: backtest parts (`backtest --shard … --format json`),
    /// predictions (`predict --format jsonl` or `json`), or forecast ledgers.
    #[command(after_help = EXIT_CODES_HELP)]
    Merge(MergeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = EXIT_CODES_HELP)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `forecast man > forecast.1`.
    #[command(after_help = EXIT_CODES_HELP)]
    Man,
}

impl Cli {
    /// What clap cannot check by itself: counts of repeated or comma-separated values.
    pub fn check(&self) -> Result<()> {
        let levels = match &self.command {
            Command::Train(args) => args.model.levels.len(),
            Command::Backtest(args) => args.model.levels.len(),
            _ => 0,
        };
        if levels > MAX_LEVELS {
            return Err(Error::Usage(format!(
                "--level: {levels} levels given; at most {MAX_LEVELS} are allowed"
            )));
        }
        if let Command::Bench(args) = &self.command {
            if args.cases.len() > MAX_BENCH_CASES {
                return Err(Error::Usage(format!(
                    "--case: {} cases given; at most {MAX_BENCH_CASES} are allowed",
                    args.cases.len()
                )));
            }
        }
        Ok(())
    }
}

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// One JSON object per run.
    Json,
    /// CSV rows (predict: date,step,close,lower,upper,level,sigma; backtest: one row per test day).
    Csv,
    /// JSON Lines: one compact object per line (per series, for a watchlist's forecasts and
    /// `train --each`), for streaming.
    Jsonl,
}

/// Which part of the work this process does.
#[derive(Debug, Clone, Args)]
pub struct ShardArgs {
    /// Do only shard K of N (1-based): the units of the sorted work list at positions K−1,
    /// K−1+N, K−1+2N… Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or from
    /// JOB_COMPLETION_INDEX with FORECAST_SHARD_COUNT; else all of it.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
}

/// Output flags shared by every command.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print nothing on stderr but errors.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// More diagnostics on stderr (per-epoch losses even when stderr is not a terminal).
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl OutputArgs {
    /// The stderr log these flags ask for.
    pub fn log(&self) -> crate::output::Log {
        use crate::output::log::Verbosity;
        crate::output::Log::new(match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, _) => Verbosity::Verbose,
        })
    }
}

/// Which days forecast steps land on.
#[derive(Debug, Clone, Args)]
pub struct CalendarArgs {
    /// Trading calendar for forecast dates: weekdays, nyse (also skips NYSE holidays) or crypto
    /// (every day). Default: crypto when the data trades on weekends, else weekdays.
    #[arg(long, value_parser = named(&Calendar::NAMES, Calendar::from_name, Calendar::Weekdays))]
    pub calendar: Option<Calendar>,
}

/// Where and how the numbers are crunched.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Worker threads (default: the available cores; RAYON_NUM_THREADS is respected).
    #[arg(long, value_parser = whole(1, MAX_THREADS), allow_negative_numbers = true)]
    pub threads: Option<usize>,
    /// Device: auto (CUDA when compiled in and a GPU answers, else CPU), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

impl RuntimeArgs {
    /// The device and worker threads these flags ask for.
    pub fn runtime(&self) -> crate::error::Result<crate::runtime::Runtime> {
        crate::runtime::setup_runtime(self.threads, &self.device)
    }
}

#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// CSV of daily prices (Date, Open, High, Low, Close, [Volume]). Repeat it, or give a quoted
    /// glob ('prices/*.csv'), to train one global model on a watchlist.
    #[arg(long, required = true)]
    pub csv: Vec<PathBuf>,
    #[command(flatten)]
    pub tickers: TickersArgs,
    /// Model file to write (atomically: an existing file is replaced only on success).
    #[arg(long, default_value = "model.safetensors")]
    pub out: PathBuf,
    /// One model per series instead of one global model: each written to --out-dir as
    /// ID.safetensors; a series that fails does not stop the others.
    #[arg(long, requires = "out_dir", conflicts_with_all = ["out", "promote_if_better", "plot"])]
    pub each: bool,
    /// Folder of --each's model files (made if missing).
    #[arg(long, value_name = "DIR", requires = "each")]
    pub out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Write the model only if it beats both the naive forecast and the existing --out model on
    /// the same latest validation span; otherwise keep the old file and exit with code 6.
    #[arg(long)]
    pub promote_if_better: bool,
    /// What --promote-if-better compares: step-1 RMSE against naive (rmse), or the interval score
    /// at the first --level against the EWMA band (interval-score); the existing model is scored
    /// the same way on the same days.
    #[arg(long, default_value = "rmse", value_parser = named(&PromoteMetric::NAMES, PromoteMetric::from_name, PromoteMetric::Rmse))]
    pub promote_metric: PromoteMetric,
    /// With --promote-if-better: promote only when each win (over the baseline, and over the
    /// existing model) is significant, a Diebold–Mariano p-value below P on the validation days
    /// (e.g. 0.05). Off by default: any win promotes.
    #[arg(long, value_name = "P", requires = "promote_if_better", value_parser = probability)]
    pub min_significance: Option<f64>,
    /// Plot the validation span (actual, forecast, naive, cumulative error vs naive) to this PNG
    /// or SVG file.
    #[arg(long, value_parser = plot_path)]
    pub plot: Option<PathBuf>,
    /// When another train is writing the same --out, wait for it instead of failing (exit 7).
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub calendar: CalendarArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub load: LoadOptions,
}

impl TrainArgs {
    /// Refuses, before any work, outputs that are inputs (`--out` or `--plot` one of the CSV
    /// `files`), the same file twice, or in a missing folder (usage error, exit 2).
    pub fn check_paths(&self, files: &[PathBuf]) -> Result<()> {
        let mut outputs = vec![("--out", self.out.as_path())];
        outputs.extend(self.plot.as_deref().map(|p| ("--plot", p)));
        check_outputs(&outputs, &csv_inputs(files))
    }
}

/// The CSV files as named inputs, for [`check_outputs`].
fn csv_inputs(files: &[PathBuf]) -> Vec<(&'static str, &std::path::Path)> {
    files.iter().map(|f| ("--csv", f.as_path())).collect()
}

/// Which instruments of a file that holds several tickers to read.
#[derive(Debug, Clone, Args)]
pub struct TickersArgs {
    /// Read several instruments of each file with a ticker column: `all`, or a comma-separated
    /// list (AAPL,MSFT); each becomes one series of the watchlist. (--ticker reads one.)
    #[arg(long, value_name = "all|LIST", value_parser = tickers, conflicts_with = "ticker")]
    pub tickers: Option<TickerChoice>,
}

fn tickers(s: &str) -> Result<TickerChoice, String> {
    if s.trim() == "all" {
        return Ok(TickerChoice::All);
    }
    let names: Vec<String> = s.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    if names.is_empty() || names.len() > MAX_SERIES {
        return Err(format!("must be all or a list of 1 to {MAX_SERIES} tickers such as AAPL,MSFT"));
    }
    Ok(TickerChoice::Listed(names))
}

/// The model's shape and how to train it: shared by train and backtest.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Model and training")]
pub struct ModelArgs {
    /// Days of history in each input window.
    #[arg(long, default_value_t = DEFAULT_SEQ_LEN, value_parser = whole(1, MAX_SEQ_LEN), allow_negative_numbers = true)]
    pub seq_len: usize,
    /// Trading days forecast at once: the head has one output per day (direct strategy).
    #[arg(long, default_value_t = DEFAULT_HORIZON, value_parser = whole(1, MAX_HORIZON), allow_negative_numbers = true)]
    pub horizon: usize,
    /// What the head predicts for each day: the log return's location and scale (normal), also
    /// its tails (student-t), trained by likelihood, with intervals that widen when markets do;
    /// or only a point trained by squared error (none), with a constant interval width.
    #[arg(long, default_value = DEFAULT_DISTRIBUTION, value_parser = named(&Distribution::NAMES, Distribution::from_name, Distribution::Normal))]
    pub distribution: Distribution,
    /// Prediction-interval level(s), split-conformal on the validation span; several allowed,
    /// comma-separated (0.8,0.95).
    #[arg(long = "level", value_delimiter = ',', default_value = "0.9", value_parser = real(Bound::Open(0.0), Bound::Open(1.0)), allow_hyphen_values = true)]
    pub levels: Vec<f64>,
    /// LSTM hidden size.
    #[arg(long, default_value_t = DEFAULT_HIDDEN, value_parser = whole(1, MAX_HIDDEN), allow_negative_numbers = true)]
    pub hidden: usize,
    /// Stacked LSTM layers.
    #[arg(long, default_value_t = DEFAULT_LAYERS, value_parser = whole(1, MAX_LAYERS), allow_negative_numbers = true)]
    pub layers: usize,
    /// Dropout between LSTM layers, in [0, 1).
    #[arg(long, default_value_t = DEFAULT_DROPOUT, value_parser = dropout, allow_hyphen_values = true)]
    pub dropout: f32,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = DEFAULT_EPOCHS, value_parser = whole(1, MAX_EPOCHS), allow_negative_numbers = true)]
    pub epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, value_parser = whole(1, MAX_BATCH_SIZE), allow_negative_numbers = true)]
    pub batch_size: usize,
    /// Adam learning rate, in (0, 10].
    #[arg(long, default_value_t = DEFAULT_LR, value_parser = real(Bound::Open(0.0), Bound::Closed(MAX_LR)), allow_hyphen_values = true)]
    pub lr: f64,
    /// Share of the latest windows held out for validation and early stopping, in (0, 1).
    #[arg(long, default_value_t = DEFAULT_VAL_FRACTION, value_parser = real(Bound::Open(0.0), Bound::Open(1.0)), allow_hyphen_values = true)]
    pub val_fraction: f64,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long, default_value_t = DEFAULT_PATIENCE, value_parser = whole(1, MAX_PATIENCE), allow_negative_numbers = true)]
    pub patience: usize,
    /// Seed for initialisation, shuffling and dropout: same seed, data, flags and --threads give
    /// the same model bits.
    #[arg(long, default_value_t = DEFAULT_SEED, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Largest L2 norm of the gradients (clipped above it), in (0, 1000000].
    #[arg(long, default_value_t = DEFAULT_CLIP_NORM, value_parser = real(Bound::Open(0.0), Bound::Closed(MAX_CLIP_NORM)), allow_hyphen_values = true)]
    pub clip_norm: f64,
    /// Training windows drawn per epoch (seeded, without replacement), for large watchlists
    /// whose full epoch is long; default: every training window.
    #[arg(long, value_name = "N", value_parser = whole(1, MAX_WINDOWS_PER_EPOCH), allow_negative_numbers = true)]
    pub windows_per_epoch: Option<usize>,
}

impl ModelArgs {
    /// The model and training settings these flags describe.
    pub fn settings(&self) -> Settings {
        Settings {
            seq_len: self.seq_len,
            horizon: self.horizon,
            levels: self.levels.clone(),
            hidden: self.hidden,
            layers: self.layers,
            dropout: self.dropout,
            distribution: self.distribution,
            train: TrainConfig {
                epochs: self.epochs,
                batch_size: self.batch_size,
                lr: self.lr,
                val_fraction: self.val_fraction,
                patience: self.patience,
                seed: self.seed,
                clip_norm: self.clip_norm,
                windows_per_epoch: self.windows_per_epoch,
            },
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ScoreArgs {
    /// The forecast ledger written by `predict --log`.
    #[arg(long)]
    pub log: PathBuf,
    /// Prices with the actual closes; for a watchlist's ledger, repeat it or give a glob, and
    /// each series is scored against the file with its id.
    #[arg(long, required = true)]
    pub csv: Vec<PathBuf>,
    #[command(flatten)]
    pub tickers: TickersArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub load: LoadOptions,
}

#[derive(Debug, Clone, Args)]
pub struct BacktestArgs {
    /// CSV of daily prices; repeat it or give a quoted glob to backtest a global model over a
    /// watchlist (per-series and pooled metrics).
    #[arg(long, required = true)]
    pub csv: Vec<PathBuf>,
    #[command(flatten)]
    pub tickers: TickersArgs,
    /// With a watchlist: also fit one model per series on the same folds, and show global
    /// against per-series against naive.
    #[arg(long)]
    pub compare_local: bool,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// Number of consecutive test spans (each fold retrains on everything before its span).
    #[arg(long, default_value_t = DEFAULT_FOLDS, value_parser = whole(1, MAX_FOLDS), allow_negative_numbers = true)]
    pub folds: usize,
    /// Days in each test span (default: the folds together cover the last 20% of the days).
    #[arg(long, value_parser = whole(1, MAX_TEST_SIZE), allow_negative_numbers = true)]
    pub test_size: Option<usize>,
    /// Plot actual vs forecast vs naive over the test spans, with fold boundaries and the
    /// cumulative squared error of model minus naive, to this PNG or SVG file.
    #[arg(long, value_parser = plot_path)]
    pub plot: Option<PathBuf>,
    /// Use only rows up to this date (YYYY-MM-DD).
    #[arg(long, value_parser = iso_date)]
    pub as_of: Option<NaiveDate>,
    /// Write every test day's forecasts as CSV (date, fold, actual, forecast, naive, drift,
    /// moving_average) to this file.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub load: LoadOptions,
}

impl BacktestArgs {
    /// Refuses, before any work, `--predictions` or `--plot` that is one of the CSV `files`, the
    /// two being the same file, or either in a missing folder (usage error, exit 2).
    pub fn check_paths(&self, files: &[PathBuf]) -> Result<()> {
        let mut outputs = Vec::new();
        outputs.extend(self.predictions.as_deref().map(|p| ("--predictions", p)));
        outputs.extend(self.plot.as_deref().map(|p| ("--plot", p)));
        check_outputs(&outputs, &csv_inputs(files))
    }
}

#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// Model file written by `forecast train`; a quoted glob ('models/*.safetensors') or a
    /// folder forecasts every model in it, in parallel; a folder with --csv forecasts each
    /// series of the CSVs with the folder's ID.safetensors (as `train --each` writes them).
    #[arg(long, default_value = "model.safetensors")]
    pub model: PathBuf,
    #[command(flatten)]
    pub shard: ShardArgs,
    /// CSV to forecast from (default: each series' training CSV recorded in the model file).
    /// With a global model, repeat it or give a glob: a series the model knows uses its stored
    /// scaler, a new one (cold start) a scaler fitted on its own history.
    #[arg(long)]
    pub csv: Vec<PathBuf>,
    #[command(flatten)]
    pub tickers: TickersArgs,
    /// Fail with exit code 5 when the data's last date is more than DAYS calendar days before
    /// today (or before --as-of); at most 1000000.
    #[arg(long, value_name = "DAYS", value_parser = max_age, allow_negative_numbers = true)]
    pub max_age: Option<u64>,
    /// Use only rows up to this date (YYYY-MM-DD): what a run on that day would have said.
    #[arg(long, value_parser = iso_date)]
    pub as_of: Option<NaiveDate>,
    /// Append this forecast to a CSV ledger (one row per step and level; a rerun for the same
    /// as_of and model adds nothing), for `forecast score`. Only a new or empty file, or a
    /// ledger, is written to.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    #[command(flatten)]
    pub calendar: CalendarArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub load: LoadOptions,
}

impl PredictArgs {
    /// Refuses, before any work, a `--log` that is the `--model` or the `--csv`, or in a missing
    /// folder (usage error, exit 2). (A `--log` that is the CSV recorded in the model is refused
    /// by the ledger: it is not one.)
    pub fn check_paths(&self, files: &[PathBuf]) -> Result<()> {
        let Some(log) = &self.log else { return Ok(()) };
        let mut inputs = vec![("--model", self.model.as_path())];
        inputs.extend(csv_inputs(files));
        check_outputs(&[("--log", log)], &inputs)
    }
}

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The shards' output files (quoted globs allowed), all of one kind.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Ledgers: append the merged rows to this ledger (rows it has are not added twice) instead
    /// of printing them.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// CSV of daily prices to look at.
    #[arg(long)]
    pub csv: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub load: LoadOptions,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Shapes to measure, as SEQ_LENxHIDDEN (2 layers, 5 features, batch 64).
    #[arg(long = "case", value_parser = bench_case, default_values = ["30x64", "60x64", "30x128"], allow_hyphen_values = true)]
    pub cases: Vec<(usize, usize)>,
    /// LSTM implementation(s) to measure.
    #[arg(long, value_enum, default_value_t = BenchPath::Both)]
    pub path: BenchPath,
    /// Training windows per timed epoch.
    #[arg(long, default_value_t = 4096, value_parser = whole(1, MAX_BENCH_SAMPLES), allow_negative_numbers = true)]
    pub samples: usize,
    /// Timed epochs per case (the median is reported), after one warm-up epoch.
    #[arg(long, default_value_t = 5, value_parser = whole(1, MAX_BENCH_REPEATS), allow_negative_numbers = true)]
    pub repeats: usize,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Which LSTM implementation `bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchPath {
    Fused,
    Tensor,
    Both,
}

/// A clap error as one line for stderr: `error: --hidden 100000: must be between 1 and 1024`
/// for a value its parser refused; otherwise clap's message without the usage block, its lines
/// joined. Control characters from the command line are escaped.
pub fn error_line(err: &clap::Error) -> String {
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    if err.kind() == ErrorKind::ValueValidation {
        if let (Some(flag), Some(value), Some(why)) =
            (text(ContextKind::InvalidArg), text(ContextKind::InvalidValue), std::error::Error::source(err))
        {
            // "--hidden <HIDDEN>" → "--hidden"
            let flag = flag.split(' ').next().unwrap_or_default();
            return crate::text::one_line(&format!("error: {flag} {value}: {why}"));
        }
    }
    let rendered = err.render().to_string();
    let mut line = String::new();
    for part in rendered.lines().map(str::trim) {
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            break;
        }
        if part.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') || part.starts_with('[') { " " } else { "; " });
        }
        line.push_str(part);
    }
    crate::text::one_line(&line)
}

/// A lower or upper bound of a range of real numbers.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// The bound itself is allowed.
    Closed(f64),
    /// Only numbers beyond the bound are allowed.
    Open(f64),
}

/// A parser of finite real numbers within `low` and `high`; its message says the range.
fn real(low: Bound, high: Bound) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    let lower = match low {
        Bound::Closed(v) => format!("at least {v}"),
        Bound::Open(v) => format!("greater than {v}"),
    };
    let upper = match high {
        Bound::Closed(v) => format!("at most {v}"),
        Bound::Open(v) => format!("less than {v}"),
    };
    move |s: &str| {
        let fits = |v: f64| {
            let above = match low {
                Bound::Closed(b) => v >= b,
                Bound::Open(b) => v > b,
            };
            let below = match high {
                Bound::Closed(b) => v <= b,
                Bound::Open(b) => v < b,
            };
            v.is_finite() && above && below
        };
        match s.trim().parse::<f64>() {
            Ok(v) if fits(v) => Ok(v),
            _ => Err(format!("must be a number {lower} and {upper}")),
        }
    }
}

/// A parser of whole numbers from `min` to `max`; its message says the range. A negative or huge
/// number is out of range, anything else not a whole number.
fn whole(min: usize, max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s: &str| parse_whole(s, min as u128, max as u128).map(|v| v as usize)
}

fn parse_whole(s: &str, min: u128, max: u128) -> Result<u128, String> {
    let trimmed = s.trim();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("must be a whole number between {min} and {max}"));
    }
    match digits.parse::<u128>() {
        Ok(v) if !negative && (min..=max).contains(&v) => Ok(v),
        Ok(0) if negative && min == 0 => Ok(0),
        _ => Err(format!("must be between {min} and {max}")),
    }
}

fn seed(s: &str) -> Result<u64, String> {
    parse_whole(s, 0, u64::MAX as u128).map(|v| v as u64)
}

fn max_age(s: &str) -> Result<u64, String> {
    parse_whole(s, 0, MAX_AGE_DAYS as u128).map(|v| v as u64)
}

fn dropout(s: &str) -> Result<f32, String> {
    real(Bound::Closed(0.0), Bound::Open(1.0))(s).map(|v| v as f32)
}

/// `--min-significance`: a p-value threshold, strictly between 0 and 1.
fn probability(s: &str) -> Result<f64, String> {
    real(Bound::Open(0.0), Bound::Open(1.0))(s)
}

/// `--plot`: a file name ending in .png or .svg (any case).
fn plot_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if crate::output::plot::is_plot_path(&path) {
        Ok(path)
    } else {
        Err("must be a file name ending in .png or .svg".to_string())
    }
}

fn bench_case(s: &str) -> Result<(usize, usize), String> {
    let shape =
        format!("must be SEQ_LENxHIDDEN such as 30x64, SEQ_LEN 1 to {MAX_SEQ_LEN}, HIDDEN 1 to {MAX_HIDDEN}");
    let (seq, hidden) = s.split_once(['x', 'X']).ok_or_else(|| shape.clone())?;
    let seq = parse_whole(seq, 1, MAX_SEQ_LEN as u128).map_err(|_| shape.clone())?;
    let hidden = parse_whole(hidden, 1, MAX_HIDDEN as u128).map_err(|_| shape)?;
    Ok((seq as usize, hidden as usize))
}

fn iso_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD".to_string())
}

/// A flag that takes one of `names` (listed in help and completions), turned into its value by
/// `from_name`; `fallback` is never reached, since clap has already refused any other name.
fn named<T: Clone + Send + Sync + 'static>(
    names: &'static [&'static str],
    from_name: fn(&str) -> Option<T>,
    fallback: T,
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names)
        .map(move |name: String| from_name(&name).unwrap_or_else(|| fallback.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::LastRow;
    use clap::CommandFactory;

    /// The one-line error for `forecast ARGS`, which must fail.
    fn refused(args: &[&str]) -> String {
        let mut argv = vec!["forecast"];
        argv.extend_from_slice(args);
        let err = Cli::try_parse_from(argv).expect_err("should be refused");
        assert!(err.use_stderr(), "{err}");
        error_line(&err)
    }

    #[test]
    fn sizes_are_bounded_and_the_message_says_the_range() {
        let cases: &[(&[&str], &str)] = &[
            (&["--hidden", "100000"], "error: --hidden 100000: must be between 1 and 1024"),
            (
                &["--hidden", "18446744073709551615"],
                "--hidden 18446744073709551615: must be between 1 and 1024",
            ),
            (&["--hidden", "999999999999999999999999999999999999999999"], "must be between 1 and 1024"),
            (&["--hidden", "-1"], "error: --hidden -1: must be between 1 and 1024"),
            (&["--hidden", "lots"], "--hidden lots: must be a whole number between 1 and 1024"),
            (&["--layers", "100000"], "--layers 100000: must be between 1 and 8"),
            (&["--seq-len", "0"], "--seq-len 0: must be between 1 and 1000"),
            (&["--horizon", "-3"], "--horizon -3: must be between 1 and 250"),
            (&["--epochs", "1000000000"], "--epochs 1000000000: must be between 1 and 100000"),
            (&["--batch-size", "0"], "--batch-size 0: must be between 1 and 65536"),
            (&["--patience", "-1"], "--patience -1: must be between"),
            (&["--threads", "100000"], "--threads 100000: must be between 1 and 1024"),
            (&["--seed", "-1"], "--seed -1: must be between 0 and 18446744073709551615"),
            (&["--lr", "-0.5"], "--lr -0.5: must be a number greater than 0 and at most 10"),
            (&["--lr", "inf"], "--lr inf: must be a number"),
            (&["--lr", "-inf"], "--lr -inf: must be a number"),
            (&["--lr", "NaN"], "--lr NaN: must be a number"),
            (&["--lr", "1e30"], "--lr 1e30: must be a number greater than 0 and at most 10"),
            (&["--clip-norm", "-1"], "--clip-norm -1: must be a number greater than 0 and at most 1000000"),
            (&["--val-fraction", "1"], "--val-fraction 1: must be a number greater than 0 and less than 1"),
            (&["--val-fraction", "-.5"], "--val-fraction -.5: must be a number greater than 0"),
            (&["--dropout", "-0.1"], "--dropout -0.1: must be a number at least 0 and less than 1"),
            (&["--level", "0.5,1.5"], "--level 1.5: must be a number greater than 0 and less than 1"),
            (&["--plot", "x.gif"], "--plot x.gif: must be a file name ending in .png or .svg"),
        ];
        for (flags, expected) in cases {
            let mut args = vec!["train", "--csv", "x.csv"];
            args.extend_from_slice(flags);
            let line = refused(&args);
            assert!(line.contains(expected), "{flags:?}: {line}");
        }
        let line = refused(&["backtest", "--csv", "x", "--folds", "1000000000000"]);
        assert_eq!(line, "error: --folds 1000000000000: must be between 1 and 1000");
        assert!(refused(&["backtest", "--csv", "x", "--test-size", "-5"]).contains("--test-size -5"));
        assert!(refused(&["backtest", "--csv", "x", "--plot", "a.GIF"]).contains(".png or .svg"));
        let line = refused(&["predict", "--max-age", "18446744073709551616"]);
        assert_eq!(line, "error: --max-age 18446744073709551616: must be between 0 and 1000000");
        assert!(refused(&["predict", "--max-age", "-1"]).contains("--max-age -1: must be between 0"));
        assert!(
            refused(&["bench", "--case", "30x100000"]).contains("--case 30x100000: must be SEQ_LENxHIDDEN")
        );
        assert!(refused(&["bench", "--case", "0x64"]).contains("--case 0x64"));
        assert!(refused(&["bench", "--samples", "-1"]).contains("--samples -1: must be between"));
    }

    #[test]
    fn plots_are_png_or_svg_in_any_case_and_ranges_include_their_ends() {
        for name in ["a.png", "b.SVG", "dir/c.Png"] {
            let cli = Cli::try_parse_from(["forecast", "train", "--csv", "x", "--plot", name]);
            assert!(cli.is_ok(), "{name}");
        }
        let cli = Cli::try_parse_from([
            "forecast",
            "train",
            "--csv",
            "x",
            "--hidden",
            "1024",
            "--layers",
            "8",
            "--lr",
            "10",
            "--dropout",
            "0",
            "--seed",
            "0",
        ]);
        assert!(cli.is_ok());
        let cli = Cli::try_parse_from(["forecast", "predict", "--max-age", "1000000"]).unwrap();
        let Command::Predict(args) = cli.command else { panic!("not predict") };
        assert_eq!(args.max_age, Some(1_000_000));
    }

    #[test]
    fn too_many_levels_are_refused_after_parsing() {
        let many: Vec<String> = (1..=17).map(|i| format!("0.{i:02}")).collect();
        let levels = many.join(",");
        let cli = Cli::try_parse_from(["forecast", "train", "--csv", "x", "--level", &levels]).unwrap();
        let err = cli.check().unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::Exit::Usage);
        assert!(err.to_string().contains("at most 16"), "{err}");
        let cli = Cli::try_parse_from(["forecast", "train", "--csv", "x", "--level", "0.8,0.95"]).unwrap();
        cli.check().unwrap();
    }

    #[test]
    fn clap_errors_are_one_line_with_control_characters_escaped() {
        let line = refused(&["train"]);
        assert_eq!(line, "error: the following required arguments were not provided: --csv <CSV>");
        let line = refused(&["train", "--csv", "x", "--format", "xml"]);
        assert!(
            line.starts_with("error: invalid value 'xml' for '--format <FORMAT>' [possible values"),
            "{line}"
        );
        let line = refused(&["train", "--csv", "x", "--seq-len", "3\n0"]);
        assert_eq!(line, "error: --seq-len 3\\n0: must be a whole number between 1 and 1000");
        let line = refused(&["train", "--csv", "x", "--bogus\x1b[31m"]);
        assert!(!line.contains('\n') && !line.contains('\x1b') && line.contains("--bogus"), "{line}");
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Cli::try_parse_from(["forecast", "train", "--csv", "x", "--val-fraction", "1"]).is_err());
        assert!(Cli::try_parse_from(["forecast", "train", "--csv", "x", "--seq-len", "0"]).is_err());
        assert!(Cli::try_parse_from(["forecast", "train", "--csv", "x", "--dropout", "1"]).is_err());
        let ok = Cli::try_parse_from(["forecast", "train", "--csv", "x"]).unwrap();
        let Command::Train(args) = ok.command else { panic!("not train") };
        assert_eq!(
            (
                args.model.seq_len,
                args.model.hidden,
                args.model.layers,
                args.model.epochs,
                args.model.patience
            ),
            (30, 64, 2, 100, 10)
        );
    }

    #[test]
    fn load_flags_are_parsed_and_checked() {
        let cli = Cli::try_parse_from([
            "forecast",
            "inspect",
            "--csv",
            "x.csv",
            "--ticker",
            "AAPL",
            "--date-format",
            "%d/%m/%Y",
            "--delimiter",
            "tab",
            "--close-column",
            "Price",
            "--last-row",
            "drop",
        ])
        .unwrap();
        let Command::Inspect(args) = cli.command else { panic!("not inspect") };
        let opts = args.load;
        assert_eq!(opts.ticker.as_deref(), Some("AAPL"));
        assert_eq!(opts.date_format.as_deref(), Some("%d/%m/%Y"));
        assert_eq!(opts.delimiter, Some('\t'));
        assert_eq!(opts.close_column.as_deref(), Some("Price"));
        assert_eq!(opts.last_row, Some(LastRow::Drop));
        for (flag, bad) in [
            ("--date-format", "%Q"),
            ("--date-format", "plain"),
            ("--delimiter", ";;"),
            ("--last-row", "maybe"),
        ] {
            assert!(
                Cli::try_parse_from(["forecast", "inspect", "--csv", "x", flag, bad]).is_err(),
                "{flag} {bad}"
            );
        }
        for command in ["train", "predict"] {
            let cli = Cli::try_parse_from([
                "forecast",
                command,
                "--csv",
                "x",
                "--ticker",
                "T",
                "--date-format",
                "unix",
            ]);
            assert!(cli.is_ok(), "{command}");
        }
    }
}
