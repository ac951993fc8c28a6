//! `cargo xtask compat`: runs the `zmq` 0.10.0 crate's own test suite and zguide examples
//! against rustzmq.
//!
//! 1. **Fetch.** A scratch package (`target/compat/fetch`) depends on `zmq = "=0.10.0"`;
//!    `cargo fetch` + `cargo metadata` give the unpacked source in cargo's registry cache
//!    (wherever `$CARGO_HOME` is). Nothing of it is committed.
//! 2. **Suite.** `target/compat/suite` is a package of its own (`[workspace]`, edition and
//!    dev-dependencies copied from zmq's manifest) whose `zmq` dependency is rustzmq
//!    (`zmq = { package = "rustzmq", path = ... }`). zmq's `tests/` and `examples/` are copied in
//!    unchanged, and its `[[example]]` tables verbatim. The two tests that name `zmq_sys`
//!    (`context.rs`, `error.rs`) get a stand-in crate `zmq-sys` (`target/compat/zmq-sys-standin`)
//!    with just the two constants they read. `compile-tests.rs` (trybuild, which compares exact
//!    rustc text) is replaced by the harness' own compile-fail check: each file must fail to
//!    compile with the error codes of its stored `.stderr`.
//! 3. **Build** once: `cargo build --tests --examples --keep-going` (target dir
//!    `target/compat/target`), so one broken target does not hide the others.
//! 4. **Run** every test binary (bounded time, results parsed per test), the compile-fail files
//!    (rustc against the rlib just built) and every example, alone or in the client/server
//!    groups of the zguide, with bounded time, their output checked and every process killed
//!    afterwards. Examples bind fixed ports, so groups run one after the other.
//!
//! Capability-gated tests (`test_capability!`) pass vacuously when `has()` says no; the
//! harness reports them as failures instead, except GSSAPI, which libzmq 4.3 builds without
//! too (reported as skipped).

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{workspace_root, Failure};

/// The `zmq` crate version whose suite is run.
const ZMQ_VERSION: &str = "0.10.0";

/// Time limit for one test binary (each test body also has timebomb's own 10 s).
const TEST_BINARY_TIMEOUT: Duration = Duration::from_secs(60);

/// Capabilities whose gated tests are reported as skipped when `has()` is false: libzmq 4.3
/// (and the vendored build of `zmq` 0.10) has no GSSAPI either.
const SKIPPABLE_CAPABILITIES: &[&str] = &["gssapi"];

/// Test files replaced by the harness' own checks.
const REPLACED_TEST_FILES: &[&str] = &["compile-tests.rs"];

/// Examples that are built but not run, with the reason.
const SKIPPED_EXAMPLES: &[(&str, &str)] = &[(
    "wuproxy",
    "hard-coded hosts 192.168.55.210 and 10.1.1.0 (the zguide's LAN): not this machine, \
     libzmq fails the same (bind EADDRNOTAVAIL); built only",
)];

/// Options of `cargo xtask compat`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// Names (a test `file::name`, a test file, or an example line's label) whose failure is
    /// reported but does not fail the run.
    pub(crate) allow_fail: Vec<String>,
}

/// Parses the arguments following `cargo xtask compat`.
pub(crate) fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--allow-fail" => {
                let name = iter.next().ok_or_else(|| "`--allow-fail` needs a name".to_owned())?;
                options.allow_fail.push(name.clone());
            }
            s if s.starts_with("--allow-fail=") => options.allow_fail.push(s["--allow-fail=".len()..].to_owned()),
            other => return Err(format!("unexpected argument for `compat`: {other}")),
        }
    }
    Ok(options)
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// The outcome of one line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Passed; an optional note (error codes, time).
    Ok(String),
    /// Failed, with the first error line or assertion.
    Failed(String),
    /// Not run, with a reason libzmq shares.
    Skipped(String),
}

/// Collects and prints the report lines.
struct Report {
    /// `--allow-fail` names.
    allow_fail: Vec<String>,
    /// Passed lines.
    passed: usize,
    /// Failed lines not covered by `--allow-fail`.
    failed: Vec<String>,
    /// Failed lines covered by `--allow-fail`.
    allowed: Vec<String>,
    /// Skipped lines.
    skipped: usize,
}

impl Report {
    /// An empty report.
    fn new(allow_fail: Vec<String>) -> Self {
        Report { allow_fail, passed: 0, failed: Vec::new(), allowed: Vec::new(), skipped: 0 }
    }

    /// Whether `name` is covered by an `--allow-fail` pattern (exactly, or as its `file::` prefix).
    fn is_allowed(&self, name: &str) -> bool {
        self.allow_fail.iter().any(|p| name == p || name.strip_prefix(p.as_str()).is_some_and(|r| r.starts_with("::")))
    }

    /// Records and prints one line: `<kind> <name> ... <outcome>`.
    fn line(&mut self, kind: &str, name: &str, outcome: Outcome) {
        let text = match &outcome {
            Outcome::Ok(note) if note.is_empty() => "ok".to_owned(),
            Outcome::Ok(note) => format!("ok ({note})"),
            Outcome::Failed(reason) => {
                if self.is_allowed(name) {
                    self.allowed.push(name.to_owned());
                    format!("FAILED (allowed): {reason}")
                } else {
                    self.failed.push(name.to_owned());
                    format!("FAILED: {reason}")
                }
            }
            Outcome::Skipped(reason) => format!("skipped: {reason}"),
        };
        match outcome {
            Outcome::Ok(_) => self.passed += 1,
            Outcome::Skipped(_) => self.skipped += 1,
            Outcome::Failed(_) => {}
        }
        println!("{kind} {name} ... {text}");
        let _ = io::stdout().flush();
    }
}

// ---------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------

/// Paths used by the harness.
struct Layout {
    /// The workspace root.
    root: PathBuf,
    /// `target/compat`.
    base: PathBuf,
    /// The scratch package that pulls `zmq` into cargo's source cache.
    fetch: PathBuf,
    /// The scratch package holding zmq's tests and examples.
    suite: PathBuf,
    /// The `zmq-sys` stand-in crate.
    standin: PathBuf,
    /// Cargo target directory of the suite.
    target: PathBuf,
    /// Working directory and logs of the examples.
    run: PathBuf,
}

impl Layout {
    /// The layout under `<workspace>/target/compat`.
    fn new() -> Self {
        let root = workspace_root();
        let base = root.join("target").join("compat");
        Layout {
            fetch: base.join("fetch"),
            suite: base.join("suite"),
            standin: base.join("zmq-sys-standin"),
            target: base.join("target"),
            run: base.join("run"),
            root,
            base,
        }
    }
}

/// `cargo xtask compat`.
pub(crate) fn compat(options: &Options) -> Result<(), Failure> {
    let start = Instant::now();
    let layout = Layout::new();
    fs::create_dir_all(&layout.base).map_err(|e| io_failure(&layout.base, e))?;

    let upstream = fetch_zmq(&layout)?;
    println!("compat: zmq {ZMQ_VERSION} source: {}", upstream.display());
    let manifest = UpstreamManifest::read(&upstream)?;
    write_standin(&layout)?;
    write_suite(&layout, &upstream, &manifest)?;
    println!(
        "compat: zmq_sys: stand-in crate {} (ZMQ_IO_THREADS_DFLT = 1, errno::EINTR = libc::EINTR) \
         for tests/context.rs and tests/error.rs; no file is patched",
        display_rel(&layout.root, &layout.standin)
    );

    let build_start = Instant::now();
    println!("compat: building the suite (cargo build --tests --examples --keep-going) ...");
    let build = build_suite(&layout)?;
    println!("compat: build finished in {:.1}s", build_start.elapsed().as_secs_f64());

    let mut report = Report::new(options.allow_fail.clone());
    if build.rustzmq_rlib.is_none() {
        let reason = build
            .errors
            .iter()
            .find(|(key, _)| key.1 == "rustzmq" || key.0 == "lib")
            .map(|(_, e)| e.clone())
            .or_else(|| build.stderr_tail.clone())
            .unwrap_or_else(|| "no rustzmq library was built".to_owned());
        report.line("build", "rustzmq", Outcome::Failed(reason));
        return finish(&report, start);
    }

    let caps = probe_capabilities(&layout, &build);
    println!(
        "compat: rustzmq reports version {}, has(\"curve\") = {}, has(\"gssapi\") = {}",
        caps.version,
        caps.has("curve"),
        caps.has("gssapi")
    );

    run_compile_fail(&layout, &upstream, &build, &mut report);
    run_tests(&layout, &upstream, &build, &caps, &mut report);
    run_examples(&layout, &manifest, &build, &mut report);
    finish(&report, start)
}

