//! The main job: echo servers on sockwq and on tokio, side by side, under
//! the same load generator on loopback, printing a results table.
//!
//! ```text
//! cargo run --release --example echo                      # the benchmark (about a minute)
//! cargo run --release --example echo -- --rounds 3 --secs 1 --conns 50
//! cargo run --release --example echo -- --serve sockwq    # just an echo server; prints its port
//! cargo run --release --example echo -- --load PORT       # just the load, against a running server
//! ```
//!
//! How it measures (absolute msgs/s drift 10–40 % between runs on a shared
//! 2-core machine; same-run ratios and server CPU time per message hold):
//!
//! * every server runs in a child process of its own (this binary with
//!   `--serve KIND`), so its CPU time is its own: `wait4`'s rusage,
//!   user + system, divided by the messages it echoed;
//! * the load generator (this process: a tokio current-thread runtime with
//!   `--conns` connections, each a 64-byte ping-pong) and the server are
//!   pinned to the same core (`sched_setaffinity`, inherited by the child),
//!   which makes the CPU-per-message figure stable to a few percent;
//! * servers alternate within each round (the order rotates), and the table
//!   shows the median of the rounds.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MSG: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// sockwq, one thread-per-core worker (the shape of tokio's current_thread).
    Sockwq,
    /// sockwq, two workers, one SO_REUSEPORT listener each (`run_per_core`).
    SockwqPerCore,
    TokioCurrentThread,
    TokioMultiThread,
    /// sockwq sockets in a tokio current_thread runtime (its own reactor).
    SockwqOnTokioCurrentThread,
    /// sockwq sockets in a tokio multi_thread runtime, 2 workers.
    SockwqOnTokioMultiThread,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Sockwq,
        Kind::SockwqPerCore,
        Kind::TokioCurrentThread,
        Kind::TokioMultiThread,
        Kind::SockwqOnTokioCurrentThread,
        Kind::SockwqOnTokioMultiThread,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Sockwq => "sockwq",
            Kind::SockwqPerCore => "sockwq-per-core",
            Kind::TokioCurrentThread => "tokio-current-thread",
            Kind::TokioMultiThread => "tokio-multi-thread",
            Kind::SockwqOnTokioCurrentThread => "sockwq-on-tokio-ct",
            Kind::SockwqOnTokioMultiThread => "sockwq-on-tokio-mt",
        }
    }

    fn parse(s: &str) -> io::Result<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("unknown server kind {s:?}")))
    }
}

// ---------------------------------------------------------------- servers

/// Echoes until the peer closes; any error just ends the connection. The
/// same code serves both runtimes: sockwq's streams implement tokio's
/// `AsyncRead`/`AsyncWrite` too.
async fn echo_conn<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn sockwq_accept_loop(listener: sockwq::net::TcpListener) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                sockwq::spawn(echo_conn(s));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                eprintln!("accept: {e}");
                sockwq::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn sockwq_on_tokio_accept_loop(listener: sockwq::net::TcpListener) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(echo_conn(s));
            }
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn tokio_accept_loop(listener: tokio::net::TcpListener) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(echo_conn(s));
            }
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Runs a server of `kind` on 127.0.0.1:`port` (0: any), prints
/// `PORT <n>` on stdout, and serves until stdin closes.
fn serve(kind: Kind, port: u16) -> io::Result<()> {
    // Exit when the parent closes our stdin (or dies).
    std::thread::spawn(|| {
        let mut sink = String::new();
        while io::stdin().read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {}
        std::process::exit(0);
    });
    let announce = |addr: SocketAddr| -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "PORT {}", addr.port())?;
        out.flush()
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    match kind {
        Kind::Sockwq => {
            let rt = sockwq::Runtime::builder().worker_threads(1).build()?;
            rt.block_on(async {
                let listener = sockwq::net::TcpListener::bind(addr).await?;
                announce(listener.local_addr()?)?;
                // Accept on the worker, so connections register with its reactor.
                sockwq::spawn(sockwq_accept_loop(listener))
                    .await
                    .map_err(io::Error::other)
            })
        }
        Kind::SockwqPerCore => {
            let rt = sockwq::Runtime::builder().worker_threads(2).build()?;
            // Reserve a port that every worker then binds with SO_REUSEPORT.
            let addr = reuseport_socket(addr)?;
            let results = rt.run_per_core(move |_worker| async move {
                let socket = sockwq::net::TcpSocket::new_v4()?;
                socket.set_reuseaddr(true)?;
                socket.set_reuseport(true)?;
                socket.bind(addr)?;
                let listener = socket.listen(1024)?;
                sockwq_accept_loop(listener).await;
                Ok::<(), io::Error>(())
            });
            results.into_iter().collect::<io::Result<Vec<()>>>().map(drop)
        }
        Kind::TokioCurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                announce(listener.local_addr()?)?;
                tokio_accept_loop(listener).await;
                Ok(())
            }),
        Kind::TokioMultiThread => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(async {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                announce(listener.local_addr()?)?;
                tokio_accept_loop(listener).await;
                Ok(())
            }),
        Kind::SockwqOnTokioCurrentThread | Kind::SockwqOnTokioMultiThread => {
            let rt = if kind == Kind::SockwqOnTokioCurrentThread {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?
            };
            rt.block_on(async {
                let listener = sockwq::net::TcpListener::bind(addr).await?;
                announce(listener.local_addr()?)?;
                // Accept in a task, as the tokio servers do (on multi_thread
                // the block_on thread is not a worker).
                tokio::spawn(sockwq_on_tokio_accept_loop(listener))
                    .await
                    .map_err(io::Error::other)
            })
        }
    }
}

