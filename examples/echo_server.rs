//! A TCP echo server on several runtimes, to benchmark with `echo_bench`
//! (or any other load generator).
//!
//! ```text
//! cargo run --release --example echo_server -- --runtime sockwq --addr 127.0.0.1:7878
//! cargo run --release --example echo_server -- --runtime tokio-mt --workers 4
//! cargo run --release --example echo_bench -- --target 127.0.0.1:7878 --pid <its pid>
//! ```
//!
//! It prints `listening on ADDR` once the listener (every listener, for
//! `sockwq-per-core`) accepts, then serves until SIGINT or SIGTERM. Standard
//! input is not read: `echo_server &` keeps running.
//!
//! Runtimes (`--runtime`):
//!
//! | name | what |
//! |---|---|
//! | `sockwq` | sockwq's runtime, `--workers` workers (default 1), one listener |
//! | `sockwq-per-core` | sockwq, `--workers` workers (default: CPUs), one `SO_REUSEPORT` listener each (`run_per_core`) |
//! | `sockwq-on-tokio-ct` | `sockwq::net` sockets (on a reactor owned by the tokio runtime) in a tokio current_thread runtime |
//! | `sockwq-on-tokio-mt` | the same in a tokio multi_thread runtime, `--workers` workers (default: CPUs) |
//! | `tokio-ct` | `tokio::net` in a tokio current_thread runtime |
//! | `tokio-mt` | `tokio::net` in a tokio multi_thread runtime, `--workers` workers (default: CPUs) |
//! | `mio` | a hand-written edge-triggered mio loop on one thread with one shared buffer: the near-floor reference |
//!
//! Every async runtime runs the same [`echo`] task per connection, so what
//! differs between rows of a benchmark is the runtime. The task holds no
//! buffer while its connection is idle: it waits for readiness and reads
//! into its worker's buffer (a thread-local) within one poll, writes back
//! all it read, and only when the socket cannot take it all does it copy
//! the rest into a buffer of its own until it is written. An idle
//! connection so costs its socket and its task, nothing more.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// The size of the per-worker read buffer (and of the mio loop's one buffer).
pub(crate) const BUF_SIZE: usize = 64 * 1024;

/// How long an accept loop waits after an accept error (`EMFILE`, ...)
/// before it tries again, instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// The server kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub(crate) enum Kind {
    /// sockwq's runtime, one listener.
    Sockwq,
    /// sockwq, one SO_REUSEPORT listener per worker.
    SockwqPerCore,
    /// sockwq::net sockets in a tokio current_thread runtime.
    SockwqOnTokioCt,
    /// sockwq::net sockets in a tokio multi_thread runtime.
    SockwqOnTokioMt,
    /// tokio::net in a tokio current_thread runtime.
    TokioCt,
    /// tokio::net in a tokio multi_thread runtime.
    TokioMt,
    /// A hand-written edge-triggered mio loop, one thread, one buffer.
    Mio,
}

impl Kind {
    /// Every kind, in table order.
    #[allow(dead_code)] // read by echo_bench, which includes this file
    pub(crate) const ALL: [Kind; 7] = [
        Kind::Sockwq,
        Kind::SockwqPerCore,
        Kind::SockwqOnTokioCt,
        Kind::SockwqOnTokioMt,
        Kind::TokioCt,
        Kind::TokioMt,
        Kind::Mio,
    ];

