//! The command line, declared with clap's derive API: one struct per subcommand, shared flag groups
//! flattened into each.

use crate::calendar::Calendar;
use crate::data::LoadOptions;
use crate::exit::EXIT_CODES_HELP;

/// `forecast --version`: the crate version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("FORECAST_GIT_HASH"), ")");
use crate::train::{Settings, TrainConfig};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    Bench(BenchArgs),
    /// Score past forecasts: join the ledger written by `predict --log` with the actual closes
    /// that have arrived, and print each model's realised errors beside naive's.
    #[command(after_help = EXIT_CODES_HELP)]
    Score(ScoreArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `forecast man > forecast.1`.
    Man,
}

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// One JSON object per run.
    Json,
    /// CSV rows (predict: date,step,close,lower,upper,level; backtest: one row per test day).
    Csv,
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

/// Which days forecast steps land on.
#[derive(Debug, Clone, Args)]
pub struct CalendarArgs {
    /// Trading calendar for forecast dates: weekdays, nyse (also skips NYSE holidays) or crypto
    /// (every day). Default: crypto when the data trades on weekends, else weekdays.
    #[arg(long, value_enum)]
    pub calendar: Option<Calendar>,
}

/// Where and how the numbers are crunched.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Worker threads (default: the available cores; RAYON_NUM_THREADS is respected).
    #[arg(long, value_parser = positive_usize)]
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
    /// CSV of daily prices (Date, Open, High, Low, Close, [Volume]).
    #[arg(long)]
    pub csv: PathBuf,
    /// Model file to write (atomically: an existing file is replaced only on success).
    #[arg(long, default_value = "model.safetensors")]
    pub out: PathBuf,
    /// Write the model only if it beats both the naive forecast and the existing --out model on
    /// the same latest validation span; otherwise keep the old file and exit with code 6.
    #[arg(long)]
    pub promote_if_better: bool,
    /// Plot the validation span (actual, forecast, naive, cumulative error vs naive) to this PNG
    /// or SVG file.
    #[arg(long)]
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

/// The model's shape and how to train it: shared by train and backtest.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Model and training")]
pub struct ModelArgs {
    /// Days of history in each input window.
    #[arg(long, default_value_t = 30, value_parser = positive_usize)]
    pub seq_len: usize,
    /// Trading days forecast at once: the head has one output per day (direct strategy).
    #[arg(long, default_value_t = 1, value_parser = positive_usize)]
    pub horizon: usize,
    /// Prediction-interval level(s), split-conformal on the validation span; several allowed,
    /// comma-separated (0.8,0.95).
    #[arg(long = "level", value_delimiter = ',', default_value = "0.9", value_parser = fraction)]
    pub levels: Vec<f64>,
    /// LSTM hidden size.
    #[arg(long, default_value_t = 64, value_parser = positive_usize)]
    pub hidden: usize,
    /// Stacked LSTM layers.
    #[arg(long, default_value_t = 2, value_parser = positive_usize)]
    pub layers: usize,
    /// Dropout between LSTM layers, in [0, 1).
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    pub dropout: f32,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = 100, value_parser = positive_usize)]
    pub epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = 64, value_parser = positive_usize)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3, value_parser = positive_f64)]
    pub lr: f64,
    /// Share of the latest windows held out for validation and early stopping, in (0, 1).
    #[arg(long, default_value_t = 0.1, value_parser = fraction)]
    pub val_fraction: f64,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long, default_value_t = 10, value_parser = positive_usize)]
    pub patience: usize,
    /// Seed for initialisation, shuffling and dropout: same seed, data, flags and --threads give
    /// the same model bits.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Largest L2 norm of the gradients (clipped above it).
    #[arg(long, default_value_t = 1.0, value_parser = positive_f64)]
    pub clip_norm: f64,
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
            train: TrainConfig {
                epochs: self.epochs,
                batch_size: self.batch_size,
                lr: self.lr,
                val_fraction: self.val_fraction,
                patience: self.patience,
                seed: self.seed,
                clip_norm: self.clip_norm,
            },
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ScoreArgs {
    /// The forecast ledger written by `predict --log`.
    #[arg(long)]
    pub log: PathBuf,
    /// Prices with the actual closes.
    #[arg(long)]
    pub csv: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub load: LoadOptions,
}

#[derive(Debug, Clone, Args)]
pub struct BacktestArgs {
    /// CSV of daily prices.
    #[arg(long)]
    pub csv: PathBuf,
    /// Number of consecutive test spans (each fold retrains on everything before its span).
    #[arg(long, default_value_t = 5, value_parser = positive_usize)]
    pub folds: usize,
    /// Days in each test span (default: the folds together cover the last 20% of the days).
    #[arg(long, value_parser = positive_usize)]
    pub test_size: Option<usize>,
    /// Plot actual vs forecast vs naive over the test spans, with fold boundaries and the
    /// cumulative squared error of model minus naive, to this PNG or SVG file.
    #[arg(long)]
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

#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// Model file written by `forecast train`.
    #[arg(long, default_value = "model.safetensors")]
    pub model: PathBuf,
    /// CSV to forecast from (default: the training CSV recorded in the model file).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Fail with exit code 5 when the data's last date is more than DAYS calendar days before
    /// today (or before --as-of).
    #[arg(long, value_name = "DAYS")]
    pub max_age: Option<u64>,
    /// Use only rows up to this date (YYYY-MM-DD): what a run on that day would have said.
    #[arg(long, value_parser = iso_date)]
    pub as_of: Option<NaiveDate>,
    /// Append this forecast to a CSV ledger (one row per step and level; a rerun for the same
    /// as_of and model adds nothing), for `forecast score`.
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
    #[arg(long = "case", value_parser = bench_case, default_values = ["30x64", "60x64", "30x128"])]
    pub cases: Vec<(usize, usize)>,
    /// LSTM implementation(s) to measure.
    #[arg(long, value_enum, default_value_t = BenchPath::Both)]
    pub path: BenchPath,
    /// Training windows per timed epoch.
    #[arg(long, default_value_t = 4096, value_parser = positive_usize)]
    pub samples: usize,
    /// Timed epochs per case (the median is reported), after one warm-up epoch.
    #[arg(long, default_value_t = 5, value_parser = positive_usize)]
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

fn bench_case(s: &str) -> Result<(usize, usize), String> {
    let parsed = s.split_once('x').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    match parsed {
        Some((seq, hidden)) if seq > 0 && hidden > 0 => Ok((seq, hidden)),
        _ => Err(format!("expected SEQ_LENxHIDDEN such as 30x64, got \"{s}\"")),
    }
}

fn iso_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("expected a date as YYYY-MM-DD, got \"{s}\""))
}

fn positive_usize(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(format!("expected a whole number of at least 1, got \"{s}\"")),
    }
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a positive number, got \"{s}\"")),
    }
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("expected a number strictly between 0 and 1, got \"{s}\"")),
    }
}

fn probability(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a number in [0, 1), got \"{s}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::LastRow;
    use clap::CommandFactory;

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
