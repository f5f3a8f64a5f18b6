//! The two LSTM implementations against each other and against finite differences: the fused CPU
//! op (default for training) and the tensor-op oracle must give the same outputs and gradients on
//! shapes the golden cases do not cover (odd batch sizes split over threads, horizon > 1), and both
//! must match central finite differences computed in f64.

use candle_core::{DType, Device, Tensor, Var};
use forecast::model::{parameter_shapes, LstmLayer, LstmPath, ModelConfig, StockPredictor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

fn random(rng: &mut ChaCha8Rng, shape: &[usize], dtype: DType) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
}

/// A model of `dtype` built directly from named tensors (from_tensors always makes f32).
fn model_of(config: &ModelConfig, t: &HashMap<String, Tensor>, path: LstmPath) -> StockPredictor {
    let var = |name: String| Var::from_tensor(&t[&name]).unwrap();
    let layers = (0..config.num_layers)
        .map(|k| LstmLayer {
            weight_ih: var(format!("lstm.weight_ih_l{k}")),
            weight_hh: var(format!("lstm.weight_hh_l{k}")),
            bias_ih: var(format!("lstm.bias_ih_l{k}")),
            bias_hh: var(format!("lstm.bias_hh_l{k}")),
        })
        .collect();
    StockPredictor {
        config: config.clone(),
        layers,
        fc_weight: var("fc.weight".into()),
        fc_bias: var("fc.bias".into()),
        extra_heads: vec![],
        path,
    }
}

/// Output, final states and gradients of sum(output · loss_weight), all as f64 vectors by name.
fn run(model: &StockPredictor, input: &Tensor, loss_weight: &Tensor) -> HashMap<String, Vec<f64>> {
    let input = Var::from_tensor(input).unwrap();
    let (output, stack) = model.forward_train(input.as_tensor(), |x| Ok(x.clone())).unwrap();
    let loss = (&output * loss_weight).unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let flat = |t: &Tensor| t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let mut out = HashMap::new();
    out.insert("output".to_string(), flat(&output));
    out.insert("h_n".to_string(), flat(&Tensor::stack(&stack.h_n, 0).unwrap()));
    out.insert("c_n".to_string(), flat(&Tensor::stack(&stack.c_n, 0).unwrap()));
    out.insert("grad.input".to_string(), flat(grads.get(input.as_tensor()).unwrap()));
    for (name, v) in model.named_parameters() {
        out.insert(format!("grad.{name}"), flat(grads.get(v.as_tensor()).unwrap()));
    }
    out
}

/// max |a − b| ≤ tolerance × max |b|.
fn assert_close(what: &str, a: &[f64], b: &[f64], tolerance: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst <= tolerance * scale, "{what}: max error {worst:.3e} > {tolerance:.0e} × {scale:.3e}");
}

fn case(
    config: &ModelConfig,
    batch: usize,
    seq: usize,
    seed: u64,
    dtype: DType,
) -> (HashMap<String, Tensor>, Tensor, Tensor) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let params =
        parameter_shapes(config).into_iter().map(|(n, s)| (n, random(&mut rng, &s, dtype))).collect();
    let input = random(&mut rng, &[batch, seq, config.input_size], dtype);
    let loss_weight = random(&mut rng, &[batch, config.horizon], dtype);
    (params, input, loss_weight)
}

#[test]
fn fused_and_tensor_paths_agree() {
    // Hidden 20: the AVX2 pass takes 16 lanes and the scalar tail the other 4.
    let config = ModelConfig {
        input_size: 5,
        hidden_size: 20,
        num_layers: 2,
        horizon: 3,
        dropout: 0.0,
        distribution: Default::default(),
    };
    let (params, input, loss_weight) = case(&config, 37, 13, 11, DType::F32);
    let oracle = run(&model_of(&config, &params, LstmPath::Tensor), &input, &loss_weight);
    let fused = run(&model_of(&config, &params, LstmPath::Fused), &input, &loss_weight);
    assert_eq!(fused.len(), oracle.len());
    for (name, expected) in &oracle {
        let tolerance = if name.starts_with("grad.") { 1e-5 } else { 1e-6 };
        assert_close(name, &fused[name], expected, tolerance);
    }
}

#[test]
fn gradients_match_finite_differences_in_f64() {
    let config = ModelConfig {
        input_size: 3,
        hidden_size: 3,
        num_layers: 2,
        horizon: 2,
        dropout: 0.0,
        distribution: Default::default(),
    };
    let (params32, input32, weight32) = case(&config, 2, 4, 5, DType::F32);
    let to64 = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
    let params: HashMap<String, Tensor> = params32.iter().map(|(n, t)| (n.clone(), to64(t))).collect();
    let (input, loss_weight) = (to64(&input32), to64(&weight32));

    let loss_at = |params: &HashMap<String, Tensor>, input: &Tensor| -> f64 {
        let model = model_of(&config, params, LstmPath::Tensor);
        let output = model.forward(input).unwrap();
        (output * &loss_weight).unwrap().sum_all().unwrap().to_scalar::<f64>().unwrap()
    };
    // Central differences, one element at a time, in f64.
    let eps = 1e-6;
    let nudge = |t: &Tensor, i: usize, by: f64| {
        let mut v = t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        v[i] += by;
        Tensor::from_vec(v, t.shape(), &Device::Cpu).unwrap()
    };
    let mut numeric: HashMap<String, Vec<f64>> = HashMap::new();
    for (name, t) in &params {
        let grads = (0..t.elem_count())
            .map(|i| {
                let mut plus = params.clone();
                plus.insert(name.clone(), nudge(t, i, eps));
                let mut minus = params.clone();
                minus.insert(name.clone(), nudge(t, i, -eps));
                (loss_at(&plus, &input) - loss_at(&minus, &input)) / (2.0 * eps)
            })
            .collect();
        numeric.insert(format!("grad.{name}"), grads);
    }
    let input_grad = (0..input.elem_count())
        .map(|i| {
            (loss_at(&params, &nudge(&input, i, eps)) - loss_at(&params, &nudge(&input, i, -eps)))
                / (2.0 * eps)
        })
        .collect();
    numeric.insert("grad.input".to_string(), input_grad);

    // Autograd through the tensor path in f64 agrees to ~1e-8; the fused op (f32) to f32 precision.
    let tensor64 = run(&model_of(&config, &params, LstmPath::Tensor), &input, &loss_weight);
    let fused32 = run(&model_of(&config, &params32, LstmPath::Fused), &input32, &weight32);
    assert_eq!(numeric.len(), 4 * 2 + 2 + 1);
    for (name, expected) in &numeric {
        assert_close(&format!("{name} tensor f64"), &tensor64[name], expected, 1e-7);
        assert_close(&format!("{name} fused f32"), &fused32[name], expected, 1e-4);
    }
}