/// Binds (without listening) a socket with SO_REUSEPORT, announcing its
/// port: it holds the port until the per-core listeners are bound.
fn reuseport_socket(addr: SocketAddr) -> io::Result<std::net::SocketAddr> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.bind(&addr.into())?;
    let local = s
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an inet address"))?;
    let mut out = io::stdout().lock();
    writeln!(out, "PORT {}", local.port())?;
    out.flush()?;
    // Keep the reservation alive for the life of the process: listeners
    // bound with SO_REUSEPORT share the port with it.
    std::mem::forget(s);
    Ok(local)
}

// ----------------------------------------------------------- load and stats

fn pin_to_cpu0() -> io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it, and
    // sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(0, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits for `child` and returns its (user, system) CPU time.
fn reap_with_cpu_time(child: Child) -> io::Result<(Duration, Duration)> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child; both pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if r != pid {
        return Err(io::Error::last_os_error());
    }
    // The child is reaped: std's handle must not wait on it again.
    std::mem::forget(child);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok((tv(ru.ru_utime), tv(ru.ru_stime)))
}

/// `conns` connections ping-pong `MSG` bytes until `secs` pass. Returns
/// the number of messages echoed (and checked).
async fn load(addr: SocketAddr, conns: usize, secs: f64) -> io::Result<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..conns {
        tasks.spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let mut msg = [0u8; MSG];
            let mut back = [0u8; MSG];
            let mut n = 0u64;
            while Instant::now() < deadline {
                msg.fill((c as u64 + n) as u8);
                s.write_all(&msg).await?;
                s.read_exact(&mut back).await?;
                if back != msg {
                    return Err(io::Error::other("echo mismatch"));
                }
                n += 1;
            }
            Ok::<u64, io::Error>(n)
        });
    }
    let mut total = 0;
    while let Some(r) = tasks.join_next().await {
        total += r.map_err(io::Error::other)??;
    }
    Ok(total)
}

struct Sample {
    msgs_per_sec: f64,
    cpu_us_per_msg: f64,
    user_us_per_msg: f64,
}

