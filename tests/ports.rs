//! The three ported programs (`examples/ports/`): each tokio original and
//! its sockwq port differ only in `use` lines and the `main` attribute,
//! and both run as real processes over loopback and pass the same checks.
//!
//! `cargo test` builds the examples next to this test's binary
//! (`target/<profile>/examples/`); with `cargo test --test ports` alone,
//! build them first: `cargo build --examples`.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sockwq_test_support::temp_path;

/// Longest wait for any one reply, line or exit.
const WAIT: Duration = Duration::from_secs(10);

// ---- the sources ----------------------------------------------------

/// The `use` declarations of a Rust source (each may span lines, joined
/// with spaces), and the rest of its lines.
fn split_uses(source: &str) -> (Vec<String>, Vec<&str>) {
    let (mut uses, mut rest) = (Vec::new(), Vec::new());
    let mut open: Option<String> = None;
    for line in source.lines() {
        if let Some(mut u) = open.take() {
            u.push(' ');
            u.push_str(line.trim());
            if line.trim_end().ends_with(';') {
                uses.push(u);
            } else {
                open = Some(u);
            }
        } else if line.starts_with("use ") {
            if line.trim_end().ends_with(';') {
                uses.push(line.to_owned());
            } else {
                open = Some(line.to_owned());
            }
        } else {
            rest.push(line);
        }
    }
    assert!(open.is_none(), "unterminated use declaration");
    (uses, rest)
}

/// Checks that `port` is `original` with only its `use` declarations and
/// `#[tokio::main]` changed, and only `tokio::` → `sockwq::` in them.
fn assert_only_imports_differ(name: &str, original: &str, port: &str) {
    let (tokio_uses, tokio_rest) = split_uses(original);
    let (sockwq_uses, sockwq_rest) = split_uses(port);
    let attribute = |rest: &[&str], attr: &str| rest.iter().filter(|l| l.trim() == attr).count();
    assert_eq!(
        attribute(&tokio_rest, "#[tokio::main]"),
        1,
        "{name}: the original's attribute"
    );
    assert_eq!(
        attribute(&sockwq_rest, "#[sockwq::main]"),
        1,
        "{name}: the port's attribute"
    );
    let body = |rest: &[&str], attr: &str| -> Vec<String> {
        rest.iter()
            .filter(|l| l.trim() != attr)
            .map(|l| l.to_string())
            .collect()
    };
    let (a, b) = (
        body(&tokio_rest, "#[tokio::main]"),
        body(&sockwq_rest, "#[sockwq::main]"),
    );
    assert_eq!(a.len(), b.len(), "{name}: the bodies differ in length");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "{name}: body line {} (not counting uses) differs", i + 1);
    }
    // The same imports, some of them from sockwq instead of tokio (rustfmt
    // may order them differently).
    let ported: BTreeSet<String> = sockwq_uses
        .iter()
        .map(|u| u.replace("use sockwq::", "use tokio::"))
        .collect();
    let original: BTreeSet<String> = tokio_uses.iter().cloned().collect();
    assert_eq!(
        ported, original,
        "{name}: the imports differ beyond tokio → sockwq"
    );
    assert!(
        sockwq_uses.iter().any(|u| u.starts_with("use sockwq::")),
        "{name}: the port imports nothing from sockwq"
    );
    assert!(
        !port.contains("tokio::spawn") && !port.contains("tokio::net") && !port.contains("tokio::time"),
        "{name}: the port still names a tokio runtime part"
    );
}

#[test]
fn ports_differ_from_their_tokio_originals_only_in_imports() {
    let pairs = [
        (
            "chat",
            include_str!("../examples/ports/tokio/chat.rs"),
            include_str!("../examples/ports/chat.rs"),
        ),
        (
            "udp_timeout",
            include_str!("../examples/ports/tokio/udp_timeout.rs"),
            include_str!("../examples/ports/udp_timeout.rs"),
        ),
        (
            "unix_server",
            include_str!("../examples/ports/tokio/unix_server.rs"),
            include_str!("../examples/ports/unix_server.rs"),
        ),
    ];
    for (name, original, port) in pairs {
        assert_only_imports_differ(name, original, port);
    }
}

