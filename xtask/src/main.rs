//! Developer automation for the rustzmq workspace, in the
//! [cargo-xtask](https://github.com/matklad/cargo-xtask) style.
//!
//! Invoke through the cargo alias defined in `.cargo/config.toml`:
//!
//! ```text
//! cargo xtask ci [--skip-fuzz]              full CI pipeline (what `.ci/run` executes)
//! cargo xtask fuzz <target> [--seconds N]   fuzz one target (default 60 s)
//! cargo xtask fuzz --all [--seconds N]      fuzz every target in turn
//! cargo xtask bench [ARGS...]               criterion benches, ARGS go to criterion
//! cargo xtask bench --compare [--runs N] [--quick]
//!                                           perf tools, rustzmq against libzmq (compare.rs)
//! cargo xtask bench --memory [--runs N] [--connections N]
//!                                           bytes per idle tcp connection (memory.rs)
//! cargo xtask bench --allocs [--count N]    allocations per message, rustzmq (memory.rs)
//! cargo xtask help                          usage text
//! ```
//!
//! Every child process runs from the workspace root and inherits stdout and
//! stderr. The crate is std-only on purpose so that it builds in seconds.
//!
//! # Fuzzing on the stable toolchain
//!
//! `cargo fuzz` passes nightly-only flags (`-Zsanitizer=address`,
//! `-Cpasses=sancov-module`, ...) to rustc. We set `RUSTC_BOOTSTRAP=1` in the
//! environment of every `cargo fuzz` invocation so that the *stable* compiler
//! accepts them. The default AddressSanitizer build works this way: rustup's
//! `rust-std` component ships `librustc-stable_rt.asan.a`, and a deliberate
//! heap overflow was verified to be reported by ASan and to make the run fail.
//! The fuzz package lives in its own workspace (`fuzz/`) with its own
//! `target/` directory, so these flags never invalidate the main build cache.

use std::env;
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{self, Command, ExitCode};
use std::time::{Duration, Instant};

mod compat;

mod compare;

mod memory;

/// Default per-target fuzzing time for `cargo xtask fuzz`.
const DEFAULT_FUZZ_SECONDS: u64 = 60;

/// Default per-target fuzzing time for the smoke run in `cargo xtask ci`.
const DEFAULT_CI_FUZZ_SECONDS: u64 = 20;

/// Environment variable overriding [`DEFAULT_CI_FUZZ_SECONDS`].
const CI_FUZZ_SECONDS_VAR: &str = "XTASK_FUZZ_SECONDS";

/// Directory of the cargo-fuzz package, relative to the workspace root.
const FUZZ_DIR: &str = "fuzz";

/// libFuzzer options used for every run (besides `-max_total_time`).
///
/// * `-rss_limit_mb=2048`: treat runaway memory use as a finding.
/// * `-max_len=65536`: allow inputs spanning several frames.
/// * `-timeout=10`: a single input taking > 10 s is a hang; this also bounds
///   the wall-clock time of a run, since `-max_total_time` is only checked
///   between inputs.
const LIBFUZZER_FLAGS: &[&str] = &["-rss_limit_mb=2048", "-max_len=65536", "-timeout=10"];

/// Usage text printed by `cargo xtask help` and on invalid invocations.
const USAGE: &str = "\
Usage: cargo xtask <COMMAND>

