//! `cargo xtask bench --memory` and `cargo xtask bench --allocs`: memory measurements.
//!
//! * `--memory [--runs N] [--connections N]`: resident memory per idle tcp connection.
//!   Builds `idle_conn_mem` (`benches/src/bin/idle_conn_mem.rs`) against rustzmq and against
//!   libzmq (the same way as `--compare`: `<target>/release/` and `<target>/libzmq-perf/release/`)
//!   and runs both alternately, `--runs` times each (default 3), printing medians and the ratio.
//!   Two rows: 1,000 connections in one context (the default `ZMQ_MAX_SOCKETS` of both
//!   implementations allows 1,023 sockets, and rustzmq's `Context` cannot raise it), and the
//!   requested count (default 10,000) or, when the hard `RLIMIT_NOFILE` cannot hold it (three
//!   descriptors per connection in one process), the largest multiple of 100 that fits, with
//!   [`DEALERS_PER_CONTEXT`] DEALERs per context.
//! * `--allocs [--count N]`: heap allocations per message in steady-state streaming, rustzmq
//!   only. Builds and runs `alloc_count` once (`--count` messages per row, default 1,000,000;
//!   64 KiB rows a fiftieth of it) and tabulates its `row:` lines.
//!
//! Both write their table with the date, machine load and command into `docs/benchmarks.md`
//! between their own markers (`bench-memory`, `bench-allocs`), never inside the `bench-compare`
//! section; a missing section is appended at the end of the page.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::compare::load_average;
use crate::{cargo, run, workspace_root, Failure};

/// Default measured runs per implementation and row of `--memory`.
pub(crate) const DEFAULT_RUNS: usize = 3;
/// Connections the performance issue asks for.
pub(crate) const DEFAULT_CONNECTIONS: usize = 10_000;
/// Connections of the one-context row (rustzmq and libzmq allow 1,023 sockets per context).
const ONE_CONTEXT_CONNECTIONS: usize = 1_000;
/// DEALERs per context in the large row.
const DEALERS_PER_CONTEXT: usize = 1_000;
/// File descriptors per connection with both ends in one process: the DEALER's tcp socket and
/// wake-up eventfd, the ROUTER's accepted socket (`idle_conn_mem` prints the measured figure).
const FDS_PER_CONNECTION: u64 = 3;
/// Descriptors kept for everything else (stdio, contexts, I/O threads, the listener).
const FDS_RESERVED: u64 = 64;
/// One run of a tool is killed after this long.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// The page the tables are written to, relative to the workspace root.
const DOCS_PAGE: &str = "docs/benchmarks.md";

/// What to measure.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Options {
    /// `--memory`: bytes per idle tcp connection, rustzmq against libzmq.
    Memory {
        /// Runs per implementation and row.
        runs: usize,
        /// Connections requested for the large row.
        connections: usize,
    },
    /// `--allocs`: allocations per message, rustzmq.
    Allocs {
        /// Messages per row (`None`: the tool's default).
        count: Option<u64>,
    },
}

/// Whether `bench` arguments (before any `--`) ask for `--memory` or `--allocs`.
pub(crate) fn wanted(args: &[String]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| a == "--memory" || a == "--allocs")
}

/// Parses the arguments of `bench` when they contain `--memory` or `--allocs`.
pub(crate) fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut memory = false;
    let mut allocs = false;
    let mut runs = None;
    let mut connections = None;
    let mut count = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| iter.next().ok_or_else(|| format!("`{name}` needs a value")).cloned();
        match arg.as_str() {
            "--memory" => memory = true,
            "--allocs" => allocs = true,
            "--runs" => runs = Some(positive(&value("--runs")?, "--runs")?),
            "--connections" => connections = Some(positive(&value("--connections")?, "--connections")?),
            "--count" => count = Some(positive(&value("--count")?, "--count")? as u64),
            other => return Err(format!("unexpected argument for `bench --memory/--allocs`: {other}")),
        }
    }
    match (memory, allocs) {
        (true, false) if count.is_none() => Ok(Options::Memory {
            runs: runs.unwrap_or(DEFAULT_RUNS),
            connections: connections.unwrap_or(DEFAULT_CONNECTIONS),
        }),
        (false, true) if runs.is_none() && connections.is_none() => Ok(Options::Allocs { count }),
        (true, true) => Err("give either --memory or --allocs, not both".to_owned()),
        (true, false) => Err("`--count` belongs to --allocs".to_owned()),
        _ => Err("`--runs` and `--connections` belong to --memory".to_owned()),
    }
}

