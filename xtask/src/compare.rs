//! `cargo xtask bench --compare [--runs N] [--quick] [--only TEXT[,TEXT...]]`: rustzmq against
//! libzmq, side by side.
//!
//! 1. Builds the perf tools of `benches/src/bin/` twice in release mode: against rustzmq into
//!    `<target>/release/`, and with `--features libzmq` (the real libzmq through the `zmq`
//!    crate) into `<target>/libzmq-perf/release/`.
//! 2. For every workload (a row of the table), alternates the implementations run by run
//!    (rustzmq, libzmq, rustzmq, libzmq, ..., plus the std-socket ceilings for tcp and ipc:
//!    `ceiling_thr` for throughput, `ceiling_lat` with blocking and with spinning reads for
//!    latency), `--runs` times each (default 5; `--quick`: 3). Both sides use the defaults:
//!    one I/O thread, HWM 1000/1000, kernel buffer sizes left alone; every tool prints those
//!    settings and the comparison checks they are the same everywhere.
//! 3. Message counts: in a full run, one warm-up run per implementation (discarded) measures
//!    the rate, and the count is chosen so that a run takes about a second at the geometric
//!    mean of both rates (both implementations then get the same count); `--quick` skips the
//!    warm-up and uses small fixed counts, for a smoke test.
//! 4. Prints medians, min–max and ratios, and (not with `--quick`, nor with `--only`) writes
//!    them with the machine's description into `docs/benchmarks.md` between the `bench-compare`
//!    markers.
//!
//! `--only TEXT` runs only the rows whose name (as in the table, with the size, e.g.
//! `tcp CURVE throughput 64 KiB`) contains TEXT, ignoring case; several comma-separated texts (or
//! several `--only`) select the rows matching any of them. The page is then left alone, so that
//! its generated section always holds every row of one run.
//!
//! Rows: PUSH → PULL throughput (`local_thr` + `remote_thr`, also with CURVE on via their
//! `<curve>` argument; `inproc_thr`), REQ ↔ REP latency (`local_lat` + `remote_lat`;
//! `inproc_lat`), and PUB/SUB fan-out to [`SUBSCRIBERS`] subscribers (`pub_thr` + `sub_thr`),
//! once with the default high-water mark (PUB drops what a slow subscriber cannot take) and once
//! with the publisher's SNDHWM at 0 (no limit, nothing dropped).
//!
//! Every child process is killed after [`RUN_TIMEOUT`], so a hang fails its row (and the task)
//! instead of hanging the comparison; the remaining rows still run and the table says which row
//! failed and how.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::memory::{target_dir, thousands};
use crate::{cargo, run, workspace_root, Failure};

/// Runs per implementation and workload without `--runs`.
pub(crate) const DEFAULT_RUNS: usize = 5;
/// Runs per implementation and workload with `--quick` (and no `--runs`).
pub(crate) const QUICK_RUNS: usize = 3;
/// Longest a child process may run before it is killed and its row marked failed.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Intended duration of one measured run in a full comparison.
const TARGET_SECONDS: f64 = 1.0;
/// The generated section of the benchmarks page lies between these markers.
const START_MARKER: &str = "<!-- bench-compare:start -->";
/// See [`START_MARKER`].
const END_MARKER: &str = "<!-- bench-compare:end -->";
/// The page the table is written to, relative to the workspace root.
const DOCS_PAGE: &str = "docs/benchmarks.md";
/// Subscribers of the PUB/SUB fan-out rows (SUB sockets in `sub_thr`, one thread each).
const SUBSCRIBERS: usize = 4;

/// Options of `cargo xtask bench --compare`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) struct Options {
    /// Measured runs per implementation and workload.
    pub(crate) runs: usize,
    /// Small fixed counts, no warm-up, docs left alone.
    pub(crate) quick: bool,
}

/// Parses the arguments of `bench` when they contain `--compare`.
pub(crate) fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut runs = None;
    let mut quick = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--compare" => {}
            "--quick" => quick = true,
            "--runs" => runs = Some(parse_runs(iter.next().ok_or("`--runs` needs a value")?)?),
            s if s.starts_with("--runs=") => runs = Some(parse_runs(&s["--runs=".len()..])?),
            // Checked here, read by `only_filter` (see there).
            "--only" => {
                parse_only(iter.next().ok_or("`--only` needs a value")?)?;
            }
            s if s.starts_with("--only=") => {
                parse_only(&s["--only=".len()..])?;
            }
            other => return Err(format!("unexpected argument for `bench --compare`: {other}")),
        }
    }
    Ok(Options { runs: runs.unwrap_or(if quick { QUICK_RUNS } else { DEFAULT_RUNS }), quick })
}

/// The `--only` texts among `args` (lower-cased; empty: no filter).
///
/// [`Options`] is built by `main.rs` too (its tests name every field), so the filter is not one
/// of its fields: [`parse_options`] checks it, and [`compare`] reads it again from the process's
/// arguments with this function.
fn only_filter(args: &[String]) -> Result<Vec<String>, String> {
    let mut only = Vec::new();
    let mut iter = args.iter().take_while(|a| *a != "--");
    while let Some(arg) = iter.next() {
        if arg == "--only" {
            only.extend(parse_only(iter.next().ok_or("`--only` needs a value")?)?);
        } else if let Some(value) = arg.strip_prefix("--only=") {
            only.extend(parse_only(value)?);
        }
    }
    Ok(only)
}

/// Splits an `--only` value at commas, checks that no part is empty and lower-cases them.
fn parse_only(value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(|part| match part.trim() {
            "" => Err("`--only` needs non-empty parts of row names, e.g. `--only CURVE,pub/sub`".to_owned()),
            part => Ok(part.to_lowercase()),
        })
        .collect()
}

/// Whether `spec` is selected by the `--only` texts (all rows when there are none).
fn selected(only: &[String], spec: &Spec) -> bool {
    let name = spec.name().to_lowercase();
    only.is_empty() || only.iter().any(|text| name.contains(text.as_str()))
}

/// Parses a positive number of runs.
fn parse_runs(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("invalid number of runs `{value}` (expected a positive integer)")),
    }
}

/// How the endpoints of a workload are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Ipc,
    Inproc,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }
}

/// What a workload measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// Messages per second, PUSH -> PULL (`*_thr`).
    Throughput,
    /// Round trips, REQ <-> REP (`*_lat`).
    Latency,
    /// PUB -> [`SUBSCRIBERS`] SUBs (`pub_thr` + `sub_thr`): messages delivered per second,
    /// summed over the subscribers.
    FanOut,
}

/// A measurable workload.
#[derive(Debug, Clone, Copy)]
struct Spec {
    transport: Transport,
    measure: Measure,
    /// Message size in bytes.
    size: usize,
    /// Messages (or round trips) of a `--quick` run and of the warm-up run that calibrates a
    /// full one.
    base_count: usize,
    /// Throughput with CURVE on (the `<curve>` argument of `local_thr` and `remote_thr`).
    curve: bool,
    /// Fan-out: the publisher's SNDHWM, when not the default (`pub_thr`'s `<sndhwm>`).
    pub_sndhwm: Option<u32>,
    /// CURVE rows: rustzmq built with `--cfg poly1305_force_soft` (see [`SOFT_POLY1305_CFG`]).
    soft_poly1305: bool,
}