Commands:
  ci [--skip-fuzz]              Run the full CI pipeline: fmt, clippy, no_std build,
                                tests, docs and a fuzz smoke run ($XTASK_FUZZ_SECONDS
                                per target, default 20). --skip-fuzz omits the fuzz step.
  fuzz <TARGET> [--seconds N]   Fuzz one target for N seconds (default 60).
  fuzz --all [--seconds N]      Fuzz every target for N seconds each (default 60).
  bench [ARGS...]               Run the criterion benches; ARGS are passed to criterion.
  bench --compare [--runs N] [--quick]
                                Build the perf tools (benches/src/bin) against rustzmq and
                                libzmq and run them alternately, N runs each (default 5;
                                --quick: 3 runs, small counts, docs untouched); writes the
                                table into docs/benchmarks.md. Not part of `ci`.
  bench --memory [--runs N] [--connections N]
                                Resident memory per idle tcp connection, rustzmq against
                                libzmq (idle_conn_mem; default 3 runs, 10,000 connections or
                                as many as the fd limit allows); writes docs/benchmarks.md.
  bench --allocs [--count N]    Heap allocations per message in steady-state PUSH/PULL over
                                tcp, ipc and inproc, rustzmq (alloc_count); writes the docs.
  compat [--allow-fail NAME]... Run the zmq 0.10.0 crate's tests and zguide examples against rustzmq.
  help                          Print this text.

Fuzzing uses cargo-fuzz (installed on demand) on the stable toolchain via
RUSTC_BOOTSTRAP=1. Crash inputs are written to fuzz/artifacts/<TARGET>/.
";

/// A parsed `cargo xtask` invocation.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    /// `ci`: the whole pipeline.
    Ci {
        /// Omit the fuzz smoke run.
        skip_fuzz: bool,
    },
    /// `fuzz`: run one or all fuzz targets.
    Fuzz {
        /// Which targets to run.
        selection: FuzzSelection,
        /// Seconds of fuzzing per target.
        seconds: u64,
    },
    /// `bench`: criterion benchmarks with extra arguments for criterion.
    Bench {
        /// Arguments forwarded after `--`.
        args: Vec<String>,
    },
    /// `bench --compare`: the perf tools, rustzmq against libzmq.
    BenchCompare(compare::Options),
    /// `bench --memory` or `bench --allocs`: memory per connection, allocations per message.
    BenchMemory(memory::Options),
    /// `compat`: the `zmq` 0.10.0 crate's tests and examples against rustzmq.
    Compat(compat::Options),
    /// `help`, `--help` or `-h`.
    Help,
}

/// The fuzz targets selected on the command line.
#[derive(Debug, PartialEq, Eq)]
enum FuzzSelection {
    /// `--all`: every target listed by `cargo fuzz list`.
    All,
    /// A single named target.
    One(String),
}

/// An error that ends the task with a message and an exit status.
#[derive(Debug)]
enum Failure {
    /// The command line was malformed; reported with the usage text, exit 2.
    Usage(String),
    /// A step failed; reported with the message, exit 1 (or the child's code).
    Step {
        /// Human-readable description.
        message: String,
        /// Exit status to return.
        code: u8,
    },
}