    /// The `--runtime` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Sockwq => "sockwq",
            Kind::SockwqPerCore => "sockwq-per-core",
            Kind::SockwqOnTokioCt => "sockwq-on-tokio-ct",
            Kind::SockwqOnTokioMt => "sockwq-on-tokio-mt",
            Kind::TokioCt => "tokio-ct",
            Kind::TokioMt => "tokio-mt",
            Kind::Mio => "mio",
        }
    }

    /// Whether the kind runs several workers by default (and so is not
    /// pinned to one CPU by the benchmark).
    pub(crate) fn multi_threaded(self) -> bool {
        matches!(self, Kind::SockwqPerCore | Kind::SockwqOnTokioMt | Kind::TokioMt)
    }

    /// Whether `--workers` may be above 1.
    pub(crate) fn takes_workers(self) -> bool {
        matches!(
            self,
            Kind::Sockwq | Kind::SockwqPerCore | Kind::SockwqOnTokioMt | Kind::TokioMt
        )
    }

    /// The worker count when `--workers` is not given.
    pub(crate) fn default_workers(self) -> usize {
        if self.multi_threaded() { cpus() } else { 1 }
    }
}

/// The CPUs this process may run on.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[derive(Parser, Debug)]
#[command(
    name = "echo_server",
    about = "A TCP echo server on sockwq, tokio or a hand-written mio loop; serves until SIGINT/SIGTERM"
)]
struct Cli {
    /// The runtime to serve on.
    #[arg(long, value_enum, default_value = "sockwq")]
    runtime: Kind,
    /// The address to listen on (port 0: any free port; the one chosen is printed).
    #[arg(long, default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
    /// Worker threads (sockwq, sockwq-per-core, *-mt; default: 1 for sockwq, else the CPU count).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
}

#[allow(dead_code)] // `echo_bench` includes this file as a module and has its own main.
fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => exit_on_cli_error("echo_server", e),
    };
    let workers = cli.workers.map(usize::from);
    if let Err(e) = check_workers(cli.runtime, workers).and_then(|()| {
        serve(
            cli.runtime,
            cli.addr,
            workers.unwrap_or(cli.runtime.default_workers()),
        )
    }) {
        eprintln!("echo_server: {e}");
        if let Some(hint) = hint(&e) {
            eprintln!("hint: {hint}");
        }
        std::process::exit(1);
    }
}

/// Refuses `--workers` above 1 for the single-threaded kinds.
pub(crate) fn check_workers(kind: Kind, workers: Option<usize>) -> io::Result<()> {
    match workers {
        Some(n) if n > 1 && !kind.takes_workers() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} runs on one thread: --workers {n} does not apply", kind.name()),
        )),
        _ => Ok(()),
    }
}

/// Prints help or version as clap does, and any other argument error as one
/// line, then exits.
pub(crate) fn exit_on_cli_error(prog: &str, e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        std::process::exit(0);
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("bad arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("{prog}: {first} (see --help)");
    std::process::exit(2);
}

/// A hint for the errors people hit when benchmarking.
pub(crate) fn hint(e: &io::Error) -> Option<String> {
    match e.raw_os_error() {
        Some(libc::EMFILE) | Some(libc::ENFILE) => Some(format!(
            "too many open files: raise the limit with `ulimit -n {}` (the hard limit here; \
             raise that in /etc/security/limits.conf or with `prlimit`), or use fewer connections",
            nofile_limit().map_or("<hard limit>".to_owned(), |(_, hard)| hard.to_string())
        )),
        Some(libc::EADDRINUSE) => {
            Some("the address is taken: choose another --addr (port 0: any free port)".into())
        }
        Some(libc::EADDRNOTAVAIL) => Some(
            "out of local ports or a wrong address: use fewer connections, or widen \
             /proc/sys/net/ipv4/ip_local_port_range"
                .into(),
        ),
        Some(libc::ECONNREFUSED) => {
            Some("nothing listens there: is the server running, on that port?".into())
        }
        _ => None,
    }
}

/// The soft and hard `RLIMIT_NOFILE`.
pub(crate) fn nofile_limit() -> io::Result<(u64, u64)> {
    // SAFETY: rlimit is plain data that getrlimit fills in.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `rl` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((rl.rlim_cur, rl.rlim_max))
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new limit.
pub(crate) fn raise_nofile_limit() -> io::Result<u64> {
    let (soft, hard) = nofile_limit()?;
    if soft < hard {
        let rl = libc::rlimit {
            rlim_cur: hard,
            rlim_max: hard,
        };
        // SAFETY: `rl` is a valid rlimit that setrlimit only reads.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(hard)
}

/// Blocks SIGINT and SIGTERM in this thread (and so in every thread it
/// starts later) and starts a thread that waits for them with `sigwait`
/// and exits the process. Call before any other thread is started: a
/// thread that does not block them would take the default action.
pub(crate) fn exit_on_signal() -> io::Result<()> {
    // SAFETY: sigset_t is plain data; sigemptyset initializes it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t; the calls only write inside it.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
    }
    // SAFETY: `set` is initialized; a null old-set pointer is allowed.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            loop {
                let mut sig = 0;
                // SAFETY: `set` is an initialized sigset_t and `sig` a valid out-pointer.
                if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                    std::process::exit(0);
                }
            }
        })?;
    Ok(())
}

fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// Prints an accept error, at most one a second (an `EMFILE` storm would
/// otherwise print a hundred lines a second).
fn report_accept_error(e: &io::Error) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let now = START.get_or_init(Instant::now).elapsed().as_secs() + 1;
    if LAST.swap(now, Ordering::Relaxed) != now {
        eprintln!("echo_server: accept: {e}");
    }
}

/// Serves an echo server of `kind` on `addr` with `workers` workers (where
/// the kind has several) until SIGINT or SIGTERM ends the process.
pub(crate) fn serve(kind: Kind, addr: SocketAddr, workers: usize) -> io::Result<()> {
    exit_on_signal()?;
    // Idle-connection tests open thousands: take what the hard limit allows.
    raise_nofile_limit()?;
    let workers = workers.max(1);
    match kind {
        Kind::Sockwq => serve_sockwq(addr, workers),
        Kind::SockwqPerCore => serve_sockwq_per_core(addr, workers),
        Kind::SockwqOnTokioCt => tokio_runtime(false, 1)?.block_on(async {
            let listener = sockwq::net::TcpListener::bind(addr).await?;
            announce(listener.local_addr()?)?;
            sockwq_on_tokio_accept_loop(listener).await
        }),
        Kind::SockwqOnTokioMt => tokio_runtime(true, workers)?.block_on(async {
            let listener = sockwq::net::TcpListener::bind(addr).await?;
            announce(listener.local_addr()?)?;
            sockwq_on_tokio_accept_loop(listener).await
        }),
        Kind::TokioCt => tokio_runtime(false, 1)?.block_on(tokio_serve(addr)),
        Kind::TokioMt => tokio_runtime(true, workers)?.block_on(tokio_serve(addr)),
        Kind::Mio => serve_mio(addr),
    }
}

// ------------------------------------------------------------ the echo task

thread_local! {
    /// The worker's read buffer: borrowed only within one poll of a
    /// connection's task, so every connection of the worker shares it.
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What one poll of a connection did.
enum Step {
    /// Read and wrote back everything.
    Echoed,
    /// The peer closed, or an error ended the connection.
    Closed,
    /// The socket took only part; the rest still has to be written.
    Partial(Vec<u8>),
}

/// Echoes one connection until the peer closes it or an error ends it (the
/// error then only ends that connection). The same code for every async
/// runtime: sockwq's streams implement tokio's `AsyncRead`/`AsyncWrite`.
pub(crate) async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    loop {
        // One borrow of the worker's buffer per task poll: echo what is
        // there, then read again at once (the next read is usually the
        // `Pending` that parks the task). The runtime's IO budget bounds
        // the loop for a socket that stays readable.
        let rest = poll_fn(|cx| {
            BUF.with_borrow_mut(|buf| {
                if buf.is_empty() {
                    buf.resize(BUF_SIZE, 0);
                }
                loop {
                    match ready!(read_and_echo(&mut s, cx, buf)) {
                        Step::Echoed => {}
                        Step::Closed => return Poll::Ready(None),
                        Step::Partial(rest) => return Poll::Ready(Some(rest)),
                    }
                }
            })
        })
        .await;
        // Rare (the peer does not read): the task holds the rest until it
        // is written.
        match rest {
            Some(rest) if s.write_all(&rest).await.is_ok() => {}
            _ => return,
        }
    }
}

