//! The seed's StockPredictor: a stacked LSTM and a linear head on the last time step; with a
//! distributional head, two more linear layers beside it for the scale (and the degrees of freedom).
//!
//! Parameter names and shapes are exactly those of the PyTorch model's `state_dict`
//! (`lstm.weight_ih_l{k}`, `lstm.weight_hh_l{k}`, `lstm.bias_ih_l{k}`, `lstm.bias_hh_l{k}`,
//! `fc.weight`, `fc.bias`, and `scale.weight`, `scale.bias`, `df.weight`, `df.bias` where the
//! distribution has them), so a model file loads into PyTorch and PyTorch weights load here.

// Public for examples/recurrence_split.rs, which times the gate pass in another split.
pub mod fastmath;
pub mod flat;
pub mod fused;
pub mod lstm;

use crate::distribution::Distribution;
use candle_core::{DType, Device, Result, Tensor, Var};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub use lstm::{forward_stack, param, LstmLayer, LstmPath, Mode, StackOutput};

/// The shape of the network. Stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Features per time step.
    pub input_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    /// Outputs of the head: how many future steps are predicted at once.
    pub horizon: usize,
    /// Dropout probability on the outputs of every LSTM layer but the last (training only).
    pub dropout: f32,
    /// What the head predicts per step (absent in files from before distributional heads: none).
    #[serde(default)]
    pub distribution: Distribution,
}

/// The network: LSTM layers, then `fc` on the last step's hidden state.
#[derive(Debug, Clone)]
pub struct StockPredictor {
    pub config: ModelConfig,
    pub layers: Vec<LstmLayer>,
    /// (horizon, hidden)
    pub fc_weight: Var,
    /// (horizon)
    pub fc_bias: Var,
    /// The scale head `scale.weight` (horizon, hidden) and `scale.bias` (horizon), then the
    /// degrees-of-freedom head `df.*`: as many as the distribution has beyond the location.
    pub extra_heads: Vec<(Var, Var)>,
    /// Which LSTM implementation runs: fused on CPU, tensor ops elsewhere.
    pub path: LstmPath,
}

/// Expected shape of every parameter, by PyTorch name, in state_dict order.
pub fn parameter_shapes(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let h4 = 4 * config.hidden_size;
    let mut shapes = Vec::new();
    for k in 0..config.num_layers {
        let input = if k == 0 { config.input_size } else { config.hidden_size };
        shapes.push((format!("lstm.weight_ih_l{k}"), vec![h4, input]));
        shapes.push((format!("lstm.weight_hh_l{k}"), vec![h4, config.hidden_size]));
        shapes.push((format!("lstm.bias_ih_l{k}"), vec![h4]));
        shapes.push((format!("lstm.bias_hh_l{k}"), vec![h4]));
    }
    for head in head_names(config.distribution) {
        shapes.push((format!("{head}.weight"), vec![config.horizon, config.hidden_size]));
        shapes.push((format!("{head}.bias"), vec![config.horizon]));
    }
    shapes
}

/// The initial raw scale: softplus⁻¹(1), so σ starts at the window's base scale.
pub const SCALE_BIAS_INIT: f32 = 0.541_324_9;

/// The initial raw degrees of freedom: softplus⁻¹(6), so ν = 2 + 6 = 8.
pub const DF_BIAS_INIT: f32 = 5.997_518;

/// The linear heads of a distribution, in output order: `fc` (location), `scale`, `df`.
pub fn head_names(distribution: Distribution) -> &'static [&'static str] {
    &["fc", "scale", "df"][..distribution.outputs()]
}

impl StockPredictor {
    /// PyTorch's initialisation: every parameter drawn from U(−1/√H, 1/√H), in state_dict order,
    /// from the caller's seeded RNG (so the same seed gives the same weights, and the LSTM and
    /// `fc` of every distribution the same as the squared-error model's). Two exceptions:
    /// `scale.bias` starts at [`SCALE_BIAS_INIT`] (σ ≈ the base scale) and `df.bias` at
    /// [`DF_BIAS_INIT`] (ν ≈ 8 rather than a near-Cauchy ν ≈ 2.7).
    pub fn init(config: &ModelConfig, rng: &mut impl Rng, device: &Device) -> Result<Self> {
        let bound = 1.0 / (config.hidden_size as f32).sqrt();
        let mut tensors = HashMap::new();
        for (name, shape) in parameter_shapes(config) {
            let count = shape.iter().product();
            let mut values: Vec<f32> = (0..count).map(|_| rng.random_range(-bound..bound)).collect();
            match name.as_str() {
                "scale.bias" => values.fill(SCALE_BIAS_INIT),
                "df.bias" => values.fill(DF_BIAS_INIT),
                _ => {}
            }
            tensors.insert(name, Tensor::from_vec(values, shape, device)?);
        }
        Self::from_tensors(config, &tensors)
    }