#[test]
fn the_source_check_catches_a_changed_body() {
    let original = "use tokio::net::TcpListener;\n#[tokio::main]\nasync fn main() { run().await }\n";
    let port = "use sockwq::net::TcpListener;\n#[sockwq::main]\nasync fn main() { run().await }\n";
    assert_only_imports_differ("same", original, port);
    for bad in [
        "use sockwq::net::TcpListener;\n#[sockwq::main]\nasync fn main() { other().await }\n",
        "use sockwq::net::UdpSocket;\n#[sockwq::main]\nasync fn main() { run().await }\n",
        "use sockwq::net::TcpListener;\n#[tokio::main]\nasync fn main() { run().await }\n",
    ] {
        let r = std::panic::catch_unwind(|| assert_only_imports_differ("bad", original, bad));
        assert!(r.is_err(), "not caught:\n{bad}");
    }
}

// ---- running an example ---------------------------------------------

/// An example binary built alongside this test.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe path");
    // target/<profile>/deps/ports-<hash> → target/<profile>/examples/<name>
    let path = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds the examples; with a test filter run `cargo build --examples` first",
        path.display()
    );
    path
}

/// A running example; SIGKILLed if the test ends without stopping it.
struct Program {
    child: Child,
    /// Its stdout, line by line, from a reader thread.
    lines: mpsc::Receiver<String>,
    name: String,
}

impl Program {
    fn start(name: &str, args: &[&str]) -> Program {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the example");
        let lines = read_lines(child.stdout.take().expect("piped"));
        Program {
            child,
            lines,
            name: name.to_owned(),
        }
    }

