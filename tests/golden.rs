//! The LSTM against PyTorch: every case in FORECAST_GOLDEN_DIR (default tests/golden) is run
//! through the same forward and backward paths training uses — the flat CPU step `forecast train`
//! takes on a CPU, and candle's graph over both LSTM implementations, the fused CPU op and the
//! tensor-op oracle — and outputs, sequence, final states and every gradient
//! are compared with PyTorch's f64 values (outputs within 1e-5 of the largest magnitude, gradients
//! within 1e-4). The distributional heads' cases in tests/golden/nll check the negative
//! log-likelihood and its gradients the same way.
//!
//! FORECAST_GOLDEN_DEVICE=cuda (or cuda:N) runs both PyTorch comparisons on that GPU instead,
//! on the tensor-op path only (the fused op is CPU code); a GPU that is asked for and cannot be
//! opened fails the test, it is never skipped (scripts/gpu-check.sh).

use candle_core::{DType, Device, Tensor, Var};
use forecast::distribution::{step_raw, Distribution, LocationScale};
use forecast::model::flat::{self, ParamLayout, Workspace};
use forecast::model::fused::to_batch_major;
use forecast::model::{LstmPath, ModelConfig, StockPredictor};
use forecast::train::{head_loss, loss_gradient};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const OUTPUT_TOLERANCE: f64 = 1e-5;
const GRADIENT_TOLERANCE: f64 = 1e-4;

/// Where the PyTorch comparisons run: FORECAST_GOLDEN_DEVICE (`cpu`, the default; `cuda` or
/// `cuda:N`, which need a build with `--features cuda` and a GPU, or the test fails saying why).
fn golden_device() -> Device {
    let Ok(name) = std::env::var("FORECAST_GOLDEN_DEVICE") else { return Device::Cpu };
    let device = forecast::runtime::select_device(&name)
        .unwrap_or_else(|e| panic!("FORECAST_GOLDEN_DEVICE={name}: {e}"));
    assert!(
        name == "cpu" || !device.is_cpu(),
        "FORECAST_GOLDEN_DEVICE={name}: no GPU was opened; use cpu, cuda or cuda:N"
    );
    eprintln!("golden cases on {device:?}");
    device
}

/// The LSTM implementations compared on `device`: both on the CPU, the tensor-op path on a GPU.
fn lstm_paths(device: &Device) -> Vec<LstmPath> {
    if device.is_cpu() {
        vec![LstmPath::Fused, LstmPath::Tensor]
    } else {
        vec![LstmPath::Tensor]
    }
}

fn golden_dir() -> PathBuf {
    std::env::var_os("FORECAST_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"))
}

/// |actual − expected| ≤ tolerance × max|expected|, element by element.
fn compare(name: &str, actual: &Tensor, expected: &Tensor, tolerance: f64) -> Result<(), String> {
    if actual.dims() != expected.dims() {
        return Err(format!("{name}: shape {:?}, expected {:?}", actual.dims(), expected.dims()));
    }
    let a = actual.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let e = expected.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let scale = e.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
    let worst = a.iter().zip(&e).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    if worst > tolerance * scale {
        return Err(format!("{name}: max error {worst:.3e} > {tolerance:.0e} × {scale:.3e}"));
    }
    Ok(())
}

fn meta_usize(meta: &HashMap<String, String>, key: &str) -> usize {
    meta[key].parse().unwrap_or_else(|_| panic!("metadata {key}"))
}

/// A case: its metadata, its tensors, and the model its weights make.
type Case = (HashMap<String, String>, HashMap<String, Tensor>, StockPredictor);

