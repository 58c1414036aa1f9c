//! Benchmarks TCP echo servers: sockwq's, tokio's and a hand-written mio
//! loop side by side, or any echo server you point it at.
//!
//! ```text
//! cargo run --release --example echo_bench                          # every server kind, about a minute
//! cargo run --release --example echo_bench -- --json out.json --plot out.svg
//! cargo run --release --example echo_bench -- --conns 1,50,500 --servers sockwq,tokio-ct,mio
//! cargo run --release --example echo_bench -- --mode pipelined --depth 16 --size 1024
//! cargo run --release --example echo_bench -- --idle 10000          # memory and fds per idle connection
//! cargo run --release --example echo_bench -- --target 127.0.0.1:7878 --pid 1234
//! ```
//!
//! With no `--target`, every server kind (`--servers`) runs as a child
//! process (this binary in `--serve` mode, the code of `echo_server.rs`)
//! on a free loopback port, one process per run; the kinds take turns
//! within each round, the order rotating from round to round, and the
//! table shows the median of the rounds with their min–max. Every echoed
//! byte is checked against what was sent; errors are counted and shown.
//!
//! The load generator is one thread (`--threads`) with a mio
//! (edge-triggered epoll) loop over all connections: a message is timed
//! from its write to the last byte of its echo (hdrhistogram), and the
//! server's CPU time comes from `wait4`'s rusage of the child (or, with
//! `--target` and `--pid`, from `/proc/PID/stat` over the measured
//! window). By default the load generator and the single-threaded servers
//! are pinned to one CPU, the same one: the server's CPU time per message
//! is then stable to a few percent. Multi-threaded servers (per-core and
//! multi_thread) are not pinned to it: they get every CPU. `--no-pin`
//! pins nothing. See `benches/README.md` for the method and its limits.

#[allow(dead_code)] // its `main` and CLI are the standalone server's
#[path = "echo_server.rs"]
mod echo_server;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use echo_server::Kind;

/// How long to wait for echoes still in flight when a run ends, before
/// they count as errors.
const DRAIN: Duration = Duration::from_secs(2);
/// How long connecting (all connections of a run) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to say it listens, and to exit on SIGTERM.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    /// One message in flight per connection: send, wait for the echo, repeat.
    Pingpong,
    /// `--depth` messages in flight per connection.
    Pipelined,
}

#[derive(Parser, Debug)]
#[command(
    name = "echo_bench",
    about = "Benchmarks TCP echo servers: sockwq, tokio and a hand-written mio loop side by side, or any echo server (--target)",
    after_help = "Method and how to read the figures: benches/README.md"
)]
struct Cli {
    /// Benchmark this running echo server instead of starting the server kinds.
    #[arg(long, value_name = "ADDR")]
    target: Option<String>,
    /// With --target: the server's process id, for its CPU time (/proc/PID/stat) and memory.
    #[arg(long, requires = "target")]
    pid: Option<i32>,
    /// Server kinds to start (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Kind::ALL, conflicts_with = "target")]
    servers: Vec<Kind>,
    /// Concurrent connections; a comma-separated list runs a sweep (e.g. 1,50,500).
    #[arg(long, value_delimiter = ',', default_value = "50", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    conns: Vec<u32>,
    /// Message size in bytes.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=16 << 20))]
    size: u32,
    /// Measured seconds per run.
    #[arg(long, default_value = "1.5", value_parser = parse_secs)]
    duration: Duration,
    /// Seconds of load before the measured window of each run.
    #[arg(long, default_value = "0.2", value_parser = parse_secs0)]
    warmup: Duration,
    /// Rounds (every server once per round; the table shows medians).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Load shape.
    #[arg(long, value_enum, default_value = "pingpong")]
    mode: Mode,
    /// Messages in flight per connection (pipelined mode; default 16).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65536))]
    depth: Option<u32>,
    /// Instead of the load: open this many idle connections to each server and report its memory (RSS) and fds per connection.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    idle: Option<u32>,
    /// Instead of --duration: send exactly N messages in all (split over the connections), no warm-up; the load for instruction counts under callgrind.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    messages: Option<u64>,
    /// Workers of the multi-threaded servers (default: the CPU count).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Load generator threads (at most one per CPU is useful).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// Pin nothing (by default the load generator and single-threaded servers share one CPU).
    #[arg(long)]
    no_pin: bool,
    /// Write every raw figure as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Draw msgs/s and latency percentiles of every server into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Source ports to use per source address before moving on to the next 127.0.0.x (default: 3/4 of the ephemeral port range).
    #[arg(long, hide = true)]
    ports_per_source: Option<u32>,
    /// Internal: run one echo server of this kind (what the benchmark starts as its child processes).
    #[arg(long, hide = true, value_enum)]
    serve: Option<Kind>,
    /// Internal, with --serve: the address to listen on.
    #[arg(long, hide = true, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("expected seconds above 0 (e.g. 1.5), got {s:?}")),
    }
}

fn parse_secs0(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=86_400.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!("expected seconds, 0 or more, got {s:?}")),
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => echo_server::exit_on_cli_error("echo_bench", e),
    };
    if let Some(kind) = cli.serve {
        let workers = cli.workers.map(usize::from);
        let r = echo_server::check_workers(kind, workers)
            .and_then(|()| echo_server::serve(kind, cli.addr, workers.unwrap_or(kind.default_workers())));
        if let Err(e) = r {
            eprintln!("echo_bench --serve {}: {e}", kind.name());
            std::process::exit(1);
        }
        return;
    }
    match run(cli) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("echo_bench: {e}");
            if let Some(hint) = echo_server::hint(&e) {
                eprintln!("hint: {hint}");
            }
            std::process::exit(1);
        }
    }
}

// ------------------------------------------------------------------ config

/// Everything a run needs, derived from the command line.
#[derive(Clone, Debug, Serialize)]
struct Config {
    mode: Mode,
    depth: u32,
    size: u32,
    duration_s: f64,
    warmup_s: f64,
    rounds: u32,
    conns: Vec<u32>,
    threads: u16,
    /// Workers of the multi-threaded servers.
    workers: usize,
    /// The CPUs this process may use (before pinning).
    cpus: Vec<usize>,
    /// The CPU the load generator and the single-threaded servers share.
    pinned_cpu: Option<usize>,
    ports_per_source: u32,
    /// Messages per run in all (`--messages`), instead of a timed window.
    messages: Option<u64>,
}

/// Where the load goes.
#[derive(Clone, Debug)]
enum Subject {
    Kind(Kind),
    Target { addr: SocketAddr, pid: Option<i32> },
}

impl Subject {
    fn name(&self) -> String {
        match self {
            Subject::Kind(k) => k.name().to_owned(),
            Subject::Target { addr, .. } => addr.to_string(),
        }
    }
}