/// The `poly1305` crate's documented switch to its portable backend. Its AVX2 backend, chosen at
/// run time by default, costs about 1.3 us per short message with rustc 1.95 (its intrinsics
/// are not inlined): 11 times the portable one's 77 ns at 65 bytes, while at 64 KiB it is 2.3
/// times faster. The CURVE rows are measured both ways; the default build is what a program
/// depending on rustzmq gets unless it sets this flag itself.
const SOFT_POLY1305_CFG: &str = "--cfg poly1305_force_soft";

impl Spec {
    /// A plain (no CURVE, default HWM) row.
    fn new(transport: Transport, measure: Measure, size: usize, base_count: usize) -> Spec {
        Spec { transport, measure, size, base_count, curve: false, pub_sndhwm: None, soft_poly1305: false }
    }

    fn label(&self) -> String {
        let transport = self.transport.name();
        match self.measure {
            Measure::Throughput if self.curve && self.soft_poly1305 => {
                format!("{transport} CURVE throughput, poly1305_force_soft")
            }
            Measure::Throughput if self.curve => format!("{transport} CURVE throughput"),
            Measure::Throughput => format!("{transport} throughput"),
            Measure::Latency => format!("{transport} latency"),
            Measure::FanOut => match self.pub_sndhwm {
                None => format!("{transport} pub/sub 1 → {SUBSCRIBERS}, default HWM"),
                Some(hwm) => format!("{transport} pub/sub 1 → {SUBSCRIBERS}, PUB sndhwm={hwm}"),
            },
        }
    }

    /// The row's name for `--only`: its label and size, as in the table.
    fn name(&self) -> String {
        format!("{} {}", self.label(), size_label(self.size))
    }

    /// Whether the std-socket ceiling is measured for this row (for latency, both ways: see
    /// [`Implementation::CeilingSpin`]).
    fn has_ceiling(&self) -> bool {
        matches!(self.measure, Measure::Throughput | Measure::Latency)
            && self.transport != Transport::Inproc
            && !self.curve
    }
}

/// The rows of the comparison, in order.
fn workloads() -> Vec<Spec> {
    let mut rows = Vec::new();
    for transport in [Transport::Tcp, Transport::Ipc] {
        for (size, base_count) in [(16, 200_000), (64, 200_000), (1024, 100_000), (64 << 10, 5_000), (1 << 20, 300)] {
            rows.push(Spec::new(transport, Measure::Throughput, size, base_count));
        }
    }
    rows.push(Spec::new(Transport::Inproc, Measure::Throughput, 64, 300_000));
    for soft_poly1305 in [false, true] {
        for (size, base_count) in [(64, 100_000), (64 << 10, 2_000)] {
            let plain = Spec::new(Transport::Tcp, Measure::Throughput, size, base_count);
            rows.push(Spec { curve: true, soft_poly1305, ..plain });
        }
    }
    for transport in [Transport::Tcp, Transport::Ipc, Transport::Inproc] {
        rows.push(Spec::new(transport, Measure::Latency, 64, 3_000));
    }
    // Fan-out with the default HWM: the publisher outruns its subscribers and PUB drops, so a
    // run lasts about as long as the publisher takes to send; its count is large.
    rows.push(Spec::new(Transport::Tcp, Measure::FanOut, 64, 1_000_000));
    // With no send limit nothing is dropped: the queues absorb the difference.
    rows.push(Spec { pub_sndhwm: Some(0), ..Spec::new(Transport::Tcp, Measure::FanOut, 64, 200_000) });
    rows
}

/// Who runs a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Implementation {
    Rustzmq,
    Libzmq,
    /// `ceiling_thr` / `ceiling_lat`: the same stream on std sockets, no messaging library
    /// (for latency, two threads sleeping in blocking reads).
    Ceiling,
    /// `ceiling_lat ... spin`: latency rows only, the same round trips with non-blocking reads
    /// retried without sleeping (what busy polling would give, two CPUs kept busy).
    CeilingSpin,
}

impl Implementation {
    fn name(self) -> &'static str {
        match self {
            Implementation::Rustzmq => "rustzmq",
            Implementation::Libzmq => "libzmq",
            Implementation::Ceiling => "ceiling",
            Implementation::CeilingSpin => "ceiling-spin",
        }
    }
}

/// One measurement: msg/s for throughput; for latency libzmq's average latency (half the mean
/// round trip) and the round trip's p50, p99 and p99.9, all in microseconds; for fan-out the
/// messages delivered per second summed over the subscribers, and the fraction delivered.
#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    percentiles: [f64; 3],
    /// Fan-out: messages delivered over messages published times subscribers (1 otherwise).
    delivered: f64,
}

impl Sample {
    /// Runs (messages or round trips; for fan-out messages published) per second.
    fn rate(&self, measure: Measure) -> f64 {
        match measure {
            Measure::Throughput => self.value,
            Measure::Latency => 1e6 / (2.0 * self.value.max(1e-3)),
            Measure::FanOut => self.value / (self.delivered.max(1e-6) * SUBSCRIBERS as f64),
        }
    }
}

/// Results of one row.
#[derive(Debug)]
struct RowResult {
    spec: Spec,
    count: usize,
    ceiling_count: usize,
    rustzmq: Vec<Sample>,
    libzmq: Vec<Sample>,
    ceiling: Vec<Sample>,
    /// Latency rows: [`Implementation::CeilingSpin`]'s samples.
    ceiling_spin: Vec<Sample>,
    failure: Option<String>,
}

/// Where the binaries are, and what the runs have seen so far.
struct Bench {
    rustzmq_bin: PathBuf,
    libzmq_bin: PathBuf,
    /// rustzmq's tools built with [`SOFT_POLY1305_CFG`], when a selected row needs them.
    soft_poly1305_bin: Option<PathBuf>,
    /// Implementation lines (`implementation: ...`) seen, per implementation.
    implementations: Vec<(Implementation, String)>,
    /// Distinct `settings: ...` lines seen, with who printed them and in which row.
    settings: Vec<Settings>,
    /// Counter for unique ipc paths.
    ipc_seq: u32,
}

/// A `settings: ...` line, who printed it, and in which row (its label).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    line: String,
    implementation: Implementation,
    row: String,
}

