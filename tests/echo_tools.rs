//! The echo tools (`examples/echo_server.rs`, `examples/echo_bench.rs`)
//! run as a user runs them: real processes over loopback, short runs.
//!
//! `cargo test` builds the examples next to this test's binary
//! (`target/<profile>/examples/`); with `cargo test --test echo_tools`
//! alone, build them first: `cargo build --examples`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// An example binary built alongside this test.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe path");
    // target/<profile>/deps/echo_tools-<hash> → target/<profile>/examples/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples; with a test filter run `cargo build --examples` first",
        path.display()
    );
    path
}

/// Waits for `child` at most `limit`, killing it (and failing) past that.
fn wait_with_timeout(mut child: Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs a command to completion within `limit`, collecting its output.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_with_timeout(child, limit, &format!("{cmd:?}"));
    Output {
        status,
        stdout: t_out.join().expect("stdout reader"),
        stderr: t_err.join().expect("stderr reader"),
    }
}

/// A running `echo_server`; SIGKILLed if the test ends without stopping it.
struct Server {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Server {
    fn start(runtime: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(example("echo_server"))
            .args(["--runtime", runtime, "--addr", "127.0.0.1:0"])
            .args(extra)
            // Closed at once: the server must not take that as a reason to stop.
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn echo_server");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{runtime}: no `listening on` line within 20 s"));
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{runtime}: expected `listening on ADDR`, got {line:?}"));
        Server {
            child: Some(child),
            addr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends `signal` and returns how the server ended.
    fn stop(mut self, signal: i32) -> std::process::ExitStatus {
        let child = self.child.take().expect("running");
        // SAFETY: the pid is our own child's, not yet reaped.
        unsafe { libc::kill(child.id() as i32, signal) };
        wait_with_timeout(child, Duration::from_secs(10), "echo_server after a signal")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn echo_roundtrip(addr: SocketAddr, len: usize) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    let writer = {
        let mut w = s.try_clone().expect("clone");
        let data = data.clone();
        std::thread::spawn(move || w.write_all(&data).expect("write"))
    };
    let mut back = vec![0u8; len];
    s.read_exact(&mut back).expect("read the echo");
    writer.join().expect("writer");
    assert!(back == data, "echo differs from what was sent");
}

fn json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read the JSON");
    serde_json::from_str(&text).expect("valid JSON")
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("echo_tools-{}-{name}", std::process::id()))
}

#[test]
fn every_server_echoes_and_stops_on_sigterm_not_on_stdin_eof() {
    for runtime in [
        "sockwq",
        "sockwq-per-core",
        "sockwq-on-tokio-ct",
        "sockwq-on-tokio-mt",
        "tokio-ct",
        "tokio-mt",
        "mio",
    ] {
        let server = Server::start(
            runtime,
            &[
                "--workers",
                if runtime.contains("ct") || runtime == "mio" {
                    "1"
                } else {
                    "2"
                },
            ],
        );
        // Its stdin was closed at start: it must still be serving.
        std::thread::sleep(Duration::from_millis(100));
        // 1 MiB: more than the socket buffers, so writes back must wait.
        echo_roundtrip(server.addr, 1 << 20);
        echo_roundtrip(server.addr, 1);
        let status = server.stop(libc::SIGTERM);
        assert_eq!(
            status.code(),
            Some(0),
            "{runtime}: exit after SIGTERM: {status:?}"
        );
    }
}

#[test]
fn sockwq_with_several_workers_hands_connections_over_and_stops_on_sigint() {
    let server = Server::start("sockwq", &["--workers", "2"]);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || echo_roundtrip(addr, 64 << 10))
        })
        .collect();
    for t in threads {
        t.join().expect("echo");
    }
    let status = server.stop(libc::SIGINT);
    assert_eq!(status.code(), Some(0), "exit after SIGINT: {status:?}");
}

