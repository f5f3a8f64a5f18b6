//! The picture a user looks at to decide whether a model is worth anything: actual closes, the
//! model's forecasts and naive's over the evaluated days (with fold boundaries), the interval
//! band(s) shaded around the forecast with the days the close fell outside the first level's band
//! marked, and below, the cumulative squared error of the model minus naive's — falling means
//! the model is winning. A band that breathes with the market widens where the marks cluster.
//!
//! PNG or SVG by the file extension (plotters; [`is_plot_path`] is what the `--plot` flags
//! accept), text in a font shipped inside the binary, and the file replaced atomically.

use crate::atomic;
use crate::backtest::Backtest;
use crate::error::{Error, Result};
use crate::inference::StepForecasts;
use crate::intervals::{band, Interval};
use crate::paths::shown;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// One evaluated day.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotDay {
    pub date: String,
    pub actual: f64,
    pub forecast: f64,
    pub naive: f64,
    /// The model's interval per level: (level, lower, upper), in the order of the levels.
    pub bands: Vec<(f64, f64, f64)>,
}

impl PlotDay {
    /// The days of one step's forecasts (naive is the origin close), with the bands of
    /// `intervals` (the forecaster's calibrated intervals) around each forecast.
    pub fn from_step(step: &StepForecasts, intervals: &[Interval]) -> Vec<PlotDay> {
        (0..step.dates.len())
            .map(|i| PlotDay {
                date: step.dates[i].to_string(),
                actual: step.actual[i],
                forecast: step.forecast[i],
                naive: step.previous[i],
                bands: intervals
                    .iter()
                    .map(|l| {
                        let (lower, upper) =
                            band(step.forecast[i], l.half_widths[step.step - 1], step.scale(i));
                        (l.level, lower, upper)
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Whether `path` names a file this module can draw: a `.png` or `.svg` extension, in any case.
pub fn is_plot_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png") || e.eq_ignore_ascii_case("svg"))
}

const SIZE: (u32, u32) = (1400, 800);
const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    });
}

/// Plots a backtest: every test day of step 1, with a boundary line where each fold starts.
pub fn backtest(path: &Path, result: &Backtest) -> Result<()> {
    let step_one: Vec<_> = result.days.iter().filter(|d| d.step == 1).collect();
    let days: Vec<PlotDay> = step_one
        .iter()
        .map(|d| PlotDay {
            date: d.date.clone(),
            actual: d.actual,
            forecast: d.forecast,
            naive: d.naive,
            bands: match d.intervals.first() {
                Some(model) => (0..result.levels.len())
                    .map(|l| {
                        let (lower, upper) = model.bounds(d.naive, l);
                        (result.levels[l], lower, upper)
                    })
                    .collect(),
                None => vec![],
            },
        })
        .collect();
    let boundaries: Vec<usize> =
        step_one.windows(2).enumerate().filter(|(_, w)| w[0].fold != w[1].fold).map(|(i, _)| i + 1).collect();
    let test = &result.summary.significance.naive.squared;
    let title = format!(
        "walk-forward backtest, {} folds: skill {:+.2}% vs naive ({})",
        result.folds.len(),
        result.summary.skill * 100.0,
        test.describe(crate::significance::DEFAULT_ALPHA)
    );
    forecasts(path, &title, &days, &boundaries)
}

/// Plots `days` with vertical lines before the indices in `boundaries`, to `path` (.png or .svg).
pub fn forecasts(path: &Path, title: &str, days: &[PlotDay], boundaries: &[usize]) -> Result<()> {
    if days.is_empty() {
        return Err(Error::Internal("nothing to plot".into()));
    }
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let Some(extension) = extension.filter(|e| e == "png" || e == "svg") else {
        return Err(Error::Usage(format!("--plot {}: use a .png or .svg file name", shown(path))));
    };
    register_font();
    let cannot = |e: std::io::Error| Error::output(format!("plot {}", shown(path)), e);
    // A temporary file beside `path` with the same extension (plotters picks the encoder by it),
    // named with this process's pid so that a killed run's leftover is removed by the next one.
    let temp = atomic::temp_file(path, &format!(".{extension}")).map_err(cannot)?;
    let drawing = temp.path().to_path_buf();
    if extension == "png" {
        draw(BitMapBackend::new(&drawing, SIZE).into_drawing_area(), title, days, boundaries)?;
    } else {
        draw(SVGBackend::new(&drawing, SIZE).into_drawing_area(), title, days, boundaries)?;
    }
    // On any error above, dropping `temp` removes the temporary file.
    atomic::persist(temp, path).map_err(cannot)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    days: &[PlotDay],
    boundaries: &[usize],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| Error::output("the plot", e);
    root.fill(&WHITE).map_err(fail)?;
    let root = root.titled(title, (FONT, 26)).map_err(fail)?;
    let (top, bottom) = root.split_vertically((SIZE.1 as f64 * 0.62) as u32);
    prices_panel(&top, days, boundaries).map_err(fail)?;
    error_panel(&bottom, days, boundaries).map_err(fail)?;
    root.present().map_err(fail)?;
    Ok(())
}

fn date_label(days: &[PlotDay]) -> impl Fn(&f64) -> String + '_ {
    move |x: &f64| days.get(x.round().max(0.0) as usize).map(|d| d.date.clone()).unwrap_or_default()
}

type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A panel over `days` with a y range of `low..high` (padded by `pad_share`), its mesh drawn.
fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    days: &[PlotDay],
    (low, high): (f64, f64),
    pad_share: f64,
    y_desc: &str,
) -> Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let pad = ((high - low) * pad_share).max(1e-9);
    let n = days.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..(n - 1.0).max(1.0), (low - pad)..(high + pad))?;
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&date_label(days))
        .y_desc(y_desc)
        .light_line_style(RGBColor(245, 245, 245))
        .label_style((FONT, 15))
        .draw()?;
    Ok(chart)
}

