//! Sliding windows of `seq_len` scaled feature rows and their targets, batched into tensors of
//! shape (batch, seq, feature) — batch first, as in the seed.
//!
//! This module owns the arithmetic between windows and series days ([`WindowSpec`]); no other
//! module computes window or day offsets.

use candle_core::{Device, Result, Tensor};

/// The shape of windows over a series: `seq_len` days of inputs, `horizon` days of targets.
///
/// Series day `d` gives feature row `d − 1` (the first day has no previous close, so no
/// returns). Window `j` holds feature rows `j .. j + seq_len`, that is series days
/// `j + 1 ..= j + seq_len`, and its step-`k` target (k = 1…horizon) is the close of series day
/// `j + seq_len + k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    pub seq_len: usize,
    pub horizon: usize,
}

impl WindowSpec {
    /// The series day whose close is window `j`'s step-1 target.
    pub fn target_day(self, j: usize) -> usize {
        j + self.seq_len + 1
    }

    /// The window whose last input day is series day `day`: the one that forecasts `day + 1`.
    /// None when `day` has fewer than `seq_len` days of returns before it (days 0 … seq_len − 1).
    pub fn window_ending(self, day: usize) -> Option<usize> {
        day.checked_sub(self.seq_len)
    }

    /// The window whose step-1 target is series day `day`.
    pub fn window_for_target(self, day: usize) -> Option<usize> {
        self.window_ending(day.checked_sub(1)?)
    }

    /// Feature rows that the first `windows` windows read, inputs and targets: the rows a scaler
    /// fitted on those windows may see.
    pub fn rows_read_by(self, windows: usize) -> usize {
        if windows == 0 {
            0
        } else {
            windows + self.seq_len + self.horizon - 1
        }
    }

    /// Windows of a series of `days` days whose targets all exist.
    pub fn windows_with_targets(self, days: usize) -> usize {
        days.saturating_sub(self.seq_len + self.horizon)
    }

    /// Fewest series days that give `windows` windows with targets (at least one window to
    /// forecast from when `windows` is 0).
    pub fn days_needed(self, windows: usize) -> usize {
        self.seq_len + 1 + windows.saturating_sub(1) + if windows == 0 { 0 } else { self.horizon }
    }
}

/// Scaled features and targets, ready to cut into windows.
///
/// Window `j` is feature rows `j .. j + seq_len`; its targets are the scaled close log returns of
/// rows `j + seq_len .. j + seq_len + horizon`: the next `horizon` days. Windows whose targets all
/// exist number `rows − seq_len − horizon + 1`; the window ending on the last row
/// ([`Windows::last_window`]) is the one a forecast starts from.
#[derive(Debug, Clone)]
pub struct Windows {
    pub seq_len: usize,
    pub width: usize,
    pub horizon: usize,
    /// Row-major scaled features, `rows × width`, as f32 for the model.
    pub features: Vec<f32>,
    /// Scaled targets, `horizon` per window with full targets, window after window.
    pub targets: Vec<f32>,
    /// Per feature row: the EWMA volatility known on that row's day in scaled-target units, the
    /// base scale of a distributional head (see `distribution`); empty when the features have no
    /// volatility column, which makes every base scale 1.
    pub base_scales: Vec<f32>,
}

impl Windows {
    /// The window shape, for day arithmetic.
    pub fn spec(&self) -> WindowSpec {
        WindowSpec { seq_len: self.seq_len, horizon: self.horizon }
    }

    /// `features`: row-major scaled values (`rows × width`); `scaled_returns`: the scaled close
    /// return of every row.
    pub fn new(
        features: &[f64],
        width: usize,
        scaled_returns: &[f64],
        seq_len: usize,
        horizon: usize,
    ) -> Windows {
        let rows = features.len() / width.max(1);
        let windows = (rows + 1).saturating_sub(seq_len + horizon);
        let targets = (0..windows)
            .flat_map(|j| (0..horizon).map(move |k| scaled_returns[j + seq_len + k] as f32))
            .collect();
        let features = features.iter().map(|&v| v as f32).collect();
        Windows { seq_len, width, horizon, features, targets, base_scales: Vec::new() }
    }

    /// The same windows with a base scale per feature row (see [`Windows::base_scales`]).
    pub fn with_base_scales(mut self, base_scales: Vec<f32>) -> Windows {
        self.base_scales = base_scales;
        self
    }

    /// The base scale of window `j`: its last row's.
    pub fn base_scale(&self, j: usize) -> f32 {
        self.base_scales.get(j + self.seq_len - 1).copied().unwrap_or(1.0)
    }

    /// The base scales of the windows in `indices` (batch).
    pub fn base_scales_of(&self, indices: &[usize]) -> Vec<f32> {
        indices.iter().map(|&j| self.base_scale(j)).collect()
    }