    /// Its next line of output.
    fn line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("{}: no line of output within {WAIT:?}: {e}", self.name))
    }

    /// Where it listens, from its first line.
    fn listening_on(&self) -> String {
        let line = self.line();
        match line.strip_prefix("listening on ") {
            Some(addr) => addr.to_owned(),
            None => panic!("{}: first line {line:?}", self.name),
        }
    }

    fn signal(&self, signo: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill with our own child's pid (not yet waited for, so not
        // reused) and a valid signal number.
        assert_eq!(unsafe { libc::kill(pid, signo) }, 0, "kill");
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits for it to exit, at most `WAIT`.
    fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < WAIT,
                "{}: still running after {WAIT:?}",
                self.name
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Runs an example to completion (at most `WAIT`), collecting its output.
fn run(name: &str, args: &[&str]) -> Output {
    let mut child = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the example");
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?}: still running after {WAIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: t_out.join().expect("stdout reader"),
        stderr: t_err.join().expect("stderr reader"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A line-oriented client over a std stream, every read bounded.
struct LineClient<S: Read + Write> {
    reader: BufReader<S>,
    name: &'static str,
}

impl<S: Read + Write> LineClient<S> {
    fn send(&mut self, line: &str) {
        let s = self.reader.get_mut();
        s.write_all(line.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        match self.reader.read_line(&mut l) {
            Ok(0) => panic!("{}: end of stream, a line was expected", self.name),
            Ok(_) => l.trim_end_matches('\n').to_owned(),
            Err(e) => panic!("{}: no line within {WAIT:?}: {e}", self.name),
        }
    }

    /// Asserts the peer closes the stream with nothing more to read.
    fn assert_closed(&mut self) {
        let mut rest = String::new();
        let n = self
            .reader
            .read_to_string(&mut rest)
            .unwrap_or_else(|e| panic!("{}: the stream was not closed within {WAIT:?}: {e}", self.name));
        assert_eq!((n, rest.as_str()), (0, ""), "{}: data after the end", self.name);
    }
}

fn tcp_client(addr: SocketAddr, name: &'static str) -> LineClient<TcpStream> {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    LineClient {
        reader: BufReader::new(s),
        name,
    }
}

fn unix_client(path: &Path, name: &'static str) -> LineClient<UnixStream> {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    LineClient {
        reader: BufReader::new(s),
        name,
    }
}

// ---- chat -----------------------------------------------------------

/// Joins the chat: reads the welcome, sends the name, reads the hello
/// (the others were told before it).
fn join(addr: SocketAddr, name: &'static str) -> LineClient<TcpStream> {
    let mut c = tcp_client(addr, name);
    assert_eq!(c.line(), "* welcome; your name?");
    c.send(name);
    assert_eq!(c.line(), format!("* hello {name}"));
    c
}

fn chat(example: &str) {
    let mut server = Program::start(example, &["127.0.0.1:0"]);
    let addr: SocketAddr = server.listening_on().parse().unwrap();

    let mut alice = join(addr, "alice");
    let mut bob = join(addr, "bob");
    // Bob subscribed before the welcome: from here on he sees everything
    // (but not alice's join, which came before), and alice is told he
    // joined.
    assert_eq!(alice.line(), "* bob joined");
    alice.send("hello bob");
    assert_eq!(bob.line(), "alice: hello bob");
    bob.send("hi alice");
    // Alice's next line is Bob's: her own is not sent back to her.
    assert_eq!(alice.line(), "bob: hi alice");

    let mut carol = join(addr, "carol");
    assert_eq!(alice.line(), "* carol joined");
    assert_eq!(bob.line(), "* carol joined");
    // Many lines in one write, split across reads as TCP pleases: each
    // arrives whole, in order, at both others.
    let burst: String = (0..200).map(|i| format!("line {i}\n")).collect();
    carol.reader.get_mut().write_all(burst.as_bytes()).unwrap();
    for i in 0..200 {
        assert_eq!(alice.line(), format!("carol: line {i}"));
        assert_eq!(bob.line(), format!("carol: line {i}"));
    }

    drop(bob);
    assert_eq!(alice.line(), "* bob left");
    assert_eq!(carol.line(), "* bob left");
    carol.send("still here");
    assert_eq!(alice.line(), "carol: still here");
    assert!(server.is_running(), "{example} exited");
}

#[test]
fn chat_on_sockwq() {
    chat("chat");
}

#[test]
fn chat_on_tokio() {
    chat("chat_tokio");
}

// ---- UDP with timeouts ----------------------------------------------

fn udp_answers(example: &str) {
    let server = Program::start(example, &["server", "127.0.0.1:0"]);
    let addr = server.listening_on();
    let out = run(example, &["client", &addr, "hello", "udp", "world"]);
    assert!(out.status.success(), "client: {out:?}");
    assert_eq!(text(&out.stdout), "HELLO\nUDP\nWORLD\n");
    // The server keeps serving: a second client, a request of its own.
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.send_to(b"42 again", &addr).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = s.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from.to_string()), (&b"42 AGAIN"[..], addr));
}

/// A server that ignores the first try of request 0, and answers the
/// second only after a wrong-id answer and an answer from another socket,
/// which the client must skip. Returns every request it received.
fn flaky_server() -> (SocketAddr, thread::JoinHandle<Vec<String>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let addr = socket.local_addr().unwrap();
    let t = thread::spawn(move || {
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let request = text(&buf[..n]);
            seen.push(request.clone());
            let first_try_of_0 =
                request.starts_with("0 ") && seen.iter().filter(|r| **r == request).count() == 1;
            if first_try_of_0 {
                continue;
            }
            let (id, word) = request.split_once(' ').unwrap();
            socket.send_to(b"7 NOT YOURS", peer).unwrap();
            other
                .send_to(format!("{id} FROM ELSEWHERE").as_bytes(), peer)
                .unwrap();
            socket
                .send_to(format!("{id} {}", word.to_uppercase()).as_bytes(), peer)
                .unwrap();
            if request.starts_with("1 ") {
                break;
            }
        }
        seen
    });
    (addr, t)
}

fn udp_retries(example: &str) {
    let (addr, server) = flaky_server();
    let out = run(example, &["client", &addr.to_string(), "one", "two"]);
    assert!(out.status.success(), "client: {out:?}");
    assert_eq!(text(&out.stdout), "ONE\nTWO\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("request 0: no answer within 250ms (try 1 of 4)"),
        "stderr: {stderr}"
    );
    let seen = server.join().unwrap();
    assert!(
        seen.iter().filter(|r| *r == "0 one").count() >= 2,
        "request 0 was not sent again: {seen:?}"
    );
    assert!(seen.contains(&"1 two".to_owned()), "{seen:?}");
}

