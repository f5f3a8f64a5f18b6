//! The command line, declared with clap's derive API: one struct per subcommand, shared flag groups
//! flattened into each.

use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "forecast", version, about = "LSTM stock-price forecaster: train on daily prices, predict the next close", after_help = EXIT_CODES_HELP)]
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
    /// Measure training throughput and inference latency of the LSTM on random data.
    Bench(BenchArgs),
}

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// One JSON object per run.
    Json,
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

/// Where and how the numbers are crunched.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Worker threads (default: the available cores; RAYON_NUM_THREADS is respected).
    #[arg(long, value_parser = positive_usize)]
    pub threads: Option<usize>,
    /// Device: cpu (CUDA support is planned: auto, cuda, cuda:N).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// CSV of daily prices (Date, Open, High, Low, Close, [Volume]).
    #[arg(long)]
    pub csv: PathBuf,
    /// Model file to write (atomically: an existing file is replaced only on success).
    #[arg(long, default_value = "model.safetensors")]
    pub out: PathBuf,
    /// Days of history in each input window.
    #[arg(long, default_value_t = 30, value_parser = positive_usize)]
    pub seq_len: usize,
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
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// Model file written by `forecast train`.
    #[arg(long, default_value = "model.safetensors")]
    pub model: PathBuf,
    /// CSV to forecast from (default: the training CSV recorded in the model file).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[command(flatten)]
    pub output: OutputArgs,
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
            (args.seq_len, args.hidden, args.layers, args.epochs, args.patience),
            (30, 64, 2, 100, 10)
        );
    }
}