/// `cargo xtask bench --compare`.
pub(crate) fn compare(options: Options) -> Result<(), Failure> {
    let args: Vec<String> = env::args().skip(1).collect();
    let only = only_filter(&args).map_err(Failure::step)?;
    let rows: Vec<Spec> = workloads().into_iter().filter(|spec| selected(&only, spec)).collect();
    if rows.is_empty() {
        let names: Vec<String> = workloads().iter().map(Spec::name).collect();
        return Err(Failure::step(format!(
            "`--only {}` matches no row; the rows are: {}",
            only.join(","),
            names.join(", ")
        )));
    }
    let target = target_dir();
    let libzmq_target = target.join("libzmq-perf");

    let rustzmq_bin = build_perf_tools("rustzmq", &target, &[], None)?;
    let libzmq_bin = build_perf_tools("libzmq", &libzmq_target, &["--features", "libzmq"], None)?;
    let soft_poly1305_bin = if rows.iter().any(|spec| spec.soft_poly1305) {
        let rustflags =
            env::var("RUSTFLAGS").map_or(SOFT_POLY1305_CFG.to_owned(), |f| format!("{f} {SOFT_POLY1305_CFG}"));
        let soft_target = target.join("rustzmq-soft-poly1305");
        Some(build_perf_tools(&format!("rustzmq with {SOFT_POLY1305_CFG}"), &soft_target, &[], Some(rustflags))?)
    } else {
        None
    };

    let mut bench = Bench {
        rustzmq_bin,
        libzmq_bin,
        soft_poly1305_bin,
        implementations: Vec::new(),
        settings: Vec::new(),
        ipc_seq: 0,
    };
    let mode =
        if options.quick { "quick: small fixed counts, no warm-up" } else { "counts calibrated to ~1 s per run" };
    println!("\n==> comparing, {} runs each, alternating ({mode})", options.runs);

    let load_before = load_average();
    let start = Instant::now();
    let mut results = Vec::new();
    for spec in &rows {
        results.push(bench.row(*spec, options));
    }
    let elapsed = start.elapsed();
    let load = format!("{} before, {} after", load_before, load_average());

    let report = render_report(&bench, &results, options);
    println!("\n{report}");
    println!("comparison took {:.0} s; load average (1, 5, 15 min): {load}", elapsed.as_secs_f64());

    if options.quick {
        println!("(--quick: {DOCS_PAGE} not updated)");
    } else if !only.is_empty() {
        println!("(--only {}: {DOCS_PAGE} not updated, its section keeps every row of one full run)", only.join(","));
    } else {
        let machine = describe_machine();
        let section = render_docs_section(&machine, &report, &bench, options, &load, elapsed);
        let path = workspace_root().join(DOCS_PAGE);
        let page = fs::read_to_string(&path).map_err(|e| Failure::step(format!("reading {DOCS_PAGE}: {e}")))?;
        fs::write(&path, replace_section(&page, &section))
            .map_err(|e| Failure::step(format!("writing {DOCS_PAGE}: {e}")))?;
        println!("wrote the table to {DOCS_PAGE}");
    }

    let failures: Vec<String> =
        results.iter().filter_map(|r| r.failure.as_ref().map(|f| format!("{}: {f}", r.spec.name()))).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::step(format!("{} workload(s) failed:\n  {}", failures.len(), failures.join("\n  "))))
    }
}

/// Builds the perf tools in release mode into `target_dir` (with `extra` cargo arguments and,
/// when given, `rustflags` as RUSTFLAGS) and returns the directory holding the binaries.
fn build_perf_tools(
    against: &str,
    target_dir: &Path,
    extra: &[&str],
    rustflags: Option<String>,
) -> Result<PathBuf, Failure> {
    let bin = target_dir.join("release");
    println!("==> building the perf tools against {against} ({})", bin.display());
    let mut build = cargo();
    if let Some(flags) = rustflags {
        build.env("RUSTFLAGS", flags);
    }
    build
        .args(["build", "--release", "-p", "rustzmq-benches", "--bins"])
        .args(extra)
        .arg("--target-dir")
        .arg(target_dir);
    run(build)?;
    Ok(bin)
}

impl Bench {
    /// Measures one row; a failure ends the row and is recorded in it.
    fn row(&mut self, spec: Spec, options: Options) -> RowResult {
        let mut result = RowResult {
            spec,
            count: spec.base_count,
            ceiling_count: spec.base_count,
            rustzmq: Vec::new(),
            libzmq: Vec::new(),
            ceiling: Vec::new(),
            ceiling_spin: Vec::new(),
            failure: None,
        };
        println!("\n--> {}", spec.name());
        if let Err(failure) = self.measure_row(&mut result, options) {
            println!("    FAILED: {failure}");
            result.failure = Some(failure);
        }
        result
    }

    fn measure_row(&mut self, result: &mut RowResult, options: Options) -> Result<(), String> {
        let spec = result.spec;
        if !options.quick {
            // Warm-up runs, discarded except for their rates, which set the counts.
            let rust = self.run_once(Implementation::Rustzmq, spec, spec.base_count)?;
            let lib = self.run_once(Implementation::Libzmq, spec, spec.base_count)?;
            let rate = (rust.rate(spec.measure) * lib.rate(spec.measure)).sqrt();
            result.count = round2(TARGET_SECONDS * rate).max(1_000.min(spec.base_count));
            if spec.has_ceiling() {
                let ceiling = self.run_once(Implementation::Ceiling, spec, spec.base_count * 4)?;
                result.ceiling_count = round2(TARGET_SECONDS * ceiling.rate(spec.measure)).max(spec.base_count);
            }
            println!(
                "    warm-up: rustzmq {}, libzmq {}; count {}",
                show_sample(spec.measure, &rust),
                show_sample(spec.measure, &lib),
                result.count
            );
        }
        let mut order = vec![Implementation::Rustzmq, Implementation::Libzmq];
        if spec.has_ceiling() {
            order.push(Implementation::Ceiling);
            if spec.measure == Measure::Latency {
                order.push(Implementation::CeilingSpin);
            }
        }
        for round in 1..=options.runs {
            for &implementation in &order {
                let count = match implementation {
                    Implementation::Ceiling | Implementation::CeilingSpin => result.ceiling_count,
                    Implementation::Rustzmq | Implementation::Libzmq => result.count,
                };
                let sample = self.run_once(implementation, spec, count)?;
                println!(
                    "    run {round}/{} {:<8} {}",
                    options.runs,
                    implementation.name(),
                    show_sample(spec.measure, &sample)
                );
                match implementation {
                    Implementation::Rustzmq => result.rustzmq.push(sample),
                    Implementation::Libzmq => result.libzmq.push(sample),
                    Implementation::Ceiling => result.ceiling.push(sample),
                    Implementation::CeilingSpin => result.ceiling_spin.push(sample),
                }
            }
        }
        Ok(())
    }