/// Prints the closing lines and turns failures into an error.
fn finish(report: &Report, start: Instant) -> Result<(), Failure> {
    if !report.allowed.is_empty() {
        println!("compat: failures allowed by --allow-fail: {}", report.allowed.join(", "));
    }
    println!("compat: took {:.0}s", start.elapsed().as_secs_f64());
    println!("compat: {} passed, {} failed, {} skipped", report.passed, report.failed.len(), report.skipped);
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::step(format!("{} compat check(s) failed", report.failed.len())))
    }
}

/// A failure for an I/O error on `path`.
fn io_failure(path: &Path, err: io::Error) -> Failure {
    Failure::step(format!("{}: {err}", path.display()))
}

/// `path` relative to `root` when it is inside it.
fn display_rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// Writes `contents` to `path` unless it already holds exactly that (keeps cargo's
/// freshness checks quiet).
fn write_if_changed(path: &Path, contents: &str) -> Result<(), Failure> {
    if fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_failure(parent, e))?;
    }
    fs::write(path, contents).map_err(|e| io_failure(path, e))
}

/// A `cargo` command (the toolchain that runs the xtask).
fn cargo_in(dir: &Path) -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(dir);
    command
}

/// Runs `command`, returning its stdout; fails with its stderr otherwise.
fn output_of(mut command: Command, what: &str) -> Result<String, Failure> {
    let output = command.output().map_err(|e| Failure::step(format!("{what}: could not start: {e}")))?;
    if !output.status.success() {
        return Err(Failure::step(format!(
            "{what} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------------
// 1. Fetching zmq 0.10.0
// ---------------------------------------------------------------------------------------------

/// Makes cargo download `zmq` 0.10.0 and returns the directory of its unpacked source.
fn fetch_zmq(layout: &Layout) -> Result<PathBuf, Failure> {
    let manifest = format!(
        "# Generated by `cargo xtask compat`: only used to make cargo fetch the zmq crate.\n\
         [package]\nname = \"zmq-compat-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\nzmq = \"={ZMQ_VERSION}\"\n"
    );
    write_if_changed(&layout.fetch.join("Cargo.toml"), &manifest)?;
    write_if_changed(&layout.fetch.join("src/lib.rs"), "")?;

    let mut fetch = cargo_in(&layout.fetch);
    fetch.args(["fetch", "--quiet"]);
    output_of(fetch, "cargo fetch (zmq)")?;

    let mut metadata = cargo_in(&layout.fetch);
    metadata.args(["metadata", "--format-version", "1", "--quiet"]);
    let text = output_of(metadata, "cargo metadata (zmq)")?;
    let json = Json::parse(&text).map_err(|e| Failure::step(format!("cargo metadata: bad JSON: {e}")))?;
    let packages = json.get("packages").and_then(Json::as_array).unwrap_or(&[]);
    for package in packages {
        let name = package.get("name").and_then(Json::as_str);
        let version = package.get("version").and_then(Json::as_str);
        if name == Some("zmq") && version == Some(ZMQ_VERSION) {
            if let Some(path) = package.get("manifest_path").and_then(Json::as_str) {
                let dir = Path::new(path).parent().map(Path::to_path_buf).unwrap_or_default();
                if dir.join("tests").is_dir() && dir.join("examples").is_dir() {
                    return Ok(dir);
                }
                return Err(Failure::step(format!("{}: no tests/ or examples/ in the zmq source", dir.display())));
            }
        }
    }
    Err(Failure::step(format!("cargo metadata did not list zmq {ZMQ_VERSION}")))
}

/// What the harness takes from zmq's (normalized) Cargo.toml.
struct UpstreamManifest {
    /// The package edition.
    edition: String,
    /// `[dev-dependencies.NAME]` tables, verbatim (trybuild left out).
    dev_dependencies: Vec<String>,
    /// `[[example]]` tables, verbatim.
    example_tables: Vec<String>,
    /// Example names, in manifest order.
    examples: Vec<String>,
}

impl UpstreamManifest {
    /// Reads `dir/Cargo.toml`.
    fn read(dir: &Path) -> Result<Self, Failure> {
        let path = dir.join("Cargo.toml");
        let text = fs::read_to_string(&path).map_err(|e| io_failure(&path, e))?;
        Ok(Self::parse(&text))
    }

    /// Splits the manifest into tables (the normalized manifests cargo publishes have one
    /// header line per table) and keeps the ones the suite needs.
    fn parse(text: &str) -> Self {
        let mut tables: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                tables.push((trimmed.to_owned(), String::new()));
            }
            if let Some((_, body)) = tables.last_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        let mut manifest = UpstreamManifest {
            edition: "2018".to_owned(),
            dev_dependencies: Vec::new(),
            example_tables: Vec::new(),
            examples: Vec::new(),
        };
        for (header, body) in tables {
            if header == "[package]" {
                if let Some(edition) = toml_string_value(&body, "edition") {
                    manifest.edition = edition;
                }
            } else if let Some(name) = header.strip_prefix("[dev-dependencies.").and_then(|h| h.strip_suffix(']')) {
                // trybuild is only used by compile-tests.rs, which the harness replaces.
                if name != "trybuild" {
                    manifest.dev_dependencies.push(body);
                }
            } else if header == "[[example]]" {
                if let Some(name) = toml_string_value(&body, "name") {
                    manifest.examples.push(name);
                }
                manifest.example_tables.push(body);
            }
        }
        manifest
    }
}

/// The value of `key = "value"` in a table body.
fn toml_string_value(body: &str, key: &str) -> Option<String> {
    body.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

// ---------------------------------------------------------------------------------------------
// 2. The scratch suite package
// ---------------------------------------------------------------------------------------------

/// Writes the `zmq-sys` stand-in crate.
fn write_standin(layout: &Layout) -> Result<(), Failure> {
    let manifest = "# Generated by `cargo xtask compat`: stand-in for zmq-sys 0.12 in zmq 0.10's test suite.\n\
         [package]\nname = \"zmq-sys\"\nversion = \"0.12.0\"\nedition = \"2018\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\nlibc = \"0.2\"\n";
    let lib = "//! Stand-in for `zmq-sys` 0.12, written by `cargo xtask compat`: only the items that the\n\
         //! `zmq` 0.10.0 test suite names directly (`tests/context.rs`, `tests/error.rs`), with the\n\
         //! values of libzmq 4.3's `zmq.h` and the platform's errno. Nothing links libzmq.\n\n\
         /// `ZMQ_IO_THREADS_DFLT` from `zmq.h`.\n\
         pub const ZMQ_IO_THREADS_DFLT: u32 = 1;\n\n\
         /// POSIX error numbers, as `zmq_sys::errno` re-exports them.\n\
         pub mod errno {\n    /// `EINTR`.\n    pub const EINTR: i32 = libc::EINTR;\n}\n";
    write_if_changed(&layout.standin.join("Cargo.toml"), manifest)?;
    write_if_changed(&layout.standin.join("src/lib.rs"), lib)
}

/// Name of the harness' own probe example (reports `has()` and `version()`).
const PROBE: &str = "compat-probe";

/// Writes the suite package and copies zmq's tests and examples into it.
fn write_suite(layout: &Layout, upstream: &Path, manifest: &UpstreamManifest) -> Result<(), Failure> {
    let rustzmq = layout.root.join("crates").join("rustzmq");
    let mut toml = String::new();
    let _ = write!(
        toml,
        "# Generated by `cargo xtask compat` from zmq {ZMQ_VERSION}'s Cargo.toml; rewritten on every run.\n\
         [package]\nname = \"zmq-compat-suite\"\nversion = \"0.0.0\"\nedition = \"{edition}\"\npublish = false\n\
         autobenches = false\n\n\
         [workspace]\n\n\
         [dependencies]\nzmq = {{ package = \"rustzmq\", path = \"{rustzmq}\" }}\n\n\
         [dev-dependencies]\nzmq-sys = {{ path = \"{standin}\" }}\n\n",
        edition = manifest.edition,
        rustzmq = rustzmq.display(),
        standin = layout.standin.display(),
    );
    for table in &manifest.dev_dependencies {
        toml.push_str(table);
    }
    toml.push('\n');
    for table in &manifest.example_tables {
        toml.push_str(table);
    }
    let _ = write!(toml, "\n[[example]]\nname = \"{PROBE}\"\npath = \"{PROBE}.rs\"\n");
    write_if_changed(&layout.suite.join("Cargo.toml"), &toml)?;
    write_if_changed(
        &layout.suite.join(format!("{PROBE}.rs")),
        "// Written by `cargo xtask compat`: what the harness needs to know about the zmq under test.\n\
         fn main() {\n    let (major, minor, patch) = zmq::version();\n    \
         println!(\"version {}.{}.{}\", major, minor, patch);\n    \
         for cap in &[\"curve\", \"gssapi\", \"plain\", \"ipc\"] {\n        \
         println!(\"has {} {}\", cap, zmq::has(cap).unwrap());\n    }\n}\n",
    )?;

    // Start from our workspace's lock file, so rustzmq's dependencies resolve to the versions
    // we test with; cargo adds the dev-dependencies (once; later runs reuse the suite's lock).
    let lock = layout.suite.join("Cargo.lock");
    if !lock.exists() {
        let _ = fs::copy(layout.root.join("Cargo.lock"), &lock);
    }

    for dir in ["tests", "examples"] {
        let dest = layout.suite.join(dir);
        sync_tree(&upstream.join(dir), &dest, &|rel: &Path| {
            dir != "tests"
                || !(REPLACED_TEST_FILES.iter().any(|f| rel == Path::new(f)) || rel.starts_with("compile-fail"))
        })?;
    }
    Ok(())
}

/// Makes `dest` an exact copy of the files of `src` accepted by `keep` (relative paths);
/// unchanged files are not rewritten.
fn sync_tree(src: &Path, dest: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<(), Failure> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(base, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(base) {
                out.push(rel.to_path_buf());
            }
        }
        Ok(())
    }
    let mut wanted = Vec::new();
    walk(src, src, &mut wanted).map_err(|e| io_failure(src, e))?;
    wanted.retain(|rel| keep(rel));
    let mut present = Vec::new();
    if dest.is_dir() {
        walk(dest, dest, &mut present).map_err(|e| io_failure(dest, e))?;
    }
    for rel in present.iter().filter(|rel| !wanted.contains(rel)) {
        let _ = fs::remove_file(dest.join(rel));
    }
    for rel in &wanted {
        let from = src.join(rel);
        let to = dest.join(rel);
        let data = fs::read(&from).map_err(|e| io_failure(&from, e))?;
        if fs::read(&to).is_ok_and(|old| old == data) {
            continue;
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| io_failure(parent, e))?;
        }
        fs::write(&to, data).map_err(|e| io_failure(&to, e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Building
// ---------------------------------------------------------------------------------------------

/// What one `cargo build` of the suite produced.
#[derive(Default)]
struct Build {
    /// Test binaries by target name.
    tests: BTreeMap<String, PathBuf>,
    /// Example binaries by target name.
    examples: BTreeMap<String, PathBuf>,
    /// rustzmq's rlib (for the compile-fail checks).
    rustzmq_rlib: Option<PathBuf>,
    /// The first compile error of each (kind, target name).
    errors: BTreeMap<(String, String), String>,
    /// The end of cargo's stderr, when the build failed.
    stderr_tail: Option<String>,
}

impl Build {
    /// The first error of a target, if it did not build.
    fn error(&self, kind: &str, name: &str) -> Option<&String> {
        self.errors.get(&(kind.to_owned(), name.to_owned()))
    }
}

/// Builds every test and example of the suite once.
fn build_suite(layout: &Layout) -> Result<Build, Failure> {
    let log_path = layout.base.join("build.log");
    let log = File::create(&log_path).map_err(|e| io_failure(&log_path, e))?;
    let mut command = cargo_in(&layout.suite);
    command
        .args(["build", "--tests", "--examples", "--keep-going", "--message-format=json"])
        .env("CARGO_TARGET_DIR", &layout.target)
        .stdout(Stdio::piped())
        .stderr(log);
    let output = command.output().map_err(|e| Failure::step(format!("cargo build (suite): could not start: {e}")))?;
    let mut build = Build::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = Json::parse(line) else { continue };
        let reason = message.get("reason").and_then(Json::as_str).unwrap_or("");
        let target = message.get("target");
        let name = target.and_then(|t| t.get("name")).and_then(Json::as_str).unwrap_or("").to_owned();
        let kinds: Vec<&str> = target
            .and_then(|t| t.get("kind"))
            .and_then(Json::as_array)
            .map(|k| k.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let kind = kinds.first().copied().unwrap_or("").to_owned();
        match reason {
            "compiler-artifact" => {
                let executable = message.get("executable").and_then(Json::as_str).map(PathBuf::from);
                match (kind.as_str(), executable) {
                    ("test", Some(exe)) => {
                        build.tests.insert(name.clone(), exe);
                    }
                    ("example", Some(exe)) => {
                        build.examples.insert(name.clone(), exe);
                    }
                    _ => {}
                }
                if name == "rustzmq" && kinds.contains(&"lib") {
                    let files = message.get("filenames").and_then(Json::as_array).unwrap_or(&[]);
                    build.rustzmq_rlib =
                        files.iter().filter_map(Json::as_str).find(|f| f.ends_with(".rlib")).map(PathBuf::from);
                }
            }
            "compiler-message" => {
                let Some(diagnostic) = message.get("message") else { continue };
                if diagnostic.get("level").and_then(Json::as_str) == Some("error") {
                    let text = describe_diagnostic(diagnostic);
                    if !text.starts_with("aborting due to") {
                        build.errors.entry((kind, name)).or_insert(text);
                    }
                }
            }
            _ => {}
        }
    }
    if !output.status.success() {
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().filter(|l| l.trim_start().starts_with("error")).take(3).collect();
        build.stderr_tail = Some(tail.into_iter().rev().collect::<Vec<_>>().join(" | "));
    }
    Ok(build)
}

/// One line for a rustc diagnostic: `error[E0599]: message (file:line)`.
fn describe_diagnostic(diagnostic: &Json) -> String {
    let message = diagnostic.get("message").and_then(Json::as_str).unwrap_or("?");
    let code = diagnostic.get("code").and_then(|c| c.get("code")).and_then(Json::as_str);
    let spans = diagnostic.get("spans").and_then(Json::as_array).unwrap_or(&[]);
    let primary = spans.iter().find(|s| s.get("is_primary").and_then(Json::as_bool) == Some(true));
    let location = primary
        .map(|s| {
            let file = s.get("file_name").and_then(Json::as_str).unwrap_or("?");
            let line = s.get("line_start").and_then(Json::as_f64).unwrap_or(0.0);
            format!(" ({file}:{line})")
        })
        .unwrap_or_default();
    match code {
        Some(code) => format!("error[{code}]: {message}{location}"),
        None => format!("{message}{location}"),
    }
}

/// What the probe example reported.
struct Capabilities {
    /// `version()` as `a.b.c`, or `?`.
    version: String,
    /// `has(name)` for the names the probe asks about.
    has: BTreeMap<String, bool>,
}

impl Capabilities {
    /// `has(name)`; false when unknown.
    fn has(&self, name: &str) -> bool {
        self.has.get(name).copied().unwrap_or(false)
    }
}

/// Runs the probe example.
fn probe_capabilities(layout: &Layout, build: &Build) -> Capabilities {
    let mut caps = Capabilities { version: "?".to_owned(), has: BTreeMap::new() };
    let Some(exe) = build.examples.get(PROBE) else { return caps };
    let Ok(output) = Command::new(exe).current_dir(&layout.suite).output() else { return caps };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["version", v] => caps.version = (*v).to_owned(),
            ["has", cap, value] => {
                caps.has.insert((*cap).to_owned(), *value == "true");
            }
            _ => {}
        }
    }
    caps
}

// ---------------------------------------------------------------------------------------------
// 4a. Compile-fail tests
// ---------------------------------------------------------------------------------------------

/// Checks that each `tests/compile-fail/*.rs` fails to compile with its `.stderr`'s error codes.
fn run_compile_fail(layout: &Layout, upstream: &Path, build: &Build, report: &mut Report) {
    let dir = upstream.join("tests").join("compile-fail");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    files.sort();
    let Some(rlib) = &build.rustzmq_rlib else { return };
    let deps = rlib.parent().unwrap_or(Path::new("."));
    let out_dir = layout.base.join("compile-fail");
    let _ = fs::create_dir_all(&out_dir);
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let expected: BTreeSet<String> =
            fs::read_to_string(file.with_extension("stderr")).map(|t| error_codes_in_text(&t)).unwrap_or_default();
        let output = Command::new(&rustc)
            .args(["--edition", "2018", "--crate-type", "bin", "--emit", "metadata", "--error-format", "json"])
            .arg("--crate-name")
            .arg(name.trim_end_matches(".rs").replace('-', "_"))
            .arg("--out-dir")
            .arg(&out_dir)
            .arg("-L")
            .arg(format!("dependency={}", deps.display()))
            .arg("--extern")
            .arg(format!("zmq={}", rlib.display()))
            .arg(&file)
            .output();
        let outcome = match output {
            Err(e) => Outcome::Failed(format!("could not start rustc: {e}")),
            Ok(output) => {
                let mut got = BTreeSet::new();
                let mut first_error = None;
                for line in String::from_utf8_lossy(&output.stderr).lines() {
                    let Ok(diagnostic) = Json::parse(line) else { continue };
                    if diagnostic.get("level").and_then(Json::as_str) != Some("error") {
                        continue;
                    }
                    if let Some(code) = diagnostic.get("code").and_then(|c| c.get("code")).and_then(Json::as_str) {
                        got.insert(code.to_owned());
                        first_error.get_or_insert_with(|| describe_diagnostic(&diagnostic));
                    }
                }
                let codes = got.iter().cloned().collect::<Vec<_>>().join(", ");
                if output.status.success() {
                    Outcome::Failed("compiles, but must not".to_owned())
                } else if expected.is_empty() {
                    Outcome::Failed("no error code in the stored .stderr".to_owned())
                } else if got == expected {
                    Outcome::Ok(codes)
                } else {
                    let want = expected.iter().cloned().collect::<Vec<_>>().join(", ");
                    Outcome::Failed(format!(
                        "expected {want}, got [{codes}]: {}",
                        first_error.unwrap_or_else(|| "no error code".to_owned())
                    ))
                }
            }
        };
        report.line("compile-fail", &name, outcome);
    }
}

/// The `error[E....]` codes in a stored stderr text.
fn error_codes_in_text(text: &str) -> BTreeSet<String> {
    text.match_indices("error[E")
        .filter_map(|(i, _)| {
            let rest = &text[i + "error[".len()..];
            rest.find(']').map(|end| rest[..end].to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 4b. Test binaries
// ---------------------------------------------------------------------------------------------

/// Runs every test binary built from zmq's `tests/*.rs`.
fn run_tests(layout: &Layout, upstream: &Path, build: &Build, caps: &Capabilities, report: &mut Report) {
    let tests_dir = upstream.join("tests");
    let mut files: Vec<String> = fs::read_dir(&tests_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".rs") && !REPLACED_TEST_FILES.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let log_dir = layout.base.join("test-logs");
    let _ = fs::create_dir_all(&log_dir);
    for file in files {
        let target = file.trim_end_matches(".rs").to_owned();
        let gated = capability_gated_tests(&tests_dir, &file);
        let Some(exe) = build.tests.get(&target) else {
            let reason = build
                .error("test", &target)
                .cloned()
                .map(|e| format!("does not compile: {e}"))
                .unwrap_or_else(|| "not built (see target/compat/build.log)".to_owned());
            report.line("test", &format!("{target}::*"), Outcome::Failed(reason));
            continue;
        };
        let results = run_test_binary(exe, &layout.suite, &log_dir.join(format!("{target}.log")));
        match results {
            Err(reason) => report.line("test", &format!("{target}::*"), Outcome::Failed(reason)),
            Ok(results) => {
                for (name, outcome) in results {
                    let short = name.rsplit("::").next().unwrap_or(&name);
                    let outcome = match gated.get(short) {
                        Some(cap) if !caps.has(cap) => {
                            if SKIPPABLE_CAPABILITIES.contains(&cap.as_str()) {
                                Outcome::Skipped(format!(
                                    "{} (has(\"{cap}\") is false; libzmq 4.3 and zmq 0.10's vendored build lack it too)",
                                    cap.to_uppercase()
                                ))
                            } else {
                                Outcome::Failed(format!(
                                    "has(\"{cap}\") is false, so the test body did not run ({} not implemented)",
                                    cap.to_uppercase()
                                ))
                            }
                        }
                        _ => outcome,
                    };
                    report.line("test", &format!("{target}::{name}"), outcome);
                }
            }
        }
    }
}

/// Tests defined with `test_capability!(name, "cap", ...)` in a test file, by name.
fn capability_gated_tests(dir: &Path, file: &str) -> BTreeMap<String, String> {
    let text = fs::read_to_string(dir.join(file)).unwrap_or_default();
    let mut gated = BTreeMap::new();
    for (i, _) in text.match_indices("test_capability!(") {
        let rest = &text[i + "test_capability!(".len()..];
        let mut parts = rest.splitn(3, ',');
        let (Some(name), Some(cap)) = (parts.next(), parts.next()) else { continue };
        let name = name.trim();
        let cap = cap.trim().trim_matches('"');
        if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            gated.insert(name.to_owned(), cap.to_owned());
        }
    }
    gated
}

/// Runs one libtest binary with a time limit; returns each test's outcome.
fn run_test_binary(exe: &Path, cwd: &Path, log: &Path) -> Result<Vec<(String, Outcome)>, String> {
    let list = Command::new(exe)
        .args(["--list"])
        .current_dir(cwd)
        .output()
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test").map(str::to_owned))
        .collect();

    let file = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new(exe)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    let started = Instant::now();
    let timed_out = loop {
        match child.try_wait() {
            Ok(Some(_)) => break false,
            Ok(None) if started.elapsed() > TEST_BINARY_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break true;
            }
            Ok(None) => thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for {}: {e}", exe.display())),
        }
    };
    let output = fs::read_to_string(log).unwrap_or_default();
    let parsed = parse_libtest_output(&output);
    let mut results = Vec::new();
    for name in &names {
        let outcome = match parsed.get(name) {
            Some(outcome) => outcome.clone(),
            None if timed_out => {
                Outcome::Failed(format!("hangs: no result after {}s (binary killed)", TEST_BINARY_TIMEOUT.as_secs()))
            }
            None => Outcome::Failed(
                panic_reason(&output)
                    .map(|r| format!("binary aborted: {r}"))
                    .unwrap_or_else(|| "binary ended without a result for this test".to_owned()),
            ),
        };
        results.push((name.clone(), outcome));
    }
    if names.is_empty() {
        return Err(format!("no tests listed by {}", exe.display()));
    }
    Ok(results)
}

/// Parses libtest's pretty output: `test NAME ... ok|FAILED|ignored` and the failure sections.
fn parse_libtest_output(output: &str) -> BTreeMap<String, Outcome> {
    let mut results = BTreeMap::new();
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            current = Some(rest.to_owned());
            continue;
        }
        if line == "failures:" || line.starts_with("test result:") {
            current = None;
        }
        if let Some(name) = &current {
            let section = sections.entry(name.clone()).or_default();
            section.push_str(line);
            section.push('\n');
            continue;
        }
        if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, status)) = rest.split_once(" ... ") {
                let outcome = match status.trim() {
                    "ok" => Outcome::Ok(String::new()),
                    s if s.starts_with("ignored") => Outcome::Skipped(format!("#[ignore] upstream ({s})")),
                    s if s.starts_with("FAILED") => Outcome::Failed(String::new()),
                    _ => continue,
                };
                results.insert(name.to_owned(), outcome);
            }
        }
    }
    for (name, outcome) in results.iter_mut() {
        if let Outcome::Failed(reason) = outcome {
            let section = sections.get(name).map(String::as_str).unwrap_or("");
            *reason = panic_reason(section).unwrap_or_else(|| "failed (no panic message)".to_owned());
        }
    }
    results
}

/// The first panic in `text` as `message (file:line:col)`, the message cut to three lines.
fn panic_reason(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(pos) = line.find("panicked at ") else { continue };
        let after = &line[pos + "panicked at ".len()..];
        // Rust >= 1.73: "panicked at file:line:col:" then the message on the next lines.
        if let Some(location) = after.strip_suffix(':') {
            let message: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| !l.is_empty() && !l.starts_with("note: ") && !l.starts_with("thread '"))
                .take(3)
                .map(|l| l.trim())
                .collect();
            if location.contains("timebomb") {
                return Some("timed out: the test body did not finish within timebomb's 10 s".to_owned());
            }
            return Some(format!("{} ({location})", message.join(" ")));
        }
        return Some(after.to_owned());
    }
    None
}