impl Failure {
    /// A step failure with exit status 1.
    fn step(message: impl Into<String>) -> Self {
        Failure::Step { message: message.into(), code: 1 }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(message) | Failure::Step { message, .. } => f.write_str(message),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let task = match parse_args(&args) {
        Ok(task) => task,
        Err(message) => {
            eprintln!("error: {message}\n");
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match task {
        Task::Help => {
            print!("{USAGE}");
            // By convention of this repository, `help` exits like any other
            // invocation that did not run a task.
            return ExitCode::from(2);
        }
        Task::Ci { skip_fuzz } => ci(skip_fuzz),
        Task::Fuzz { selection, seconds } => fuzz(&selection, seconds),
        Task::Bench { args } => bench(&args),
        Task::Compat(options) => compat::compat(&options),
        Task::BenchCompare(options) => compare::compare(options),
        Task::BenchMemory(options) => memory::memory(options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Step { message, code }) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// Parses the arguments following `cargo xtask`.
fn parse_args(args: &[String]) -> Result<Task, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("missing command".to_owned());
    };
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Task::Help),
        "ci" => {
            let mut skip_fuzz = false;
            for arg in rest {
                match arg.as_str() {
                    "--skip-fuzz" => skip_fuzz = true,
                    other => return Err(format!("unexpected argument for `ci`: {other}")),
                }
            }
            Ok(Task::Ci { skip_fuzz })
        }
        "fuzz" => parse_fuzz_args(rest),
        "compat" => compat::parse_args(rest).map(Task::Compat),
        "bench" if memory::wanted(rest) => memory::parse_options(rest).map(Task::BenchMemory),
        // `--compare` (before any `--`) selects the libzmq comparison; anything else goes to
        // criterion.
        "bench" if rest.iter().take_while(|a| *a != "--").any(|a| a == "--compare") => {
            compare::parse_options(rest).map(Task::BenchCompare)
        }
        "bench" => Ok(Task::Bench {
            // Allow an optional leading `--` (`cargo xtask bench -- --quick`).
            args: match rest.split_first() {
                Some((first, tail)) if first == "--" => tail.to_vec(),
                _ => rest.to_vec(),
            },
        }),
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Parses the arguments of `cargo xtask fuzz`.
fn parse_fuzz_args(args: &[String]) -> Result<Task, String> {
    let mut all = false;
    let mut target: Option<String> = None;
    let mut seconds = DEFAULT_FUZZ_SECONDS;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--all" => all = true,
            "--seconds" => {
                let value = iter.next().ok_or_else(|| "`--seconds` needs a value".to_owned())?;
                seconds = parse_seconds(value)?;
            }
            s if s.starts_with("--seconds=") => {
                seconds = parse_seconds(&s["--seconds=".len()..])?;
            }
            s if s.starts_with('-') => return Err(format!("unknown option for `fuzz`: {s}")),
            name => {
                if let Some(previous) = &target {
                    return Err(format!(
                        "only one fuzz target may be named (got `{previous}` and `{name}`); \
                         use --all for every target"
                    ));
                }
                target = Some(name.to_owned());
            }
        }
    }
    let selection = match (all, target) {
        (true, None) => FuzzSelection::All,
        (false, Some(name)) => FuzzSelection::One(name),
        (true, Some(_)) => return Err("give either a fuzz target or --all, not both".to_owned()),
        (false, None) => return Err("`fuzz` needs a target name or --all".to_owned()),
    };
    Ok(Task::Fuzz { selection, seconds })
}

/// Parses a positive number of seconds.
fn parse_seconds(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("invalid number of seconds `{value}` (expected a positive integer)")),
    }
}

/// Returns the workspace root (the parent of this crate's manifest directory).
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Returns a `cargo` command running in the workspace root.
///
/// Uses `$CARGO` (set by `cargo run`) so that children use the same toolchain
/// as the one that launched the xtask.
fn cargo() -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

/// Returns a `cargo fuzz` command with `RUSTC_BOOTSTRAP=1` so that cargo-fuzz's
/// nightly-only compiler flags are accepted by the stable toolchain.
fn cargo_fuzz() -> Command {
    let mut command = cargo();
    command.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    command
}

/// Renders a command line for logging (`$ cargo fmt --all -- --check`).
fn display_command(command: &Command) -> String {
    let mut line = String::new();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            let value = value.to_string_lossy();
            let quote = if value.contains(' ') { "\"" } else { "" };
            line.push_str(&format!("{}={quote}{value}{quote} ", key.to_string_lossy()));
        }
    }
    let program = Path::new(command.get_program());
    // Show `cargo` rather than the full toolchain path from `$CARGO`.
    let name = program.file_name().filter(|name| *name == OsStr::new("cargo")).unwrap_or(program.as_os_str());
    line.push_str(&name.to_string_lossy());
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs `command` to completion with inherited stdio; fails unless it exits 0.
fn run(mut command: Command) -> Result<(), Failure> {
    let line = display_command(&command);
    println!("$ {line}");
    let status = command.status().map_err(|err| Failure::step(format!("could not start `{line}`: {err}")))?;
    if status.success() {
        Ok(())
    } else {
        let code = status.code().and_then(|c| u8::try_from(c).ok()).filter(|c| *c != 0).unwrap_or(1);
        Err(Failure::Step { message: format!("`{line}` failed ({status})"), code })
    }
}