    /// Number of windows whose targets all exist.
    pub fn len(&self) -> usize {
        self.targets.len() / self.horizon.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The window that ends on the last row: where a forecast starts.
    pub fn last_window(&self) -> usize {
        // The last feature row is series day `rows`.
        let rows = self.features.len() / self.width.max(1);
        self.spec().window_ending(rows).unwrap_or(0)
    }

    /// Feature rows of window `j` (at most [`Windows::last_window`]), flattened (seq_len × width).
    pub fn window(&self, j: usize) -> &[f32] {
        let size = self.seq_len * self.width;
        &self.features[j * self.width..j * self.width + size]
    }

    /// The scaled targets of window `j`, one per step.
    pub fn targets_of(&self, j: usize) -> &[f32] {
        &self.targets[j * self.horizon..(j + 1) * self.horizon]
    }
}

/// What the training loop and batched scoring need of a set of windows: one series' [`Windows`]
/// or a panel's ([`PanelWindows`]), each window named by one index.
pub trait Batches: Sync {
    /// Trading days of targets per window.
    fn horizon(&self) -> usize;
    /// Steps and features per step of every window.
    fn seq_len(&self) -> usize;
    fn width(&self) -> usize;
    /// Feature rows of window `index`, flattened (seq_len × width).
    fn window(&self, index: usize) -> &[f32];
    /// The scaled targets of window `index`, one per step (only windows with full targets).
    fn targets_of(&self, index: usize) -> &[f32];
    /// The base scales of the windows in `indices` (see [`Windows::base_scales`]).
    fn base_scales_of(&self, indices: &[usize]) -> Vec<f32>;

    /// The input tensor (batch, seq, feature) of the windows in `indices`.
    fn inputs(&self, indices: &[usize], device: &Device) -> Result<Tensor> {
        let mut data = Vec::with_capacity(indices.len() * self.seq_len() * self.width());
        for &j in indices {
            data.extend_from_slice(self.window(j));
        }
        Tensor::from_vec(data, (indices.len(), self.seq_len(), self.width()), device)
    }

    /// The target tensor (batch, horizon) of the windows in `indices`.
    fn target_tensor(&self, indices: &[usize], device: &Device) -> Result<Tensor> {
        let data: Vec<f32> = indices.iter().flat_map(|&j| self.targets_of(j).iter().copied()).collect();
        Tensor::from_vec(data, (indices.len(), self.horizon()), device)
    }
}

impl Batches for Windows {
    fn horizon(&self) -> usize {
        self.horizon
    }
    fn seq_len(&self) -> usize {
        self.seq_len
    }
    fn width(&self) -> usize {
        self.width
    }
    fn window(&self, index: usize) -> &[f32] {
        Windows::window(self, index)
    }
    fn targets_of(&self, index: usize) -> &[f32] {
        Windows::targets_of(self, index)
    }
    fn base_scales_of(&self, indices: &[usize]) -> Vec<f32> {
        Windows::base_scales_of(self, indices)
    }
}

/// The windows of several series (a panel), each series scaled with its own scaler, as one index
/// space: panel window `offsets[s] + j` is window `j` of series `s`, for every window `j` up to
/// that series' [`Windows::last_window`]. Nothing is copied: a batch gathers its windows' rows
/// from each series' own features, so memory is the series' f32 features and targets.
#[derive(Debug, Clone, Default)]
pub struct PanelWindows {
    /// One entry per series, in panel order; all have the same seq_len, width and horizon.
    pub series: Vec<Windows>,
    /// Panel index of each series' window 0, and the total number of windows at the end.
    offsets: Vec<usize>,
}

impl PanelWindows {
    /// The panel of `series` (in this order).
    pub fn new(series: Vec<Windows>) -> PanelWindows {
        let mut offsets = vec![0];
        for w in &series {
            offsets.push(offsets[offsets.len() - 1] + w.last_window() + 1);
        }
        PanelWindows { series, offsets }
    }

    /// The panel index of window `j` of series `s`.
    pub fn index(&self, s: usize, j: usize) -> usize {
        self.offsets[s] + j
    }