// ---------------------------------------------------------------------------------------------
// 4c. Examples
// ---------------------------------------------------------------------------------------------

/// One step of a scenario.
enum Action {
    /// Start an example as process `id`.
    Start {
        /// Process id in the scenario (`taskwork#2`).
        id: String,
        /// Example (cargo target) name.
        example: &'static str,
        /// Command-line arguments.
        args: Vec<&'static str>,
        /// Keep a pipe to its stdin.
        stdin: bool,
    },
    /// Wait.
    Sleep(Duration),
    /// Write to the stdin of process `id`.
    Stdin(String, &'static str),
    /// Connect to 127.0.0.1:port (retrying for 3 s), send the text and keep the connection open.
    TcpSend(u16, &'static str),
    /// Wait (up to 10 s) until something listens on 127.0.0.1:port, as a person running the
    /// zguide would start clients only once the server is up.
    AwaitListening(u16),
    /// Wait (up to 10 s) until at least n TCP connections to local port `port` are
    /// established (read from /proc/net/tcp and tcp6).
    AwaitConnections(u16, usize),
}

/// What a scenario checks.
enum Check {
    /// The process exits by itself with status 0.
    ExitsOk(String),
    /// The process is still running at the end (servers, brokers).
    Alive(String),
    /// The process prints this text.
    Prints(String, &'static str),
    /// The process never prints this text.
    NeverPrints(String, &'static str),
}

/// A run of one or more examples together.
struct Scenario {
    /// The report line's name.
    label: String,
    /// Fixed ports the examples bind (checked free beforehand).
    ports: &'static [u16],
    /// Time limit.
    deadline: Duration,
    /// Keep running at least this long (for checks that processes stay up).
    min_run: Duration,
    /// Steps, in order.
    actions: Vec<Action>,
    /// Conditions for `ok`.
    checks: Vec<Check>,
}

impl Scenario {
    /// A scenario with no steps yet.
    fn new(label: &str, ports: &'static [u16], deadline_secs: u64) -> Self {
        Scenario {
            label: label.to_owned(),
            ports,
            deadline: Duration::from_secs(deadline_secs),
            min_run: Duration::ZERO,
            actions: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// Adds a `Start` step.
    fn start(mut self, id: &str, example: &'static str, args: &[&'static str]) -> Self {
        self.actions.push(Action::Start { id: id.to_owned(), example, args: args.to_vec(), stdin: false });
        self
    }

    /// Adds a `Start` step with a pipe to the process' stdin.
    fn start_piped(mut self, id: &str, example: &'static str) -> Self {
        self.actions.push(Action::Start { id: id.to_owned(), example, args: Vec::new(), stdin: true });
        self
    }

    /// Adds a `Sleep` step.
    fn sleep_ms(mut self, ms: u64) -> Self {
        self.actions.push(Action::Sleep(Duration::from_millis(ms)));
        self
    }

    /// Adds a `Stdin` step.
    fn stdin(mut self, id: &str, text: &'static str) -> Self {
        self.actions.push(Action::Stdin(id.to_owned(), text));
        self
    }

    /// Adds an `AwaitListening` step.
    fn await_listening(mut self, port: u16) -> Self {
        self.actions.push(Action::AwaitListening(port));
        self
    }

    /// Adds an `AwaitConnections` step.
    fn await_connections(mut self, port: u16, count: usize) -> Self {
        self.actions.push(Action::AwaitConnections(port, count));
        self
    }

    /// Adds a `TcpSend` step.
    fn tcp_send(mut self, port: u16, text: &'static str) -> Self {
        self.actions.push(Action::TcpSend(port, text));
        self
    }

    /// Adds a check.
    fn check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    /// Sets the minimum run time.
    fn min_run_ms(mut self, ms: u64) -> Self {
        self.min_run = Duration::from_millis(ms);
        self
    }

    /// The examples it starts.
    fn examples(&self) -> BTreeSet<&'static str> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::Start { example, .. } => Some(*example),
                _ => None,
            })
            .collect()
    }
}

/// `Check::ExitsOk`.
fn exits_ok(id: &str) -> Check {
    Check::ExitsOk(id.to_owned())
}

/// `Check::Alive`.
fn alive(id: &str) -> Check {
    Check::Alive(id.to_owned())
}

/// `Check::Prints`.
fn prints(id: &str, text: &'static str) -> Check {
    Check::Prints(id.to_owned(), text)
}

/// The scenarios, in the order they run.
fn scenarios() -> Vec<Scenario> {
    let mut list = Vec::new();
    // Examples that end by themselves: exit 0 in time.
    for (name, ports) in [
        ("version", &[][..]),
        ("msgsend", &[][..]),
        ("mtrelay", &[][..]),
        ("lbbroker", &[][..]),
        ("fileio3", &[6000][..]),
        ("rtdealer", &[5671][..]),
        ("rtreq", &[5671][..]),
        ("asyncsrv", &[5570][..]),
    ] {
        list.push(Scenario::new(name, ports, 20).start(name, name, &[]).check(exits_ok(name)));
    }
    list.push(
        Scenario::new("helloworld_server+helloworld_client", &[5555], 20)
            .start("helloworld_server", "helloworld_server", &[])
            .start("helloworld_client", "helloworld_client", &[])
            .check(exits_ok("helloworld_client"))
            .check(prints("helloworld_client", "Received World World: 9"))
            .check(prints("helloworld_server", "Received Hello"))
            .check(alive("helloworld_server")),
    );
    list.push(
        Scenario::new("mtserver+helloworld_client", &[5555], 20)
            .start("mtserver", "mtserver", &[])
            .start("helloworld_client", "helloworld_client", &[])
            .check(exits_ok("helloworld_client"))
            .check(prints("helloworld_client", "Received World World: 9"))
            .check(alive("mtserver")),
    );
    for broker in ["rrbroker", "msgqueue"] {
        list.push(
            Scenario::new(&format!("rrclient+{broker}+rrworker"), &[5559, 5560], 20)
                .start(broker, broker, &[])
                .start("rrworker", "rrworker", &[])
                .start("rrclient", "rrclient", &[])
                .check(exits_ok("rrclient"))
                .check(prints("rrclient", "Received reply 9 World"))
                .check(prints("rrworker", "Received request:Hello"))
                .check(alive(broker))
                .check(alive("rrworker")),
        );
    }
    // Divide and conquer: the ventilator waits for Enter before sending 100 tasks.
    let mut tasks = Scenario::new("taskvent+taskwork+tasksink", &[5557, 5558], 20).start("tasksink", "tasksink", &[]);
    for i in 1..=3 {
        tasks = tasks.start(&format!("taskwork#{i}"), "taskwork", &[]).check(alive(&format!("taskwork#{i}")));
    }
    list.push(
        tasks
            .start_piped("taskvent", "taskvent")
            .sleep_ms(1000)
            .stdin("taskvent", "\n")
            .check(exits_ok("taskvent"))
            .check(exits_ok("tasksink"))
            .check(prints("tasksink", "Total elapsed time")),
    );
    let mut tasks2 =
        Scenario::new("taskvent+taskwork2+tasksink2", &[5557, 5558, 5559], 20).start("tasksink2", "tasksink2", &[]);
    for i in 1..=3 {
        tasks2 = tasks2.start(&format!("taskwork2#{i}"), "taskwork2", &[]).check(exits_ok(&format!("taskwork2#{i}")));
    }
    list.push(
        tasks2
            .start_piped("taskvent", "taskvent")
            .sleep_ms(1000)
            .stdin("taskvent", "\n")
            .check(exits_ok("taskvent"))
            .check(exits_ok("tasksink2"))
            .check(prints("tasksink2", "Total elapsed time")),
    );
    // Node coordination: 10 subscribers, then 1,000,000 messages each. The zguide runs syncpub
    // first; subscribers started before it listens would have their first connects refused,
    // and one whose retry comes after the broadcast began misses it (the example's own
    // slow-joiner race, with libzmq too), so they start once syncpub listens. The same race
    // remains inside syncsub: its SUB connects 1 ms before its REQ asks to start, and only
    // that head start puts the subscription ahead of the broadcast. Ten of them starting at
    // once on a 2-core machine can lose it (one received 984,911 of 1,000,000 in CI), so each
    // starts once the previous one's SUB is connected, as a person starting them by hand would.
    let mut sync =
        Scenario::new("syncpub+10 syncsub", &[5561, 5562], 45).start("syncpub", "syncpub", &[]).await_listening(5562);
    for i in 1..=10 {
        let id = format!("syncsub#{i}");
        sync = sync
            .start(&id, "syncsub", &[])
            .await_connections(5561, i)
            .check(exits_ok(&id))
            .check(Check::Prints(id.clone(), "Received 1000000 updates"));
    }
    list.push(sync.check(exits_ok("syncpub")));
    // The default filter "10001" matches 1 update in 100,000 (10M updates for the 100 it
    // averages); the zip-code prefix "1" (argv[1], as the zguide allows) matches 1 in 10.
    list.push(
        Scenario::new("weather_server+weather_client", &[5556], 30)
            .start("weather_server", "weather_server", &[])
            .start("weather_client", "weather_client", &["1"])
            .check(exits_ok("weather_client"))
            .check(prints("weather_client", "Average temperature for zipcode '1' was"))
            .check(alive("weather_server")),
    );
    list.push(
        Scenario::new("psenvpub+psenvsub", &[5563], 10)
            .start("psenvpub", "psenvpub", &[])
            .start("psenvsub", "psenvsub", &[])
            .min_run_ms(2000)
            .check(prints("psenvsub", "[B] We would like to see this"))
            .check(Check::NeverPrints("psenvsub".to_owned(), "[A]"))
            .check(alive("psenvpub"))
            .check(alive("psenvsub")),
    );
    // pathopub sends every topic once, 1 s after binding; pathosub subscribes to one of them.
    list.push(
        Scenario::new("pathopub+pathosub", &[5556], 10)
            .start("pathopub", "pathopub", &[])
            .start("pathosub", "pathosub", &[])
            .check(prints("pathosub", "Save Roger"))
            .check(alive("pathopub"))
            .check(alive("pathosub")),
    );
    // Last value cache: pathosub joins after the burst and gets its topic from the cache.
    list.push(
        Scenario::new("lvcache+pathopub+pathosub", &[5557, 5558], 12)
            .start("lvcache", "lvcache", &[])
            .start("pathopub", "pathopub", &["tcp://*:5557"])
            .sleep_ms(2500)
            .start("pathosub", "pathosub", &["tcp://localhost:5558"])
            .check(prints("lvcache", "Sending cached topic"))
            .check(prints("pathosub", "Save Roger"))
            .check(alive("lvcache"))
            .check(alive("pathopub"))
            .check(alive("pathosub")),
    );
    // Multiple sockets: the reader drains taskvent's tasks and weather updates without a
    // failure (neither prints anything).
    for reader in ["msreader", "mspoller"] {
        list.push(
            Scenario::new(&format!("{reader}+weather_server+taskvent+tasksink"), &[5556, 5557, 5558], 15)
                .start("weather_server", "weather_server", &[])
                .start("tasksink", "tasksink", &[])
                .start(reader, reader, &[])
                .start_piped("taskvent", "taskvent")
                .sleep_ms(1000)
                .stdin("taskvent", "\n")
                .min_run_ms(3000)
                .check(exits_ok("taskvent"))
                .check(alive(reader))
                .check(alive("weather_server")),
        );
    }
    list.push(
        Scenario::new("stream-logserver", &[8888], 10)
            .start("stream-logserver", "stream-logserver", &[])
            .tcp_send(8888, "hello from compat\n")
            .check(prints("stream-logserver", "Message : hello from compat"))
            .check(alive("stream-logserver")),
    );
    list
}

/// A running example.
struct Proc {
    /// Scenario-local id.
    id: String,
    /// The child process.
    child: Child,
    /// Its stdin, when piped.
    stdin: Option<ChildStdin>,
    /// Its combined stdout/stderr.
    log: PathBuf,
    /// Exit status, once it exited by itself.
    status: Option<ExitStatus>,
}

impl Proc {
    /// What it printed so far.
    fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls for its exit.
    fn poll(&mut self) {
        if self.status.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
            }
        }
    }
}