#[test]
fn bench_against_a_target_reports_figures_json_and_plot() {
    let server = Server::start("mio", &[]);
    let (json_path, svg_path) = (tmp("target.json"), tmp("target.svg"));
    let out = run(
        Command::new(example("echo_bench")).args([
            "--target",
            &server.addr.to_string(),
            "--pid",
            &server.pid().to_string(),
            "--conns",
            "1,8",
            "--rounds",
            "2",
            "--duration",
            "0.3",
            "--warmup",
            "0.05",
            "--json",
            json_path.to_str().expect("utf-8 path"),
            "--plot",
            svg_path.to_str().expect("utf-8 path"),
        ]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "echo_bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("| {}", server.addr)),
        "no row for the target:\n{stdout}"
    );
    assert!(stdout.contains("checked byte for byte; no error"), "{stdout}");
    let v = json(&json_path);
    let sweep = v["sweep"].as_array().expect("sweep");
    assert_eq!(sweep.len(), 2);
    for (point, conns) in sweep.iter().zip([1, 8]) {
        assert_eq!(point["conns"], conns);
        let s = &point["servers"][0];
        assert_eq!(s["rounds"].as_array().expect("rounds").len(), 2);
        assert!(s["errors"].as_object().expect("errors").is_empty(), "{s}");
        for r in s["rounds"].as_array().expect("rounds") {
            assert!(r["msgs_window"].as_u64().expect("msgs") > 0);
            assert!(r["msgs_total"].as_u64() >= r["msgs_window"].as_u64());
        }
        let m = &s["median"];
        assert!(m["msgs_per_sec"].as_f64().expect("rate") > 0.0);
        // --pid: the target's CPU time from /proc over the window (at 100 Hz
        // ticks a 0.3 s window may show 0 on an idle machine, never less).
        assert!(m["cpu_us_per_msg"].as_f64().expect("cpu given --pid") >= 0.0);
        let l = &s["latency_us"];
        assert!(l["p50"].as_f64().expect("p50") > 0.0);
        assert!(l["p99"].as_f64() >= l["p50"].as_f64());
        assert!(l["max"].as_f64() >= l["p99"].as_f64());
    }
    let svg = std::fs::read_to_string(&svg_path).expect("the SVG");
    assert!(
        svg.starts_with("<svg") && svg.contains("latency by percentile"),
        "not the plot"
    );
    let _ = std::fs::remove_file(json_path);
    let _ = std::fs::remove_file(svg_path);
    assert_eq!(server.stop(libc::SIGTERM).code(), Some(0));
}

#[test]
fn bench_starts_servers_itself_rotates_and_gives_ratios() {
    let json_path = tmp("kinds.json");
    let out = run(
        Command::new(example("echo_bench")).args([
            "--servers",
            "sockwq,tokio-ct,mio",
            "--rounds",
            "2",
            "--duration",
            "0.2",
            "--warmup",
            "0.05",
            "--mode",
            "pipelined",
            "--depth",
            "4",
            "--size",
            "100",
            "--conns",
            "5",
            "--json",
            json_path.to_str().expect("utf-8 path"),
        ]),
        Duration::from_secs(90),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "echo_bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("sockwq's server spends"),
        "no closing line:\n{stdout}"
    );
    let v = json(&json_path);
    let servers = v["sweep"][0]["servers"].as_array().expect("servers");
    let names: Vec<&str> = servers
        .iter()
        .map(|s| s["server"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["sockwq", "tokio-ct", "mio"]);
    for s in servers {
        assert_eq!(s["rounds"].as_array().expect("rounds").len(), 2, "{s}");
        let cpu = s["median"]["cpu_us_per_msg"]
            .as_f64()
            .expect("server CPU from wait4");
        assert!(cpu > 0.0, "{s}");
        let mb = s["median"]["mb_per_sec"].as_f64().expect("MB/s");
        let rate = s["median"]["msgs_per_sec"].as_f64().expect("msgs/s");
        assert!((mb - rate * 100.0 / 1e6).abs() < 1e-6 * mb.max(1.0));
    }
    // Each row against itself is 1.
    assert_eq!(servers[2]["ratio_to_mio"]["msgs_per_sec"].as_f64(), Some(1.0));
    assert_eq!(servers[1]["ratio_to_tokio_ct"]["cpu_per_msg"].as_f64(), Some(1.0));
    assert_eq!(v["config"]["depth"], 4);
    let _ = std::fs::remove_file(json_path);
}

/// An "echo" server that corrupts one byte in every 1000: the bench must
/// see it, count it, and exit non-zero.
#[test]
fn bench_catches_a_server_that_echoes_wrong_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut total = 0usize;
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    for (i, b) in buf[..n].iter_mut().enumerate() {
                        if (total + i) % 1000 == 999 {
                            *b ^= 0x40;
                        }
                    }
                    total += n;
                    if s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let json_path = tmp("bad.json");
    let out = run(
        Command::new(example("echo_bench")).args([
            "--target",
            &addr.to_string(),
            "--conns",
            "4",
            "--rounds",
            "1",
            "--duration",
            "0.3",
            "--json",
            json_path.to_str().expect("utf-8 path"),
        ]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "must fail:\n{stdout}");
    assert!(
        stdout.contains("echo mismatch"),
        "mismatch not reported:\n{stdout}"
    );
    let v = json(&json_path);
    let errors = &v["sweep"][0]["servers"][0]["errors"];
    let mismatches = errors
        .as_object()
        .expect("errors")
        .iter()
        .filter(|(k, _)| k.contains("mismatch"))
        .map(|(_, v)| v.as_u64().unwrap_or(0))
        .sum::<u64>();
    // Every connection sends well over 1000 bytes, so every one breaks.
    assert_eq!(mismatches, 4, "{errors}");
    let _ = std::fs::remove_file(json_path);
}

#[test]
fn idle_connections_report_memory_and_fds_per_connection() {
    let json_path = tmp("idle.json");
    let out = run(
        Command::new(example("echo_bench")).args([
            "--idle",
            "300",
            "--servers",
            "sockwq,mio",
            // 100 ports per source: connections also come from 127.0.0.2 and .3.
            "--ports-per-source",
            "100",
            "--json",
            json_path.to_str().expect("utf-8 path"),
        ]),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "echo_bench failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&json_path);
    for r in v["idle"].as_array().expect("idle") {
        assert_eq!(r["opened"], 300, "{r}");
        assert!(r["error"].is_null(), "{r}");
        let fds = r["fds_per_conn"].as_f64().expect("fds");
        assert!((fds - 1.0).abs() < 0.05, "one fd per connection expected: {r}");
        assert!(r["rss_per_conn_bytes"].as_f64().is_some(), "{r}");
        assert!(
            r["fds_after_close"].as_u64() <= r["fds_before"].as_u64(),
            "fds leaked: {r}"
        );
    }
    let _ = std::fs::remove_file(json_path);
}

#[test]
fn bad_arguments_are_refused_in_one_line() {
    let cases: [(&str, &[&str], &str); 6] = [
        ("echo_bench", &["--bogus"], "unexpected argument '--bogus'"),
        ("echo_bench", &["--conns", "0"], "--conns"),
        ("echo_bench", &["--duration", "0"], "--duration"),
        ("echo_bench", &["--depth", "4"], "needs --mode pipelined"),
        ("echo_server", &["--runtime", "nope"], "invalid value 'nope'"),
        (
            "echo_server",
            &["--runtime", "mio", "--workers", "2"],
            "does not apply",
        ),
    ];
    for (bin, args, expect) in cases {
        let out = run(Command::new(example(bin)).args(args), Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bin} {args:?} was accepted");
        assert!(stderr.contains(expect), "{bin} {args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{bin} {args:?}: not one line: {stderr}"
        );
    }
    // A refused connection: Display, not Debug, and a hint.
    let free = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let out = run(
        Command::new(example("echo_bench")).args([
            "--target",
            &free.to_string(),
            "--rounds",
            "1",
            "--duration",
            "0.1",
        ]),
        Duration::from_secs(30),
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(all.contains("Connection refused"), "{all}");
    assert!(!all.contains("Os {"), "Debug form printed: {all}");
}
