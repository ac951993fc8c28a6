//! Benchmarks for rustzmq: criterion benches live in `benches/`, perf tools will live in `src/bin/`.
