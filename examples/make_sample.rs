//! Writes the synthetic sample series (default [`SyntheticConfig`]) to a CSV file.
//!
//! ```text
//! cargo run --example make_sample -- data/sample.csv
//! ```

use forecast::data::synthetic::{generate, write_csv, SyntheticConfig};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let path = PathBuf::from(std::env::args_os().nth(1).unwrap_or_else(|| "data/sample.csv".into()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let config = SyntheticConfig::default();
    let bars = generate(&config);
    let mut out = BufWriter::new(File::create(&path)?);
    write_csv(&bars, &mut out)?;
    out.flush()?;
    if let (Some(first), Some(last)) = (bars.first(), bars.last()) {
        eprintln!(
            "wrote {} bars ({} to {}, seed {}) to {}",
            bars.len(),
            first.date,
            last.date,
            config.seed,
            path.display()
        );
    }
    Ok(())
}
