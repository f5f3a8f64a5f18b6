//! Floats that go through JSON and come back the same bits, the non-finite ones too: a finite
//! number is written as a number (serde_json writes the shortest text that reads back exactly,
//! and reads it back exactly with its `float_roundtrip` feature), NaN and ±∞ as the strings
//! `"NaN"`, `"inf"` and `"-inf"` (plain serde_json would write `null` and fail to read it back).
//! For the parts of a sharded backtest, which `forecast merge` must put together into the very
//! report one process prints. Use with `#[serde(with = "crate::exact_float")]` (or `::vec`,
//! `::option`). And [`nan_as_null`], for reports: a figure that cannot be computed is `null`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A float as written.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Written {
    Number(f64),
    Text(String),
}

impl Written {
    fn of(value: f64) -> Written {
        match value {
            v if v.is_finite() => Written::Number(v),
            v if v.is_nan() => Written::Text("NaN".into()),
            v if v > 0.0 => Written::Text("inf".into()),
            _ => Written::Text("-inf".into()),
        }
    }

    fn value(self) -> Result<f64, String> {
        match self {
            Written::Number(v) => Ok(v),
            Written::Text(t) => match t.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                _ => Err(format!("{} is not a number", crate::text::excerpt(&t, 40))),
            },
        }
    }
}

pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    Written::of(*value).serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Written::deserialize(d)?.value().map_err(D::Error::custom)
}

/// A list of floats.
pub mod vec {
    use super::*;

    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|v| Written::of(*v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Written>::deserialize(d)?.into_iter().map(|w| w.value().map_err(D::Error::custom)).collect()
    }
}

/// A float that may be absent.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        value.map(Written::of).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<Written>::deserialize(d)?.map(|w| w.value().map_err(D::Error::custom)).transpose()
    }
}

/// A metric that cannot be computed (MASE of a price that never moved, the skill of 0 / 0) is
/// NaN in memory and `null` in JSON, both ways, so a model file that holds one still loads.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        match value.is_finite() {
            true => s.serialize_f64(*value),
            false => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Sample {
        #[serde(with = "super")]
        one: f64,
        #[serde(with = "super::vec")]
        many: Vec<f64>,
        #[serde(with = "super::option")]
        maybe: Option<f64>,
        #[serde(with = "super::option")]
        none: Option<f64>,
    }

    #[test]
    fn every_float_comes_back_with_the_same_bits() {
        let tricky = [0.1 + 0.2, 1e-308, 5e-324, -0.0, 1.7976931348623157e308, 2.0_f64.sqrt(), 74.6554];
        let sample = Sample {
            one: f64::NAN,
            many: [&tricky[..], &[f64::INFINITY, f64::NEG_INFINITY]].concat(),
            maybe: Some(f64::INFINITY),
            none: None,
        };
        let text = serde_json::to_string(&sample).unwrap();
        assert!(text.contains("\"NaN\"") && text.contains("\"-inf\""), "{text}");
        let back: Sample = serde_json::from_str(&text).unwrap();
        assert!(back.one.is_nan());
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.many), bits(&sample.many));
        assert_eq!((back.maybe, back.none), (Some(f64::INFINITY), None));
        assert!(serde_json::from_str::<Sample>(&text.replace("\"NaN\"", "\"lots\"")).is_err());
    }
}