/// Fold boundaries as vertical lines, then the legend.
fn finish<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    boundaries: &[usize],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let y = chart.y_range();
    for &b in boundaries {
        let x = b as f64 - 0.5;
        chart
            .draw_series(LineSeries::new([(x, y.start), (x, y.end)], RGBColor(60, 60, 60).stroke_width(2)))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 16))
        .draw()
}

fn prices_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    days: &[PlotDay],
    boundaries: &[usize],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let values = days.iter().flat_map(|d| {
        [d.actual, d.forecast, d.naive].into_iter().chain(d.bands.iter().flat_map(|b| [b.1, b.2]))
    });
    let range = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    let mut chart = panel(area, days, range, 0.05, "close")?;
    let series = |f: fn(&PlotDay) -> f64| days.iter().enumerate().map(move |(i, d)| (i as f64, f(d)));
    draw_bands(&mut chart, days)?;
    chart
        .draw_series(LineSeries::new(series(|d| d.actual), BLACK.stroke_width(2)))?
        .label("actual")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    let orange = RGBColor(230, 126, 34);
    chart
        .draw_series(LineSeries::new(series(|d| d.naive), orange.stroke_width(1)))?
        .label("naive (previous close)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], orange.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(series(|d| d.forecast), BLUE.stroke_width(1)))?
        .label("model forecast")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    finish(&mut chart, boundaries)
}

/// Every level's band as a shaded polygon (the widest, palest first), then a red mark on each day
/// whose close fell outside the first level's band.
fn draw_bands<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    days: &[PlotDay],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let levels = days.first().map_or(0, |d| d.bands.len());
    let mut order: Vec<usize> = (0..levels).collect();
    order.sort_by(|&a, &b| days[0].bands[b].0.total_cmp(&days[0].bands[a].0));
    for (shade, &l) in order.iter().enumerate() {
        let upper = days.iter().enumerate().map(|(i, d)| (i as f64, d.bands[l].2));
        let lower = days.iter().enumerate().rev().map(|(i, d)| (i as f64, d.bands[l].1));
        let colour = RGBColor(52, 152, 219).mix(0.15 + 0.15 * shade as f64);
        chart
            .draw_series(std::iter::once(Polygon::new(
                upper.chain(lower).collect::<Vec<_>>(),
                colour.filled(),
            )))?
            .label(format!("{:.0}% interval", days[0].bands[l].0 * 100.0))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], colour.filled()));
    }
    if levels == 0 {
        return Ok(());
    }
    let outside: Vec<(f64, f64)> = days
        .iter()
        .enumerate()
        .filter(|(_, d)| d.actual < d.bands[0].1 || d.actual > d.bands[0].2)
        .map(|(i, d)| (i as f64, d.actual))
        .collect();
    let red = RGBColor(192, 57, 43);
    let label = format!(
        "close outside the {:.0}% interval ({} of {} days)",
        days[0].bands[0].0 * 100.0,
        outside.len(),
        days.len()
    );
    chart
        .draw_series(outside.into_iter().map(|p| Circle::new(p, 4, red.filled())))?
        .label(label)
        .legend(move |(x, y)| Circle::new((x + 10, y), 4, red.filled()));
    Ok(())
}

fn error_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    days: &[PlotDay],
    boundaries: &[usize],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut total = 0.0;
    let cumulative: Vec<f64> = days
        .iter()
        .map(|d| {
            total += (d.forecast - d.actual).powi(2) - (d.naive - d.actual).powi(2);
            total
        })
        .collect();
    let range = cumulative.iter().fold((0.0f64, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
    let mut chart = panel(area, days, range, 0.08, "cum. sq. error, model − naive")?;
    let n = days.len() as f64;
    chart.draw_series(LineSeries::new([(0.0, 0.0), (n - 1.0, 0.0)], BLACK.stroke_width(1)))?;
    let red = RGBColor(192, 57, 43);
    chart
        .draw_series(LineSeries::new(
            cumulative.iter().enumerate().map(|(i, &v)| (i as f64, v)),
            red.stroke_width(2),
        ))?
        .label("above 0: model worse than naive so far; falling: model winning")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red.stroke_width(2)));
    finish(&mut chart, boundaries)
}