    /// One run of `spec` by `implementation`, `count` messages or round trips.
    fn run_once(&mut self, implementation: Implementation, spec: Spec, count: usize) -> Result<Sample, String> {
        let size = spec.size.to_string();
        let count = count.to_string();
        let bin = match implementation {
            Implementation::Libzmq => self.libzmq_bin.clone(),
            Implementation::Rustzmq if spec.soft_poly1305 => {
                self.soft_poly1305_bin.clone().ok_or("the poly1305_force_soft build is missing")?
            }
            Implementation::Rustzmq | Implementation::Ceiling | Implementation::CeilingSpin => self.rustzmq_bin.clone(),
        };
        let ceiling = matches!(implementation, Implementation::Ceiling | Implementation::CeilingSpin);
        let deadline = Instant::now() + RUN_TIMEOUT;

        let output = if ceiling {
            let tool = if spec.measure == Measure::Latency { "ceiling_lat" } else { "ceiling_thr" };
            let mut args = vec![spec.transport.name(), &size, &count];
            if implementation == Implementation::CeilingSpin {
                args.push("spin");
            }
            let mut proc = Proc::spawn(&bin.join(tool), &args)?;
            finish(std::slice::from_mut(&mut proc), deadline)?;
            proc.lines
        } else if spec.transport == Transport::Inproc {
            let tool = match spec.measure {
                Measure::Throughput => "inproc_thr",
                Measure::Latency => "inproc_lat",
                Measure::FanOut => return Err("no inproc fan-out tool".to_owned()),
            };
            let mut proc = Proc::spawn(&bin.join(tool), &[&size, &count])?;
            finish(std::slice::from_mut(&mut proc), deadline)?;
            proc.lines
        } else {
            let subscribers = SUBSCRIBERS.to_string();
            let (endpoints, ipc_paths) =
                self.endpoints(spec.transport, if spec.measure == Measure::FanOut { 2 } else { 1 })?;
            let mut local_args: Vec<&str> = Vec::new();
            let (local, remote) = match spec.measure {
                Measure::Throughput => ("local_thr", "remote_thr"),
                Measure::Latency => ("local_lat", "remote_lat"),
                Measure::FanOut => ("pub_thr", "sub_thr"),
            };
            local_args.extend(endpoints.iter().map(String::as_str));
            local_args.extend([size.as_str(), count.as_str()]);
            if spec.measure == Measure::FanOut {
                local_args.push(&subscribers);
            }
            let mut remote_args = local_args.clone();
            if spec.curve {
                local_args.push("1");
                remote_args.push("1");
            }
            let sndhwm = spec.pub_sndhwm.map(|hwm| hwm.to_string());
            if let Some(hwm) = &sndhwm {
                local_args.push(hwm);
            }
            let outcome = two_processes(&bin.join(local), &local_args, &bin.join(remote), &remote_args, deadline);
            for path in ipc_paths {
                let _ = fs::remove_file(path);
            }
            let (local_lines, remote_lines) = outcome?;
            let says_curve = |lines: &[String]| lines.iter().any(|l| l == "security: curve");
            if spec.curve && !(says_curve(&local_lines) && says_curve(&remote_lines)) {
                return Err(format!("`{local}`/`{remote}` did not print `security: curve`: CURVE was not on"));
            }
            self.note_lines(implementation, spec, &local_lines);
            self.note_lines(implementation, spec, &remote_lines);
            match spec.measure {
                Measure::Throughput => local_lines,
                Measure::Latency | Measure::FanOut => remote_lines,
            }
        };
        if ceiling || spec.transport == Transport::Inproc {
            self.note_lines(implementation, spec, &output);
        }
        parse_sample(spec.measure, &output)
    }

    /// `n` fresh, distinct endpoints for a two-process run, and the ipc files to remove
    /// afterwards.
    fn endpoints(&mut self, transport: Transport, n: usize) -> Result<(Vec<String>, Vec<PathBuf>), String> {
        match transport {
            Transport::Tcp => {
                Ok((free_ports(n)?.into_iter().map(|port| format!("tcp://127.0.0.1:{port}")).collect(), Vec::new()))
            }
            Transport::Ipc => {
                let mut endpoints = Vec::new();
                let mut paths = Vec::new();
                for _ in 0..n {
                    self.ipc_seq += 1;
                    let path =
                        env::temp_dir().join(format!("rustzmq-perf-{}-{}.ipc", std::process::id(), self.ipc_seq));
                    let _ = fs::remove_file(&path);
                    endpoints.push(format!("ipc://{}", path.display()));
                    paths.push(path);
                }
                Ok((endpoints, paths))
            }
            Transport::Inproc => Err("inproc runs in one process".to_owned()),
        }
    }

    /// Records the implementation and settings lines a tool printed in a run of `spec`.
    fn note_lines(&mut self, implementation: Implementation, spec: Spec, lines: &[String]) {
        for line in lines {
            if let Some(rest) = line.strip_prefix("implementation: ") {
                if !self.implementations.iter().any(|(i, _)| *i == implementation) {
                    self.implementations.push((implementation, rest.to_owned()));
                }
            } else if let Some(rest) = line.strip_prefix("settings: ") {
                let settings = Settings { line: rest.to_owned(), implementation, row: spec.label() };
                if !self.settings.contains(&settings) {
                    self.settings.push(settings);
                }
            }
        }
    }
}

/// Runs a binding tool and, once it is bound (it prints its settings then), the connecting
/// one, so that no run pays for a reconnect interval; returns both outputs (binding side first).
fn two_processes(
    local: &Path,
    local_args: &[&str],
    remote: &Path,
    remote_args: &[&str],
    deadline: Instant,
) -> Result<(Vec<String>, Vec<String>), String> {
    let mut procs = vec![Proc::spawn(local, local_args)?];
    if let Err(e) = procs[0].wait_for_line("settings:", deadline) {
        procs[0].kill();
        return Err(e);
    }
    match Proc::spawn(remote, remote_args) {
        Ok(proc) => procs.push(proc),
        Err(e) => {
            procs[0].kill();
            return Err(e);
        }
    }
    finish(&mut procs, deadline)?;
    let remote = procs.pop().map(|p| p.lines).unwrap_or_default();
    let local = procs.pop().map(|p| p.lines).unwrap_or_default();
    Ok((local, remote))
}

/// `n` distinct ports that were free a moment ago: bind 127.0.0.1:0 `n` times, read the ports,
/// let them go.
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(|e| format!("finding a free port: {e}")))
        .collect()
}

/// A running perf tool, its stdout read line by line in a thread.
struct Proc {
    command_line: String,
    child: Child,
    stdout: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    lines: Vec<String>,
    status: Option<ExitStatus>,
}

impl Proc {
    fn spawn(program: &Path, args: &[&str]) -> Result<Proc, String> {
        let command_line = std::iter::once(program.display().to_string())
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start `{command_line}`: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        Ok(Proc { command_line, child, stdout: rx, stderr: Some(stderr), lines: Vec::new(), status: None })
    }

    /// Waits until the tool prints a line starting with `prefix`.
    fn wait_for_line(&mut self, prefix: &str, deadline: Instant) -> Result<(), String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    self.lines.push(line);
                    if found {
                        return Ok(());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "`{}` printed no `{prefix}` line within {} s (killed)",
                        self.command_line,
                        RUN_TIMEOUT.as_secs()
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    let output = self.collect_output();
                    return Err(format!("`{}` ended ({status}) before printing `{prefix}`{output}", self.command_line));
                }
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Gathers the rest of stdout and stderr (the process has ended) and returns them as a
    /// suffix for an error message.
    fn collect_output(&mut self) -> String {
        self.lines.extend(self.stdout.iter());
        let stderr = self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default();
        let mut text = String::new();
        let stdout_tail: Vec<&str> = self.lines.iter().rev().take(6).rev().map(String::as_str).collect();
        if !stdout_tail.is_empty() {
            let _ = write!(text, "; stdout: {}", stdout_tail.join(" | "));
        }
        let stderr_tail: Vec<&str> = stderr.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
        if !stderr_tail.is_empty() {
            let _ = write!(text, "; stderr: {}", stderr_tail.join(" | "));
        }
        text
    }
}