/// Returns whether every run went without error.
fn run(cli: Cli) -> io::Result<bool> {
    let depth = match (cli.mode, cli.depth) {
        (Mode::Pingpong, Some(d)) if d > 1 => {
            return Err(invalid(format!(
                "--depth {d} needs --mode pipelined (ping-pong has one message in flight)"
            )));
        }
        (Mode::Pingpong, _) => 1,
        (Mode::Pipelined, d) => d.unwrap_or(16),
    };
    let nofile = echo_server::raise_nofile_limit()?;
    let cpus = current_affinity()?;
    let workers = cli.workers.map_or(cpus.len(), usize::from);
    let pinned_cpu = (!cli.no_pin).then(|| cpus[0]);
    let ports_per_source = match cli.ports_per_source {
        Some(n) => n.max(1),
        None => ephemeral_ports().map_or(20_000, |n| n * 3 / 4),
    };
    let cfg = Config {
        mode: cli.mode,
        depth,
        size: cli.size,
        duration_s: cli.duration.as_secs_f64(),
        warmup_s: cli.warmup.as_secs_f64(),
        rounds: cli.rounds,
        conns: cli.conns.clone(),
        threads: cli.threads,
        workers,
        cpus: cpus.clone(),
        pinned_cpu,
        ports_per_source,
        messages: cli.messages,
    };
    let subjects: Vec<Subject> = match &cli.target {
        Some(t) => {
            let addr = resolve(t)?;
            vec![Subject::Target { addr, pid: cli.pid }]
        }
        None => {
            let mut seen = Vec::new();
            for k in &cli.servers {
                if !seen.contains(k) {
                    seen.push(*k);
                }
            }
            seen.into_iter().map(Subject::Kind).collect()
        }
    };
    // Both ends' fds: the limit must cover the connections plus slack.
    let most = cli
        .idle
        .unwrap_or(0)
        .max(cfg.conns.iter().copied().max().unwrap_or(0)) as u64;
    if most + 64 > nofile {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{most} connections need more file descriptors than the limit allows ({nofile}); \
                 raise the hard limit (`ulimit -Hn`, /etc/security/limits.conf) or use fewer"
            ),
        ));
    }
    if let Some(cpu) = pinned_cpu {
        set_affinity(&[cpu])?;
    }
    let report = if let Some(n) = cli.idle {
        let idle = run_idle(&cfg, &subjects, n)?;
        print_idle(&cfg, &idle);
        Report {
            tool: "echo_bench",
            config: cfg.clone(),
            machine: machine(),
            sweep: Vec::new(),
            idle,
        }
    } else {
        let sweep = run_load_sweep(&cfg, &subjects)?;
        for point in &sweep {
            print_table(&cfg, point, &subjects);
        }
        Report {
            tool: "echo_bench",
            config: cfg.clone(),
            machine: machine(),
            sweep,
            idle: Vec::new(),
        }
    };
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&report).map_err(io::Error::other)?;
        std::fs::write(path, text + "\n").map_err(|e| with_path(e, path))?;
        println!("raw figures: {}", path.display());
    }
    if let Some(path) = &cli.plot {
        if report.sweep.is_empty() {
            eprintln!("echo_bench: --plot draws the load figures; with --idle there are none to draw");
        } else {
            plot(path, &cfg, &report.sweep).map_err(|e| with_path(e, path))?;
            println!("picture: {}", path.display());
        }
    }
    Ok(report.all_ok())
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn resolve(target: &str) -> io::Result<SocketAddr> {
    target
        .to_socket_addrs()
        .map_err(|e| invalid(format!("--target {target}: {e} (expected HOST:PORT)")))?
        .next()
        .ok_or_else(|| invalid(format!("--target {target}: no address")))
}

/// The size of the ephemeral port range (`ip_local_port_range`).
fn ephemeral_ports() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<u32>());
    let (lo, hi) = (it.next()?.ok()?, it.next()?.ok()?);
    Some(hi.saturating_sub(lo) + 1)
}

// ------------------------------------------------------------ CPU affinity

/// The CPUs the calling thread may run on.
fn current_affinity() -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data that sched_getaffinity fills in.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for `size_of::<cpu_set_t>()` bytes.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: CPU_ISSET only reads inside `set`, for indices below CPU_SETSIZE.
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    if cpus.is_empty() {
        return Err(io::Error::other("no CPU in this thread's affinity mask"));
    }
    Ok(cpus)
}

fn cpu_set(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        // SAFETY: CPU_SET writes inside `set`; `c` came from the kernel's mask.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    set
}

/// Pins the calling thread to `cpus`.
fn set_affinity(cpus: &[usize]) -> io::Result<()> {
    let set = cpu_set(cpus);
    // SAFETY: `set` is an initialized cpu_set_t of the size passed.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ----------------------------------------------------------- child servers

/// A server child process.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

/// Starts this binary as an echo server of `kind` on a free loopback port
/// and waits until it listens.
fn start_server(kind: Kind, cfg: &Config) -> io::Result<Server> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--serve", kind.name(), "--addr", "127.0.0.1:0"]);
    if kind.multi_threaded() {
        cmd.args(["--workers", &cfg.workers.to_string()]);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // Multi-threaded servers get every CPU; the others inherit our pin.
    let cpus = (kind.multi_threaded() && cfg.pinned_cpu.is_some()).then(|| cpu_set(&cfg.cpus));
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec the closure only makes two
        // async-signal-safe system calls on the child itself, with data
        // prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                // The server ends with us, even if we are killed.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if let Some(set) = &cpus
                    && libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(r);
    });
    let line = match rx.recv_timeout(SERVER_TIMEOUT) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => {
            let _ = stop_server(Server {
                child,
                addr: ([127, 0, 0, 1], 0).into(),
            });
            return Err(e);
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "{}: the server did not say it listens within {SERVER_TIMEOUT:?}",
                kind.name()
            )));
        }
    };
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok());
    match addr {
        Some(addr) => Ok(Server { child, addr }),
        None => {
            let status = stop_server(Server {
                child,
                addr: ([127, 0, 0, 1], 0).into(),
            });
            Err(io::Error::other(format!(
                "{}: expected `listening on ADDR`, got {:?}{}",
                kind.name(),
                line.trim(),
                status.map_or(String::new(), |s| format!(" ({})", s.status))
            )))
        }
    }
}

/// What a server process used, from `wait4`.
#[derive(Clone, Copy, Debug)]
struct Exit {
    user: Duration,
    sys: Duration,
    status: ExitStatus,
}

#[derive(Clone, Copy, Debug)]
enum ExitStatus {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "exit code {c}"),
            ExitStatus::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// Stops a server with SIGTERM (SIGKILL if it does not exit in time) and
/// returns its CPU time.
fn stop_server(server: Server) -> io::Result<Exit> {
    let pid = server.pid();
    // SAFETY: `pid` is our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    let mut killed = false;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our unreaped child; both pointers are valid.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        if !killed && start.elapsed() > SERVER_TIMEOUT {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Reaped here: std's handle must not wait for it again.
    std::mem::forget(server.child);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let status = if libc::WIFEXITED(status) {
        ExitStatus::Code(libc::WEXITSTATUS(status))
    } else {
        ExitStatus::Signal(libc::WTERMSIG(status))
    };
    Ok(Exit {
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        status,
    })
}

/// User and system CPU time of a process so far, from `/proc/PID/stat`
/// (clock-tick resolution).
fn proc_cpu(pid: i32) -> io::Result<(Duration, Duration)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count from its `)`.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::other("unexpected /proc/PID/stat"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |s: Option<&&str>| -> io::Result<u64> {
        s.and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other("unexpected /proc/PID/stat"))
    };
    // Fields 14 and 15 (utime, stime); `rest` starts at field 3.
    let (ut, st) = (tick(f.get(11))?, tick(f.get(12))?);
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok((
        Duration::from_secs_f64(ut as f64 / hz),
        Duration::from_secs_f64(st as f64 / hz),
    ))
}

/// A process's resident set size in bytes and its open fds.
fn proc_mem(pid: i32) -> io::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other("no VmRSS in /proc/PID/status"))?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64;
    Ok((rss_kib * 1024, fds))
}

/// The calling thread's CPU time.
fn thread_cpu() -> Duration {
    // SAFETY: rusage is plain data that getrusage fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

// ---------------------------------------------------------- load generator

/// The byte at position `i` of message `seq` of connection `id`: every
/// message and every connection differs, and a byte out of place shows.
#[inline]
fn pattern_base(id: u32, seq: u64) -> u8 {
    ((seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(id).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)) >> 56)
        as u8
}

/// Source address of connection `i` of a run against `target`: 127.0.0.1
/// (the kernel's choice) until the ports of one source would run out, then
/// 127.0.0.2, .3, ... (loopback targets only).
fn source_for(target: SocketAddr, i: usize, per_source: u32) -> Option<SocketAddr> {
    let per = per_source.max(1) as usize;
    if i < per {
        return None;
    }
    match target.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => {
            let n = (i / per + 1) as u32; // 127.0.0.2, ...
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 1)) + n);
            Some(SocketAddr::new(IpAddr::V4(ip), 0))
        }
        _ => None,
    }
}

/// A socket for connection `i`, bound to its source address if it needs one.
fn client_socket(
    target: SocketAddr,
    i: usize,
    per_source: u32,
    nonblocking: bool,
) -> io::Result<socket2::Socket> {
    let mut ty = socket2::Type::STREAM;
    if nonblocking {
        ty = ty.nonblocking();
    }
    let s = socket2::Socket::new(socket2::Domain::for_address(target), ty.cloexec(), None)?;
    if let Some(src) = source_for(target, i, per_source) {
        s.bind(&src.into())?;
    }
    s.set_tcp_nodelay(true)?;
    Ok(s)
}

/// One connection of the load generator.
struct Conn {
    stream: mio::net::TcpStream,
    id: u32,
    alive: bool,
    connected: bool,
    /// Messages queued so far (the next one's sequence number).
    queued: u64,
    /// Bytes queued and not yet written, from `out_off`.
    out: Vec<u8>,
    out_off: usize,
    /// Bytes written, and bytes echoed back (and checked).
    written: u64,
    received: u64,
    /// Send time of each message in flight, oldest first.
    sent_at: VecDeque<Instant>,
    /// How many messages to send in all (`--messages`), else `u64::MAX`.
    limit: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measure,
    Drain,
}