/// A case file's metadata, tensors, and the model its weights make (with the heads of the
/// distribution `distribution` reads from the metadata), running on `lstm` on `device`.
fn read_case(
    path: &Path,
    lstm: LstmPath,
    device: &Device,
    distribution: impl Fn(&HashMap<String, String>) -> Result<Distribution, String>,
) -> Result<Case, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| e.to_string())?;
    let meta = header.metadata().clone().ok_or("no metadata")?;
    let distribution = distribution(&meta)?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| e.to_string())?;
    let config = ModelConfig {
        input_size: meta_usize(&meta, "input_size"),
        hidden_size: meta_usize(&meta, "hidden_size"),
        num_layers: meta_usize(&meta, "num_layers"),
        horizon: meta_usize(&meta, "horizon"),
        dropout: 0.0,
        distribution,
    };
    let model = StockPredictor::from_tensors(&config, &tensors).map_err(|e| e.to_string())?.with_path(lstm);
    Ok((meta, tensors, model))
}

/// Compares a quantity with the case's expectation of the same name, recording it in `checked`.
fn checker<'a>(
    tensors: &'a HashMap<String, Tensor>,
    checked: &'a mut Vec<String>,
) -> impl FnMut(&str, &Tensor, f64) -> Result<(), String> + 'a {
    move |name, actual, tolerance| {
        let expected = tensors.get(name).ok_or_else(|| format!("case has no {name}"))?;
        compare(name, actual, expected, tolerance)?;
        checked.push(name.to_string());
        Ok(())
    }
}

/// Runs one case; returns the names of the quantities checked, or the first mismatch.
fn check_case(path: &Path, lstm: LstmPath, device: &Device) -> Result<Vec<String>, String> {
    let (_, tensors, model) = read_case(path, lstm, device, |_| Ok(Distribution::None))?;
    let input = Var::from_tensor(&tensors["input"]).unwrap();
    // The training path: forward with the between-layer hook, backward through candle's autograd.
    let (output, stack) =
        model.forward_train(input.as_tensor(), |x| Ok(x.clone())).map_err(|e| e.to_string())?;
    let loss = (&output * &tensors["loss_weight"]).unwrap().sum_all().unwrap();
    let grads = loss.backward().map_err(|e| e.to_string())?;

    let mut checked = Vec::new();
    let mut check = checker(&tensors, &mut checked);
    check("expected.output", &output, OUTPUT_TOLERANCE)?;
    check("expected.sequence", &stack.sequence, OUTPUT_TOLERANCE)?;
    check("expected.h_n", &Tensor::stack(&stack.h_n, 0).unwrap(), OUTPUT_TOLERANCE)?;
    check("expected.c_n", &Tensor::stack(&stack.c_n, 0).unwrap(), OUTPUT_TOLERANCE)?;
    check_gradients(&mut check, &grads, &input, &model)?;
    drop(check);
    Ok(checked)
}

/// The input's and every parameter's gradient against the case's `grad.*`.
fn check_gradients(
    check: &mut impl FnMut(&str, &Tensor, f64) -> Result<(), String>,
    grads: &candle_core::backprop::GradStore,
    input: &Var,
    model: &StockPredictor,
) -> Result<(), String> {
    check(
        "grad.input",
        grads.get(input.as_tensor()).ok_or("no gradient for the input")?,
        GRADIENT_TOLERANCE,
    )?;
    for (name, var) in model.named_parameters() {
        let grad = grads.get(var.as_tensor()).ok_or_else(|| format!("no gradient for {name}"))?;
        check(&format!("grad.{name}"), grad, GRADIENT_TOLERANCE)?;
    }
    Ok(())
}

/// What the flat CPU training step (`model::flat`, the path `forecast train` takes on a CPU)
/// gives for a case: the head's output and the gradients of the input and of every parameter by
/// name, shaped like the graph path's.
struct FlatPass {
    output: Tensor,
    grad_input: Tensor,
    grads: Vec<(String, Tensor)>,
}