/// Every process of a scenario; killed (and reaped) on drop.
#[derive(Default)]
struct Procs(Vec<Proc>);

impl Procs {
    /// The process with this id.
    fn get(&self, id: &str) -> Option<&Proc> {
        self.0.iter().find(|p| p.id == id)
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for proc in &mut self.0 {
            if proc.status.is_none() {
                let _ = proc.child.kill();
                let _ = proc.child.wait();
            }
        }
    }
}

/// Runs every example: alone or in its scenario; prints one line each.
fn run_examples(layout: &Layout, manifest: &UpstreamManifest, build: &Build, report: &mut Report) {
    let scenarios = scenarios();
    let covered: BTreeSet<&str> = scenarios.iter().flat_map(|s| s.examples()).collect();
    let _ = fs::remove_dir_all(&layout.run);
    for scenario in &scenarios {
        let outcome = run_scenario(layout, scenario, build);
        report.line("example", &scenario.label, outcome);
    }
    for (name, reason) in SKIPPED_EXAMPLES {
        let outcome = match build.error("example", name) {
            Some(error) => Outcome::Failed(format!("does not compile: {error}")),
            None if !build.examples.contains_key(*name) => Outcome::Failed("not built".to_owned()),
            None => Outcome::Skipped((*reason).to_owned()),
        };
        report.line("example", name, outcome);
    }
    for name in &manifest.examples {
        if !covered.contains(name.as_str()) && !SKIPPED_EXAMPLES.iter().any(|(n, _)| n == name) {
            report.line("example", name, Outcome::Failed("no scenario for it in xtask/src/compat.rs".to_owned()));
        }
    }
}