/// What one load thread measured.
struct ThreadResult {
    msgs_window: u64,
    msgs_total: u64,
    hist: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    load_cpu: Duration,
    window: Duration,
    /// The target's CPU time over the window (`--pid`), thread 0 only.
    target_cpu: Option<(Duration, Duration)>,
}

struct LoadSpec<'a> {
    cfg: &'a Config,
    addr: SocketAddr,
    conns: u32,
    /// Sample this process's CPU time (from /proc) at the window's edges.
    pid: Option<i32>,
    progress: &'a ProgressBar,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Runs the load on `spec.cfg.threads` threads (the calling one when 1).
fn run_load(spec: &LoadSpec<'_>) -> io::Result<ThreadResult> {
    let threads = (spec.cfg.threads as u32).min(spec.conns).max(1);
    let start = Arc::new((Barrier::new(threads as usize), OnceLock::new()));
    let ids = |t: u32| {
        let per = spec.conns / threads;
        let extra = spec.conns % threads;
        let lo = t * per + t.min(extra);
        lo..lo + per + u32::from(t < extra)
    };
    if threads == 1 {
        return load_thread(spec, ids(0), &start, true);
    }
    let pinned = spec.cfg.pinned_cpu.is_some();
    let all = &spec.cfg.cpus;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let start = start.clone();
                let range = ids(t);
                let cpu = all.get(t as usize % all.len().max(1)).copied();
                scope.spawn(move || {
                    if let (true, Some(cpu)) = (pinned, cpu) {
                        set_affinity(&[cpu])?;
                    }
                    load_thread(spec, range, &start, t == 0)
                })
            })
            .collect();
        let mut total: Option<ThreadResult> = None;
        let mut first_err = None;
        for h in handles {
            match h
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("load thread panicked")))
            {
                Ok(r) => match &mut total {
                    None => total = Some(r),
                    Some(t) => {
                        t.msgs_window += r.msgs_window;
                        t.msgs_total += r.msgs_total;
                        t.hist.add(&r.hist).map_err(io::Error::other)?;
                        for (k, v) in r.errors {
                            *t.errors.entry(k).or_default() += v;
                        }
                        t.load_cpu += r.load_cpu;
                        t.window = t.window.max(r.window);
                        t.target_cpu = t.target_cpu.or(r.target_cpu);
                    }
                },
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        match (total, first_err) {
            (_, Some(e)) => Err(e),
            (Some(t), None) => Ok(t),
            (None, None) => Err(io::Error::other("no load thread ran")),
        }
    })
}

/// One load thread: connects `ids`, then runs the load over them.
fn load_thread(
    spec: &LoadSpec<'_>,
    ids: std::ops::Range<u32>,
    start: &(Barrier, OnceLock<Instant>),
    leader: bool,
) -> io::Result<ThreadResult> {
    use mio::{Events, Interest, Poll, Token};
    let cfg = spec.cfg;
    let size = cfg.size as usize;
    let depth = cfg.depth as usize;
    let cpu0 = thread_cpu();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let err = |errors: &mut BTreeMap<String, u64>, what: String| *errors.entry(what).or_default() += 1;
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Conn> = Vec::with_capacity(ids.len());
    for id in ids {
        let s = match client_socket(spec.addr, id as usize, cfg.ports_per_source, true) {
            Ok(s) => s,
            Err(e) => {
                // Out of fds or ports: every further connection fails the same way.
                if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) {
                    return Err(e);
                }
                err(&mut errors, format!("socket: {e}"));
                continue;
            }
        };
        match s.connect(&spec.addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => {
                err(&mut errors, format!("connect: {e}"));
                continue;
            }
        }
        let mut stream = mio::net::TcpStream::from_std(s.into());
        let token = Token(conns.len());
        poll.registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)?;
        conns.push(Conn {
            stream,
            id,
            alive: true,
            connected: false,
            queued: 0,
            out: Vec::with_capacity(size * depth),
            out_off: 0,
            written: 0,
            received: 0,
            sent_at: VecDeque::with_capacity(depth),
            limit: cfg.messages.map_or(u64::MAX, |m| {
                let n = u64::from(spec.conns);
                m / n + u64::from(u64::from(id) < m % n)
            }),
        });
    }
    // Wait until every connection is up (or failed).
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut pending = conns.len();
    while pending > 0 {
        let now = Instant::now();
        if now >= deadline {
            for c in conns.iter_mut().filter(|c| !c.connected && c.alive) {
                c.alive = false;
                err(&mut errors, "connect: timed out".into());
            }
            break;
        }
        poll.poll(&mut events, Some(deadline - now)).or_else(|e| {
            if e.kind() == io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if c.connected || !c.alive {
                continue;
            }
            match c.stream.take_error() {
                Ok(Some(e)) | Err(e) => {
                    c.alive = false;
                    pending -= 1;
                    err(&mut errors, format!("connect: {e}"));
                }
                Ok(None) => {
                    if ev.is_writable() || ev.is_error() || ev.is_write_closed() {
                        match c.stream.peer_addr() {
                            Ok(_) => {
                                c.connected = true;
                                pending -= 1;
                            }
                            Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                            Err(e) => {
                                c.alive = false;
                                pending -= 1;
                                err(&mut errors, format!("connect: {e}"));
                            }
                        }
                    }
                }
            }
        }
    }
    // Start every thread's load at once.
    start.0.wait();
    let t0 = *start.1.get_or_init(Instant::now);
    // A counted run (--messages) has no warm-up and ends when all are back.
    let warmup = if cfg.messages.is_some() { 0.0 } else { cfg.warmup_s };
    let warm_end = t0 + Duration::from_secs_f64(warmup);
    let end = match cfg.messages {
        Some(_) => t0 + Duration::from_secs(24 * 3600),
        None => warm_end + Duration::from_secs_f64(cfg.duration_s),
    };
    let mut phase = if warmup > 0.0 {
        Phase::Warmup
    } else {
        Phase::Measure
    };
    let mut window_start = t0;
    let mut window_end = None;
    let mut target_cpu0 = None;
    let mut target_cpu = None;
    if let (Phase::Measure, true, Some(pid)) = (phase, leader, spec.pid) {
        target_cpu0 = Some(proc_cpu(pid)?);
    }
    let mut hist = new_hist();
    let mut msgs_window = 0u64;
    let mut msgs_total = 0u64;
    let mut rbuf = vec![0u8; echo_server::BUF_SIZE];
    let mut next_tick = t0 + Duration::from_millis(200);
    for c in conns.iter_mut().filter(|c| c.alive) {
        for _ in 0..depth {
            if c.queued < c.limit {
                queue_message(c, size, t0);
            }
        }
        if let Err(e) = flush(c) {
            close_with(c, &poll, &mut errors, format!("write: {e}"));
        }
    }
    let mut drain_deadline = None;
    loop {
        let now = Instant::now();
        if phase == Phase::Warmup && now >= warm_end {
            phase = Phase::Measure;
            window_start = now;
            if let (true, Some(pid)) = (leader, spec.pid) {
                target_cpu0 = Some(proc_cpu(pid)?);
            }
        }
        let counted_done = cfg.messages.is_some()
            && phase == Phase::Measure
            && conns
                .iter()
                .all(|c| !c.alive || (c.queued == c.limit && c.written == c.received));
        if phase == Phase::Measure && (now >= end || counted_done) {
            phase = Phase::Drain;
            window_end = Some(now);
            drain_deadline = Some(now + DRAIN);
            if leader && let (Some(pid), Some((u0, s0))) = (spec.pid, target_cpu0) {
                let (u1, s1) = proc_cpu(pid)?;
                target_cpu = Some((u1.saturating_sub(u0), s1.saturating_sub(s0)));
            }
        }
        if phase == Phase::Drain {
            let done = conns
                .iter()
                .all(|c| !c.alive || (c.written == c.received && c.out_off == c.out.len()));
            if done {
                break;
            }
            if drain_deadline.is_some_and(|d| now >= d) {
                for c in conns.iter_mut().filter(|c| c.alive) {
                    let missing = (c.queued * size as u64).saturating_sub(c.received);
                    if missing > 0 {
                        c.alive = false;
                        err(
                            &mut errors,
                            format!(
                                "not echoed within {DRAIN:?} after the end (bytes missing on a connection)"
                            ),
                        );
                    }
                }
                break;
            }
        }
        if leader && now >= next_tick {
            spec.progress.tick();
            next_tick = now + Duration::from_millis(200);
        }
        let until = match phase {
            Phase::Warmup => warm_end,
            Phase::Measure => end,
            Phase::Drain => drain_deadline.unwrap_or(now),
        };
        let timeout = until
            .saturating_duration_since(now)
            .min(Duration::from_millis(200));
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if !c.alive {
                continue;
            }
            if !c.connected {
                continue;
            }
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                let now = Instant::now();
                let before = c.received;
                match read_echoes(c, &mut rbuf, size, ev.is_read_closed() || ev.is_error()) {
                    Ok(()) => {}
                    Err(e) => {
                        close_with(c, &poll, &mut errors, e);
                        continue;
                    }
                }
                let done = (c.received / size as u64 - before / size as u64) as usize;
                for _ in 0..done {
                    let sent = c.sent_at.pop_front().unwrap_or(now);
                    msgs_total += 1;
                    if phase == Phase::Measure {
                        msgs_window += 1;
                        hist.saturating_record(now.duration_since(sent).as_nanos() as u64);
                    }
                    if phase != Phase::Drain && c.queued < c.limit {
                        queue_message(c, size, now);
                    }
                }
            }
            if let Err(e) = flush(c) {
                close_with(c, &poll, &mut errors, format!("write: {e}"));
            }
        }
    }
    let window_end = window_end.unwrap_or_else(Instant::now);
    drop(conns);
    Ok(ThreadResult {
        msgs_window,
        msgs_total,
        hist,
        errors,
        load_cpu: thread_cpu().saturating_sub(cpu0),
        window: window_end.saturating_duration_since(window_start),
        target_cpu,
    })
}

