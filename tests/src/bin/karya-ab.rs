//! `karya-ab`: the whole system's wall-clock figures for two builds, compared on one machine
//! in one session. A figure taken alone on a shared machine says nothing about a regression
//! (a noisy neighbour moves it by tens of percent); two builds run interleaved A, B, B, A share
//! the same drift, so the ratio of their means does.
//!
//! ```sh
//! cargo run --release -p karya-tests --bin karya-ab -- 736eec6 -- --upts 100 --records 300
//! ```
//!
//! A is the given commit, B the working tree. Each is built in release (A in a `git worktree`
//! of its own under the work folder, with its own target folder), then `karya-sim --json` runs
//! four times, A B B A, with the arguments after `--`. The table lists every numeric figure of
//! the report: both runs of each build, the ratio of the means (B / A), and the spread of the
//! A runs, which says how much of a ratio the machine's noise alone could explain.

use anyhow::{Context, bail, ensure};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Parser)]
#[command(about = "karya-sim for a commit (A) and the working tree (B), interleaved A B B A")]
struct Args {
    /// The commit to compare the working tree with (a hash, a tag, HEAD~3).
    commit: String,
    /// Where the builds, the runs' JSON and the table go.
    #[arg(long, default_value = "target/ab")]
    work: PathBuf,
    /// Compare the JSON reports of a finished run in `--work` again, without running anything.
    #[arg(long)]
    only_compare: bool,
    /// Run the binaries already built in `--work` (`karya-sim-A`, `karya-sim-B`) again.
    #[arg(long)]
    reuse: bool,
    /// Arguments for B's runs only (space-separated): the scenarios a newer build has and
    /// the older one lacks, turned off so that both run the same ones
    /// (`--b-args "--hub-kills 0 --abuse false"`).
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    b_args: String,
    /// karya-sim's arguments (after `--`).
    #[arg(last = true)]
    sim: Vec<String>,
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("{cmd:?}"))?;
    ensure!(status.success(), "{cmd:?} failed: {status}");
    Ok(())
}

/// Builds karya-sim in release from `dir` into `target`, and returns its path.
fn build(dir: &Path, target: &Path) -> anyhow::Result<PathBuf> {
    run(Command::new("cargo")
        .current_dir(dir)
        .args([
            "build",
            "--release",
            "-p",
            "karya-tests",
            "--bin",
            "karya-sim",
        ])
        .env("CARGO_TARGET_DIR", target))?;
    Ok(target.join("release/karya-sim"))
}

