//! `ceiling_lat` runs its round trips over tcp and ipc, blocking and spinning, and prints
//! `remote_lat`'s lines with percentiles that are in order.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ceiling_lat")).args(args).output().expect("runs");
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn microseconds(output: &str, prefix: &str) -> f64 {
    let line = output.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix:?} in {output}"));
    line[prefix.len()..].trim_end_matches(" [us]").parse().expect("a number")
}

#[test]
fn round_trips_over_tcp_and_ipc_both_ways() {
    for transport in ["tcp", "ipc"] {
        for mode in [None, Some("spin")] {
            let mut args = vec![transport, "300", "200"];
            args.extend(mode);
            let output = run(&args);
            assert!(output.contains("message size: 300 [B]\nroundtrip count: 200\n"), "{output}");
            let average = microseconds(&output, "average latency: ");
            let p50 = microseconds(&output, "round-trip p50: ");
            let p99 = microseconds(&output, "round-trip p99: ");
            assert!(average > 0.0 && 0.0 < p50 && p50 <= p99, "{args:?}: {output}");
        }
    }
}

#[test]
fn rejects_an_unknown_mode() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_ceiling_lat")).args(["tcp", "64", "10", "fast"]).output().expect("runs");
    assert!(!output.status.success());
}