fn close_with(c: &mut Conn, poll: &mio::Poll, errors: &mut BTreeMap<String, u64>, what: String) {
    c.alive = false;
    let _ = poll.registry().deregister(&mut c.stream);
    let _ = c.stream.shutdown(std::net::Shutdown::Both);
    *errors.entry(what).or_default() += 1;
}

/// Queues the connection's next message, sent at `now`.
fn queue_message(c: &mut Conn, size: usize, now: Instant) {
    if c.out_off == c.out.len() {
        c.out.clear();
        c.out_off = 0;
    }
    let base = pattern_base(c.id, c.queued);
    c.out.extend((0..size).map(|i| base.wrapping_add(i as u8)));
    c.queued += 1;
    c.sent_at.push_back(now);
}

/// Writes what is queued, as much as the socket takes.
fn flush(c: &mut Conn) -> io::Result<()> {
    while c.out_off < c.out.len() {
        match c.stream.write(&c.out[c.out_off..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                c.out_off += n;
                c.written += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what the server echoed and checks every byte. Reads at most what
/// is outstanding, so it stops without an `EAGAIN` read once all is back.
fn read_echoes(c: &mut Conn, rbuf: &mut [u8], size: usize, closed: bool) -> Result<(), String> {
    loop {
        let outstanding = (c.written - c.received) as usize;
        if outstanding == 0 {
            if closed {
                // See whether it is an end of stream or bytes never sent.
                let mut one = [0u8; 1];
                return match c.stream.read(&mut one) {
                    Ok(0) => Err("closed by the server".into()),
                    Ok(_) => Err("the server sent bytes that were never sent to it".into()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                    Err(e) => Err(format!("read: {e}")),
                };
            }
            return Ok(());
        }
        let want = outstanding.min(rbuf.len());
        match c.stream.read(&mut rbuf[..want]) {
            Ok(0) => return Err("closed by the server".into()),
            Ok(n) => {
                if !verify(c.id, c.received, size, &rbuf[..n]) {
                    return Err("echo mismatch (bytes differ from what was sent)".into());
                }
                c.received += n as u64;
                if n < want {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// Whether `got`, found at stream offset `offset`, is what was sent there.
fn verify(id: u32, offset: u64, size: usize, got: &[u8]) -> bool {
    let mut seq = offset / size as u64;
    let mut i = (offset % size as u64) as usize;
    let mut rest = got;
    while !rest.is_empty() {
        let base = pattern_base(id, seq);
        let n = (size - i).min(rest.len());
        for (k, &b) in rest[..n].iter().enumerate() {
            if b != base.wrapping_add((i + k) as u8) {
                return false;
            }
        }
        rest = &rest[n..];
        seq += 1;
        i = 0;
    }
    true
}

// ------------------------------------------------------------------ figures

/// Latency percentiles in µs.
#[derive(Clone, Copy, Debug, Default, Serialize)]
struct Latency {
    p50: f64,
    p75: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    p9999: f64,
    max: f64,
    mean: f64,
    count: u64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        let q = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
        Latency {
            p50: q(0.5),
            p75: q(0.75),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            p9999: q(0.9999),
            max: h.max() as f64 / 1e3,
            mean: h.mean() / 1e3,
            count: h.len(),
        }
    }

    /// (x, µs) points of the percentile curve: x is the number of nines
    /// (p90 = 1, p99 = 2, ...), p50 at 0, p75 at 0.5, the maximum at 5.
    fn curve(&self) -> Vec<(f64, f64)> {
        vec![
            (0.0, self.p50),
            (0.5, self.p75),
            (1.0, self.p90),
            (2.0, self.p99),
            (3.0, self.p999),
            (4.0, self.p9999),
            (5.0, self.max),
        ]
    }
}

/// One run of one server.
#[derive(Clone, Debug, Serialize)]
struct RoundSample {
    round: u32,
    /// Messages echoed within the measured window, and in the whole run
    /// (warm-up and drain included).
    msgs_window: u64,
    msgs_total: u64,
    window_s: f64,
    msgs_per_sec: f64,
    /// Echoed payload, one direction, MB (10^6 bytes) per second.
    mb_per_sec: f64,
    /// The server's CPU time: for a child the whole process life (rusage),
    /// for `--target --pid` the measured window (/proc/PID/stat).
    server_user_us: Option<f64>,
    server_sys_us: Option<f64>,
    /// Server CPU per message: over `msgs_total` for a child, over
    /// `msgs_window` for a target.
    cpu_us_per_msg: Option<f64>,
    user_us_per_msg: Option<f64>,
    sys_us_per_msg: Option<f64>,
    /// The load generator's own CPU per message (all its threads, whole run).
    load_cpu_us_per_msg: f64,
    latency_us: Latency,
    errors: BTreeMap<String, u64>,
}

/// The figures a table row shows (median, min or max over the rounds).
#[derive(Clone, Copy, Debug, Serialize)]
struct Figures {
    msgs_per_sec: f64,
    mb_per_sec: f64,
    cpu_us_per_msg: Option<f64>,
    user_us_per_msg: Option<f64>,
    sys_us_per_msg: Option<f64>,
    load_cpu_us_per_msg: f64,
}

#[derive(Clone, Copy, Debug, Serialize)]
struct Ratios {
    msgs_per_sec: f64,
    cpu_per_msg: Option<f64>,
}

#[derive(Debug, Serialize)]
struct ServerResult {
    server: String,
    workers: usize,
    pinned: bool,
    rounds: Vec<RoundSample>,
    /// Runs that failed outright (the server did not start, nothing was echoed, ...).
    failures: Vec<String>,
    median: Option<Figures>,
    min: Option<Figures>,
    max: Option<Figures>,
    /// Over all rounds' measured windows together.
    latency_us: Option<Latency>,
    /// Summed over the rounds.
    errors: BTreeMap<String, u64>,
    ratio_to_tokio_ct: Option<Ratios>,
    ratio_to_mio: Option<Ratios>,
    #[serde(skip)]
    hist: Option<Histogram<u64>>,
}

impl ServerResult {
    fn error_count(&self) -> u64 {
        self.errors.values().sum::<u64>() + self.failures.len() as u64
    }
}

#[derive(Debug, Serialize)]
struct SweepPoint {
    conns: u32,
    servers: Vec<ServerResult>,
}

#[derive(Debug, Serialize)]
struct IdleResult {
    server: String,
    conns: u32,
    /// Connections opened (and each checked with a one-byte echo).
    opened: u32,
    rss_before_bytes: Option<u64>,
    rss_after_bytes: Option<u64>,
    rss_per_conn_bytes: Option<f64>,
    fds_before: Option<u64>,
    fds_after: Option<u64>,
    fds_per_conn: Option<f64>,
    /// The server's fds once all the connections are closed again.
    fds_after_close: Option<u64>,
    connect_s: f64,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus_online: usize,
    cpu_model: String,
    kernel: String,
}

#[derive(Debug, Serialize)]
struct Report {
    tool: &'static str,
    config: Config,
    machine: Machine,
    sweep: Vec<SweepPoint>,
    idle: Vec<IdleResult>,
}

impl Report {
    fn all_ok(&self) -> bool {
        self.sweep
            .iter()
            .flat_map(|p| &p.servers)
            .all(|s| s.error_count() == 0)
            && self.idle.iter().all(|i| i.error.is_none())
    }
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
    // SAFETY: sysconf only reads a configuration value.
    let cpus_online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    Machine {
        cpus_online,
        cpu_model,
        kernel,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median, min and max of each figure over the rounds.
fn summarize(rounds: &[RoundSample]) -> Option<(Figures, Figures, Figures)> {
    if rounds.is_empty() {
        return None;
    }
    let stat = |f: &dyn Fn(&RoundSample) -> f64| {
        let v: Vec<f64> = rounds.iter().map(f).collect();
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (median(v), min, max)
    };
    let opt = |f: &dyn Fn(&RoundSample) -> Option<f64>| {
        if rounds.iter().all(|r| f(r).is_some()) {
            let (m, lo, hi) = stat(&|r| f(r).unwrap_or(f64::NAN));
            (Some(m), Some(lo), Some(hi))
        } else {
            (None, None, None)
        }
    };
    let rate = stat(&|r| r.msgs_per_sec);
    let mb = stat(&|r| r.mb_per_sec);
    let load = stat(&|r| r.load_cpu_us_per_msg);
    let cpu = opt(&|r| r.cpu_us_per_msg);
    let user = opt(&|r| r.user_us_per_msg);
    let sys = opt(&|r| r.sys_us_per_msg);
    let pick = |i: usize| {
        let of3 = |t: (f64, f64, f64)| [t.0, t.1, t.2][i];
        let of3o = |t: (Option<f64>, Option<f64>, Option<f64>)| [t.0, t.1, t.2][i];
        Figures {
            msgs_per_sec: of3(rate),
            mb_per_sec: of3(mb),
            cpu_us_per_msg: of3o(cpu),
            user_us_per_msg: of3o(user),
            sys_us_per_msg: of3o(sys),
            load_cpu_us_per_msg: of3(load),
        }
    };
    Some((pick(0), pick(1), pick(2)))
}

// ----------------------------------------------------------------- the runs

fn progress_bar(len: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs, ETA {eta}: {msg}",
        )
        .expect("valid template"),
    );
    pb
}

/// Prints a line above the progress bar, or to stderr when there is no bar.
fn note(pb: &ProgressBar, line: String) {
    if pb.is_hidden() {
        eprintln!("{line}");
    } else {
        pb.println(line);
    }
}

fn run_load_sweep(cfg: &Config, subjects: &[Subject]) -> io::Result<Vec<SweepPoint>> {
    let n = subjects.len();
    let pb = progress_bar((cfg.conns.len() * cfg.rounds as usize * n) as u64);
    let mut sweep = Vec::new();
    for &conns in &cfg.conns {
        let mut results: Vec<ServerResult> = subjects
            .iter()
            .map(|s| {
                let (workers, pinned) = match s {
                    Subject::Kind(k) => (
                        if k.multi_threaded() { cfg.workers } else { 1 },
                        cfg.pinned_cpu.is_some() && !k.multi_threaded(),
                    ),
                    Subject::Target { .. } => (0, false),
                };
                ServerResult {
                    server: s.name(),
                    workers,
                    pinned,
                    rounds: Vec::new(),
                    failures: Vec::new(),
                    median: None,
                    min: None,
                    max: None,
                    latency_us: None,
                    errors: BTreeMap::new(),
                    ratio_to_tokio_ct: None,
                    ratio_to_mio: None,
                    hist: None,
                }
            })
            .collect();
        for round in 0..cfg.rounds {
            for i in 0..n {
                let idx = (i + round as usize) % n;
                let subject = &subjects[idx];
                pb.set_message(format!(
                    "{}, round {}/{}, {conns} conns",
                    subject.name(),
                    round + 1,
                    cfg.rounds
                ));
                let r = run_one(cfg, subject, conns, &pb);
                let res = &mut results[idx];
                match r {
                    Ok((mut sample, hist)) => {
                        sample.round = round + 1;
                        note(
                            &pb,
                            format!(
                                "round {}/{} {:>20}: {:>9.0} msgs/s, p99 {:>7.1} µs, server CPU {} µs/msg{}",
                                round + 1,
                                cfg.rounds,
                                subject.name(),
                                sample.msgs_per_sec,
                                sample.latency_us.p99,
                                sample.cpu_us_per_msg.map_or("?".into(), |c| format!("{c:.2}")),
                                error_note(&sample.errors)
                            ),
                        );
                        for (k, v) in &sample.errors {
                            *res.errors.entry(k.clone()).or_default() += v;
                        }
                        match &mut res.hist {
                            Some(h) => h.add(&hist).map_err(io::Error::other)?,
                            None => res.hist = Some(hist),
                        }
                        res.rounds.push(sample);
                    }
                    Err(RunError::Fatal(e)) => {
                        pb.finish_and_clear();
                        return Err(e);
                    }
                    Err(RunError::Failed { why, errors }) => {
                        note(
                            &pb,
                            format!(
                                "round {}/{} {}: failed: {why}",
                                round + 1,
                                cfg.rounds,
                                subject.name()
                            ),
                        );
                        res.failures.push(format!("round {}: {why}", round + 1));
                        for (k, v) in errors {
                            *res.errors.entry(k).or_default() += v;
                        }
                    }
                }
                pb.inc(1);
            }
        }
        for r in &mut results {
            if let Some((med, lo, hi)) = summarize(&r.rounds) {
                r.median = Some(med);
                r.min = Some(lo);
                r.max = Some(hi);
            }
            r.latency_us = r.hist.as_ref().map(Latency::of);
        }
        let base = |name: &str| results.iter().find(|r| r.server == name).and_then(|r| r.median);
        let (ct, mio) = (base("tokio-ct"), base("mio"));
        let ratio = |m: Figures, b: Option<Figures>| {
            b.map(|b| Ratios {
                msgs_per_sec: m.msgs_per_sec / b.msgs_per_sec,
                cpu_per_msg: m.cpu_us_per_msg.zip(b.cpu_us_per_msg).map(|(x, y)| x / y),
            })
        };
        for r in &mut results {
            if let Some(m) = r.median {
                r.ratio_to_tokio_ct = ratio(m, ct);
                r.ratio_to_mio = ratio(m, mio);
            }
        }
        sweep.push(SweepPoint {
            conns,
            servers: results,
        });
    }
    pb.finish_and_clear();
    Ok(sweep)
}

/// Errors that would fail every further run the same way.
fn is_fatal(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

fn error_note(errors: &BTreeMap<String, u64>) -> String {
    let n: u64 = errors.values().sum();
    if n == 0 {
        String::new()
    } else {
        format!(", {n} errors")
    }
}

/// Why a run gave no figures.
enum RunError {
    /// Every further run would fail the same way (out of fds).
    Fatal(io::Error),
    /// This run failed; the errors its connections met.
    Failed {
        why: String,
        errors: BTreeMap<String, u64>,
    },
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> RunError {
        if is_fatal(&e) {
            RunError::Fatal(e)
        } else {
            RunError::Failed {
                why: e.to_string(),
                errors: BTreeMap::new(),
            }
        }
    }
}

/// One run: starts the server (unless it is a target), loads it, stops it.
fn run_one(
    cfg: &Config,
    subject: &Subject,
    conns: u32,
    pb: &ProgressBar,
) -> Result<(RoundSample, Histogram<u64>), RunError> {
    let (addr, pid, server) = match subject {
        Subject::Kind(k) => {
            let s = start_server(*k, cfg)?;
            (s.addr, None, Some(s))
        }
        Subject::Target { addr, pid } => (*addr, *pid, None),
    };
    let spec = LoadSpec {
        cfg,
        addr,
        conns,
        pid,
        progress: pb,
    };
    let load = run_load(&spec);
    let exit = match server {
        Some(s) => Some(stop_server(s)?),
        None => None,
    };
    let mut load = load?;
    if let Some(exit) = exit
        && !matches!(exit.status, ExitStatus::Code(0))
    {
        *load
            .errors
            .entry(format!(
                "the server ended with {} (expected exit code 0 on SIGTERM)",
                exit.status
            ))
            .or_default() += 1;
    }
    if load.msgs_total == 0 || load.msgs_window == 0 {
        let why = if load.errors.is_empty() {
            "no message echoed in the measured window".to_owned()
        } else {
            format!("no message echoed: {}", describe_errors(&load.errors))
        };
        return Err(RunError::Failed {
            why,
            errors: load.errors,
        });
    }
    let window_s = load.window.as_secs_f64();
    let msgs_per_sec = load.msgs_window as f64 / window_s;
    // CPU per message: a child's whole life over all it echoed; a target's
    // measured window over what it echoed in it.
    let (cpu, per) = match (exit, load.target_cpu) {
        (Some(e), _) => (Some((e.user, e.sys)), load.msgs_total),
        (None, Some(c)) => (Some(c), load.msgs_window),
        (None, None) => (None, 1),
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let sample = RoundSample {
        round: 0,
        msgs_window: load.msgs_window,
        msgs_total: load.msgs_total,
        window_s,
        msgs_per_sec,
        mb_per_sec: msgs_per_sec * f64::from(cfg.size) / 1e6,
        server_user_us: cpu.map(|c| us(c.0)),
        server_sys_us: cpu.map(|c| us(c.1)),
        cpu_us_per_msg: cpu.map(|c| us(c.0 + c.1) / per as f64),
        user_us_per_msg: cpu.map(|c| us(c.0) / per as f64),
        sys_us_per_msg: cpu.map(|c| us(c.1) / per as f64),
        load_cpu_us_per_msg: us(load.load_cpu) / load.msgs_total as f64,
        latency_us: Latency::of(&load.hist),
        errors: load.errors,
    };
    Ok((sample, load.hist))
}

fn describe_errors(errors: &BTreeMap<String, u64>) -> String {
    errors
        .iter()
        .map(|(k, v)| format!("{v} × {k}"))
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------- the table

/// 1234567.8 → "1,234,568".
fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "?".into();
    }
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// A latency in µs with sensible digits.
fn lat(v: f64) -> String {
    if v >= 1000.0 {
        thousands(v)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn opt2(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

fn ratio_cell(r: Option<Ratios>) -> String {
    match r {
        None => "–".into(),
        Some(r) => format!(
            "{:.2}× / {}",
            r.msgs_per_sec,
            r.cpu_per_msg.map_or("–".into(), |c| format!("{c:.2}×"))
        ),
    }
}

/// Prints `rows` as a Markdown table with aligned columns.
fn print_markdown(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count(), 3])
            .max()
            .unwrap_or(3)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: Vec<String>| {
        let mut s = String::from("|");
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if right[i] {
                let _ = write!(s, " {}{} |", " ".repeat(pad), c);
            } else {
                let _ = write!(s, " {}{} |", c, " ".repeat(pad));
            }
        }
        s
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect()) + "\n";
    out += &line(
        widths
            .iter()
            .zip(right)
            .map(|(w, r)| {
                if *r {
                    format!("{}:", "-".repeat(w - 1))
                } else {
                    "-".repeat(*w)
                }
            })
            .collect(),
    );
    out.push('\n');
    for r in rows {
        out += &line(r.clone());
        out.push('\n');
    }
    out
}

fn describe_load(cfg: &Config, conns: u32) -> String {
    let shape = match cfg.mode {
        Mode::Pingpong => "ping-pong".to_owned(),
        Mode::Pipelined => format!("pipelined, {} in flight per connection", cfg.depth),
    };
    let length = match cfg.messages {
        Some(m) => format!("{m} messages per run"),
        None => format!(
            "{} s measured per run (after {} s warm-up)",
            cfg.duration_s, cfg.warmup_s
        ),
    };
    format!(
        "{conns} connection{} × {} B {shape}, {length}, {} round{}",
        if conns == 1 { "" } else { "s" },
        cfg.size,
        cfg.rounds,
        if cfg.rounds == 1 { "" } else { "s" },
    )
}

fn describe_pinning(cfg: &Config, subjects: &[Subject]) -> String {
    let multi: Vec<&str> = subjects
        .iter()
        .filter_map(|s| match s {
            Subject::Kind(k) if k.multi_threaded() => Some(k.name()),
            _ => None,
        })
        .collect();
    match cfg.pinned_cpu {
        None => "nothing pinned (--no-pin)".to_owned(),
        Some(cpu) if subjects.iter().all(|s| matches!(s, Subject::Target { .. })) => format!(
            "load generator pinned to CPU {cpu}; the target server runs where it was started \
             (start it under `taskset -c {cpu}` for figures comparable with a same-core run)"
        ),
        Some(cpu) => {
            let mut s = format!("load generator and single-threaded servers pinned to CPU {cpu}");
            if !multi.is_empty() {
                let _ = write!(
                    s,
                    "; {} ({} workers) on all {} CPUs",
                    multi.join(", "),
                    cfg.workers,
                    cfg.cpus.len()
                );
            }
            if cfg.threads > 1 {
                let _ = write!(s, "; {} load threads, one per CPU", cfg.threads);
            }
            s
        }
    }
}

fn print_table(cfg: &Config, point: &SweepPoint, subjects: &[Subject]) {
    println!();
    println!("echo_bench: {}", describe_load(cfg, point.conns));
    println!("{}", describe_pinning(cfg, subjects));
    println!();
    let header = [
        "server",
        "msgs/s",
        "(min–max)",
        "MB/s",
        "p50 µs",
        "p99 µs",
        "p99.9 µs",
        "max µs",
        "CPU µs/msg",
        "user",
        "sys",
        "vs tokio-ct: msgs/s / CPU",
        "vs mio: msgs/s / CPU",
        "errors",
    ];
    let right = [
        false, true, true, true, true, true, true, true, true, true, true, true, true, true,
    ];
    let rows: Vec<Vec<String>> = point
        .servers
        .iter()
        .map(|r| match (r.median, r.min, r.max, r.latency_us) {
            (Some(m), Some(lo), Some(hi), Some(l)) => vec![
                r.server.clone(),
                thousands(m.msgs_per_sec),
                format!("({}–{})", thousands(lo.msgs_per_sec), thousands(hi.msgs_per_sec)),
                format!("{:.2}", m.mb_per_sec),
                lat(l.p50),
                lat(l.p99),
                lat(l.p999),
                lat(l.max),
                opt2(m.cpu_us_per_msg),
                opt2(m.user_us_per_msg),
                opt2(m.sys_us_per_msg),
                ratio_cell(r.ratio_to_tokio_ct),
                ratio_cell(r.ratio_to_mio),
                r.error_count().to_string(),
            ],
            _ => {
                let mut row = vec![r.server.clone(), "failed".into()];
                row.resize(header.len() - 1, "–".into());
                row.push(r.error_count().to_string());
                row
            }
        })
        .collect();
    print!("{}", print_markdown(&header, &right, &rows));
    println!();
    let mut hints = Vec::new();
    for r in &point.servers {
        for f in &r.failures {
            println!("{}: failed run: {f}", r.server);
            if let Some(h) = hint_for_text(f)
                && !hints.contains(&h)
            {
                hints.push(h);
            }
        }
        if !r.errors.is_empty() {
            println!("{}: errors: {}", r.server, describe_errors(&r.errors));
        }
    }
    for h in hints {
        println!("hint: {h}");
    }
    println!("{}", closing_line(cfg, point));
}

/// The hint for an error that reached us as text (a failed run's reason).
fn hint_for_text(text: &str) -> Option<String> {
    [libc::ECONNREFUSED, libc::EMFILE, libc::EADDRNOTAVAIL]
        .into_iter()
        .find(|&code| text.contains(&format!("(os error {code})")))
        .and_then(|code| echo_server::hint(&io::Error::from_raw_os_error(code)))
}

/// The sentence under the table: what it shows.
fn closing_line(cfg: &Config, point: &SweepPoint) -> String {
    let ok: Vec<&ServerResult> = point.servers.iter().filter(|r| r.median.is_some()).collect();
    let msgs: u64 = ok.iter().flat_map(|r| &r.rounds).map(|s| s.msgs_total).sum();
    let errors: u64 = point.servers.iter().map(ServerResult::error_count).sum();
    let verified = if errors == 0 {
        format!(
            "All {} echoed messages were checked byte for byte; no error.",
            thousands(msgs as f64)
        )
    } else {
        format!(
            "{} echoed messages were checked byte for byte; {errors} error(s), listed above.",
            thousands(msgs as f64)
        )
    };
    let cpu_of = |r: &ServerResult| r.median.and_then(|m| m.cpu_us_per_msg);
    let mut s = String::new();
    if let (Some(sq), Some(ct), Some(mio)) = (
        ok.iter().find(|r| r.server == "sockwq"),
        ok.iter().find(|r| r.server == "tokio-ct"),
        ok.iter().find(|r| r.server == "mio"),
    ) {
        let (rc, rm) = (sq.ratio_to_tokio_ct, sq.ratio_to_mio);
        if let (Some(rc), Some(rm), Some(_), Some(_)) = (rc, rm, cpu_of(ct), cpu_of(mio)) {
            let _ = write!(
                s,
                "Under the same load on the same core, sockwq's server spends {:.2}× the CPU per echoed message \
                 of tokio-ct and {:.2}× that of the hand-written mio loop (the floor), and echoes {:.2}× / {:.2}× \
                 their messages per second. ",
                rc.cpu_per_msg.unwrap_or(f64::NAN),
                rm.cpu_per_msg.unwrap_or(f64::NAN),
                rc.msgs_per_sec,
                rm.msgs_per_sec
            );
        }
    }
    if let Some(best) = ok.iter().filter(|r| cpu_of(r).is_some()).min_by(|a, b| {
        cpu_of(a)
            .unwrap_or(f64::MAX)
            .total_cmp(&cpu_of(b).unwrap_or(f64::MAX))
    }) && ok.len() > 1
    {
        let fastest = ok
            .iter()
            .max_by(|a, b| {
                let m = |r: &ServerResult| r.median.map_or(0.0, |m| m.msgs_per_sec);
                m(a).total_cmp(&m(b))
            })
            .expect("not empty");
        // Every server within the printed precision of the least, so that a
        // tie reads as one.
        let least = cpu_of(best).unwrap_or(f64::NAN);
        let tied: Vec<&str> = ok
            .iter()
            .filter(|r| cpu_of(r).is_some_and(|c| format!("{c:.2}") == format!("{least:.2}")))
            .map(|r| r.server.as_str())
            .collect();
        let _ = write!(
            s,
            "Least server CPU per message: {} ({:.2} µs); most messages per second: {} ({}). ",
            tied.join(" and "),
            least,
            fastest.server,
            thousands(fastest.median.map_or(0.0, |m| m.msgs_per_sec))
        );
    }
    if ok.len() == 1 && point.servers.len() == 1 {
        let r = ok[0];
        let m = r.median.expect("ok");
        let l = r.latency_us.unwrap_or_default();
        let _ = write!(
            s,
            "{}: {} msgs/s, p99 {} µs, {}. ",
            r.server,
            thousands(m.msgs_per_sec),
            lat(l.p99),
            match m.cpu_us_per_msg {
                Some(c) => format!("{c:.2} µs of server CPU per message"),
                None => "server CPU not measured (give --pid)".to_owned(),
            }
        );
    }
    s += &verified;
    if cfg.rounds > 1 && ok.len() > 1 {
        s += " Ratios divide the rows' medians (all from this run's rounds) and carry over to other machines; absolute figures are this machine's.";
    }
    s
}

// --------------------------------------------------------------- idle test

fn run_idle(cfg: &Config, subjects: &[Subject], n: u32) -> io::Result<Vec<IdleResult>> {
    let pb = ProgressBar::with_draw_target(
        Some(u64::from(n) * subjects.len() as u64),
        ProgressDrawTarget::stderr(),
    );
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} connections, ETA {eta}: {msg}",
        )
        .expect("valid template"),
    );
    let mut out = Vec::new();
    for subject in subjects {
        pb.set_message(subject.name());
        let (addr, pid, server) = match subject {
            Subject::Kind(k) => match start_server(*k, cfg) {
                Ok(s) => (s.addr, Some(s.pid()), Some(s)),
                Err(e) => {
                    note(&pb, format!("{}: failed: {e}", subject.name()));
                    out.push(idle_failure(subject, n, e.to_string()));
                    pb.inc(u64::from(n));
                    continue;
                }
            },
            Subject::Target { addr, pid } => (*addr, *pid, None),
        };
        let r = idle_one(cfg, subject, addr, pid, n, &pb);
        let exit = server.map(stop_server).transpose();
        let mut r = r?;
        match exit {
            Ok(Some(e)) if !matches!(e.status, ExitStatus::Code(0)) && r.error.is_none() => {
                r.error = Some(format!("the server ended with {}", e.status));
            }
            Err(e) if r.error.is_none() => r.error = Some(format!("stopping the server: {e}")),
            _ => {}
        }
        note(
            &pb,
            format!(
                "{:>20}: {} idle connections, {} B RSS and {} fds per connection{}",
                r.server,
                r.opened,
                r.rss_per_conn_bytes.map_or("?".into(), |v| format!("{v:.0}")),
                r.fds_per_conn.map_or("?".into(), |v| format!("{v:.2}")),
                r.error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" (error: {e})"))
            ),
        );
        out.push(r);
    }
    pb.finish_and_clear();
    Ok(out)
}

fn idle_failure(subject: &Subject, n: u32, error: String) -> IdleResult {
    IdleResult {
        server: subject.name(),
        conns: n,
        opened: 0,
        rss_before_bytes: None,
        rss_after_bytes: None,
        rss_per_conn_bytes: None,
        fds_before: None,
        fds_after: None,
        fds_per_conn: None,
        fds_after_close: None,
        connect_s: 0.0,
        error: Some(error),
    }
}

/// Connects, sends one byte (the connection's number) and checks its echo.
fn idle_connect(addr: SocketAddr, i: usize, per_source: u32) -> io::Result<std::net::TcpStream> {
    let s = client_socket(addr, i, per_source, false)?;
    s.connect_timeout(&addr.into(), CONNECT_TIMEOUT)?;
    let mut s: std::net::TcpStream = s.into();
    s.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    let b = [i as u8];
    s.write_all(&b)?;
    let mut back = [0u8; 1];
    s.read_exact(&mut back)?;
    if back != b {
        return Err(io::Error::other("echo mismatch"));
    }
    Ok(s)
}

fn idle_one(
    cfg: &Config,
    subject: &Subject,
    addr: SocketAddr,
    pid: Option<i32>,
    n: u32,
    pb: &ProgressBar,
) -> io::Result<IdleResult> {
    let mut r = idle_failure(subject, n, String::new());
    r.error = None;
    // Warm up: the server's first connection allocates its per-worker
    // buffers and tables; measure from after it.
    match idle_connect(addr, 0, cfg.ports_per_source) {
        Ok(s) => drop(s),
        Err(e) => {
            r.error = Some(format!("first connection: {e}"));
            return Ok(r);
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let before = pid.map(proc_mem).transpose()?;
    let start = Instant::now();
    let mut streams = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        match idle_connect(addr, i, cfg.ports_per_source) {
            Ok(s) => streams.push(s),
            Err(e) => {
                if is_fatal(&e) {
                    return Err(e);
                }
                r.error = Some(format!("connection {i}: {e}"));
                break;
            }
        }
        if i % 256 == 255 {
            pb.inc(256);
        }
    }
    pb.inc(u64::from(n) % 256);
    r.connect_s = start.elapsed().as_secs_f64();
    r.opened = streams.len() as u32;
    // Let the server settle (tasks parked, nothing in flight).
    std::thread::sleep(Duration::from_millis(300));
    let after = pid.map(proc_mem).transpose()?;
    drop(streams);
    if let (Some((rss0, fd0)), Some((rss1, fd1))) = (before, after) {
        r.rss_before_bytes = Some(rss0);
        r.rss_after_bytes = Some(rss1);
        r.fds_before = Some(fd0);
        r.fds_after = Some(fd1);
        let k = f64::from(r.opened.max(1));
        r.rss_per_conn_bytes = Some((rss1 as f64 - rss0 as f64) / k);
        r.fds_per_conn = Some((fd1 as f64 - fd0 as f64) / k);
        // The server should close its ends: wait for the fd count to fall back.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut fds = fd1;
        while let Some(pid) = pid {
            fds = proc_mem(pid)?.1;
            if fds <= fd0 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        r.fds_after_close = Some(fds);
        if fds > fd0 && r.error.is_none() {
            r.error = Some(format!(
                "{} fds still open 5 s after the clients closed",
                fds - fd0
            ));
        }
    }
    Ok(r)
}

fn print_idle(cfg: &Config, results: &[IdleResult]) {
    let n = results.first().map_or(0, |r| r.conns);
    println!();
    println!(
        "echo_bench: {n} idle connections per server (each checked with a one-byte echo); {}",
        match cfg.pinned_cpu {
            Some(c) => format!("pinned to CPU {c} as in the load runs"),
            None => "nothing pinned".to_owned(),
        }
    );
    println!();
    let header = [
        "server",
        "connections",
        "RSS before KiB",
        "RSS after KiB",
        "RSS per connection, B",
        "fds per connection",
        "fds after close (before)",
        "connect s",
    ];
    let right = [false, true, true, true, true, true, true, true];
    let kib = |v: Option<u64>| v.map_or("–".into(), |v| thousands(v as f64 / 1024.0));
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.server.clone(),
                r.opened.to_string(),
                kib(r.rss_before_bytes),
                kib(r.rss_after_bytes),
                r.rss_per_conn_bytes.map_or("–".into(), |v| format!("{v:.0}")),
                r.fds_per_conn.map_or("–".into(), |v| format!("{v:.2}")),
                match (r.fds_after_close, r.fds_before) {
                    (Some(a), Some(b)) => format!("{a} ({b})"),
                    _ => "–".into(),
                },
                format!("{:.2}", r.connect_s),
            ]
        })
        .collect();
    print!("{}", print_markdown(&header, &right, &rows));
    println!();
    for r in results {
        if let Some(e) = &r.error {
            println!("{}: error: {e}", r.server);
        }
    }
    let measured: Vec<&IdleResult> = results
        .iter()
        .filter(|r| r.rss_per_conn_bytes.is_some())
        .collect();
    if measured.is_empty() {
        println!("Server memory not measured (with --target, give --pid).");
    } else {
        let list = measured
            .iter()
            .map(|r| format!("{} {:.0} B", r.server, r.rss_per_conn_bytes.unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "User-space memory (RSS) each idle connection adds to its server: {list}. \
             The kernel's socket buffers are not in RSS and are the same for every server."
        );
    }
}

// --------------------------------------------------------------- the plot

fn color_of(name: &str) -> plotters::style::RGBColor {
    use plotters::style::RGBColor;
    match name {
        "sockwq" => RGBColor(31, 119, 180),
        "sockwq-per-core" => RGBColor(106, 174, 214),
        "sockwq-on-tokio-ct" => RGBColor(23, 190, 207),
        "sockwq-on-tokio-mt" => RGBColor(44, 160, 44),
        "tokio-ct" => RGBColor(255, 127, 14),
        "tokio-mt" => RGBColor(214, 39, 40),
        "mio" => RGBColor(80, 80, 80),
        _ => RGBColor(148, 103, 189),
    }
}

/// 84203.0 → "84.2k".
fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn plot(path: &Path, cfg: &Config, sweep: &[SweepPoint]) -> io::Result<()> {
    use plotters::prelude::*;
    let e = |e: &dyn std::fmt::Display| io::Error::other(format!("drawing the plot: {e}"));
    let names: Vec<String> = sweep[0].servers.iter().map(|s| s.server.clone()).collect();
    let n = names.len();
    let k = sweep.len();
    let height = (140 + 44 * n * k).max(300 * k).max(460) as u32;
    let root = SVGBackend::new(path, (1280, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let title = format!(
        "echo_bench: {} B {}, {} s × {} rounds",
        cfg.size,
        match cfg.mode {
            Mode::Pingpong => "ping-pong".to_owned(),
            Mode::Pipelined => format!("pipelined ×{}", cfg.depth),
        },
        cfg.duration_s,
        cfg.rounds
    );
    let root = root.titled(&title, ("sans-serif", 24)).map_err(|x| e(&x))?;
    let (left, right) = root.split_horizontally(620);

    // msgs/s: one bar per server (and per connection count), median with
    // a min–max whisker.
    let xmax = sweep
        .iter()
        .flat_map(|p| &p.servers)
        .filter_map(|s| s.max.map(|m| m.msgs_per_sec))
        .fold(1.0, f64::max)
        * 1.65;
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "messages per second (median of rounds, min–max whisker)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(150)
        .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(6)
        .x_label_formatter(&|v| si(*v))
        .light_line_style(WHITE)
        .x_desc("msgs/s")
        .draw()
        .map_err(|x| e(&x))?;
    let h = 0.8 / k as f64;
    for (i, name) in names.iter().enumerate() {
        let top = (n - i) as f64 - 0.1;
        let color = color_of(name);
        // Text goes on `left`, whose origin is not the backend's.
        let (bx, by) = left.get_base_pixel();
        let (px, py) = chart.backend_coord(&(0.0, top - 0.4));
        let (px, py) = (px - bx, py - by);
        left.draw(&Text::new(
            name.clone(),
            (px - 8, py),
            ("sans-serif", 17)
                .into_font()
                .color(&BLACK)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Center,
                )),
        ))
        .map_err(|x| e(&x))?;
        for (j, point) in sweep.iter().enumerate() {
            let Some(s) = point.servers.iter().find(|s| &s.server == name) else {
                continue;
            };
            let (Some(m), Some(lo), Some(hi)) = (s.median, s.min, s.max) else {
                continue;
            };
            let (y1, y0) = (top - j as f64 * h, top - (j + 1) as f64 * h + 0.02);
            let fill = if k > 1 && j % 2 == 1 {
                color.mix(0.55)
            } else {
                color.mix(0.9)
            };
            chart
                .draw_series([Rectangle::new([(0.0, y0), (m.msgs_per_sec, y1)], fill.filled())])
                .map_err(|x| e(&x))?;
            let yc = (y0 + y1) / 2.0;
            let cap = h * 0.25;
            chart
                .draw_series([
                    PathElement::new(
                        vec![(lo.msgs_per_sec, yc), (hi.msgs_per_sec, yc)],
                        BLACK.stroke_width(1),
                    ),
                    PathElement::new(
                        vec![(lo.msgs_per_sec, yc - cap), (lo.msgs_per_sec, yc + cap)],
                        BLACK.stroke_width(1),
                    ),
                    PathElement::new(
                        vec![(hi.msgs_per_sec, yc - cap), (hi.msgs_per_sec, yc + cap)],
                        BLACK.stroke_width(1),
                    ),
                ])
                .map_err(|x| e(&x))?;
            let cpu = m
                .cpu_us_per_msg
                .map_or(String::new(), |c| format!(", {c:.2} µs CPU/msg"));
            let label = if k > 1 {
                format!("{}{cpu} ({} conns)", si(m.msgs_per_sec), point.conns)
            } else {
                format!("{}{cpu}", si(m.msgs_per_sec))
            };
            let (lx, ly) = chart.backend_coord(&(hi.msgs_per_sec, yc));
            let (lx, ly) = (lx - bx, ly - by);
            left.draw(&Text::new(
                label,
                (lx + 6, ly),
                ("sans-serif", 15)
                    .into_font()
                    .color(&BLACK)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Left,
                        plotters::style::text_anchor::VPos::Center,
                    )),
            ))
            .map_err(|x| e(&x))?;
        }
    }

    // Latency percentiles, one panel per connection count.
    let panels = right.split_evenly((k, 1));
    for (point, area) in sweep.iter().zip(panels.iter()) {
        let curves: Vec<(&str, Vec<(f64, f64)>)> = point
            .servers
            .iter()
            .filter_map(|s| s.latency_us.map(|l| (s.server.as_str(), l.curve())))
            .collect();
        let lo = curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(|p| p.1))
            .fold(f64::INFINITY, f64::min)
            .max(0.1)
            * 0.7;
        let hi = curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(|p| p.1))
            .fold(1.0, f64::max)
            * 1.6;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("latency by percentile, {} connections (all rounds)", point.conns),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.2f64..5.3, (lo..hi).log_scale())
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| {
                let r = x.round();
                if (x - r).abs() > 1e-6 {
                    return String::new();
                }
                match r as i32 {
                    0 => "p50".into(),
                    1 => "p90".into(),
                    2 => "p99".into(),
                    3 => "p99.9".into(),
                    4 => "p99.99".into(),
                    5 => "max".into(),
                    _ => String::new(),
                }
            })
            .y_labels(8)
            .y_label_formatter(&|v| lat(*v))
            .light_line_style(WHITE)
            .y_desc("µs")
            .draw()
            .map_err(|x| e(&x))?;
        for (name, curve) in curves {
            let color = color_of(name);
            chart
                .draw_series(LineSeries::new(curve.clone(), color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            chart
                .draw_series(curve.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|x| e(&x))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}