fn udp_gives_up(example: &str) {
    // Bound, so no ICMP error, but never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let start = Instant::now();
    let out = run(example, &["client", &addr, "anyone"]);
    let took = start.elapsed();
    assert!(!out.status.success(), "client: {out:?}");
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    for attempt in 1..=4 {
        assert!(
            stderr.contains(&format!("(try {attempt} of 4)")),
            "stderr: {stderr}"
        );
    }
    assert!(stderr.contains("no answer from"), "stderr: {stderr}");
    // Four timeouts of 250 ms, none early.
    assert!(took >= Duration::from_millis(1000), "gave up after {took:?}");
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    let mut tries = 0;
    while let Ok(n) = silent.recv(&mut buf) {
        assert_eq!(&buf[..n], b"0 anyone");
        tries += 1;
    }
    assert_eq!(tries, 4);
}

fn udp_usage(example: &str) {
    let out = run(example, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).starts_with("usage:"), "{out:?}");
}

#[test]
fn udp_on_sockwq() {
    udp_answers("udp_timeout");
    udp_retries("udp_timeout");
    udp_gives_up("udp_timeout");
    udp_usage("udp_timeout");
}

#[test]
fn udp_on_tokio() {
    udp_answers("udp_timeout_tokio");
    udp_retries("udp_timeout_tokio");
    udp_gives_up("udp_timeout_tokio");
    udp_usage("udp_timeout_tokio");
}

// ---- Unix socket server ---------------------------------------------

fn unix_server(example: &str, signo: libc::c_int, signal_name: &str) {
    let path = temp_path(example);
    let path_arg = path.to_str().unwrap();
    let mut server = Program::start(example, &[path_arg]);
    assert_eq!(server.listening_on(), path_arg);
    assert!(path.exists());

    let mut a = unix_client(&path, "a");
    let mut b = unix_client(&path, "b");
    // One task per connection: b is served while a waits mid-session.
    a.send("PING");
    assert_eq!(a.line(), "PONG");
    b.send("ECHO hello unix");
    assert_eq!(b.line(), "hello unix");
    b.send("SUM 1 2 -3 40");
    b.send("SUM 1 x");
    b.send("NOPE");
    assert_eq!(b.line(), "40");
    assert!(b.line().starts_with("ERR SUM takes integers"));
    assert_eq!(b.line(), "ERR unknown command \"NOPE\"");
    b.send("QUIT");
    assert_eq!(b.line(), "BYE");
    b.assert_closed();
    a.send("ECHO still open");
    assert_eq!(a.line(), "still open");

    // The socket file is in use: a second server refuses it, and leaves
    // it alone.
    let second = run(example, &[path_arg]);
    assert!(!second.status.success(), "{second:?}");
    assert!(text(&second.stderr).contains("AddrInUse"), "{second:?}");
    assert!(path.exists(), "the second server removed the first one's socket");

    // The signal: the server stops, closes a's connection, removes its
    // socket file and exits cleanly.
    server.signal(signo);
    a.assert_closed();
    let status = server.wait();
    assert!(status.success(), "{example} after {signal_name}: {status:?}");
    assert_eq!(
        server.line(),
        format!("{signal_name}: closed 1 connections, removed {path_arg}")
    );
    assert!(!path.exists(), "{} is left behind", path.display());
    assert_eq!(
        UnixStream::connect(&path).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn unix_server_on_sockwq() {
    unix_server("unix_server", libc::SIGINT, "SIGINT");
    unix_server("unix_server", libc::SIGTERM, "SIGTERM");
}

#[test]
fn unix_server_on_tokio() {
    unix_server("unix_server_tokio", libc::SIGINT, "SIGINT");
    unix_server("unix_server_tokio", libc::SIGTERM, "SIGTERM");
}