/// Formats a duration as seconds with one decimal (`12.3s`).
fn secs(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// One step of the CI pipeline.
struct Step {
    /// Short name shown in the header and summary.
    name: &'static str,
    /// Runs the step.
    action: Box<dyn Fn() -> Result<(), Failure>>,
}

impl Step {
    /// A step running a single cargo command built by `build`.
    fn cargo(name: &'static str, build: fn() -> Command) -> Self {
        Step { name, action: Box::new(move || run(build())) }
    }
}

/// `cargo xtask ci`: runs every CI step in order, stopping at the first failure.
fn ci(skip_fuzz: bool) -> Result<(), Failure> {
    // Validate the override up front, not after minutes of other steps.
    let fuzz_seconds = if skip_fuzz { None } else { Some(ci_fuzz_seconds()?) };
    ensure_libzmq()?;

    let mut steps = vec![
        Step::cargo("fmt", || {
            let mut c = cargo();
            c.args(["fmt", "--all", "--", "--check"]);
            c
        }),
        Step::cargo("clippy", || {
            let mut c = cargo();
            c.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
            c
        }),
        Step::cargo("no_std build", || {
            let mut c = cargo();
            c.args(["build", "-p", "rustzmq-codec", "--no-default-features"]);
            c
        }),
        Step::cargo("test", || {
            let mut c = cargo();
            c.args(["test", "--workspace"]);
            c
        }),
        Step::cargo("doc", || {
            let mut c = cargo();
            c.env("RUSTDOCFLAGS", "-D warnings").args(["doc", "--workspace", "--no-deps"]);
            c
        }),
    ];
    // The zmq crate 0.10's own tests and zguide examples against rustzmq (about 2 minutes).
    steps.push(Step { name: "compat", action: Box::new(|| compat::compat(&compat::Options::default())) });
    if let Some(fuzz_seconds) = fuzz_seconds {
        steps.push(Step { name: "fuzz smoke run", action: Box::new(move || fuzz(&FuzzSelection::All, fuzz_seconds)) });
    }

    let total = steps.len();
    let start = Instant::now();
    for (index, step) in steps.iter().enumerate() {
        let number = index + 1;
        println!("\n==> [{number}/{total}] {}", step.name);
        let step_start = Instant::now();
        let result = (step.action)();
        let elapsed = secs(step_start.elapsed());
        match result {
            Ok(()) => println!("==> [{number}/{total}] {}: ok ({elapsed})", step.name),
            Err(err) => {
                println!("==> [{number}/{total}] {}: FAILED ({elapsed})", step.name);
                println!(
                    "\nxtask ci: stopped at step {number}/{total} ({}) after {}s",
                    step.name,
                    start.elapsed().as_secs()
                );
                return Err(err);
            }
        }
    }
    let skipped = if skip_fuzz { " (fuzz skipped)" } else { "" };
    println!("\nxtask ci: all {total} steps ok in {}s{skipped}", start.elapsed().as_secs());
    Ok(())
}

/// Seconds per target for the CI fuzz smoke run: `$XTASK_FUZZ_SECONDS` if set
/// and non-empty, else [`DEFAULT_CI_FUZZ_SECONDS`].
fn ci_fuzz_seconds() -> Result<u64, Failure> {
    match env::var(CI_FUZZ_SECONDS_VAR) {
        Ok(value) if !value.trim().is_empty() => {
            parse_seconds(&value).map_err(|err| Failure::Usage(format!("${CI_FUZZ_SECONDS_VAR}: {err}")))
        }
        _ => Ok(DEFAULT_CI_FUZZ_SECONDS),
    }
}

/// Installs cargo-fuzz with `cargo install --locked` unless
/// `cargo fuzz --version` already works.
fn ensure_cargo_fuzz() -> Result<(), Failure> {
    let mut probe = cargo();
    probe.args(["fuzz", "--version"]);
    let present = probe
        .stdout(process::Stdio::null())
        .stderr(process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if present {
        return Ok(());
    }
    println!("cargo-fuzz not found; installing it");
    let mut install = cargo();
    install.args(["install", "cargo-fuzz", "--locked"]);
    run(install)
}

/// Where Debian's `libzmq3-dev` puts the library the interop tests link against.
const LIBZMQ_PATHS: &[&str] =
    &["/usr/lib/x86_64-linux-gnu/libzmq.so", "/usr/lib/libzmq.so", "/usr/local/lib/libzmq.so"];

/// The interop tests need the real libzmq (Debian's `libzmq3-dev`, which has CURVE). Installs
/// it with apt-get when running as root; otherwise says the one command to run.
fn ensure_libzmq() -> Result<(), Failure> {
    if LIBZMQ_PATHS.iter().any(|p| Path::new(p).exists()) {
        return Ok(());
    }
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !is_root {
        return Err(Failure::step(
            "libzmq (the interop peer) is missing: run `sudo apt-get install -y libzmq3-dev`, then retry",
        ));
    }
    println!("libzmq not found; installing Debian's libzmq3-dev");
    let mut update = Command::new("apt-get");
    update.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
    run(update)?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "--no-install-recommends", "libzmq3-dev"]).env("DEBIAN_FRONTEND", "noninteractive");
    run(install)
}