/// Runs the flat step on `input` (batch, seq, feature); `d_output` gives d loss / d output from
/// the output (batch, outputs × horizon, flattened), and the loss.
fn flat_pass(model: &StockPredictor, input: &Tensor, d_output: impl FnOnce(&[f32]) -> Vec<f32>) -> FlatPass {
    let layout = ParamLayout::new(&model.config);
    let params = flat::flatten(model).unwrap();
    let (batch, steps, width) = input.dims3().unwrap();
    let x: Vec<f32> = input.flatten_all().unwrap().to_vec1().unwrap();
    let windows: Vec<&[f32]> = x.chunks(steps * width).collect();
    let mut workspace = Workspace::default();
    workspace.load_input(&layout, &windows, steps);
    workspace.forward(&layout, &params, || 1.0);
    let output = workspace.output.clone();
    workspace.d_output.copy_from_slice(&d_output(&output));
    let mut grads = vec![f32::NAN; layout.len()];
    let mut d_input = vec![f32::NAN; x.len()];
    workspace.backward(&layout, &params, &mut grads, Some(&mut d_input));
    let mut grad_input = vec![0f32; x.len()];
    to_batch_major(&d_input, &mut grad_input, batch, steps, width);
    let mut offset = 0;
    let grads = model
        .named_parameters()
        .into_iter()
        .map(|(name, var)| {
            let len = var.elem_count();
            let g = Tensor::from_slice(&grads[offset..offset + len], var.shape(), &Device::Cpu).unwrap();
            offset += len;
            (name, g)
        })
        .collect();
    let outputs = output.len() / batch;
    FlatPass {
        output: Tensor::from_vec(output, (batch, outputs), &Device::Cpu).unwrap(),
        grad_input: Tensor::from_vec(grad_input, (batch, steps, width), &Device::Cpu).unwrap(),
        grads,
    }
}

/// The flat pass's input and parameter gradients against the case's `grad.*`.
fn check_flat_gradients(
    check: &mut impl FnMut(&str, &Tensor, f64) -> Result<(), String>,
    pass: &FlatPass,
) -> Result<(), String> {
    check("grad.input", &pass.grad_input, GRADIENT_TOLERANCE)?;
    for (name, grad) in &pass.grads {
        check(&format!("grad.{name}"), grad, GRADIENT_TOLERANCE)?;
    }
    Ok(())
}

/// A case through the flat CPU step: the output and every gradient.
fn check_flat_case(path: &Path) -> Result<Vec<String>, String> {
    let (_, tensors, model) = read_case(path, LstmPath::Fused, &Device::Cpu, |_| Ok(Distribution::None))?;
    let weight: Vec<f32> = tensors["loss_weight"].flatten_all().unwrap().to_vec1().unwrap();
    let pass = flat_pass(&model, &tensors["input"], |_| weight);
    let mut checked = Vec::new();
    let mut check = checker(&tensors, &mut checked);
    check("expected.output", &pass.output, OUTPUT_TOLERANCE)?;
    check_flat_gradients(&mut check, &pass)?;
    drop(check);
    Ok(checked)
}

/// The `.safetensors` cases in `dir`, sorted; an empty folder is an error, not a pass.
fn cases_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read golden folder {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    cases.sort();
    if cases.is_empty() {
        return Err(format!("no .safetensors cases in {}", dir.display()));
    }
    Ok(cases)
}

/// Checks every case in `dir` on `device`; an empty folder is a failure, not a pass.
fn check_dir(dir: &Path, device: &Device) -> Result<usize, String> {
    let cases = cases_in(dir)?;
    for case in &cases {
        for lstm in lstm_paths(device) {
            let checked =
                check_case(case, lstm, device).map_err(|e| format!("{} ({lstm:?}): {e}", case.display()))?;
            // Output, sequence, h_n, c_n, input gradient and 4 per layer + 2 head gradients.
            assert!(checked.len() >= 11, "{}: only {checked:?}", case.display());
            eprintln!("{} ({lstm:?}): {} quantities match PyTorch", case.display(), checked.len());
        }
        if device.is_cpu() {
            let checked =
                check_flat_case(case).map_err(|e| format!("{} (flat step): {e}", case.display()))?;
            // Output, input gradient and 4 per layer + 2 head gradients.
            assert!(checked.len() >= 8, "{}: only {checked:?}", case.display());
            eprintln!("{} (flat step): {} quantities match PyTorch", case.display(), checked.len());
        }
    }
    Ok(cases.len())
}

#[test]
fn golden_cases_match_pytorch() {
    let dir = golden_dir();
    let n = check_dir(&dir, &golden_device()).unwrap_or_else(|e| panic!("{e}"));
    assert!(n >= 1);
}