/// Waits for data (`Pending` until the socket is readable), reads what is
/// there into `buf` and writes it back, as much as the socket takes now.
fn read_and_echo<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<Step> {
    let mut rb = ReadBuf::new(buf);
    match Pin::new(&mut *s).poll_read(cx, &mut rb) {
        Poll::Pending => return Poll::Pending,
        Poll::Ready(Err(_)) => return Poll::Ready(Step::Closed),
        Poll::Ready(Ok(())) => {}
    }
    let n = rb.filled().len();
    if n == 0 {
        return Poll::Ready(Step::Closed);
    }
    let mut done = 0;
    while done < n {
        match Pin::new(&mut *s).poll_write(cx, &buf[done..n]) {
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Step::Closed),
            Poll::Ready(Ok(k)) => done += k,
            Poll::Pending => return Poll::Ready(Step::Partial(buf[done..n].to_vec())),
        }
    }
    Poll::Ready(Step::Echoed)
}

// ------------------------------------------------------------------ sockwq

/// Accepts on `listener` and echoes each connection in a task of this
/// worker (`sockwq::spawn` on a worker keeps the task there).
async fn sockwq_accept_loop(listener: sockwq::net::TcpListener) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                sockwq::spawn(echo(s));
            }
            Err(e) => {
                report_accept_error(&e);
                sockwq::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

fn serve_sockwq(addr: SocketAddr, workers: usize) -> io::Result<()> {
    let rt = sockwq::Runtime::builder().worker_threads(workers).build()?;
    if workers == 1 {
        // Accept on the worker, so connections register with its reactor.
        return rt.block_on(async {
            sockwq::spawn(async move {
                let listener = sockwq::net::TcpListener::bind(addr).await?;
                announce(listener.local_addr()?)?;
                sockwq_accept_loop(listener).await
            })
            .await
            .map_err(io::Error::other)?
        });
    }
    // Several workers, one listener: accept here and hand each connection
    // to a worker (round-robin), where it registers with that worker's
    // reactor.
    rt.block_on(async {
        let listener = sockwq::net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((s, _)) => {
                    let _ = s.set_nodelay(true);
                    let s = s.into_std()?;
                    sockwq::spawn(async move {
                        if let Ok(s) = sockwq::net::TcpStream::from_std(s) {
                            echo(s).await;
                        }
                    });
                }
                Err(e) => {
                    report_accept_error(&e);
                    sockwq::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    })
}

fn serve_sockwq_per_core(addr: SocketAddr, workers: usize) -> io::Result<()> {
    let rt = sockwq::Runtime::builder().worker_threads(workers).build()?;
    // Reserve the port: a bound, not listening, SO_REUSEPORT socket that
    // every worker's listener then joins. It gets no connection itself.
    let reservation = reuseport_socket(addr)?;
    let addr = reservation
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an inet address"))?;
    let bound = Arc::new(AtomicUsize::new(0));
    let results = rt.run_per_core(move |_worker| {
        let bound = bound.clone();
        async move {
            let socket = if addr.is_ipv4() {
                sockwq::net::TcpSocket::new_v4()?
            } else {
                sockwq::net::TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.set_reuseport(true)?;
            socket.bind(addr)?;
            let listener = socket.listen(1024)?;
            // The last worker to listen announces: from then on every
            // listener accepts.
            if bound.fetch_add(1, Ordering::AcqRel) + 1 == workers {
                announce(addr)?;
            }
            sockwq_accept_loop(listener).await
        }
    });
    drop(reservation);
    results.into_iter().collect::<io::Result<Vec<()>>>().map(drop)
}

fn reuseport_socket(addr: SocketAddr) -> io::Result<socket2::Socket> {
    let s = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.bind(&addr.into())?;
    Ok(s)
}

// ------------------------------------------------------------------- tokio

fn tokio_runtime(multi_thread: bool, workers: usize) -> io::Result<tokio::runtime::Runtime> {
    if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    }
}

async fn sockwq_on_tokio_accept_loop(listener: sockwq::net::TcpListener) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(echo(s));
            }
            Err(e) => {
                report_accept_error(&e);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

async fn tokio_serve(addr: SocketAddr) -> io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    announce(listener.local_addr()?)?;
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(echo(s));
            }
            Err(e) => {
                report_accept_error(&e);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

// --------------------------------------------------------------------- mio

const LISTENER: mio::Token = mio::Token(usize::MAX);

/// A connection of the mio loop: the socket, and what it could not yet
/// take (empty, so unallocated, in the common case).
struct MioConn {
    stream: mio::net::TcpStream,
    pending: Vec<u8>,
}

/// The reference: one thread, edge-triggered, one shared buffer; a read
/// shorter than the buffer means the socket is drained (no read ends in
/// `EAGAIN` in steady state), as the async runtimes do.
fn serve_mio(addr: SocketAddr) -> io::Result<()> {
    use mio::{Events, Interest, Poll, Token};
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut listener = mio::net::TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    announce(listener.local_addr()?)?;
    let mut conns: Vec<Option<MioConn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut buf = vec![0u8; BUF_SIZE];
    // Set after an accept error: retry after a pause, as the listener's
    // edge will not come again for connections already queued.
    let mut accept_retry = false;
    loop {
        let timeout = accept_retry.then_some(ACCEPT_BACKOFF);
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut accept = accept_retry;
        for event in events.iter() {
            let i = event.token().0;
            if i == LISTENER.0 {
                accept = true;
                continue;
            }
            let Some(conn) = conns.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            let alive = mio_drive(
                conn,
                &mut buf,
                event.is_readable() || event.is_read_closed() || event.is_error(),
            );
            if !alive {
                conns[i] = None; // closes the socket, which leaves the epoll set
                free.push(i);
            }
        }
        if accept {
            accept_retry = false;
            loop {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        let i = free.pop().unwrap_or_else(|| {
                            conns.push(None);
                            conns.len() - 1
                        });
                        if poll
                            .registry()
                            .register(&mut stream, Token(i), Interest::READABLE | Interest::WRITABLE)
                            .is_err()
                        {
                            free.push(i);
                            continue;
                        }
                        conns[i] = Some(MioConn {
                            stream,
                            pending: Vec::new(),
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        report_accept_error(&e);
                        accept_retry = true;
                        break;
                    }
                }
            }
        }
    }
}

/// Writes what is pending, then reads and echoes until the socket is
/// drained or cannot take more. Returns whether the connection lives on.
fn mio_drive(conn: &mut MioConn, buf: &mut [u8], mut readable: bool) -> bool {
    if !conn.pending.is_empty() {
        match write_some(&mut conn.stream, &conn.pending) {
            Ok(n) if n == conn.pending.len() => {
                conn.pending = Vec::new();
                // Reads stopped while it was pending: resume them.
                readable = true;
            }
            Ok(n) => {
                conn.pending.drain(..n);
                return true;
            }
            Err(_) => return false,
        }
    }
    if !readable {
        return true;
    }
    loop {
        let n = match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        match write_some(&mut conn.stream, &buf[..n]) {
            Ok(k) if k == n => {}
            Ok(k) => {
                conn.pending.extend_from_slice(&buf[k..n]);
                return true;
            }
            Err(_) => return false,
        }
        if n < buf.len() {
            return true;
        }
    }
}

/// Writes as much of `data` as the socket takes now.
fn write_some(s: &mut mio::net::TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < data.len() {
        match s.write(&data[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(k) => done += k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