/// Lists the fuzz targets (`cargo fuzz list`), sorted by name.
fn fuzz_targets() -> Result<Vec<String>, Failure> {
    let mut command = cargo_fuzz();
    command.args(["list", "--fuzz-dir", FUZZ_DIR]);
    let line = display_command(&command);
    let output = command
        .stderr(process::Stdio::inherit())
        .output()
        .map_err(|err| Failure::step(format!("could not start `{line}`: {err}")))?;
    if !output.status.success() {
        return Err(Failure::step(format!("`{line}` failed ({})", output.status)));
    }
    let mut targets: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    targets.sort();
    if targets.is_empty() {
        return Err(Failure::step(format!("no fuzz targets found in {FUZZ_DIR}/")));
    }
    Ok(targets)
}

/// `cargo xtask fuzz`: builds the selected targets once, then runs each for
/// `seconds`. Every target is run even if an earlier one fails; the task fails
/// if any target found a crash (libFuzzer then exits non-zero and writes the
/// input to `fuzz/artifacts/<target>/`).
fn fuzz(selection: &FuzzSelection, seconds: u64) -> Result<(), Failure> {
    ensure_cargo_fuzz()?;
    let available = fuzz_targets()?;
    let targets = match selection {
        FuzzSelection::All => available,
        FuzzSelection::One(name) if available.contains(name) => vec![name.clone()],
        FuzzSelection::One(name) => {
            return Err(Failure::Usage(format!("unknown fuzz target `{name}`; available: {}", available.join(", "))))
        }
    };

    // One build for all targets; the `run` calls below then find everything
    // up to date (same profile, sanitizer and flags). Default AddressSanitizer
    // build: it works on stable with RUSTC_BOOTSTRAP=1 (see the module docs).
    let mut build = cargo_fuzz();
    build.args(["build", "--fuzz-dir", FUZZ_DIR]);
    if let FuzzSelection::One(name) = selection {
        build.arg(name);
    }
    let build_start = Instant::now();
    run(build)?;
    println!("fuzz build finished in {}", secs(build_start.elapsed()));

    let mut failed = Vec::new();
    for target in &targets {
        println!("\n--> fuzzing `{target}` for {seconds}s");
        let mut command = cargo_fuzz();
        command
            .args(["run", "--fuzz-dir", FUZZ_DIR, target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .args(LIBFUZZER_FLAGS);
        let start = Instant::now();
        let result = run(command);
        let elapsed = secs(start.elapsed());
        match result {
            Ok(()) => println!("--> `{target}`: no findings ({elapsed})"),
            Err(err) => {
                println!("--> `{target}`: FAILED ({elapsed}): {err}");
                failed.push(target.as_str());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::step(format!(
            "fuzzing failed for: {} (inputs in {FUZZ_DIR}/artifacts/<target>/; \
             reproduce with `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir {FUZZ_DIR} <target> <artifact>`)",
            failed.join(", ")
        )))
    }
}

/// `cargo xtask bench`: runs the criterion benches, forwarding `args` to criterion.
fn bench(args: &[String]) -> Result<(), Failure> {
    let mut command = cargo();
    command.args(["bench", "-p", "rustzmq-benches"]);
    if !args.is_empty() {
        command.arg("--").args(args);
    }
    run(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Task, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parse_args(&args)
    }

    #[test]
    fn parses_ci() {
        assert_eq!(parse(&["ci"]), Ok(Task::Ci { skip_fuzz: false }));
        assert_eq!(parse(&["ci", "--skip-fuzz"]), Ok(Task::Ci { skip_fuzz: true }));
        assert!(parse(&["ci", "--bogus"]).is_err());
    }

    #[test]
    fn parses_fuzz() {
        assert_eq!(
            parse(&["fuzz", "decoder"]),
            Ok(Task::Fuzz { selection: FuzzSelection::One("decoder".to_owned()), seconds: DEFAULT_FUZZ_SECONDS })
        );
        assert_eq!(
            parse(&["fuzz", "--all", "--seconds", "5"]),
            Ok(Task::Fuzz { selection: FuzzSelection::All, seconds: 5 })
        );
        assert_eq!(
            parse(&["fuzz", "--seconds=7", "greeting"]),
            Ok(Task::Fuzz { selection: FuzzSelection::One("greeting".to_owned()), seconds: 7 })
        );
        assert!(parse(&["fuzz"]).is_err());
        assert!(parse(&["fuzz", "--all", "decoder"]).is_err());
        assert!(parse(&["fuzz", "a", "b"]).is_err());
        assert!(parse(&["fuzz", "--all", "--seconds"]).is_err());
        assert!(parse(&["fuzz", "--all", "--seconds", "0"]).is_err());
        assert!(parse(&["fuzz", "--all", "--seconds", "x"]).is_err());
    }

    #[test]
    fn parses_bench_and_help() {
        assert_eq!(
            parse(&["bench", "--", "--quick", "decode"]),
            Ok(Task::Bench { args: vec!["--quick".to_owned(), "decode".to_owned()] })
        );
        assert_eq!(parse(&["bench"]), Ok(Task::Bench { args: vec![] }));
        assert_eq!(
            parse(&["bench", "--compare"]),
            Ok(Task::BenchCompare(compare::Options { runs: compare::DEFAULT_RUNS, quick: false }))
        );
        assert_eq!(
            parse(&["bench", "--quick", "--compare"]),
            Ok(Task::BenchCompare(compare::Options { runs: compare::QUICK_RUNS, quick: true }))
        );
        assert_eq!(
            parse(&["bench", "--compare", "--runs", "9"]),
            Ok(Task::BenchCompare(compare::Options { runs: 9, quick: false }))
        );
        assert!(parse(&["bench", "--compare", "--bogus"]).is_err());
        // `--quick` alone still goes to criterion, and so does `--compare` after `--`.
        assert_eq!(parse(&["bench", "--quick"]), Ok(Task::Bench { args: vec!["--quick".to_owned()] }));
        assert_eq!(parse(&["bench", "--", "--compare"]), Ok(Task::Bench { args: vec!["--compare".to_owned()] }));
        assert_eq!(parse(&["help"]), Ok(Task::Help));
        assert_eq!(parse(&["--help"]), Ok(Task::Help));
        assert!(parse(&[]).is_err());
        assert!(parse(&["frobnicate"]).is_err());
    }

    #[test]
    fn workspace_root_has_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
    }
}
