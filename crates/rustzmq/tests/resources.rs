//! Contexts release every thread and file descriptor they made: 1,000 contexts with live
//! tcp connections are opened and closed, and the process's counts return to where they
//! started. (Alone in its test binary so no other test's threads or fds interfere.)

use rustzmq as zmq;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn one_round() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&pull.get_last_endpoint().unwrap().unwrap()).unwrap();
    push.send("x", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"x");
    let inproc = ctx.socket(zmq::PAIR).unwrap();
    inproc.bind("inproc://resources").unwrap();
}

#[test]
fn thousand_contexts_leave_no_threads_or_fds_behind() {
    one_round();
    let threads = count("/proc/self/task");
    let fds = count("/proc/self/fd");
    for _ in 0..1000 {
        one_round();
    }
    assert_eq!(count("/proc/self/task"), threads, "threads leaked");
    assert_eq!(count("/proc/self/fd"), fds, "file descriptors leaked");
}