/// Runs one scenario and judges it.
fn run_scenario(layout: &Layout, scenario: &Scenario, build: &Build) -> Outcome {
    for example in scenario.examples() {
        if let Some(error) = build.error("example", example) {
            return Outcome::Failed(format!("{example} does not compile: {error}"));
        }
        if !build.examples.contains_key(example) {
            return Outcome::Failed(format!("{example} was not built"));
        }
    }
    for port in scenario.ports {
        if TcpListener::bind(("0.0.0.0", *port)).is_err() {
            return Outcome::Failed(format!("port {port} is in use by another process before the start"));
        }
    }
    let dir = layout.run.join(scenario.label.replace(['+', ' '], "_"));
    let _ = fs::create_dir_all(&dir);
    let start = Instant::now();
    let mut procs = Procs::default();
    let mut streams = Vec::new();
    for action in &scenario.actions {
        match action {
            Action::Start { id, example, args, stdin } => {
                let log = dir.join(format!("{}.log", id.replace('#', "-")));
                let Ok(file) = File::create(&log) else {
                    return Outcome::Failed(format!("cannot create {}", log.display()));
                };
                let Ok(err) = file.try_clone() else { return Outcome::Failed("cannot clone a log handle".to_owned()) };
                let mut command = Command::new(&build.examples[*example]);
                command
                    .args(args)
                    .current_dir(&dir)
                    .env("RUST_BACKTRACE", "0")
                    .stdin(if *stdin { Stdio::piped() } else { Stdio::null() })
                    .stdout(file)
                    .stderr(err);
                match command.spawn() {
                    Ok(mut child) => {
                        let stdin = child.stdin.take();
                        procs.0.push(Proc { id: id.clone(), child, stdin, log, status: None });
                    }
                    Err(e) => return Outcome::Failed(format!("could not start {example}: {e}")),
                }
            }
            Action::Sleep(duration) => thread::sleep(*duration),
            Action::Stdin(id, text) => {
                if let Some(pipe) = procs.0.iter_mut().find(|p| &p.id == id).and_then(|p| p.stdin.as_mut()) {
                    let _ = pipe.write_all(text.as_bytes());
                    let _ = pipe.flush();
                }
            }
            Action::AwaitListening(port) => {
                let until = Instant::now() + Duration::from_secs(10);
                // A probe connection, closed at once; a ZMTP server treats it as a peer that left.
                while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                    if Instant::now() > until {
                        return Outcome::Failed(format!("nothing listens on port {port} after 10 s"));
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            }
            Action::AwaitConnections(port, count) => {
                let until = Instant::now() + Duration::from_secs(10);
                while established_to(*port) < *count {
                    if Instant::now() > until {
                        return Outcome::Failed(format!("fewer than {count} connections to port {port} after 10 s"));
                    }
                    thread::sleep(Duration::from_millis(5));
                }
            }
            Action::TcpSend(port, text) => {
                let until = Instant::now() + Duration::from_secs(3);
                loop {
                    match TcpStream::connect(("127.0.0.1", *port)) {
                        Ok(mut stream) => {
                            let _ = stream.write_all(text.as_bytes());
                            streams.push(stream);
                            break;
                        }
                        Err(e) if Instant::now() > until => {
                            return Outcome::Failed(format!("could not connect to port {port}: {e}"))
                        }
                        Err(_) => thread::sleep(Duration::from_millis(50)),
                    }
                }
            }
        }
    }

    // Wait until every condition that can become true holds, or something fails.
    let verdict = loop {
        for proc in &mut procs.0 {
            proc.poll();
        }
        if let Some(reason) = crashed(&procs) {
            break Err(reason);
        }
        let pending = pending_checks(scenario, &procs);
        let elapsed = start.elapsed();
        if pending.is_empty() && elapsed >= scenario.min_run {
            break Ok(());
        }
        if elapsed > scenario.deadline {
            break Err(format!("timed out after {}s waiting for: {}", scenario.deadline.as_secs(), pending.join("; ")));
        }
        thread::sleep(Duration::from_millis(50));
    };
    let elapsed = start.elapsed();
    let result = verdict.and_then(|()| final_checks(scenario, &procs));
    drop(streams);
    drop(procs);
    match result {
        Ok(()) => Outcome::Ok(format!("{:.1}s", elapsed.as_secs_f64())),
        Err(reason) => Outcome::Failed(reason),
    }
}

/// How many established TCP connections (IPv4 and IPv6) have `port` as their local port,
/// from the kernel's tables (`/proc/net/tcp`: `sl local_address rem_address st ...`, the
/// addresses as `HEXIP:HEXPORT`, state 01 = ESTABLISHED).
fn established_to(port: u16) -> usize {
    let wanted = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == "01"
                })
                .count()
        })
        .sum()
}