fn run_one(kind: Kind, conns: usize, secs: f64) -> io::Result<Sample> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", kind.name()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| io::Error::other(format!("{}: bad announcement {line:?}", kind.name())))?;
    // The per-core server announces before its listeners are up.
    std::thread::sleep(Duration::from_millis(50));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let msgs = rt.block_on(load(addr, conns, secs));
    let elapsed = start.elapsed();
    drop(child.stdin.take()); // the server exits
    let (user, sys) = reap_with_cpu_time(child)?;
    let msgs = msgs?;
    if msgs == 0 {
        return Err(io::Error::other(format!("{}: no message echoed", kind.name())));
    }
    Ok(Sample {
        msgs_per_sec: msgs as f64 / elapsed.as_secs_f64(),
        cpu_us_per_msg: (user + sys).as_secs_f64() * 1e6 / msgs as f64,
        user_us_per_msg: user.as_secs_f64() * 1e6 / msgs as f64,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> io::Result<T> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{name} needs a value"))),
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: echo [--rounds N] [--secs S] [--conns C] [--no-pin] [--only K1,K2]   benchmark sockwq vs tokio\n\
             \x20      echo --serve KIND [--port P]   run one echo server (KIND: {})\n\
             \x20      echo --load PORT [--secs S] [--conns C]   load a running server",
            Kind::ALL.map(Kind::name).join(", ")
        );
        return Ok(());
    }
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let kind = Kind::parse(args.get(i + 1).map(String::as_str).unwrap_or("sockwq"))?;
        return serve(kind, arg(&args, "--port", 0u16)?);
    }
    if let Some(i) = args.iter().position(|a| a == "--load") {
        // Drive an already running server (e.g. one under strace).
        let port: u16 = args
            .get(i + 1)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--load needs a port"))?;
        let secs: f64 = arg(&args, "--secs", 2.0f64)?.max(0.1);
        let conns: usize = arg(&args, "--conns", 50)?.max(1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let msgs = rt.block_on(load(([127, 0, 0, 1], port).into(), conns, secs))?;
        println!("{msgs} messages echoed");
        return Ok(());
    }
    let rounds: usize = arg(&args, "--rounds", 5)?.max(1);
    let secs: f64 = arg(&args, "--secs", 2.0f64)?.max(0.1);
    let conns: usize = arg(&args, "--conns", 50)?.max(1);
    let pinned = !args.iter().any(|a| a == "--no-pin");
    // `--only a,b`: run just these kinds.
    let only: Vec<Kind> = match args.iter().position(|a| a == "--only") {
        Some(i) => args
            .get(i + 1)
            .map(String::as_str)
            .unwrap_or("")
            .split(',')
            .map(Kind::parse)
            .collect::<io::Result<_>>()?,
        None => Kind::ALL.to_vec(),
    };
    if pinned {
        pin_to_cpu0()?;
    }
    println!(
        "echo ping-pong: {conns} connections x {MSG} B, {secs} s per run, {rounds} rounds, servers alternating{}",
        if pinned {
            ", server and load generator pinned to CPU 0"
        } else {
            ""
        }
    );
    let mut samples: Vec<(Kind, Vec<Sample>)> = only.iter().map(|&k| (k, Vec::new())).collect();
    for round in 0..rounds {
        for i in 0..samples.len() {
            let idx = (i + round) % samples.len();
            let kind = samples[idx].0;
            let s = run_one(kind, conns, secs)?;
            eprintln!(
                "round {} {:>22}: {:>9.0} msgs/s {:>6.2} µs CPU/msg ({:.2} user)",
                round + 1,
                kind.name(),
                s.msgs_per_sec,
                s.cpu_us_per_msg,
                s.user_us_per_msg
            );
            samples[idx].1.push(s);
        }
    }
    let med: Vec<(Kind, f64, f64, f64)> = samples
        .into_iter()
        .map(|(k, s)| {
            let rate = median(s.iter().map(|x| x.msgs_per_sec).collect());
            let cpu = median(s.iter().map(|x| x.cpu_us_per_msg).collect());
            let user = median(s.iter().map(|x| x.user_us_per_msg).collect());
            (k, rate, cpu, user)
        })
        .collect();
    let base = |k: Kind| {
        med.iter()
            .find(|m| m.0 == k)
            .copied()
            .unwrap_or((k, f64::NAN, f64::NAN, f64::NAN))
    };
    let (_, ct_rate, ct_cpu, ct_user) = base(Kind::TokioCurrentThread);
    let (_, mt_rate, mt_cpu, mt_user) = base(Kind::TokioMultiThread);
    println!();
    println!(
        "| server | msgs/s | server CPU µs/msg | of it user | msgs/s vs tokio ct / mt | CPU/msg vs tokio ct / mt | user/msg vs tokio ct / mt |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (k, rate, cpu, user) in &med {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2}x / {:.2}x | {:.2}x / {:.2}x | {:.2}x / {:.2}x |",
            k.name(),
            rate,
            cpu,
            user,
            rate / ct_rate,
            rate / mt_rate,
            cpu / ct_cpu,
            cpu / mt_cpu,
            user / ct_user,
            user / mt_user
        );
    }
    println!();
    println!("(medians of the rounds; CPU ratios below 1.00x mean less server CPU per message than tokio)");
    Ok(())
}
