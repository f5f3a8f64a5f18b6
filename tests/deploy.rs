//! The deployment files stay deployable: every document of `deploy/kubernetes/*.yaml` is a Job
//! with the fields Kubernetes needs (an Indexed shard Job whose completions, parallelism and
//! FORECAST_SHARD_COUNT agree, containers that run forecast, mounts of declared volumes, the
//! forecast-data claim at /data) and shell that parses; every `deploy/slurm/*.sbatch` is a bash
//! batch script whose `#SBATCH` lines Slurm reads; and `bash -n` accepts every shell script under
//! `deploy/` and `scripts/slurm-e2e.sh`. A nightly shard (the Indexed Job, nightly.sbatch) must
//! forecast exactly the series it trains: `train --each --out-dir DIR` and `predict --model DIR`
//! over the same `--csv`, never a glob of model files (which splits by the files present, while
//! other shards may still be writing theirs). Nothing here starts a cluster:
//! `scripts/slurm-e2e.sh` does, outside the test suite.

use serde::Deserialize;
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Files under `dir` (recursively) whose name ends with one of `suffixes`, sorted.
fn files(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| suffixes.iter().any(|s| n.ends_with(s)))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of a (multi-document) YAML file.
fn documents(path: &Path) -> Vec<Value> {
    let text = read(path);
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn string<'a>(value: &'a Value, what: &str, problems: &mut Vec<String>) -> Option<&'a str> {
    match value.as_str() {
        Some(s) if !s.trim().is_empty() => Some(s),
        _ => {
            problems.push(format!("{what} is not a non-empty string: {value:?}"));
            None
        }
    }
}

/// A container's environment variable with a literal value.
fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"].as_sequence()?.iter().find(|e| e["name"].as_str() == Some(name))?["value"].as_str()
}

/// Which forecast subcommands a container's command runs, `$FORECAST` / `${FORECAST}` read as the
/// container's FORECAST variable.
fn forecast_subcommands(container: &Value) -> Vec<&'static str> {
    let Some(command) = container["command"].as_sequence() else { return Vec::new() };
    let mut text: String = command
        .iter()
        .chain(container["args"].as_sequence().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(binary) = env_value(container, "FORECAST") {
        text = text.replace("${FORECAST}", binary).replace("$FORECAST", binary);
    }
    let text = text.replace(['"', '\''], "");
    ["train", "predict", "backtest", "merge", "score"]
        .into_iter()
        .filter(|sub| {
            text.split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0].ends_with("forecast") && w[1] == *sub)
        })
        .collect()
}

/// The logical lines of a shell script (backslash-newline joined) that run `forecast SUB`,
/// quotes removed; `$FORECAST` counts as forecast.
fn forecast_lines(script: &str, sub: &str) -> Vec<String> {
    script
        .replace("\\\n", " ")
        .lines()
        .map(|l| l.replace(['"', '\''], ""))
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.windows(2).any(|w| {
                (w[0].ends_with("forecast") || w[0] == "$FORECAST" || w[0] == "${FORECAST}") && w[1] == sub
            })
        })
        .collect()
}

/// The value after `flag` on a command line.
fn flag_value<'a>(line: &'a str, flag: &str) -> Option<&'a str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == flag).map(|w| w[1])
}

/// Why a nightly shard's script might not forecast exactly the series it trains: it must run one
/// `train --each --out-dir DIR` and one `predict --model DIR` with the same `--csv` (the watchlist's
/// series sorted by id, split as `train --each` splits them), and wait at no barrier.
fn nightly_problems(script: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let (train, predict) = (forecast_lines(script, "train"), forecast_lines(script, "predict"));
    let [train] = train.as_slice() else {
        return vec![format!("expected one forecast train line, found {train:?}")];
    };
    let [predict] = predict.as_slice() else {
        return vec![format!("expected one forecast predict line, found {predict:?}")];
    };
    if !train.split_whitespace().any(|w| w == "--each") {
        problems.push(format!("train does not train one model per series (--each): {train}"));
    }
    let dir = flag_value(train, "--out-dir");
    let model = flag_value(predict, "--model");
    if dir.is_none() || model != dir {
        problems.push(format!(
            "predict --model {model:?} is not train's --out-dir {dir:?} (a folder, not a glob of model files)"
        ));
    }
    let (train_csv, predict_csv) = (flag_value(train, "--csv"), flag_value(predict, "--csv"));
    if train_csv.is_none() || predict_csv != train_csv {
        problems.push(format!(
            "predict --csv {predict_csv:?} is not train's --csv {train_csv:?}: the shards would not be the same series"
        ));
    }
    if script.to_lowercase().contains("barrier") {
        problems.push("waits at a barrier: a shard needs only its own models".into());
    }
    problems
}