/// Rewrites a golden case with one tensor replaced.
fn write_case_with(src: &Path, dst: &Path, name: &str, f: impl Fn(&Tensor) -> Tensor) {
    let bytes = std::fs::read(src).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).unwrap();
    let changed = f(&tensors[name]);
    tensors.insert(name.to_string(), changed);
    let views: Vec<(String, Tensor)> = tensors.into_iter().collect();
    candle_core::safetensors::save(&views.into_iter().collect(), dst).unwrap();
    // Put the metadata back: candle's save writes none.
    let saved = std::fs::read(dst).unwrap();
    let st = safetensors::SafeTensors::deserialize(&saved).unwrap();
    let out = safetensors::serialize(st.tensors(), header.metadata().clone()).unwrap();
    std::fs::write(dst, out).unwrap();
}

/// The tensor with its first element nudged by 1 % of its largest magnitude: beyond both
/// tolerances.
fn nudge(t: &Tensor) -> Tensor {
    let mut v = t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let scale = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    v[0] += 0.01 * scale;
    Tensor::from_vec(v, t.shape(), &Device::Cpu).unwrap()
}

/// Mutates the folder's first case (whatever it is named): every case has these tensors.
#[test]
fn golden_check_fails_on_a_mutated_expectation() {
    let src = cases_in(&golden_dir()).unwrap_or_else(|e| panic!("{e}")).remove(0);
    let tmp = tempfile::tempdir().unwrap();
    // First prove the rewritten (unchanged) copy passes, so the failures below are the mutation's.
    let same = tmp.path().join("same.safetensors");
    write_case_with(&src, &same, "expected.output", |t| t.clone());
    check_case(&same, LstmPath::Fused, &Device::Cpu).expect("an unchanged copy must pass");
    for name in ["expected.output", "expected.c_n", "grad.lstm.weight_hh_l0", "grad.input"] {
        let dst = tmp.path().join("mutated.safetensors");
        write_case_with(&src, &dst, name, nudge);
        for lstm in [LstmPath::Fused, LstmPath::Tensor] {
            let err = check_case(&dst, lstm, &Device::Cpu).expect_err(&format!("a mutated {name} must fail"));
            assert!(err.contains(name), "{err}");
        }
    }
}

#[test]
fn golden_check_fails_on_an_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let err = check_dir(tmp.path(), &Device::Cpu).unwrap_err();
    assert!(err.contains("no .safetensors cases"), "{err}");
}

/// The distributional heads' PyTorch cases (tests/golden/nll, made by scripts/make_golden_nll.py):
/// the head's μ, σ, ν, the mean negative log-likelihood and every gradient, through the training
/// path (forward, `train::head_loss`, backward) on both LSTM implementations (on a GPU: the
/// tensor-op one).
fn check_nll_case(path: &Path, lstm: LstmPath, device: &Device) -> Result<Vec<String>, String> {
    let (meta, tensors, model) = read_case(path, lstm, device, |meta| {
        let name = meta.get("distribution").ok_or("no distribution")?;
        Distribution::from_name(name).ok_or_else(|| format!("unknown distribution {name}"))
    })?;
    let distribution = model.config.distribution;
    let (batch, horizon) = (meta_usize(&meta, "batch"), meta_usize(&meta, "horizon"));
    let input = Var::from_tensor(&tensors["input"]).unwrap();
    let (output, _) = model.forward_train(input.as_tensor(), |x| Ok(x.clone())).map_err(|e| e.to_string())?;
    let (loss, objective) = head_loss(distribution, &output, &tensors["target"], &[], batch * horizon)
        .map_err(|e| e.to_string())?;
    let grads = objective.backward().map_err(|e| e.to_string())?;

    // μ, σ, ν from the raw outputs, as inference maps them.
    let raw: Vec<f32> = output.flatten_all().unwrap().to_vec1().unwrap();
    let mut params = [vec![], vec![], vec![]];
    for row in raw.chunks(distribution.outputs() * horizon) {
        for k in 0..horizon {
            let p = LocationScale::from_raw(distribution, step_raw(distribution, row, horizon, k), 1.0);
            params[0].push(p.mu);
            params[1].push(p.sigma);
            params[2].extend(p.nu);
        }
    }
    let as_tensor = |v: &[f64]| Tensor::from_slice(v, (batch, horizon), &Device::Cpu).unwrap();
    let mut checked = Vec::new();
    let mut check = checker(&tensors, &mut checked);
    check("expected.mu", &as_tensor(&params[0]), OUTPUT_TOLERANCE)?;
    check("expected.sigma", &as_tensor(&params[1]), OUTPUT_TOLERANCE)?;
    if distribution == Distribution::StudentT {
        check("expected.nu", &as_tensor(&params[2]), OUTPUT_TOLERANCE)?;
    }
    check("expected.loss", &Tensor::from_slice(&[loss], 1, &Device::Cpu).unwrap(), OUTPUT_TOLERANCE)?;
    check_gradients(&mut check, &grads, &input, &model)?;
    drop(check);
    Ok(checked)
}