    /// Builds the model from named tensors (a model file or a PyTorch state_dict), checking that
    /// every parameter is present with the right shape. Tensors are converted to f32. The LSTM
    /// path is the fused one on CPU and the tensor-op one on other devices.
    pub fn from_tensors(config: &ModelConfig, tensors: &HashMap<String, Tensor>) -> Result<Self> {
        let take = |name: &str, shape: &[usize]| -> Result<Var> {
            let tensor = tensors
                .get(name)
                .ok_or_else(|| candle_core::Error::Msg(format!("missing parameter {name}")))?;
            if tensor.dims() != shape {
                return Err(candle_core::Error::Msg(format!(
                    "parameter {name} has shape {:?}, expected {shape:?}",
                    tensor.dims()
                )));
            }
            Var::from_tensor(&tensor.to_dtype(DType::F32)?)
        };
        let shapes: HashMap<String, Vec<usize>> = parameter_shapes(config).into_iter().collect();
        let get = |name: String| take(&name, &shapes[&name]);
        let mut layers = Vec::with_capacity(config.num_layers);
        for k in 0..config.num_layers {
            layers.push(LstmLayer {
                weight_ih: get(format!("lstm.weight_ih_l{k}"))?,
                weight_hh: get(format!("lstm.weight_hh_l{k}"))?,
                bias_ih: get(format!("lstm.bias_ih_l{k}"))?,
                bias_hh: get(format!("lstm.bias_hh_l{k}"))?,
            });
        }
        let fc_weight = get("fc.weight".to_string())?;
        let fc_bias = get("fc.bias".to_string())?;
        let extra_heads = head_names(config.distribution)[1..]
            .iter()
            .map(|head| Ok((get(format!("{head}.weight"))?, get(format!("{head}.bias"))?)))
            .collect::<Result<Vec<_>>>()?;
        let path = if fc_weight.device().is_cpu() { LstmPath::Fused } else { LstmPath::Tensor };
        Ok(StockPredictor { config: config.clone(), layers, fc_weight, fc_bias, extra_heads, path })
    }

    /// The same model running on another LSTM implementation (the weights are shared).
    pub fn with_path(mut self, path: LstmPath) -> Self {
        self.path = path;
        self
    }

    /// Every parameter with its PyTorch name, in state_dict order.
    pub fn named_parameters(&self) -> Vec<(String, &Var)> {
        let mut params = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            params.push((format!("lstm.weight_ih_l{k}"), &layer.weight_ih));
            params.push((format!("lstm.weight_hh_l{k}"), &layer.weight_hh));
            params.push((format!("lstm.bias_ih_l{k}"), &layer.bias_ih));
            params.push((format!("lstm.bias_hh_l{k}"), &layer.bias_hh));
        }
        params.push(("fc.weight".to_string(), &self.fc_weight));
        params.push(("fc.bias".to_string(), &self.fc_bias));
        for (head, (weight, bias)) in head_names(self.config.distribution)[1..].iter().zip(&self.extra_heads)
        {
            params.push((format!("{head}.weight"), weight));
            params.push((format!("{head}.bias"), bias));
        }
        params
    }

    /// All the parameters, for the optimiser.
    pub fn vars(&self) -> Vec<Var> {
        self.named_parameters().into_iter().map(|(_, v)| v.clone()).collect()
    }

    /// Training forward pass. `input`: (batch, seq, input_size). Returns the head's raw output
    /// (batch, outputs × horizon: every step's location, then every step's raw scale, then raw
    /// degrees of freedom, as the distribution has them) and the stack's sequence and final states, with the autograd graph kept.
    /// `between_layers` is dropout in training and the identity otherwise.
    pub fn forward_train(
        &self,
        input: &Tensor,
        between_layers: impl FnMut(&Tensor) -> Result<Tensor>,
    ) -> Result<(Tensor, StackOutput)> {
        self.forward_with(input, Mode::Train, between_layers)
    }

    /// Inference: `input` (batch, seq, input_size) → raw head outputs (batch, outputs × horizon);
    /// no dropout, no graph, no
    /// activations saved for backward.
    pub fn forward(&self, input: &Tensor) -> Result<Tensor> {
        Ok(self.forward_with(input, Mode::Infer, |x| Ok(x.clone()))?.0)
    }

    fn forward_with(
        &self,
        input: &Tensor,
        mode: Mode,
        between_layers: impl FnMut(&Tensor) -> Result<Tensor>,
    ) -> Result<(Tensor, StackOutput)> {
        let stack = forward_stack(&self.layers, input, self.path, mode, between_layers)?;
        let linear =
            |w: &Var, b: &Var| stack.last.matmul(&param(w, mode).t()?)?.broadcast_add(&param(b, mode));
        let mut output = linear(&self.fc_weight, &self.fc_bias)?;
        if !self.extra_heads.is_empty() {
            let mut parts = vec![output];
            for (w, b) in &self.extra_heads {
                parts.push(linear(w, b)?);
            }
            output = Tensor::cat(&parts, 1)?;
        }
        Ok((output, stack))
    }
}