    /// The series and its window of panel index `index`.
    pub fn locate(&self, index: usize) -> (usize, usize) {
        let s = self.offsets.partition_point(|&o| o <= index) - 1;
        (s, index - self.offsets[s])
    }
}

impl Batches for PanelWindows {
    fn horizon(&self) -> usize {
        self.series.first().map_or(1, |w| w.horizon)
    }
    fn seq_len(&self) -> usize {
        self.series.first().map_or(1, |w| w.seq_len)
    }
    fn width(&self) -> usize {
        self.series.first().map_or(1, |w| w.width)
    }
    fn window(&self, index: usize) -> &[f32] {
        let (s, j) = self.locate(index);
        self.series[s].window(j)
    }
    fn targets_of(&self, index: usize) -> &[f32] {
        let (s, j) = self.locate(index);
        self.series[s].targets_of(j)
    }
    fn base_scales_of(&self, indices: &[usize]) -> Vec<f32> {
        indices.iter().map(|&g| self.locate(g)).map(|(s, j)| self.series[s].base_scale(j)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_the_day_before_their_target() {
        // 5 rows of one feature: values 0..5; returns = 10 × row.
        let feats = [0.0, 1.0, 2.0, 3.0, 4.0];
        let rets = [0.0, 10.0, 20.0, 30.0, 40.0];
        let w = Windows::new(&feats, 1, &rets, 3, 1);
        assert_eq!(w.len(), 2);
        assert_eq!(w.last_window(), 2);
        assert_eq!(w.window(0), &[0.0, 1.0, 2.0]);
        assert_eq!(w.targets[0], 30.0);
        assert_eq!(w.window(1), &[1.0, 2.0, 3.0]);
        assert_eq!(w.targets[1], 40.0);
        assert_eq!(w.window(2), &[2.0, 3.0, 4.0]); // the forecast window
        let x = w.inputs(&[1, 0], &Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[2, 3, 1]);
        assert_eq!(x.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn days_and_windows_map_both_ways() {
        let spec = WindowSpec { seq_len: 3, horizon: 2 };
        // 10 days → 9 feature rows → windows 0..=6; those with both targets: 0..=4.
        assert_eq!(spec.windows_with_targets(10), 5);
        assert_eq!(spec.target_day(0), 4);
        assert_eq!(spec.target_day(4), 8); // step 2 of window 4 is day 9, the last
        assert_eq!(spec.window_for_target(4), Some(0));
        assert_eq!(spec.window_ending(9), Some(6)); // the forecast window of a 10-day series
        assert_eq!(spec.window_ending(2), None);
        assert_eq!(spec.window_for_target(3), None);
        assert_eq!(spec.days_needed(0), 4);
        assert_eq!(spec.days_needed(5), 10);
        for j in 0..5 {
            assert_eq!(spec.window_for_target(spec.target_day(j)), Some(j));
        }
    }

    #[test]
    fn a_horizon_takes_the_next_days_as_targets() {
        let feats = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let rets = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0];
        let w = Windows::new(&feats, 1, &rets, 2, 3);
        assert_eq!(w.len(), 2); // windows 0 and 1 have 3 targets each
        assert_eq!(w.targets_of(0), &[20.0, 30.0, 40.0]);
        assert_eq!(w.targets_of(1), &[30.0, 40.0, 50.0]);
        assert_eq!(w.last_window(), 4);
        assert_eq!(w.window(4), &[4.0, 5.0]);
        let t = w.target_tensor(&[1], &Device::Cpu).unwrap();
        assert_eq!(t.dims(), &[1, 3]);
    }

    #[test]
    fn a_panel_indexes_every_series_windows_without_copying_them() {
        // Series a: 5 rows (windows 0..=2 with seq 3), series b: 4 rows (windows 0..=1).
        let a = Windows::new(&[0.0, 1.0, 2.0, 3.0, 4.0], 1, &[0.0, 10.0, 20.0, 30.0, 40.0], 3, 1);
        let b = Windows::new(&[100.0, 101.0, 102.0, 103.0], 1, &[0.0, 1.0, 2.0, 3.0], 3, 1)
            .with_base_scales(vec![5.0, 6.0, 7.0, 8.0]);
        let panel = PanelWindows::new(vec![a, b]);
        assert_eq!(panel.index(1, 0), 3);
        assert_eq!(panel.locate(2), (0, 2));
        assert_eq!(panel.locate(3), (1, 0));
        assert_eq!(panel.locate(4), (1, 1));
        let x = panel.inputs(&[4, 0], &Device::Cpu).unwrap();
        assert_eq!(x.dims(), &[2, 3, 1]);
        assert_eq!(
            x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            vec![101.0, 102.0, 103.0, 0.0, 1.0, 2.0]
        );
        assert_eq!(panel.targets_of(3), &[3.0]);
        assert_eq!(panel.targets_of(1), &[40.0]);
        assert_eq!(panel.base_scales_of(&[0, 3]), vec![1.0, 7.0]);
        let y = panel.target_tensor(&[3, 0], &Device::Cpu).unwrap();
        assert_eq!(y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![3.0, 30.0]);
        // The panel holds each series' rows once: no window is materialised.
        let rows: usize = panel.series.iter().map(|w| w.features.len()).sum();
        assert_eq!(rows, 9);
    }
}