/// A process that exited by itself with a failure status, described.
fn crashed(procs: &Procs) -> Option<String> {
    procs.0.iter().find_map(|p| {
        let status = p.status?;
        if status.success() {
            return None;
        }
        let output = p.output();
        let detail = panic_reason(&output)
            .or_else(|| output.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_owned))
            .unwrap_or_else(|| "no output".to_owned());
        Some(format!("{} exited with {status}: {detail}", p.id))
    })
}

/// The conditions that do not hold yet (and still may).
fn pending_checks(scenario: &Scenario, procs: &Procs) -> Vec<String> {
    let mut pending = Vec::new();
    for check in &scenario.checks {
        match check {
            Check::ExitsOk(id) => {
                if procs.get(id).is_some_and(|p| p.status.is_none()) {
                    let output = procs.get(id).map(Proc::output).unwrap_or_default();
                    let expected: Vec<&str> = scenario
                        .checks
                        .iter()
                        .filter_map(|c| match c {
                            Check::Prints(p, text) if p == id => Some(*text),
                            _ => None,
                        })
                        .collect();
                    if !expected.is_empty() && expected.iter().all(|text| output.contains(text)) {
                        pending.push(format!("{id} to exit (it printed all the expected output, then hung)"));
                    } else {
                        pending.push(format!("{id} to exit (last output: {})", last_output(procs.get(id))));
                    }
                }
            }
            Check::Prints(id, text) => {
                if !procs.get(id).is_some_and(|p| p.output().contains(text)) {
                    pending.push(format!("\"{text}\" from {id} (last output: {})", last_output(procs.get(id))));
                }
            }
            Check::Alive(_) | Check::NeverPrints(..) => {}
        }
    }
    pending
}