/// A positive integer (`_` and `,` allowed as separators).
fn positive(value: &str, name: &str) -> Result<usize, String> {
    match value.replace(['_', ','], "").parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("invalid {name} `{value}` (expected a positive integer)")),
    }
}

/// Runs the selected measurement.
pub(crate) fn memory(options: Options) -> Result<(), Failure> {
    match options {
        Options::Memory { runs, connections } => idle_connections(runs, connections),
        Options::Allocs { count } => allocations(count),
    }
}

/// `<target>` (from `$CARGO_TARGET_DIR` or the workspace's `target/`).
pub(crate) fn target_dir() -> PathBuf {
    let root = workspace_root();
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds one perf tool in release mode into `target`, against libzmq if `libzmq`.
fn build_tool(name: &str, target: &Path, libzmq: bool) -> Result<(), Failure> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "rustzmq-benches", "--bin", name]);
    if libzmq {
        build.args(["--features", "libzmq"]);
    }
    build.arg("--target-dir").arg(target);
    run(build)
}

/// Runs `program args` to completion (killed after [`RUN_TIMEOUT`]); returns its stdout lines,
/// or what went wrong with the tail of its output.
fn run_tool(program: &Path, args: &[String]) -> Result<Vec<String>, String> {
    let line = std::iter::once(program.display().to_string()).chain(args.iter().cloned()).collect::<Vec<_>>().join(" ");
    println!("$ {line}");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{line}`: {e}"))?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for `{line}`: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let tail =
        |text: &str| text.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
    match status {
        Some(status) if status.success() => Ok(stdout.lines().map(str::to_owned).collect()),
        Some(status) => {
            Err(format!("`{line}` failed ({status}); stdout: {}; stderr: {}", tail(&stdout), tail(&stderr)))
        }
        None => Err(format!("`{line}` killed after {} s; stdout: {}", RUN_TIMEOUT.as_secs(), tail(&stdout))),
    }
}

/// The number after `prefix` on the first line starting with it.
fn value_after(lines: &[String], prefix: &str) -> Option<f64> {
    lines.iter().find_map(|l| l.strip_prefix(prefix)?.split_whitespace().next()?.parse().ok())
}

/// The hard `RLIMIT_NOFILE` this process (and so its children) runs under, from
/// `/proc/self/limits`.
fn hard_nofile_limit() -> Option<u64> {
    let limits = fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let fields: Vec<&str> = line["Max open files".len()..].split_whitespace().collect();
    match fields.get(1) {
        Some(&"unlimited") => Some(u64::MAX),
        Some(value) => value.parse().ok(),
        None => None,
    }
}

/// The median of `values` (mean of the middle two for an even count), or `None` if empty.
fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 0 { (sorted[mid - 1] + sorted[mid]) / 2.0 } else { sorted[mid] })
}

/// `12,345` style thousands separators.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The UTC date and time now, from `date`.
fn now_utc() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(|| "unknown date".to_owned(), |o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// ` at commit abc1234` (with ` plus uncommitted changes` when the work tree differs), or
/// nothing outside a git checkout.
fn source_commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) if !commit.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            format!(" at commit {commit}{}", if dirty { " plus uncommitted changes" } else { "" })
        }
        _ => String::new(),
    }
}

/// One row of the idle-connection table.
struct MemoryRow {
    /// Connections.
    connections: usize,
    /// DEALERs per context.
    per_context: usize,
    /// Bytes per connection of each rustzmq run.
    rustzmq: Vec<f64>,
    /// Bytes per connection of each libzmq run.
    libzmq: Vec<f64>,
    /// Seconds to connect and handshake, per run: rustzmq, libzmq.
    connect_secs: (Vec<f64>, Vec<f64>),
    /// File descriptors per connection (last run of each): rustzmq, libzmq.
    fds: (Option<f64>, Option<f64>),
    /// The first failure, if any.
    failure: Option<String>,
}

/// `--memory`.
fn idle_connections(runs: usize, requested: usize) -> Result<(), Failure> {
    let target = target_dir();
    let libzmq_target = target.join("libzmq-perf");
    println!("==> building idle_conn_mem against rustzmq and libzmq");
    build_tool("idle_conn_mem", &target, false)?;
    build_tool("idle_conn_mem", &libzmq_target, true)?;
    let binaries = [target.join("release/idle_conn_mem"), libzmq_target.join("release/idle_conn_mem")];

    let hard = hard_nofile_limit();
    let fit = hard.map(|h| (h.saturating_sub(FDS_RESERVED) / FDS_PER_CONNECTION / 100 * 100) as usize);
    let large = match fit {
        Some(fit) if fit < requested => {
            println!(
                "note: {requested} connections need about {} file descriptors in one process, the hard limit is {}; \
                 measuring {fit}",
                requested as u64 * FDS_PER_CONNECTION + FDS_RESERVED,
                hard.unwrap_or_default()
            );
            fit
        }
        _ => requested,
    };
    let mut layouts = vec![(large.min(ONE_CONTEXT_CONNECTIONS), large.min(ONE_CONTEXT_CONNECTIONS))];
    if large > ONE_CONTEXT_CONNECTIONS {
        layouts.push((large, DEALERS_PER_CONTEXT));
    }

    let load_before = load_average();
    let start = Instant::now();
    let mut rows = Vec::new();
    for (connections, per_context) in layouts {
        let mut row = MemoryRow {
            connections,
            per_context,
            rustzmq: Vec::new(),
            libzmq: Vec::new(),
            connect_secs: (Vec::new(), Vec::new()),
            fds: (None, None),
            failure: None,
        };
        let args = vec![connections.to_string(), per_context.to_string()];
        'runs: for _ in 0..runs {
            for (which, binary) in binaries.iter().enumerate() {
                match run_tool(binary, &args) {
                    Ok(lines) => {
                        let Some(bytes) = value_after(&lines, "memory per connection: ") else {
                            row.failure = Some(format!("no `memory per connection` line: {}", lines.join(" | ")));
                            break 'runs;
                        };
                        let secs = value_after(&lines, "connected and handshaked in: ").unwrap_or(f64::NAN);
                        let fds = value_after(&lines, "file descriptors per connection: ");
                        println!("    {bytes} B per connection, connected in {secs:.1} s");
                        if which == 0 {
                            row.rustzmq.push(bytes);
                            row.connect_secs.0.push(secs);
                            row.fds.0 = fds;
                        } else {
                            row.libzmq.push(bytes);
                            row.connect_secs.1.push(secs);
                            row.fds.1 = fds;
                        }
                    }
                    Err(e) => {
                        println!("    {e}");
                        row.failure = Some(e);
                        break 'runs;
                    }
                }
            }
        }
        rows.push(row);
    }
    let elapsed = start.elapsed();
    let load = format!("{load_before} before, {} after", load_average());

    let table = render_memory_table(&rows, runs);
    println!("\n{table}");
    let mut section = String::new();
    let _ = writeln!(
        section,
        "Measured {}{} with `cargo xtask bench --memory{}` ({runs} runs per implementation and row, alternating; \
         {:.0} s in all). Load average (1, 5, 15 min): {load}.{}\n",
        now_utc(),
        source_commit(),
        if runs == DEFAULT_RUNS { String::new() } else { format!(" --runs {runs}") },
        elapsed.as_secs_f64(),
        match (fit, hard) {
            (Some(fit), Some(hard)) if fit < requested => format!(
                " {} connections were asked for; the hard `RLIMIT_NOFILE` is {} and cannot be raised \
                 here (no `CAP_SYS_RESOURCE`), and each connection takes {FDS_PER_CONNECTION} descriptors in one \
                 process, so the large row has the largest multiple of 100 that fits: {}.",
                thousands(requested as u64),
                thousands(hard),
                thousands(fit as u64)
            ),
            _ => String::new(),
        }
    );
    section.push_str(&table);
    write_section("bench-memory", "Memory per idle connection (`cargo xtask bench --memory`)", &section)?;

    match rows.iter().find_map(|r| r.failure.as_ref()) {
        Some(failure) => Err(Failure::step(format!("idle_conn_mem failed: {failure}"))),
        None => Ok(()),
    }
}

/// The markdown table of `--memory`.
fn render_memory_table(rows: &[MemoryRow], runs: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Resident memory per idle tcp connection (`idle_conn_mem`: N DEALERs connected to one ROUTER on \
         127.0.0.1, each connection handshaked and one 1-byte message from every DEALER received by the ROUTER, \
         then idle for a second; VmRSS after minus before, divided by N; **both ends of every connection are \
         in the one process**). Bytes, median of \
         {runs} runs (min–max); ratio of medians (lower is better).\n"
    );
    let _ = writeln!(
        out,
        "| connections | layout | rustzmq B/connection | libzmq B/connection | rustzmq/libzmq | fds/connection | \
         connect + handshake s, rustzmq / libzmq |"
    );
    let _ = writeln!(out, "| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    let cell = |values: &[f64]| match median(values) {
        Some(m) => {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!(
                "{} ({}–{})",
                thousands(m.round() as u64),
                thousands(min.round() as u64),
                thousands(max.round() as u64)
            )
        }
        None => "—".to_owned(),
    };
    for row in rows {
        let layout = if row.per_context >= row.connections {
            "one context, one I/O thread".to_owned()
        } else {
            format!(
                "{} contexts (one I/O thread each), ≤ {} DEALERs per context",
                row.connections.div_ceil(row.per_context),
                thousands(row.per_context as u64)
            )
        };
        let ratio = match (median(&row.rustzmq), median(&row.libzmq)) {
            (Some(r), Some(l)) if l > 0.0 => format!("**{:.2}×**", r / l),
            _ => "—".to_owned(),
        };
        let fds = match row.fds {
            (Some(r), Some(l)) if (r - l).abs() < 0.005 => format!("{r:.2}"),
            (r, l) => format!(
                "{} / {}",
                r.map_or("—".to_owned(), |v| format!("{v:.2}")),
                l.map_or("—".to_owned(), |v| format!("{v:.2}"))
            ),
        };
        let secs = |v: &[f64]| median(v).map_or("—".to_owned(), |s| format!("{s:.1}"));
        let mut line = format!(
            "| {} | {layout} | {} | {} | {ratio} | {fds} | {} / {} |",
            thousands(row.connections as u64),
            cell(&row.rustzmq),
            cell(&row.libzmq),
            secs(&row.connect_secs.0),
            secs(&row.connect_secs.1)
        );
        if let Some(failure) = &row.failure {
            let _ = write!(line, "\n\nFailed: {}", failure.replace('|', "/"));
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `--allocs`.
fn allocations(count: Option<u64>) -> Result<(), Failure> {
    let target = target_dir();
    println!("==> building alloc_count (rustzmq)");
    build_tool("alloc_count", &target, false)?;
    let mut args = Vec::new();
    if let Some(count) = count {
        args.extend(["--count".to_owned(), count.to_string(), "--warmup".to_owned(), (count / 10).max(1).to_string()]);
    }
    let load_before = load_average();
    let start = Instant::now();
    let lines = run_tool(&target.join("release/alloc_count"), &args).map_err(Failure::step)?;
    let elapsed = start.elapsed();
    let load = format!("{load_before} before, {} after", load_average());

    // (transport order, size) -> send mode -> fields.
    let order = ["tcp", "ipc", "inproc"];
    let mut rows: BTreeMap<(usize, u64), BTreeMap<String, BTreeMap<String, String>>> = BTreeMap::new();
    for line in &lines {
        let Some(rest) = line.strip_prefix("row: ") else { continue };
        let fields: BTreeMap<String, String> = rest
            .split_whitespace()
            .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        let transport = order.iter().position(|t| fields.get("transport").map(String::as_str) == Some(*t));
        let size = fields.get("size").and_then(|s| s.parse().ok());
        let (Some(transport), Some(size), Some(mode)) = (transport, size, fields.get("send").cloned()) else {
            continue;
        };
        rows.entry((transport, size)).or_default().insert(mode, fields);
    }
    if rows.is_empty() {
        return Err(Failure::step(format!("alloc_count printed no `row:` lines: {}", lines.join(" | "))));
    }
    let mut table = String::new();
    let _ = writeln!(
        table,
        "Heap allocations per message in steady state (`alloc_count`, rustzmq only): PUSH thread → PULL in one \
         process, default options; after a warm-up, every allocation of the process (all threads) is counted \
         while the PULL receives the messages of the window. `with_size`: `Message::with_size(n)` then \
         `send(msg, 0)`; `slice`: `send(&buf[..], 0)`; received with `recv(&mut msg, 0)` into one reused \
         `Message`.\n"
    );
    let _ = writeln!(
        table,
        "| transport | size | messages | allocations/msg, with_size | allocations/msg, slice | bytes/msg, with_size | bytes/msg, slice |"
    );
    let _ = writeln!(table, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for ((transport, size), modes) in &rows {
        let get = |mode: &str, key: &str| modes.get(mode).and_then(|f| f.get(key)).cloned();
        let number = |mode: &str, key: &str| get(mode, key).and_then(|v| v.parse::<f64>().ok());
        let per_msg =
            |mode: &str| number(mode, "allocations_per_message").map_or("—".to_owned(), |v| format!("{v:.4}"));
        let bytes = |mode: &str| number(mode, "bytes_per_message").map_or("—".to_owned(), |v| format!("{v:.0}"));
        let messages = get("with_size", "messages").or_else(|| get("slice", "messages")).and_then(|m| m.parse().ok());
        let size_label = if size % 1024 == 0 { format!("{} KiB", size / 1024) } else { format!("{size} B") };
        let _ = writeln!(
            table,
            "| {} | {size_label} | {} | {} | {} | {} | {} |",
            order[*transport],
            messages.map_or("—".to_owned(), thousands),
            per_msg("with_size"),
            per_msg("slice"),
            bytes("with_size"),
            bytes("slice"),
        );
    }
    println!("\n{table}");
    let command = match count {
        Some(count) => format!("cargo xtask bench --allocs --count {count}"),
        None => "cargo xtask bench --allocs".to_owned(),
    };
    let mut section = String::new();
    let _ = writeln!(
        section,
        "Measured {}{} with `{command}` (one run, {:.0} s). Load average (1, 5, 15 min): {load}.\n",
        now_utc(),
        source_commit(),
        elapsed.as_secs_f64()
    );
    section.push_str(&table);
    write_section("bench-allocs", "Heap allocations per message (`cargo xtask bench --allocs`)", &section)
}

/// Replaces the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` in the docs page
/// by `body` (with a "generated" note), or appends a `## {heading}` section holding them.
fn write_section(name: &str, heading: &str, body: &str) -> Result<(), Failure> {
    let start_marker = format!("<!-- {name}:start -->");
    let end_marker = format!("<!-- {name}:end -->");
    let generated = format!(
        "{start_marker}\n<!-- Generated by `cargo xtask bench --{}`; edits between the markers are overwritten. -->\n\n{}\n{end_marker}",
        name.trim_start_matches("bench-"),
        body.trim_end()
    );
    let path = workspace_root().join(DOCS_PAGE);
    let page = fs::read_to_string(&path).map_err(|e| Failure::step(format!("reading {DOCS_PAGE}: {e}")))?;
    let updated = match (page.find(&start_marker), page.find(&end_marker)) {
        (Some(start), Some(end)) if start < end => {
            format!("{}{generated}{}", &page[..start], &page[end + end_marker.len()..])
        }
        _ => format!("{}\n\n## {heading}\n\n{generated}\n", page.trim_end()),
    };
    fs::write(&path, updated).map_err(|e| Failure::step(format!("writing {DOCS_PAGE}: {e}")))?;
    println!("wrote the table to {DOCS_PAGE} (section `{name}`)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_options() {
        assert_eq!(
            parse_options(&strings(&["--memory"])),
            Ok(Options::Memory { runs: DEFAULT_RUNS, connections: DEFAULT_CONNECTIONS })
        );
        assert_eq!(
            parse_options(&strings(&["--memory", "--runs", "5", "--connections", "2,000"])),
            Ok(Options::Memory { runs: 5, connections: 2000 })
        );
        assert_eq!(parse_options(&strings(&["--allocs"])), Ok(Options::Allocs { count: None }));
        assert_eq!(
            parse_options(&strings(&["--allocs", "--count", "1000"])),
            Ok(Options::Allocs { count: Some(1000) })
        );
        assert!(parse_options(&strings(&["--allocs", "--memory"])).is_err());
        assert!(parse_options(&strings(&["--allocs", "--runs", "3"])).is_err());
        assert!(parse_options(&strings(&["--memory", "--count", "3"])).is_err());
        assert!(parse_options(&strings(&["--memory", "--runs", "0"])).is_err());
        assert!(parse_options(&strings(&["--memory", "--bogus"])).is_err());
        assert!(wanted(&strings(&["--memory"])));
        assert!(!wanted(&strings(&["--", "--memory"])));
    }

    #[test]
    fn helpers() {
        assert_eq!(thousands(6_600), "6,600");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let lines = strings(&["connections: 10", "memory per connection: 55329 [B] (both ends)"]);
        assert_eq!(value_after(&lines, "memory per connection: "), Some(55329.0));
        assert_eq!(value_after(&lines, "nope: "), None);
    }
}