/// A distributional-head case through the flat CPU step: the loss and every gradient.
fn check_flat_nll_case(path: &Path) -> Result<Vec<String>, String> {
    let (meta, tensors, model) = read_case(path, LstmPath::Fused, &Device::Cpu, |meta| {
        let name = meta.get("distribution").ok_or("no distribution")?;
        Distribution::from_name(name).ok_or_else(|| format!("unknown distribution {name}"))
    })?;
    let (batch, horizon) = (meta_usize(&meta, "batch"), meta_usize(&meta, "horizon"));
    let targets: Vec<f32> = tensors["target"].flatten_all().unwrap().to_vec1().unwrap();
    let mut loss = f64::NAN;
    let pass = flat_pass(&model, &tensors["input"], |raw| {
        let (value, gradient) =
            loss_gradient(model.config.distribution, raw, &targets, &[], horizon, batch * horizon);
        loss = value;
        gradient
    });
    let mut checked = Vec::new();
    let mut check = checker(&tensors, &mut checked);
    check("expected.loss", &Tensor::from_slice(&[loss], 1, &Device::Cpu).unwrap(), OUTPUT_TOLERANCE)?;
    check_flat_gradients(&mut check, &pass)?;
    drop(check);
    Ok(checked)
}

#[test]
fn nll_cases_match_pytorch() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/nll");
    let cases = cases_in(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(cases.len() >= 3, "{cases:?}");
    let device = golden_device();
    let mut distributions = std::collections::BTreeSet::new();
    for case in &cases {
        for lstm in lstm_paths(&device) {
            let checked = check_nll_case(case, lstm, &device)
                .unwrap_or_else(|e| panic!("{} ({lstm:?}): {e}", case.display()));
            // μ, σ, loss, the input and 4 per layer + 4 head gradients at least.
            assert!(checked.len() >= 13, "{}: only {checked:?}", case.display());
            distributions.insert(checked.contains(&"expected.nu".to_string()));
        }
        if device.is_cpu() {
            let checked =
                check_flat_nll_case(case).unwrap_or_else(|e| panic!("{} (flat step): {e}", case.display()));
            // The loss, the input and 4 per layer + 4 head gradients at least.
            assert!(checked.len() >= 10, "{}: only {checked:?}", case.display());
        }
    }
    assert_eq!(distributions.len(), 2, "both normal and student-t cases are needed");
}

#[test]
fn nll_check_fails_on_a_mutated_gradient() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/nll");
    let src = dir.join("student_t_2layer.safetensors");
    let tmp = tempfile::tempdir().unwrap();
    for name in ["expected.loss", "grad.df.bias", "grad.scale.weight", "expected.nu"] {
        let dst = tmp.path().join("mutated.safetensors");
        write_case_with(&src, &dst, name, nudge);
        let err = check_nll_case(&dst, LstmPath::Fused, &Device::Cpu)
            .expect_err(&format!("a mutated {name} must fail"));
        assert!(err.contains(name), "{err}");
    }
}
