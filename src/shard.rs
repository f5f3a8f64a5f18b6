//! Sharding without coordination: shard K of N does the units of work whose place in the sorted
//! work list is K − 1 modulo N (round robin), so N processes that see the same inputs split the
//! work between them without talking to each other, and their outputs can be merged
//! (`forecast merge`).
//!
//! The shard comes from `--shard K/N` (1-based), else from a scheduler's environment: a Slurm
//! job array (`SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`, with `SLURM_ARRAY_TASK_MIN`
//! and `SLURM_ARRAY_TASK_STEP` when the range does not start at 0 or steps), or a Kubernetes
//! Indexed Job (`JOB_COMPLETION_INDEX`, 0-based, with the count in `FORECAST_SHARD_COUNT`).

use crate::error::{Error, Result};
use crate::limits::MAX_SHARDS;
use std::fmt;

/// One shard of N: `index` is 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for Shard {
    /// `K/N`, 1-based, as `--shard` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

impl Shard {
    /// The whole work list: one shard of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/N` with 1 ≤ K ≤ N ≤ [`MAX_SHARDS`].
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let bad = || format!("must be K/N with 1 ≤ K ≤ N ≤ {MAX_SHARDS}, such as 2/4");
        let (k, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || k > n || n > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { index: k - 1, count: n })
    }

    /// Whether the unit at `position` of the sorted work list is this shard's.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// The items of the sorted work list `items` that are this shard's, in order.
    pub fn select<T>(&self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        items.into_iter().enumerate().filter(|(i, _)| self.owns(*i)).map(|(_, x)| x).collect()
    }

    /// The shard a flag or the environment (looked up by `var`) asks for, with where it came
    /// from (for stderr); `None` when neither does. An environment that names a shard
    /// inconsistently (an index beyond the count, a Kubernetes index without a count) is a usage
    /// error, so a misconfigured job array fails instead of doing every unit in every task.
    pub fn resolve(
        flag: Option<Shard>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<(Shard, String)>> {
        if let Some(shard) = flag {
            return Ok(Some((shard, "--shard".into())));
        }
        let number = |name: &str| -> Result<Option<usize>> {
            match var(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| {
                    Error::Usage(format!("{name}={}: not a whole number", crate::text::excerpt(&v, 40)))
                }),
            }
        };
        if let (Some(id), Some(count)) = (number("SLURM_ARRAY_TASK_ID")?, number("SLURM_ARRAY_TASK_COUNT")?) {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let offset = id.checked_sub(min).filter(|o| o % step == 0).map(|o| o / step);
            let from = format!("SLURM_ARRAY_TASK_ID={id} of SLURM_ARRAY_TASK_COUNT={count}");
            return match offset {
                Some(index) if index < count && count <= MAX_SHARDS => Ok(Some((Shard { index, count }, from))),
                _ => Err(Error::Usage(format!(
                    "{from} (min {min}, step {step}) is not a shard: give the array as a range such as --array=0-3, or pass --shard K/N"
                ))),
            };
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let from = format!("JOB_COMPLETION_INDEX={index}");
            return match number("FORECAST_SHARD_COUNT")? {
                Some(count) if index < count && count <= MAX_SHARDS => {
                    Ok(Some((Shard { index, count }, format!("{from} of FORECAST_SHARD_COUNT={count}"))))
                }
                Some(count) => Err(Error::Usage(format!(
                    "{from} is not below FORECAST_SHARD_COUNT={count} (at most {MAX_SHARDS}): set it to the Job's completions"
                ))),
                None => Err(Error::Usage(format!(
                    "{from} is set but FORECAST_SHARD_COUNT is not: set it to the Job's completions, or pass --shard 1/1 to do all the work in every pod"
                ))),
            };
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn shards_parse_one_based_and_split_the_work_round_robin() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(Shard::parse(" 1 / 1 "), Ok(Shard::WHOLE));
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "-1/4", "1/100001"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let items: Vec<usize> = (0..10).collect();
        let parts: Vec<Vec<usize>> =
            (0..3).map(|i| Shard { index: i, count: 3 }.select(items.clone())).collect();
        assert_eq!(parts, [vec![0, 3, 6, 9], vec![1, 4, 7], vec![2, 5, 8]]);
        assert_eq!(Shard { index: 1, count: 3 }.to_string(), "2/3");
    }

    #[test]
    fn the_flag_wins_then_slurm_then_kubernetes() {
        let slurm =
            [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("JOB_COMPLETION_INDEX", "0")];
        let (shard, from) = Shard::resolve(None, env(&slurm)).unwrap().unwrap();
        assert_eq!(
            (shard, from.as_str()),
            (Shard { index: 3, count: 4 }, "SLURM_ARRAY_TASK_ID=3 of SLURM_ARRAY_TASK_COUNT=4")
        );
        let flagged = Shard::resolve(Some(Shard::WHOLE), env(&slurm)).unwrap().unwrap();
        assert_eq!(flagged.0, Shard::WHOLE);
        // --array=1-8:2 gives ids 1,3,5,7: id 5 is the third of four.
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(Shard::resolve(None, env(&stepped)).unwrap().unwrap().0, Shard { index: 2, count: 4 });
        let k8s = [("JOB_COMPLETION_INDEX", "2"), ("FORECAST_SHARD_COUNT", "3")];
        assert_eq!(Shard::resolve(None, env(&k8s)).unwrap().unwrap().0, Shard { index: 2, count: 3 });
        assert_eq!(Shard::resolve(None, env(&[])).unwrap(), None);
    }

    #[test]
    fn an_inconsistent_environment_is_a_usage_error() {
        let cases: &[&[(&str, &str)]] = &[
            &[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")],
            &[("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "4")],
            &[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "1")],
            &[("JOB_COMPLETION_INDEX", "1")],
            &[("JOB_COMPLETION_INDEX", "3"), ("FORECAST_SHARD_COUNT", "3")],
        ];
        for vars in cases {
            let err = Shard::resolve(None, env(vars)).unwrap_err();
            assert_eq!(err.exit_code(), Exit::Usage, "{vars:?}");
        }
    }
}