/// Waits for every process to end by `deadline`. On a timeout, or when one fails, kills the
/// others and returns what happened.
fn finish(procs: &mut [Proc], deadline: Instant) -> Result<(), String> {
    loop {
        let mut running = 0;
        let mut failed = None;
        for (index, proc) in procs.iter_mut().enumerate() {
            if proc.status.is_none() {
                match proc.child.try_wait() {
                    Ok(Some(status)) => {
                        proc.status = Some(status);
                        if !status.success() {
                            failed = Some(index);
                        }
                    }
                    Ok(None) => running += 1,
                    Err(e) => return Err(format!("waiting for `{}`: {e}", proc.command_line)),
                }
            }
        }
        if let Some(index) = failed {
            let others: Vec<String> = procs
                .iter_mut()
                .filter(|p| p.status.is_none())
                .map(|p| {
                    p.kill();
                    format!("`{}` killed", p.command_line)
                })
                .collect();
            let proc = &mut procs[index];
            let status = proc.status.map(|s| s.to_string()).unwrap_or_default();
            let output = proc.collect_output();
            let others = if others.is_empty() { String::new() } else { format!(" ({})", others.join(", ")) };
            return Err(format!("`{}` failed ({status}){output}{others}", proc.command_line));
        }
        if running == 0 {
            break;
        }
        if Instant::now() >= deadline {
            let mut hung = Vec::new();
            for proc in procs.iter_mut() {
                if proc.status.is_none() {
                    proc.kill();
                    let output = proc.collect_output();
                    hung.push(format!("`{}`{output}", proc.command_line));
                }
            }
            return Err(format!("timed out after {} s, killed: {}", RUN_TIMEOUT.as_secs(), hung.join("; and ")));
        }
        thread::sleep(Duration::from_millis(5));
    }
    for proc in procs.iter_mut() {
        let _ = proc.collect_output();
    }
    Ok(())
}

/// Reads the measurement from a tool's output.
fn parse_sample(measure: Measure, lines: &[String]) -> Result<Sample, String> {
    let missing = |what: &str| format!("no `{what}` line in the output: {}", lines.join(" | "));
    match measure {
        Measure::Throughput => {
            let value = find_value(lines, "mean throughput: ", " [msg/s]").ok_or_else(|| missing("mean throughput"))?;
            Ok(Sample { value, percentiles: [0.0; 3], delivered: 1.0 })
        }
        Measure::FanOut => {
            let value = find_value(lines, "mean throughput: ", " [msg/s]").ok_or_else(|| missing("mean throughput"))?;
            // "delivered: 1232992 of 40000000 (3.1 %)"
            let delivered = lines
                .iter()
                .find_map(|line| {
                    let (got, rest) = line.strip_prefix("delivered: ")?.split_once(" of ")?;
                    let sent = rest.split_whitespace().next()?;
                    Some(got.trim().parse::<f64>().ok()? / sent.parse::<f64>().ok()?.max(1.0))
                })
                .ok_or_else(|| missing("delivered"))?;
            Ok(Sample { value, percentiles: [0.0; 3], delivered })
        }
        Measure::Latency => {
            let value = find_value(lines, "average latency: ", " [us]").ok_or_else(|| missing("average latency"))?;
            let mut percentiles = [0.0; 3];
            for (slot, name) in percentiles.iter_mut().zip(["p50", "p99", "p99.9"]) {
                let prefix = format!("round-trip {name}: ");
                *slot = find_value(lines, &prefix, " [us]").ok_or_else(|| missing(&prefix))?;
            }
            Ok(Sample { value, percentiles, delivered: 1.0 })
        }
    }
}

/// The number in the first line of the form `<prefix><number><suffix>`.
fn find_value(lines: &[String], prefix: &str, suffix: &str) -> Option<f64> {
    lines.iter().find_map(|line| line.strip_prefix(prefix)?.strip_suffix(suffix)?.trim().parse().ok())
}

fn show_sample(measure: Measure, sample: &Sample) -> String {
    match measure {
        Measure::Throughput => format!("{} msg/s", rate(sample.value)),
        Measure::FanOut => format!(
            "{} msg/s delivered (summed over {SUBSCRIBERS} subscribers; {:.1} % delivered)",
            rate(sample.value),
            100.0 * sample.delivered
        ),
        Measure::Latency => format!(
            "{:.2} us (round trip p50 {:.1}, p99 {:.1}, p99.9 {:.1} us)",
            sample.value, sample.percentiles[0], sample.percentiles[1], sample.percentiles[2]
        ),
    }
}

/// `x` rounded to two significant digits.
fn round2(x: f64) -> usize {
    if !x.is_finite() || x < 1.0 {
        return 1;
    }
    let magnitude = 10f64.powi(x.log10().floor() as i32 - 1);
    ((x / magnitude).round() * magnitude) as usize
}

/// Median, minimum and maximum.
fn stats(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 };
    Some((median, sorted[0], sorted[sorted.len() - 1]))
}

/// Three significant digits.
fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The unit (divisor and suffix) in which `v` is shown.
fn rate_unit(v: f64) -> (f64, &'static str) {
    if v >= 1e6 {
        (1e6, " M")
    } else if v >= 1e3 {
        (1e3, " K")
    } else {
        (1.0, "")
    }
}

/// 4170501 -> "4.17 M".
fn rate(v: f64) -> String {
    let (div, unit) = rate_unit(v);
    format!("{}{unit}", sig3(v / div))
}

/// "4.17 M (3.98–4.25)": median with min–max in the median's unit.
fn rate_cell(values: &[f64]) -> String {
    match stats(values) {
        Some((median, min, max)) => {
            let (div, unit) = rate_unit(median);
            format!("{}{unit} ({}–{})", sig3(median / div), sig3(min / div), sig3(max / div))
        }
        None => "—".to_owned(),
    }
}

/// "24.3 (23.9–25.1)" microseconds.
fn latency_cell(values: &[f64]) -> String {
    match stats(values) {
        Some((median, min, max)) => format!("{} ({}–{})", sig3(median), sig3(min), sig3(max)),
        None => "—".to_owned(),
    }
}