/// The last non-empty line a process printed, shortened.
fn last_output(proc: Option<&Proc>) -> String {
    let output = proc.map(Proc::output).unwrap_or_default();
    let line = output.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("none").trim();
    let mut short: String = line.chars().take(100).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    format!("\"{short}\"")
}

/// The checks that can only be judged at the end.
fn final_checks(scenario: &Scenario, procs: &Procs) -> Result<(), String> {
    for check in &scenario.checks {
        match check {
            Check::ExitsOk(id) => match procs.get(id).and_then(|p| p.status) {
                Some(status) if status.success() => {}
                other => return Err(format!("{id} did not exit with 0 ({other:?})")),
            },
            Check::Alive(id) => {
                if let Some(status) = procs.get(id).and_then(|p| p.status) {
                    return Err(format!("{id} exited ({status}) but should keep running"));
                }
            }
            Check::NeverPrints(id, text) => {
                if procs.get(id).is_some_and(|p| p.output().contains(text)) {
                    return Err(format!("{id} printed \"{text}\""));
                }
            }
            Check::Prints(..) => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader (cargo's and rustc's messages); the xtask stays dependency-free.
// ---------------------------------------------------------------------------------------------

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, in source order.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses one JSON document.
    fn parse(text: &str) -> Result<Json, String> {
        let mut parser = JsonParser { bytes: text.as_bytes(), pos: 0 };
        let value = parser.value()?;
        parser.skip_ws();
        if parser.pos != parser.bytes.len() {
            return Err(format!("trailing characters at {}", parser.pos));
        }
        Ok(value)
    }

    /// The member `key` of an object.
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value.
    fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The array elements.
    fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The boolean value.
    fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number value.
    fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// Recursive-descent parser state.
struct JsonParser<'a> {
    /// The input.
    bytes: &'a [u8],
    /// The read position.
    pos: usize,
}

impl JsonParser<'_> {
    /// Skips whitespace.
    fn skip_ws(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Consumes `literal` or fails.
    fn expect(&mut self, literal: &str) -> Result<(), String> {
        if self.bytes[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(format!("expected `{literal}` at {}", self.pos))
        }
    }

    /// Parses any value.
    fn value(&mut self) -> Result<Json, String> {
        self.skip_ws();
        match self.bytes.get(self.pos) {
            None => Err("unexpected end".to_owned()),
            Some(b'n') => self.expect("null").map(|()| Json::Null),
            Some(b't') => self.expect("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.expect("false").map(|()| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected `,` or `]` at {}", self.pos)),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.skip_ws();
                    let key = self.string()?;
                    self.skip_ws();
                    self.expect(":")?;
                    let value = self.value()?;
                    members.push((key, value));
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(format!("expected `,` or `}}` at {}", self.pos)),
                    }
                }
            }
            Some(_) => self.number(),
        }
    }

    /// Parses a number.
    fn number(&mut self) -> Result<Json, String> {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).map_err(|e| e.to_string())?;
        text.parse::<f64>().map(Json::Number).map_err(|_| format!("bad number `{text}` at {start}"))
    }

    /// Parses a string (the opening quote is at `pos`).
    fn string(&mut self) -> Result<String, String> {
        self.expect("\"")?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&byte) = self.bytes.get(self.pos) else { return Err("unterminated string".to_owned()) };
            self.pos += 1;
            match byte {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let Some(&escape) = self.bytes.get(self.pos) else { return Err("bad escape".to_owned()) };
                    self.pos += 1;
                    let ch = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = self.hex4()?;
                            if (0xD800..0xDC00).contains(&first) && self.bytes[self.pos..].starts_with(b"\\u") {
                                self.pos += 2;
                                let second = self.hex4()?;
                                let code = 0x10000 + ((first - 0xD800) << 10) + (second.wrapping_sub(0xDC00) & 0x3FF);
                                char::from_u32(code).unwrap_or('\u{FFFD}')
                            } else {
                                char::from_u32(first).unwrap_or('\u{FFFD}')
                            }
                        }
                        other => return Err(format!("bad escape `\\{}`", other as char)),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                other => out.push(other),
            }
        }
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.bytes.get(self.pos..self.pos + 4).ok_or_else(|| "short \\u escape".to_owned())?;
        let text = std::str::from_utf8(digits).map_err(|e| e.to_string())?;
        self.pos += 4;
        u32::from_str_radix(text, 16).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(args(&[]), Ok(Options::default()));
        assert_eq!(
            args(&["--allow-fail", "curve", "--allow-fail=monitor::test_monitor_events"]),
            Ok(Options { allow_fail: vec!["curve".to_owned(), "monitor::test_monitor_events".to_owned()] })
        );
        assert!(args(&["--allow-fail"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }

    #[test]
    fn counts_established_connections_to_a_port() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(established_to(port), 0);
        let a = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _b_kept_open = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // Both client ends have an ephemeral local port; the two server ends count (the
        // kernel establishes them before accept).
        assert_eq!(established_to(port), 2);
        let client_port = a.local_addr().unwrap().port();
        assert_eq!(established_to(client_port), 1);
    }

    #[test]
    fn allow_fail_matches_names_and_files() {
        let report = Report::new(vec!["curve".to_owned(), "test::test_polling".to_owned()]);
        assert!(report.is_allowed("curve::test_curve_keypair"));
        assert!(report.is_allowed("curve"));
        assert!(report.is_allowed("test::test_polling"));
        assert!(!report.is_allowed("curve_x::a"));
        assert!(!report.is_allowed("test::test_polling_more"));
    }

    #[test]
    fn json_round_trip() {
        let value = Json::parse(r#"{"a":[1,-2.5e3,true,null],"b":"x\"\u00e9\ud83d\ude00\n","c":{}}"#).unwrap();
        assert_eq!(value.get("a").and_then(Json::as_array).map(<[Json]>::len), Some(4));
        assert_eq!(value.get("b").and_then(Json::as_str), Some("x\"é😀\n"));
        assert_eq!(value.get("a").and_then(Json::as_array).unwrap()[1], Json::Number(-2500.0));
        assert!(Json::parse("{\"a\":1,}").is_err());
        assert!(Json::parse("[1] 2").is_err());
    }

    #[test]
    fn reads_upstream_manifest_tables() {
        let manifest = UpstreamManifest::parse(
            "[package]\nedition = \"2018\"\nname = \"zmq\"\n\n[[example]]\nname = \"version\"\npath = \"v.rs\"\n\n\
             [dev-dependencies.trybuild]\nversion = \"1\"\n\n[dev-dependencies.nix]\nversion = \"0.23\"\n",
        );
        assert_eq!(manifest.edition, "2018");
        assert_eq!(manifest.examples, vec!["version".to_owned()]);
        assert_eq!(manifest.dev_dependencies, vec!["[dev-dependencies.nix]\nversion = \"0.23\"\n".to_owned()]);
    }

    #[test]
    fn parses_libtest_output_and_panics() {
        let output = "\nrunning 3 tests\ntest a ... ok\ntest m::b ... FAILED\ntest c ... ignored\n\nfailures:\n\n\
                      ---- m::b stdout ----\n\nthread 'm::b' panicked at tests/test.rs:12:5:\nassertion `left == right` failed\n  left: 1\n right: 2\n\
                      note: run with `RUST_BACKTRACE=1`\n\n\nfailures:\n    m::b\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let results = parse_libtest_output(output);
        assert_eq!(results["a"], Outcome::Ok(String::new()));
        assert_eq!(
            results["m::b"],
            Outcome::Failed("assertion `left == right` failed left: 1 right: 2 (tests/test.rs:12:5)".to_owned())
        );
        assert!(matches!(results["c"], Outcome::Skipped(_)));
    }

    #[test]
    fn finds_error_codes_and_gated_tests() {
        let codes = error_codes_in_text("error[E0597]: x\n --> a\nerror[E0277]: y\n");
        assert_eq!(codes.into_iter().collect::<Vec<_>>(), vec!["E0277".to_owned(), "E0597".to_owned()]);
        let dir = env::temp_dir().join(format!("xtask-compat-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("t.rs"), "test_capability!(test_curve_keypair, \"curve\", {\n});\ntest!(plain, {});\n")
            .unwrap();
        let gated = capability_gated_tests(&dir, "t.rs");
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(gated.get("test_curve_keypair").map(String::as_str), Some("curve"));
        assert_eq!(gated.len(), 1);
    }

    #[test]
    fn every_scenario_example_is_an_upstream_name_shape() {
        for scenario in scenarios() {
            assert!(!scenario.checks.is_empty(), "{} checks nothing", scenario.label);
            for example in scenario.examples() {
                assert!(example.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            }
        }
    }
}