/// The problems of one Job document. Collects the completions of an Indexed Job in `shard_counts`,
/// and the FORECAST_SHARD_COUNT of any other Job (a merge) in `merge_counts`.
fn job_problems(doc: &Value, shard_counts: &mut Vec<u64>, merge_counts: &mut Vec<u64>) -> Vec<String> {
    let mut problems = Vec::new();
    if doc.as_mapping().is_none() {
        return vec![format!("not a mapping: {doc:?}")];
    }
    if doc["apiVersion"].as_str() != Some("batch/v1") {
        problems.push(format!("apiVersion is {:?}, not batch/v1", doc["apiVersion"]));
    }
    if doc["kind"].as_str() != Some("Job") {
        problems.push(format!("kind is {:?}, not Job", doc["kind"]));
    }
    if let Some(name) = string(&doc["metadata"]["name"], "metadata.name", &mut problems) {
        let dns = name.len() <= 63
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !dns {
            problems.push(format!("metadata.name {name:?} is not a DNS-1123 label"));
        }
    }
    let spec = &doc["spec"];
    let pod = &spec["template"]["spec"];
    let restart = pod["restartPolicy"].as_str();
    if !matches!(restart, Some("Never" | "OnFailure")) {
        problems.push(format!("spec.template.spec.restartPolicy is {restart:?}, not Never or OnFailure"));
    }
    if spec["backoffLimit"].as_u64().is_none() && spec["backoffLimitPerIndex"].as_u64().is_none() {
        problems.push("neither spec.backoffLimit nor spec.backoffLimitPerIndex is set".into());
    }
    let indexed = spec["completionMode"].as_str() == Some("Indexed");
    let per_index = !spec["backoffLimitPerIndex"].is_null();
    if per_index && (!indexed || restart != Some("Never")) {
        problems.push("backoffLimitPerIndex needs completionMode Indexed and restartPolicy Never".into());
    }

    let containers = pod["containers"].as_sequence().map(Vec::as_slice).unwrap_or_default();
    if containers.is_empty() {
        problems.push("spec.template.spec.containers is empty or missing".into());
    }
    let init = pod["initContainers"].as_sequence().map(Vec::as_slice).unwrap_or_default();
    let volumes: Vec<&str> =
        pod["volumes"].as_sequence().into_iter().flatten().filter_map(|v| v["name"].as_str()).collect();
    let mut runs = Vec::new();
    let mut data_mounted = false;
    for (i, c) in containers.iter().chain(init).enumerate() {
        let at = format!("container {i} ({:?})", c["name"].as_str().unwrap_or("?"));
        string(&c["name"], &format!("{at}: name"), &mut problems);
        string(&c["image"], &format!("{at}: image"), &mut problems);
        match c["command"].as_sequence() {
            Some(command) if !command.is_empty() && command.iter().all(|a| a.as_str().is_some()) => {
                // A shell script given with `sh -c` must parse.
                if let [shell, flag, script, ..] = command.as_slice() {
                    if shell.as_str().is_some_and(|s| s.ends_with("sh")) && flag.as_str() == Some("-c") {
                        let shell = shell.as_str().unwrap();
                        let shell = if Path::new(shell).exists() { shell } else { "sh" };
                        let check = Command::new(shell)
                            .args(["-n", "-c", script.as_str().unwrap()])
                            .output()
                            .unwrap();
                        if !check.status.success() {
                            problems.push(format!(
                                "{at}: `{shell} -n` rejects the script: {}",
                                String::from_utf8_lossy(&check.stderr).trim()
                            ));
                        }
                    }
                }
            }
            _ => {
                problems.push(format!("{at}: command is not a non-empty list of strings: {:?}", c["command"]))
            }
        }
        runs.extend(forecast_subcommands(c));
        for mount in c["volumeMounts"].as_sequence().into_iter().flatten() {
            let name = mount["name"].as_str().unwrap_or("");
            if !volumes.contains(&name) {
                problems.push(format!(
                    "{at}: volumeMount {name:?} is not in spec.template.spec.volumes {volumes:?}"
                ));
            }
            let path = mount["mountPath"].as_str().unwrap_or("");
            if !path.starts_with('/') {
                problems
                    .push(format!("{at}: volumeMount {name:?} has mountPath {path:?}, not an absolute path"));
            }
            let claim = pod["volumes"]
                .as_sequence()
                .into_iter()
                .flatten()
                .find(|v| v["name"].as_str() == Some(name))
                .and_then(|v| v["persistentVolumeClaim"]["claimName"].as_str());
            data_mounted |= path == "/data" && claim == Some("forecast-data");
        }
    }
    if containers.iter().all(|c| forecast_subcommands(c).is_empty()) {
        problems.push("no container's command runs forecast (forecast train|predict|merge|...)".into());
    }
    if !data_mounted {
        problems.push("no container mounts the PersistentVolumeClaim forecast-data at /data".into());
    }

    let shard_env: Vec<Option<u64>> = containers
        .iter()
        .map(|c| env_value(c, "FORECAST_SHARD_COUNT").map(|v| v.parse().unwrap_or(0)))
        .collect();
    if indexed {
        let completions = spec["completions"].as_u64();
        let parallelism = spec["parallelism"].as_u64();
        match (completions, parallelism) {
            (Some(c), Some(p)) if c >= 1 && (1..=c).contains(&p) => shard_counts.push(c),
            _ => problems.push(format!(
                "Indexed Job: completions {completions:?} must be at least 1 and parallelism {parallelism:?} from 1 to completions"
            )),
        }
        for (i, count) in shard_env.iter().enumerate() {
            if *count != completions {
                problems.push(format!(
                    "Indexed Job: container {i} has FORECAST_SHARD_COUNT {count:?}, not spec.completions {completions:?}"
                ));
            }
        }
        for sub in ["train", "predict"] {
            if !runs.contains(&sub) {
                problems.push(format!("Indexed Job: no container runs forecast {sub}"));
            }
        }
        for c in containers.iter().filter(|c| !forecast_subcommands(c).is_empty()) {
            let script = c["command"].as_sequence().into_iter().flatten().filter_map(Value::as_str);
            let script = script.collect::<Vec<_>>().join("\n");
            problems.extend(nightly_problems(&script).into_iter().map(|p| format!("Indexed Job: {p}")));
        }
    } else {
        merge_counts.extend(shard_env.into_iter().flatten());
    }
    problems
}