/// "48.5 / 83.7 / 159": medians over the runs of the round trip's p50, p99, p99.9.
fn percentile_cell(samples: &[Sample]) -> String {
    if samples.is_empty() {
        return "—".to_owned();
    }
    (0..3)
        .map(|i| {
            let values: Vec<f64> = samples.iter().map(|s| s.percentiles[i]).collect();
            stats(&values).map_or("—".to_owned(), |(median, _, _)| sig3(median))
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

fn ratio_cell(numerator: &[f64], denominator: &[f64], percent: bool) -> String {
    match (stats(numerator), stats(denominator)) {
        (Some((n, _, _)), Some((d, _, _))) if d > 0.0 => {
            if percent {
                format!("{:.0} %", 100.0 * n / d)
            } else {
                format!("{:.2}×", n / d)
            }
        }
        _ => "—".to_owned(),
    }
}

fn size_label(size: usize) -> String {
    if size >= 1 << 20 && size % (1 << 20) == 0 {
        format!("{} MiB", size >> 20)
    } else if size >= 1024 && size % 1024 == 0 {
        format!("{} KiB", size >> 10)
    } else {
        format!("{size} B")
    }
}

fn count_label(count: usize) -> String {
    thousands(count as u64)
}

fn values(samples: &[Sample]) -> Vec<f64> {
    samples.iter().map(|s| s.value).collect()
}

/// GB/s of the median rate of `samples` at `size` bytes per message.
fn gbps(samples: &[Sample], size: usize) -> String {
    stats(&values(samples)).map_or("—".to_owned(), |(median, _, _)| format!("{:.2}", median * size as f64 / 1e9))
}

/// The tables (markdown) of the rows in `results`, with the settings and the failures.
fn render_report(bench: &Bench, results: &[RowResult], options: Options) -> String {
    let mut out = String::new();
    let runs = options.runs;
    let dash = || "—".to_owned();
    let of = |measure: Measure| results.iter().filter(move |r| r.spec.measure == measure);

    if of(Measure::Throughput).next().is_some() {
        let _ = writeln!(
            out,
            "Throughput, PUSH → PULL (`local_thr` + `remote_thr`, two processes; inproc: `inproc_thr`; \
             CURVE: the same two tools with their `<curve>` argument, PULL the CURVE server): msg/s, \
             median of {runs} runs (min–max); ratios of medians. Ceiling: `ceiling_thr`, the same ZMTP \
             stream on std sockets without pipes or I/O threads (its own count, ~1 s per run; none for \
             CURVE). `poly1305_force_soft`: rustzmq built with `RUSTFLAGS=\"--cfg poly1305_force_soft\"`, \
             the `poly1305` crate's switch to its portable backend (its AVX2 one, the default, spends \
             ~1.3 us per short message with this rustc); libzmq unchanged.\n"
        );
        let _ = writeln!(
            out,
            "| workload | size | messages | rustzmq msg/s | libzmq msg/s | rustzmq/libzmq | ceiling msg/s | \
             rustzmq/ceiling | libzmq/ceiling | GB/s rustzmq / libzmq / ceiling |"
        );
        let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    for r in of(Measure::Throughput) {
        let size = size_label(r.spec.size);
        if let Some(failure) = &r.failure {
            failed_row(&mut out, r, failure, 6);
            continue;
        }
        let (rust, lib, ceil) = (values(&r.rustzmq), values(&r.libzmq), values(&r.ceiling));
        let has_ceiling = r.spec.has_ceiling();
        let _ = writeln!(
            out,
            "| {} | {size} | {} | {} | {} | **{}** | {} | {} | {} | {} / {} / {} |",
            r.spec.label(),
            count_label(r.count),
            rate_cell(&rust),
            rate_cell(&lib),
            ratio_cell(&rust, &lib, false),
            if has_ceiling { rate_cell(&ceil) } else { dash() },
            if has_ceiling { ratio_cell(&rust, &ceil, true) } else { dash() },
            if has_ceiling { ratio_cell(&lib, &ceil, true) } else { dash() },
            gbps(&r.rustzmq, r.spec.size),
            gbps(&r.libzmq, r.spec.size),
            if has_ceiling { gbps(&r.ceiling, r.spec.size) } else { dash() },
        );
    }

    if of(Measure::Latency).next().is_some() {
        let _ = writeln!(
            out,
            "\nLatency, REQ ↔ REP (`local_lat` + `remote_lat`, two processes; inproc: `inproc_lat`): libzmq's \
             \"average latency\" (half the mean round trip) in µs, median of {runs} runs (min–max); and the \
             round trip's p50 / p99 / p99.9 in µs (medians over the runs). Ratio: rustzmq's average \
             latency over libzmq's (lower is better). Std stream: `ceiling_lat`, the same frames \
             ping-ponged by two threads of one process over a std socket, no messaging library (its own \
             count, ~1 s per blocking run), its round trip's p50 / p99 / p99.9 with blocking reads \
             (both threads sleep in `read(2)` between frames, as the libraries' threads sleep in \
             `poll(2)`) and with non-blocking reads retried without sleeping (busy polling: two CPUs \
             kept busy).\n"
        );
        let _ = writeln!(
            out,
            "| workload | size | round trips | rustzmq latency µs | rustzmq RTT p50 / p99 / p99.9 | \
             libzmq latency µs | libzmq RTT p50 / p99 / p99.9 | rustzmq/libzmq | std stream RTT, blocking | \
             std stream RTT, spinning |"
        );
        let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    for r in of(Measure::Latency) {
        let size = size_label(r.spec.size);
        if let Some(failure) = &r.failure {
            failed_row(&mut out, r, failure, 6);
            continue;
        }
        let (rust, lib) = (values(&r.rustzmq), values(&r.libzmq));
        let _ = writeln!(
            out,
            "| {} | {size} | {} | {} | {} | {} | {} | **{}** | {} | {} |",
            r.spec.label(),
            count_label(r.count),
            latency_cell(&rust),
            percentile_cell(&r.rustzmq),
            latency_cell(&lib),
            percentile_cell(&r.libzmq),
            ratio_cell(&rust, &lib, false),
            percentile_cell(&r.ceiling),
            percentile_cell(&r.ceiling_spin),
        );
    }

    if of(Measure::FanOut).next().is_some() {
        let _ = writeln!(
            out,
            "\nPUB/SUB fan-out, one PUB to {SUBSCRIBERS} SUBs (`pub_thr` + `sub_thr`, two processes: the \
             publisher, and one process with the {SUBSCRIBERS} SUB sockets in {SUBSCRIBERS} threads sharing \
             one context), all subscribed to everything, after a handshake that has every subscriber \
             receiving before the first measured message: messages delivered per second summed over the \
             subscribers, from the first message any subscriber received to the end marker the last one \
             received, median of {runs} runs (min–max); \"delivered\" is the share of the published \
             messages × {SUBSCRIBERS} that arrived (median). With the default HWM the publisher sends as \
             fast as it can and PUB drops a subscriber's messages while its queue is full, so this row \
             measures how much a flooding publisher gets through; with `sndhwm=0` PUB queues without limit \
             and nothing is dropped. \"messages\" is the number published.\n"
        );
        let _ = writeln!(
            out,
            "| workload | size | messages | rustzmq delivered msg/s | rustzmq delivered | libzmq delivered msg/s | \
             libzmq delivered | rustzmq/libzmq | GB/s rustzmq / libzmq |"
        );
        let _ = writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    for r in of(Measure::FanOut) {
        let size = size_label(r.spec.size);
        if let Some(failure) = &r.failure {
            failed_row(&mut out, r, failure, 5);
            continue;
        }
        let (rust, lib) = (values(&r.rustzmq), values(&r.libzmq));
        let _ = writeln!(
            out,
            "| {} | {size} | {} | {} | {} | {} | {} | **{}** | {} / {} |",
            r.spec.label(),
            count_label(r.count),
            rate_cell(&rust),
            delivered_cell(&r.rustzmq),
            rate_cell(&lib),
            delivered_cell(&r.libzmq),
            ratio_cell(&rust, &lib, false),
            gbps(&r.rustzmq, r.spec.size),
            gbps(&r.libzmq, r.spec.size),
        );
    }

    let _ = writeln!(out);
    let _ = writeln!(out, "{}", settings_note(&bench.settings));
    let failures: Vec<&RowResult> = results.iter().filter(|r| r.failure.is_some()).collect();
    if !failures.is_empty() {
        let _ =
            writeln!(out, "\nFailures (each ends its row; the tools are killed after {} s):\n", RUN_TIMEOUT.as_secs());
        for r in failures {
            let _ = writeln!(out, "- {}: {}", r.spec.name(), one_line(r.failure.as_deref().unwrap_or_default()));
        }
    }
    out
}

/// "3.1 %": the median delivered share of fan-out runs.
fn delivered_cell(samples: &[Sample]) -> String {
    let shares: Vec<f64> = samples.iter().map(|s| 100.0 * s.delivered).collect();
    match stats(&shares) {
        Some((median, _, _)) if median >= 99.95 => "100 %".to_owned(),
        Some((median, _, _)) => format!("{median:.1} %"),
        None => "—".to_owned(),
    }
}

/// Which `settings:` lines the runs printed: one sentence when every run of both
/// implementations printed the same, otherwise each line with the rows and implementations
/// that printed it.
fn settings_note(settings: &[Settings]) -> String {
    let mut lines: Vec<&str> = settings.iter().map(|s| s.line.as_str()).collect();
    lines.sort_unstable();
    lines.dedup();
    if lines.len() == 1 {
        return format!("Settings printed by every run of both implementations: `{}`.", lines[0]);
    }
    let mut all_rows: Vec<&str> = settings.iter().map(|s| s.row.as_str()).collect();
    all_rows.sort_unstable();
    all_rows.dedup();
    let mut out =
        "Settings printed by the runs (each line with the rows and implementations that printed it):\n".to_owned();
    for line in lines {
        let mut rows: Vec<&str> = Vec::new();
        let mut implementations: Vec<&str> = Vec::new();
        for s in settings.iter().filter(|s| s.line == line) {
            if !rows.contains(&s.row.as_str()) {
                rows.push(&s.row);
            }
            if !implementations.contains(&s.implementation.name()) {
                implementations.push(s.implementation.name());
            }
        }
        let which = if rows.len() == all_rows.len() { "every row".to_owned() } else { rows.join(", ") };
        let _ = write!(out, "\n- `{line}`: {which} ({})", implementations.join(", "));
    }
    out
}

/// `text` on one line, safe inside a markdown table cell.
/// A table row for a workload that failed: label, size and count, the failure in the first
/// result column, then `empty` empty cells.
fn failed_row(out: &mut String, r: &RowResult, failure: &str, empty: usize) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | **FAILED**: {} |{}",
        r.spec.label(),
        size_label(r.spec.size),
        count_label(r.count),
        one_line(failure),
        " |".repeat(empty)
    );
}

fn one_line(text: &str) -> String {
    text.replace('\n', " ").replace('|', "/")
}

/// `/proc/loadavg`'s first three fields (`"0.12 0.30 0.25"`), or `"unknown"`.
pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// What the machine is, for the docs.
struct Machine {
    date: String,
    cpu: String,
    memory: String,
    kernel: String,
    rustc: String,
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).current_dir(workspace_root()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn describe_machine() -> Machine {
    let lscpu = command_output("lscpu", &[]).unwrap_or_default();
    let field = |name: &str| {
        lscpu.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    };
    let model = field("Model name").unwrap_or_else(|| "unknown CPU".to_owned());
    let cpus = field("CPU(s)").unwrap_or_else(|| "?".to_owned());
    let cores = field("Core(s) per socket").unwrap_or_else(|| "?".to_owned());
    let sockets = field("Socket(s)").unwrap_or_else(|| "1".to_owned());
    let threads = field("Thread(s) per core").unwrap_or_else(|| "?".to_owned());
    let mut cpu = format!(
        "{model} (`lscpu` model name), {cpus} CPUs: {sockets} socket(s) × {cores} core(s) × {threads} thread(s)"
    );
    if let Some(l2) = field("L2 cache") {
        let _ = write!(cpu, ", L2 {l2}");
    }
    if let Some(l3) = field("L3 cache") {
        let _ = write!(cpu, ", L3 {l3}");
    }
    if let Some(hypervisor) = field("Hypervisor vendor") {
        let _ = write!(cpu, ", virtual machine ({hypervisor})");
    }
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let kib: f64 = m.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} GiB RAM", kib / (1024.0 * 1024.0)))
        })
        .unwrap_or_else(|| "RAM unknown".to_owned());
    Machine {
        date: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_else(|| "unknown date".to_owned()),
        cpu,
        memory,
        kernel: command_output("uname", &["-r"]).map_or_else(|| "unknown kernel".to_owned(), |k| format!("Linux {k}")),
        rustc: command_output("rustc", &["--version"]).unwrap_or_else(|| "rustc unknown".to_owned()),
    }
}

/// The generated part of the benchmarks page, markers included.
fn render_docs_section(
    machine: &Machine,
    report: &str,
    bench: &Bench,
    options: Options,
    load: &str,
    elapsed: Duration,
) -> String {
    let implementation = |which: Implementation| {
        bench
            .implementations
            .iter()
            .find(|(i, _)| *i == which)
            .map_or_else(|| "(no run)".to_owned(), |(_, line)| line.clone())
    };
    let mut out = String::new();
    let _ = writeln!(out, "{START_MARKER}");
    let _ = writeln!(
        out,
        "<!-- Generated by `cargo xtask bench --compare`; edits between the markers are overwritten. -->\n"
    );
    let runs = if options.runs == DEFAULT_RUNS { String::new() } else { format!(" --runs {}", options.runs) };
    let _ = writeln!(
        out,
        "Measured {} with `cargo xtask bench --compare{runs}` ({} runs per implementation and row, alternating; \
         {:.0} s in all). Load average (1, 5, 15 min): {load} — anything above zero is other work \
         sharing the machine during the runs.\n",
        machine.date,
        options.runs,
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "Machine: {}, {}; {}; {}; release profile. Implementations: {}; {}.\n",
        machine.cpu,
        machine.memory,
        machine.kernel,
        machine.rustc,
        implementation(Implementation::Rustzmq),
        implementation(Implementation::Libzmq)
    );
    out.push_str(report.trim_end());
    let _ = writeln!(out, "\n{END_MARKER}");
    out
}

/// `page` with the generated section replaced by `section`, or with `section` appended under a
/// heading when the markers are missing.
fn replace_section(page: &str, section: &str) -> String {
    if let (Some(start), Some(end)) = (page.find(START_MARKER), page.find(END_MARKER)) {
        if start < end {
            let mut out = String::with_capacity(page.len() + section.len());
            out.push_str(&page[..start]);
            out.push_str(section.trim_end());
            out.push_str(&page[end + END_MARKER.len()..]);
            return out;
        }
    }
    let mut out = page.trim_end().to_owned();
    out.push_str("\n\n## rustzmq against libzmq (`cargo xtask bench --compare`)\n\n");
    out.push_str(section);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_options() {
        assert_eq!(parse_options(&strings(&["--compare"])), Ok(Options { runs: DEFAULT_RUNS, quick: false }));
        assert_eq!(parse_options(&strings(&["--compare", "--quick"])), Ok(Options { runs: QUICK_RUNS, quick: true }));
        assert_eq!(parse_options(&strings(&["--runs", "7", "--compare"])), Ok(Options { runs: 7, quick: false }));
        assert_eq!(
            parse_options(&strings(&["--compare", "--quick", "--runs=2"])),
            Ok(Options { runs: 2, quick: true })
        );
        assert!(parse_options(&strings(&["--compare", "--runs"])).is_err());
        assert!(parse_options(&strings(&["--compare", "--runs", "0"])).is_err());
        assert!(parse_options(&strings(&["--compare", "decode"])).is_err());
        assert_eq!(
            parse_options(&strings(&["--compare", "--only", "CURVE"])),
            Ok(Options { runs: DEFAULT_RUNS, quick: false })
        );
        assert!(parse_options(&strings(&["--compare", "--only"])).is_err());
        assert!(parse_options(&strings(&["--compare", "--only="])).is_err());
    }

    #[test]
    fn failed_rows_keep_the_column_count() {
        let spec = workloads().into_iter().next().expect("a workload");
        let result = RowResult {
            spec,
            count: 1000,
            ceiling_count: 0,
            rustzmq: vec![],
            libzmq: vec![],
            ceiling: vec![],
            ceiling_spin: vec![],
            failure: None,
        };
        let mut out = String::new();
        failed_row(&mut out, &result, "timed out\nwaiting | for x", 6);
        let expected = format!(
            "| {} | {} | 1,000 | **FAILED**: timed out waiting / for x | | | | | | |\n",
            result.spec.label(),
            size_label(result.spec.size)
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn filters_rows() {
        assert_eq!(only_filter(&strings(&["bench", "--compare"])), Ok(vec![]));
        assert_eq!(only_filter(&strings(&["bench", "--compare", "--only", "CURVE"])), Ok(strings(&["curve"])));
        assert_eq!(
            only_filter(&strings(&["bench", "--only=Pub/Sub, curve", "--compare", "--only", "ipc"])),
            Ok(strings(&["pub/sub", "curve", "ipc"]))
        );
        assert_eq!(only_filter(&strings(&["bench", "--", "--only", "x"])), Ok(vec![]));
        assert!(only_filter(&strings(&["bench", "--only", "a,,b"])).is_err());
        let rows = workloads();
        let matching = |only: &[&str]| rows.iter().filter(|spec| selected(&strings(only), spec)).count();
        assert_eq!(matching(&[]), rows.len());
        assert_eq!(matching(&["curve"]), 4);
        assert_eq!(matching(&["poly1305"]), 2);
        assert_eq!(matching(&["pub/sub"]), 2);
        assert_eq!(matching(&["curve", "pub/sub"]), 6);
        assert_eq!(matching(&["tcp curve throughput 64 kib"]), 1);
    }

    #[test]
    fn rounds_and_summarises() {
        assert_eq!(round2(4_170_501.0), 4_200_000);
        assert_eq!(round2(1_374.0), 1_400);
        assert_eq!(round2(0.2), 1);
        assert_eq!(stats(&[3.0, 1.0, 2.0]), Some((2.0, 1.0, 3.0)));
        assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0]), Some((2.5, 1.0, 4.0)));
        assert_eq!(stats(&[]), None);
        assert_eq!(rate(4_170_501.0), "4.17 M");
        assert_eq!(rate(1_155.0), "1.16 K");
        assert_eq!(rate_cell(&[4.2e6, 3.9e6, 4.25e6]), "4.20 M (3.90–4.25)");
        assert_eq!(size_label(1 << 20), "1 MiB");
        assert_eq!(size_label(64 << 10), "64 KiB");
        assert_eq!(size_label(16), "16 B");
        assert_eq!(count_label(1_234_567), "1,234,567");
    }

    #[test]
    fn parses_tool_output() {
        let thr =
            strings(&["implementation: rustzmq", "mean throughput: 4170501 [msg/s]", "mean throughput: 1.0 [Mb/s]"]);
        assert_eq!(parse_sample(Measure::Throughput, &thr).map(|s| s.value), Ok(4_170_501.0));
        let fan_out = strings(&[
            "subscriber 0: 300 delivered (30.0 %)",
            "delivered: 1200 of 4000 (30.0 %)",
            "mean throughput: 2000000 [msg/s]",
        ]);
        let sample = parse_sample(Measure::FanOut, &fan_out).expect("parses");
        assert_eq!(sample.value, 2_000_000.0);
        assert_eq!(sample.delivered, 0.3);
        // 2 M delivered per second, 30 % of 4 subscribers' share: 1.67 M published per second.
        assert!((sample.rate(Measure::FanOut) - 2e6 / 1.2).abs() < 1.0);
        assert!(parse_sample(Measure::FanOut, &thr).is_err());
        let lat = strings(&[
            "average latency: 24.327 [us]",
            "round-trip p50: 48.802 [us]",
            "round-trip p99: 77.234 [us]",
            "round-trip p99.9: 128.280 [us]",
        ]);
        let sample = parse_sample(Measure::Latency, &lat).expect("parses");
        assert_eq!(sample.value, 24.327);
        assert_eq!(sample.percentiles, [48.802, 77.234, 128.28]);
        assert!(parse_sample(Measure::Latency, &thr).is_err());
    }

    #[test]
    fn replaces_or_appends_the_section() {
        let section = format!("{START_MARKER}\nnew\n{END_MARKER}\n");
        let page = format!("# B\n\nintro\n\n{START_MARKER}\nold\n{END_MARKER}\n\ntail\n");
        assert_eq!(
            replace_section(&page, &section),
            format!("# B\n\nintro\n\n{START_MARKER}\nnew\n{END_MARKER}\n\ntail\n")
        );
        let appended = replace_section("# B\n", &section);
        assert!(appended.starts_with("# B\n\n## rustzmq against libzmq"));
        assert!(appended.ends_with(&section));
    }

    #[test]
    fn every_row_is_known() {
        let rows = workloads();
        assert_eq!(rows.len(), 20);
        let mut names: Vec<String> = rows.iter().map(Spec::name).collect();
        assert!(names.contains(&"tcp CURVE throughput 64 B".to_owned()));
        assert!(names.contains(&"tcp CURVE throughput, poly1305_force_soft 64 B".to_owned()));
        assert!(names.contains(&"tcp CURVE throughput 64 KiB".to_owned()));
        assert!(names.contains(&"tcp pub/sub 1 → 4, default HWM 64 B".to_owned()));
        assert!(names.contains(&"tcp pub/sub 1 → 4, PUB sndhwm=0 64 B".to_owned()));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), rows.len(), "row names are unique");
        assert!(rows.iter().all(|r| !r.curve || !r.has_ceiling()));
        let latency_ceilings: Vec<(Transport, bool)> =
            rows.iter().filter(|r| r.measure == Measure::Latency).map(|r| (r.transport, r.has_ceiling())).collect();
        assert_eq!(
            latency_ceilings,
            [(Transport::Tcp, true), (Transport::Ipc, true), (Transport::Inproc, false)],
            "tcp and ipc latency have a std-stream ceiling, inproc none"
        );
        assert!(rows.iter().filter(|r| r.measure == Measure::FanOut).all(|r| !r.has_ceiling()));
    }

    #[test]
    fn notes_settings() {
        let settings = |line: &str, implementation, row: &str| Settings {
            line: line.to_owned(),
            implementation,
            row: row.to_owned(),
        };
        let same = [settings("a", Implementation::Rustzmq, "r1"), settings("a", Implementation::Libzmq, "r2")];
        assert_eq!(settings_note(&same), "Settings printed by every run of both implementations: `a`.");
        let differ = [
            settings("a", Implementation::Rustzmq, "r1"),
            settings("a", Implementation::Libzmq, "r2"),
            settings("b", Implementation::Rustzmq, "r2"),
        ];
        let note = settings_note(&differ);
        assert!(note.contains("- `a`: every row (rustzmq, libzmq)"), "{note}");
        assert!(note.contains("- `b`: r2 (rustzmq)"), "{note}");
    }
}
