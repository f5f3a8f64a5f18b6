//! Everything before the model, in pure Rust (nothing here knows about training):
//! load a CSV into a [`Series`], compute [`features`], fit a [`Scaler`] on the training span,
//! and cut [`Windows`] of (seq × feature) for the model.

pub mod dataset;
pub mod features;
pub mod load;
pub mod scaler;
pub mod series;
pub mod synthetic;
pub mod watchlist;
pub mod windows;

pub use dataset::{prepare_inference, prepare_last_window, prepare_training, Prepared, Split};
pub use load::{load_csv, load_csv_tickers, LastRow, LoadOptions, TickerChoice};
pub use scaler::Scaler;
pub use series::{Gap, LoadReport, Series};
pub use windows::{Batches, PanelWindows, WindowSpec, Windows};