#[test]
fn kubernetes_manifests_are_jobs_kubernetes_accepts() {
    let dir = repo().join("deploy/kubernetes");
    let yamls = files(&dir, &[".yaml", ".yml"]);
    assert!(!yamls.is_empty(), "no manifests in {}", dir.display());
    let (mut problems, mut shard_counts, mut merge_counts, mut jobs) =
        (Vec::new(), Vec::new(), Vec::new(), 0);
    for path in &yamls {
        let docs = documents(path);
        assert!(!docs.is_empty(), "{}: no YAML document", path.display());
        for (i, doc) in docs.iter().enumerate() {
            jobs += 1;
            for p in job_problems(doc, &mut shard_counts, &mut merge_counts) {
                problems.push(format!("{} document {i}: {p}", path.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
    assert_eq!(
        shard_counts.len(),
        1,
        "expected one Indexed shard Job among {jobs} Jobs, found {shard_counts:?}"
    );
    // The merge must expect as many parts as there are shards.
    for count in merge_counts {
        assert_eq!(
            count, shard_counts[0],
            "a merge Job's FORECAST_SHARD_COUNT is not the shard Job's completions"
        );
    }
}

#[test]
fn the_manifest_checks_catch_a_broken_job() {
    let good = documents(&repo().join("deploy/kubernetes/nightly-indexed-job.yaml")).remove(0);
    assert!(job_problems(&good, &mut Vec::new(), &mut Vec::new()).is_empty());
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut doc = good.clone();
        edit(&mut doc);
        job_problems(&doc, &mut Vec::new(), &mut Vec::new()).join("\n")
    };
    assert!(broken(&|d| d["spec"]["parallelism"] = 5.into()).contains("parallelism"));
    assert!(
        broken(&|d| d["spec"]["parallelism"] = 3.into()).is_empty(),
        "parallelism below completions is fine"
    );
    let script = |d: &mut Value, from: &str, to: &str| {
        let command = &mut d["spec"]["template"]["spec"]["containers"][0]["command"][2];
        let text = command.as_str().unwrap();
        assert!(text.contains(from), "{from:?} is not in the script");
        *command = text.replace(from, to).into();
    };
    let glob = r#"--model "$MODELS/*.safetensors""#;
    assert!(broken(&|d| script(d, r#"--model "$MODELS""#, glob)).contains("not train's --out-dir"));
    assert!(broken(&|d| script(d, r#"--model "$MODELS" --csv "$PRICES""#, r#"--model "$MODELS""#))
        .contains("not train's --csv"));
    assert!(broken(&|d| script(d, "--each ", "")).contains("--each"));
    assert!(broken(&|d| script(d, "exit \"$rc\"", "sleep 1 # barrier\nexit \"$rc\"")).contains("barrier"));
    assert!(broken(&|d| d["spec"]["template"]["spec"]["restartPolicy"] = "Always".into())
        .contains("restartPolicy"));
    assert!(broken(&|d| d["kind"] = "Deployment".into()).contains("not Job"));
    assert!(broken(&|d| d["spec"]["template"]["spec"]["volumes"][0]["name"] = "other".into())
        .contains("volumeMount"));
    assert!(
        broken(&|d| d["spec"]["template"]["spec"]["containers"][0]["image"] = Value::Null).contains("image")
    );
    assert!(broken(&|d| d["spec"]["template"]["spec"]["containers"][0]["command"][2] = "if then".into())
        .contains("rejects the script"));
    assert!(broken(&|d| {
        let env = d["spec"]["template"]["spec"]["containers"][0]["env"].as_sequence_mut().unwrap();
        let count = env.iter_mut().find(|e| e["name"].as_str() == Some("FORECAST_SHARD_COUNT")).unwrap();
        count["value"] = "5".into();
    })
    .contains("FORECAST_SHARD_COUNT"));
}

#[test]
fn slurm_batch_scripts_start_with_bash_and_sbatch_directives() {
    let dir = repo().join("deploy/slurm");
    let scripts = files(&dir, &[".sbatch"]);
    let names: Vec<_> = scripts.iter().filter_map(|p| p.file_name()?.to_str()).collect();
    for want in ["nightly.sbatch", "nightly-merge.sbatch", "backtest.sbatch", "backtest-merge.sbatch"] {
        assert!(names.contains(&want), "{want} is missing from {}: {names:?}", dir.display());
    }
    for path in &scripts {
        let text = read(path);
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(text.starts_with("#!/bin/bash\n"), "{name} does not start with #!/bin/bash");
        // Slurm reads #SBATCH lines only before the first command.
        let header: Vec<&str> =
            text.lines().skip(1).take_while(|l| l.trim().is_empty() || l.starts_with('#')).collect();
        let directives: Vec<&&str> = header.iter().filter(|l| l.starts_with("#SBATCH ")).collect();
        assert!(!directives.is_empty(), "{name} has no #SBATCH line before its first command");
        let all = text.lines().filter(|l| l.trim_start().starts_with("#SBATCH")).count();
        assert_eq!(
            all,
            directives.len(),
            "{name} has #SBATCH lines after its first command (Slurm ignores them)"
        );
        let array = directives.iter().any(|l| l.starts_with("#SBATCH --array="));
        assert_eq!(array, !name.contains("merge"), "{name}: only the per-shard scripts are job arrays");
        if array {
            assert!(text.contains("SLURM_ARRAY_TASK_ID"), "{name} does not name its part after the task id");
        }
    }
}

#[test]
fn a_nightly_slurm_task_forecasts_the_series_it_trains() {
    let path = repo().join("deploy/slurm/nightly.sbatch");
    let text = read(&path);
    let problems = nightly_problems(&text);
    assert!(problems.is_empty(), "{}:\n{}", path.display(), problems.join("\n"));
    // The check catches a task that forecasts a glob of model files, or another watchlist.
    let from = r#"predict --model "$MODELS" --csv "$PRICES""#;
    assert!(text.contains(from), "{}: no `{from}`", path.display());
    let glob = text.replace(from, r#"predict --model "$MODELS/*.safetensors""#);
    assert!(nightly_problems(&glob).join("\n").contains("not train's --out-dir"));
    let other = text.replace(from, r#"predict --model "$MODELS" --csv "$OTHER""#);
    assert!(nightly_problems(&other).join("\n").contains("not train's --csv"));
    // One array and its merge: no second array, no barrier between training and forecasting.
    let submit = read(&repo().join("deploy/slurm/submit-nightly.sh"));
    assert_eq!(submit.matches("nightly.sbatch\"").count(), 1, "submit-nightly.sh submits one nightly array");
    assert!(submit.contains("afterok:$array_job"), "the merge does not wait for the array (afterok)");
}

#[test]
fn bash_accepts_every_deploy_script() {
    let mut scripts = files(&repo().join("deploy"), &[".sh", ".sbatch"]);
    scripts.push(repo().join("scripts/slurm-e2e.sh"));
    assert!(scripts.len() >= 7, "expected the Slurm scripts and the e2e script, found {scripts:?}");
    for path in &scripts {
        let out = Command::new("bash").arg("-n").arg(path).output().expect("bash runs");
        assert!(out.status.success(), "bash -n {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        assert!(read(path).starts_with("#!"), "{} has no #! line", path.display());
        #[cfg(unix)]
        if path.extension().is_some_and(|e| e == "sh") {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert!(mode & 0o111 != 0, "{} is not executable", path.display());
        }
    }
    // bash -n really rejects a broken script (so the loop above can fail).
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.sh");
    std::fs::write(&bad, "#!/bin/bash\nif true; then\n").unwrap();
    assert!(!Command::new("bash").arg("-n").arg(&bad).output().unwrap().status.success());
}