/// Every number of a JSON report, by its path (`bootstrap.secs`, `photo.ratio`).
fn numbers(v: &serde_json::Value, path: &str, out: &mut Vec<(String, f64)>) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((path.to_string(), x));
            }
        }
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                numbers(v, &p, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                numbers(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The JSON report a run printed after its table (the last top-level object in its output).
fn report_of(output: &str) -> anyhow::Result<serde_json::Value> {
    let start = output
        .rfind("\n{")
        .map(|i| i + 1)
        .or_else(|| output.starts_with('{').then_some(0))
        .context("no JSON report in karya-sim's output (was --json given?)")?;
    Ok(serde_json::from_str(&output[start..])?)
}

/// The table: each figure's A and B runs, the ratio of the means and the A runs' spread.
fn compare(runs: &[(char, serde_json::Value)]) -> String {
    let mut by_path: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for (build, report) in runs {
        let mut nums = Vec::new();
        numbers(report, "", &mut nums);
        for (path, x) in nums {
            let i = match by_path.iter().position(|(p, _, _)| *p == path) {
                Some(i) => i,
                None => {
                    by_path.push((path, Vec::new(), Vec::new()));
                    by_path.len() - 1
                }
            };
            if *build == 'A' {
                by_path[i].1.push(x);
            } else {
                by_path[i].2.push(x);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out =
        String::from("| figure | A runs | B runs | B / A | A spread |\n|---|---|---|---|---|\n");
    for (path, a, b) in by_path {
        if a.is_empty() || b.is_empty() || (mean(&a) == 0.0 && mean(&b) == 0.0) {
            continue;
        }
        let ratio = if mean(&a) == 0.0 {
            "—".to_string()
        } else {
            format!("{:.3}", mean(&b) / mean(&a))
        };
        let spread = if a.len() > 1 && mean(&a) != 0.0 {
            let (lo, hi) = a
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
            format!("{:.1} %", (hi - lo) / mean(&a) * 100.0)
        } else {
            "—".to_string()
        };
        out.push_str(&format!(
            "| {path} | {} | {} | {ratio} | {spread} |\n",
            list(&a),
            list(&b)
        ));
    }
    out
}

fn remove_worktree(tree: &Path) -> anyhow::Result<()> {
    if tree.exists() {
        run(Command::new("git")
            .args(["worktree", "remove", "--force"])
            .arg(tree))?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = std::env::current_dir()?;
    let work = root.join(&args.work);
    std::fs::create_dir_all(&work)?;
    let order = ['A', 'B', 'B', 'A'];
    if !args.only_compare {
        if !args.sim.iter().any(|a| a == "--json") {
            bail!("give karya-sim's --json after `--` (the comparison reads its JSON report)");
        }
        let tree = work.join("a-tree");
        if !args.reuse {
            // A: the commit, in a worktree of its own (the working tree is left as it is).
            remove_worktree(&tree)?;
            run(Command::new("git")
                .args(["worktree", "add", "--detach"])
                .arg(&tree)
                .arg(&args.commit))?;
            let sim_a = build(&tree, &work.join("a-target"))?;
            let sim_b = build(&root, &root.join("target"))?;
            // Copies, so a later build of either tree cannot change a binary between runs.
            for (sim, to) in [(&sim_a, "karya-sim-A"), (&sim_b, "karya-sim-B")] {
                std::fs::copy(sim, work.join(to))?;
            }
            remove_worktree(&tree)?;
        }
        for (i, build) in order.iter().enumerate() {
            eprintln!("run {} of 4: build {build} ...", i + 1);
            let mut cmd = Command::new(work.join(format!("karya-sim-{build}")));
            cmd.args(&args.sim);
            if *build == 'B' {
                cmd.args(args.b_args.split_whitespace());
            }
            let out = cmd.output()?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            std::fs::write(work.join(format!("run-{}-{build}.txt", i + 1)), &text)?;
            ensure!(
                out.status.success(),
                "run {} ({build}) failed: {}",
                i + 1,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let mut runs = Vec::new();
    for (i, build) in order.iter().enumerate() {
        let text = std::fs::read_to_string(work.join(format!("run-{}-{build}.txt", i + 1)))?;
        runs.push((*build, report_of(&text)?));
    }
    let table = format!(
        "A = {}, B = the working tree; karya-sim {} (B also: {})\n\n{}",
        args.commit,
        args.sim.join(" "),
        args.b_args,
        compare(&runs)
    );
    std::fs::write(work.join("ab.md"), &table)?;
    println!("{table}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_of_the_means_and_the_spread_is_the_a_runs() {
        let r = |secs: f64, bytes: u64| serde_json::json!({ "bootstrap": { "secs": secs, "bytes": bytes }, "store": "sqlite" });
        let runs = vec![
            ('A', r(10.0, 100)),
            ('B', r(8.0, 100)),
            ('B', r(9.0, 100)),
            ('A', r(11.0, 100)),
        ];
        let t = compare(&runs);
        assert!(
            t.contains("| bootstrap.secs | 10.0000, 11.0000 | 8.0000, 9.0000 | 0.810 | 9.5 % |"),
            "{t}"
        );
        assert!(
            t.contains(
                "| bootstrap.bytes | 100.0000, 100.0000 | 100.0000, 100.0000 | 1.000 | 0.0 % |"
            ),
            "{t}"
        );
        let report = report_of("table\n{\n  \"a\": 1\n}\n").unwrap();
        assert_eq!(report["a"], 1);
    }
}
