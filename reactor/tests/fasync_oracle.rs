//! The kernel as the oracle of `sockwq_reactor::fasync`.
//!
//! Every scenario of `expected.md` (the fasync reference table, made by
//! `probe.c`) that a user-space reactor can observe runs twice, step by
//! step, in this process:
//!
//! * **kernel**: its sockets armed with `F_SETOWN(getpid)`,
//!   `F_SETSIG(SIGRTMIN+1)` and `O_ASYNC`; the signals are blocked in every
//!   thread (before any thread exists: this test has `harness = false`) and
//!   collected with `sigtimedwait` after each step;
//! * **sockwq**: twin sockets registered with a [`Reactor`] turned by hand
//!   and attached to a fasync channel; the notices drained after each step.
//!
//! Then the two are compared step by step: which socket, which code (the
//! kernel's `si_code`, and its `si_band` checked against [`Code::band`]),
//! which signal (`SIGURG` folded into `POLL_PRI`), in which order, for
//! each armed socket. Counts may coalesce (epoll reports state after one
//! or more wakeups, not each wakeup), so runs of the same code count as
//! one. A step whose outcome depends on ACK timing is compared loosely, and
//! the rows epoll cannot see are run and asserted to differ *as documented*
//! (see the `fasync` module docs). A scenario that mismatches is rerun
//! (twice at most) before it fails: loopback timing on a loaded machine.
//!
//! Bounded: a watchdog aborts the process after 120 s; a run takes a few
//! seconds.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::task::noop_waker;
use sockwq_reactor::fasync::{self, Attach, Code, Deferred, Signal, SocketId, Target};
use sockwq_reactor::{Interest, Reactor, Registration, Source};

type Fd = RawFd;

/// `F_SETSIG` (asm-generic/fcntl.h; libc does not export it).
const F_SETSIG: i32 = 10;
/// The SIGPOLL `si_code`s (asm-generic/siginfo.h, every architecture).
const POLL_IN: i32 = 1;
const POLL_OUT: i32 = 2;
const POLL_ERR: i32 = 4;
const POLL_PRI: i32 = 5;
const POLL_HUP: i32 = 6;

// ------------------------------------------------------------------ libc

fn check(r: libc::c_int, what: &str) -> libc::c_int {
    if r < 0 {
        panic!("{what}: {}", io::Error::last_os_error());
    }
    r
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn errname(e: i32) -> String {
    match e {
        0 => "0".into(),
        libc::EAGAIN => "EAGAIN".into(),
        libc::EPIPE => "EPIPE".into(),
        libc::ECONNRESET => "ECONNRESET".into(),
        libc::ECONNREFUSED => "ECONNREFUSED".into(),
        libc::EINPROGRESS => "EINPROGRESS".into(),
        e => format!("errno {e}"),
    }
}

fn msleep(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

fn set_int(fd: Fd, level: i32, name: i32, v: i32) {
    // SAFETY: a live int and its size.
    let r = unsafe { libc::setsockopt(fd, level, name, (&raw const v).cast(), size_of::<i32>() as u32) };
    check(r, "setsockopt");
}

fn so_error(fd: Fd) -> i32 {
    let mut v: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: a live int and its size.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut v).cast(),
            &raw mut len,
        )
    };
    check(r, "getsockopt(SO_ERROR)");
    v
}

fn set_nonblock(fd: Fd) {
    // SAFETY: fcntl on an fd we own; no pointers.
    let fl = check(unsafe { libc::fcntl(fd, libc::F_GETFL) }, "F_GETFL");
    // SAFETY: as above.
    check(
        unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) },
        "F_SETFL",
    );
}

fn lo(port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn socket(ty: i32) -> Fd {
    // SAFETY: plain socket(2).
    check(
        unsafe { libc::socket(libc::AF_INET, ty | libc::SOCK_CLOEXEC, 0) },
        "socket",
    )
}

fn bind_lo(fd: Fd, port: u16) {
    let a = lo(port);
    // SAFETY: a live sockaddr_in and its size.
    check(
        unsafe { libc::bind(fd, (&raw const a).cast(), size_of::<libc::sockaddr_in>() as u32) },
        "bind",
    );
}

fn bound_port(fd: Fd) -> u16 {
    let mut a = lo(0);
    let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a live sockaddr_in and its size.
    check(
        unsafe { libc::getsockname(fd, (&raw mut a).cast(), &raw mut len) },
        "getsockname",
    );
    u16::from_be(a.sin_port)
}

fn connect_lo(fd: Fd, port: u16) -> i32 {
    let a = lo(port);
    // SAFETY: a live sockaddr_in and its size.
    let r = unsafe { libc::connect(fd, (&raw const a).cast(), size_of::<libc::sockaddr_in>() as u32) };
    if r < 0 { errno() } else { 0 }
}

fn close(fd: Fd) {
    // SAFETY: closes an fd this test owns and no longer uses.
    unsafe { libc::close(fd) };
}

fn tcp_listener() -> (Fd, u16) {
    let fd = socket(libc::SOCK_STREAM);
    set_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    bind_lo(fd, 0);
    // SAFETY: listen(2) on our socket.
    check(unsafe { libc::listen(fd, 16) }, "listen");
    (fd, bound_port(fd))
}

/// A blocking connect on loopback, then non-blocking + NODELAY (the peer).
fn tcp_client(port: u16, rcvbuf: i32) -> Fd {
    let fd = socket(libc::SOCK_STREAM);
    if rcvbuf > 0 {
        set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, rcvbuf);
    }
    assert_eq!(connect_lo(fd, port), 0, "connect");
    set_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
    set_nonblock(fd);
    fd
}

fn accept(l: Fd) -> Fd {
    // SAFETY: accept(2) without an address buffer.
    check(
        unsafe { libc::accept4(l, std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) },
        "accept",
    )
}

/// A loopback port with (very probably) nobody bound to it.
fn closed_port(ty: i32) -> u16 {
    let fd = socket(ty);
    bind_lo(fd, 0);
    let p = bound_port(fd);
    close(fd);
    p
}

fn raw_send(fd: Fd, data: &[u8], flags: i32) -> isize {
    // SAFETY: a live buffer and its length.
    unsafe {
        libc::send(
            fd,
            data.as_ptr().cast(),
            data.len(),
            flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    }
}

fn raw_recv(fd: Fd, n: usize, flags: i32) -> isize {
    let mut buf = vec![0u8; n];
    // SAFETY: a live buffer and its length.
    unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), n, flags | libc::MSG_DONTWAIT) }
}

fn raw_read_avail(fd: Fd) -> usize {
    let mut total = 0;
    for _ in 0..100_000 {
        let r = raw_recv(fd, 65536, 0);
        if r <= 0 {
            break;
        }
        total += r as usize;
    }
    total
}

/// Reads until `target` bytes or 5 s (the peer side of a fill).
fn drain_until(fd: Fd, target: usize) -> usize {
    let t0 = Instant::now();
    let mut total = 0;
    while total < target && t0.elapsed() < Duration::from_secs(5) {
        let r = raw_recv(fd, 65536, 0);
        if r > 0 {
            total += r as usize;
        } else if r == 0 {
            break;
        } else if errno() == libc::EAGAIN {
            msleep(2);
        } else {
            break;
        }
    }
    total
}

fn shutdown(fd: Fd, how: i32) {
    // SAFETY: shutdown(2) on our socket.
    check(unsafe { libc::shutdown(fd, how) }, "shutdown");
}

fn unix_pair() -> (Fd, Fd) {
    let mut sv = [0; 2];
    // SAFETY: a live two-int array.
    check(
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                sv.as_mut_ptr(),
            )
        },
        "socketpair",
    );
    (sv[0], sv[1])
}

fn abort_close(fd: Fd) {
    let lg = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a live linger and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const lg).cast(),
            size_of::<libc::linger>() as u32,
        )
    };
    check(r, "SO_LINGER");
    close(fd);
}

/// The signals the kernel side collects (all threads block them).
fn sigset() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initializes the set; sigaddset takes valid signals.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        for s in [libc::SIGIO, libc::SIGURG, libc::SIGPIPE, sigq()] {
            libc::sigaddset(set.as_mut_ptr(), s);
        }
        set.assume_init()
    }
}

fn sigq() -> i32 {
    libc::SIGRTMIN() + 1
}

/// The SIGPOLL part of a `siginfo_t` (asm-generic/siginfo.h: three ints,
/// then the union, aligned as a long; `si_band` then `si_fd`).
#[repr(C)]
struct SigPoll {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    band: libc::c_long,
    fd: libc::c_int,
}

// ------------------------------------------------------------- notices

/// One notification, side-neutral: whose socket (its role in the
/// scenario), what code, with `SIGURG` or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sig {
    role: &'static str,
    code: Code,
    urg: bool,
}

fn code_name(c: Code) -> &'static str {
    match c {
        Code::In => "IN",
        Code::Out => "OUT",
        Code::Err => "ERR",
        Code::Pri => "PRI",
        Code::Hup => "HUP",
        Code::Overflow => "SIGIO(overflow)",
        _ => "?",
    }
}

fn fmt_sigs(s: &[Sig]) -> String {
    if s.is_empty() {
        return "—".into();
    }
    s.iter()
        .map(|s| {
            format!(
                "{}{}@{}",
                if s.urg { "SIGURG+" } else { "" },
                code_name(s.code),
                s.role
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per role, runs of one notification counted once.
fn normalized(s: &[Sig]) -> BTreeMap<&'static str, Vec<(Code, bool)>> {
    let mut m: BTreeMap<&'static str, Vec<(Code, bool)>> = BTreeMap::new();
    for s in s {
        let v = m.entry(s.role).or_default();
        if v.last() != Some(&(s.code, s.urg)) {
            v.push((s.code, s.urg));
        }
    }
    m
}

// ---------------------------------------------------------------- sides

/// The same operations, done the kernel's way or sockwq's.
trait Side {
    /// Registers `fd` with the side's reactor (sockwq), ahead of arming.
    fn register(&mut self, fd: Fd);
    /// Arms `fd`: `F_SETOWN`+`F_SETSIG`+`O_ASYNC`, or an attach.
    fn arm(&mut self, fd: Fd, role: &'static str);
    /// Arms `fd` on a channel of capacity `cap` (sockwq) / as usual (kernel).
    fn arm_small(&mut self, fd: Fd, role: &'static str, cap: usize);
    /// Arms `fd` *before* a non-blocking connect to `port`; the errno.
    fn arm_then_connect(&mut self, fd: Fd, role: &'static str, port: u16) -> i32;
    /// Disarms (`O_ASYNC` cleared / subscription dropped).
    fn disarm(&mut self, fd: Fd);
    fn recv(&mut self, fd: Fd, n: usize, flags: i32) -> isize;
    fn read_avail(&mut self, fd: Fd) -> usize;
    fn send(&mut self, fd: Fd, data: &[u8]) -> isize;
    /// Writes until `EAGAIN`; (bytes, errno).
    fn fill_until_eagain(&mut self, fd: Fd) -> (usize, i32);
    /// A readiness check of write space (`poll`, or `epoll_ctl(ADD)`).
    fn check_writable(&mut self, fd: Fd, epoll: bool) -> String;
    /// A reader starts waiting for data on `fd` (a blocked `recv`, a task
    /// in `readable()`).
    fn waiter_start(&mut self, fd: Fd);
    /// The reader gets its data; what it read.
    fn waiter_join(&mut self) -> isize;
    /// Lets every wakeup so far be seen on its own (sockwq turns; the
    /// kernel signals per wakeup anyway).
    fn per_event(&mut self);
    /// Waits `settle` ms and returns the notifications since the last call.
    fn collect(&mut self, settle: u64) -> Vec<Sig>;
    fn close(&mut self, fd: Fd);
}

struct Kernel {
    roles: BTreeMap<Fd, &'static str>,
    set: libc::sigset_t,
    waiter: Option<std::thread::JoinHandle<isize>>,
    epolls: Vec<Fd>,
}

impl Kernel {
    fn new() -> Kernel {
        Kernel {
            roles: BTreeMap::new(),
            set: sigset(),
            waiter: None,
            epolls: Vec::new(),
        }
    }
}

impl Side for Kernel {
    fn register(&mut self, _fd: Fd) {}
    fn arm(&mut self, fd: Fd, role: &'static str) {
        // SAFETY: fcntl(2) with int arguments on our socket.
        unsafe {
            check(libc::fcntl(fd, libc::F_SETOWN, libc::getpid()), "F_SETOWN");
            check(libc::fcntl(fd, F_SETSIG, sigq()), "F_SETSIG");
            let fl = check(libc::fcntl(fd, libc::F_GETFL), "F_GETFL");
            check(libc::fcntl(fd, libc::F_SETFL, fl | libc::O_ASYNC), "O_ASYNC");
        }
        self.roles.insert(fd, role);
    }
    fn arm_small(&mut self, fd: Fd, role: &'static str, _cap: usize) {
        self.arm(fd, role);
    }
    fn arm_then_connect(&mut self, fd: Fd, role: &'static str, port: u16) -> i32 {
        self.arm(fd, role);
        set_nonblock(fd);
        connect_lo(fd, port)
    }
    fn disarm(&mut self, fd: Fd) {
        // SAFETY: fcntl(2) with int arguments on our socket.
        unsafe {
            let fl = check(libc::fcntl(fd, libc::F_GETFL), "F_GETFL");
            check(libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_ASYNC), "F_SETFL");
        }
    }
    fn recv(&mut self, fd: Fd, n: usize, flags: i32) -> isize {
        raw_recv(fd, n, flags)
    }
    fn read_avail(&mut self, fd: Fd) -> usize {
        raw_read_avail(fd)
    }
    fn send(&mut self, fd: Fd, data: &[u8]) -> isize {
        raw_send(fd, data, 0)
    }
    fn fill_until_eagain(&mut self, fd: Fd) -> (usize, i32) {
        let buf = vec![b'f'; 65536];
        let mut total = 0;
        while total < 64 << 20 {
            let w = raw_send(fd, &buf, 0);
            if w > 0 {
                total += w as usize;
                continue;
            }
            return (total, if w < 0 { errno() } else { 0 });
        }
        (total, 0)
    }
    fn check_writable(&mut self, fd: Fd, epoll: bool) -> String {
        if epoll {
            // SAFETY: epoll_create1/epoll_ctl with a live event.
            unsafe {
                let ep = check(libc::epoll_create1(libc::EPOLL_CLOEXEC), "epoll_create1");
                let mut ev = libc::epoll_event {
                    events: (libc::EPOLLOUT | libc::EPOLLET) as u32,
                    u64: 0,
                };
                check(
                    libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &raw mut ev),
                    "epoll_ctl",
                );
                self.epolls.push(ep);
            }
            "epoll_ctl ADD".into()
        } else {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one live pollfd, zero timeout.
            let r = unsafe { libc::poll(&raw mut p, 1, 0) };
            format!("poll()={r}")
        }
    }
    fn waiter_start(&mut self, fd: Fd) {
        let tv = libc::timeval {
            tv_sec: 3,
            tv_usec: 0,
        };
        // SAFETY: a live timeval and its size.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const tv).cast(),
                size_of::<libc::timeval>() as u32,
            )
        };
        check(r, "SO_RCVTIMEO");
        self.waiter = Some(std::thread::spawn(move || {
            let mut b = [0u8; 256];
            // SAFETY: a blocking recv into a live buffer (the fd is blocking;
            // SO_RCVTIMEO bounds it).
            unsafe { libc::recv(fd, b.as_mut_ptr().cast(), b.len(), 0) }
        }));
        msleep(150); // into sk_wait_data / unix_stream_data_wait
    }
    fn waiter_join(&mut self) -> isize {
        msleep(30);
        self.waiter.take().expect("a waiter").join().unwrap()
    }
    fn per_event(&mut self) {}
    fn collect(&mut self, settle: u64) -> Vec<Sig> {
        msleep(settle);
        let mut out = Vec::new();
        let mut urg = false;
        for _ in 0..512 {
            let mut si = MaybeUninit::<libc::siginfo_t>::zeroed();
            let to = libc::timespec {
                tv_sec: 0,
                tv_nsec: 5_000_000,
            };
            // SAFETY: a live set, siginfo and timeout.
            let s = unsafe { libc::sigtimedwait(&self.set, si.as_mut_ptr(), &to) };
            if s < 0 {
                if errno() == libc::EINTR {
                    continue;
                }
                break;
            }
            // SAFETY: sigtimedwait filled the siginfo; `SigPoll` is a prefix of it.
            let sp = unsafe { &*si.as_ptr().cast::<SigPoll>() };
            assert!(size_of::<SigPoll>() <= size_of::<libc::siginfo_t>());
            let role = self.roles.get(&sp.fd).copied();
            match (s, sp.code) {
                (libc::SIGURG, libc::SI_KERNEL) => urg = true,
                (libc::SIGPIPE, _) => panic!("SIGPIPE: every send here uses MSG_NOSIGNAL"),
                (libc::SIGIO, libc::SI_KERNEL) => out.push(Sig {
                    role: "?",
                    code: Code::Overflow,
                    urg: false,
                }),
                (s, c) if s == sigq() => {
                    let code = match c {
                        POLL_IN => Code::In,
                        POLL_OUT => Code::Out,
                        POLL_ERR => Code::Err,
                        POLL_PRI => Code::Pri,
                        POLL_HUP => Code::Hup,
                        c => panic!("kernel sent si_code {c}"),
                    };
                    // The model's band table, checked against the kernel's.
                    // `c_long` is i32 on 32-bit targets.
                    #[allow(clippy::useless_conversion)]
                    let band = i64::from(sp.band);
                    assert_eq!(band, code.band(), "si_band of {code:?}");
                    let role = role.unwrap_or_else(|| panic!("signal for unarmed fd {}", sp.fd));
                    let u = code == Code::Pri && std::mem::take(&mut urg);
                    out.push(Sig { role, code, urg: u });
                }
                (s, c) => panic!("unexpected signal {s} code {c}"),
            }
        }
        assert!(!urg, "a SIGURG without POLL_PRI");
        out
    }
    fn close(&mut self, fd: Fd) {
        self.roles.remove(&fd);
        close(fd);
        for ep in self.epolls.drain(..) {
            close(ep);
        }
    }
}

/// A socket not registered yet, as sockwq-net's `TcpSocket` before `connect`.
struct Unregistered {
    fd: Fd,
    list: Deferred,
}

impl Attach for Unregistered {
    fn fasync_target(&self) -> Target<'_> {
        Target::Deferred(&self.list, self.fd)
    }
}

struct Entry {
    reg: Registration,
    sub: Option<fasync::Subscription>,
}

/// A task waiting in `readable()`.
type Waiting = Pin<Box<dyn Future<Output = io::Result<()>>>>;

struct Sockwq {
    reactor: Reactor,
    owner: fasync::Owner,
    rx: fasync::Receiver,
    small: Vec<(fasync::Owner, fasync::Receiver)>,
    entries: BTreeMap<Fd, Entry>,
    roles: BTreeMap<SocketId, (&'static str, Fd)>,
    waiter: Option<(Fd, Waiting)>,
}

impl Sockwq {
    fn new() -> Sockwq {
        let (owner, rx) = fasync::channel(256);
        Sockwq {
            reactor: Reactor::new().unwrap(),
            owner,
            rx,
            small: Vec::new(),
            entries: BTreeMap::new(),
            roles: BTreeMap::new(),
            waiter: None,
        }
    }

    fn source(&self, fd: Fd) -> Option<Arc<Source>> {
        self.entries
            .get(&fd)
            .map(|e| fasync::AsSource::as_source(&e.reg).clone())
    }

    /// Turns until every wakeup so far is dispatched.
    fn settle(&mut self, ms: u64) {
        let deadline = Instant::now() + Duration::from_millis(ms);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            self.reactor.turn(Some(left)).unwrap();
        }
        for _ in 0..100 {
            if self.reactor.turn(Some(Duration::from_millis(2))).unwrap() == 0 {
                return;
            }
        }
        panic!("the reactor never went quiet");
    }

    /// Runs `op` through the reactor's readiness (so that `WouldBlock`
    /// clears it, as sockwq's own IO does), or raw if the socket is not
    /// registered or its readiness was not reported yet.
    fn io(&self, fd: Fd, interest: Interest, mut op: impl FnMut() -> isize) -> isize {
        let Some(e) = self.entries.get(&fd) else {
            return op();
        };
        let mut called = false;
        let r = e.reg.try_io(interest, || {
            called = true;
            let r = op();
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(r)
            }
        });
        match r {
            Ok(n) => n,
            Err(_) if !called => op(),
            Err(e) => {
                // Leave errno as the syscall left it for the caller.
                // SAFETY: writes this thread's errno.
                unsafe { *libc::__errno_location() = e.raw_os_error().unwrap_or(libc::EIO) };
                -1
            }
        }
    }

    fn attach(&mut self, fd: Fd, role: &'static str, owner: Option<&fasync::Owner>) {
        self.register(fd);
        let owner = owner.unwrap_or(&self.owner);
        let e = self.entries.get(&fd).unwrap();
        let sub = owner.attach(&e.reg).unwrap();
        self.roles.insert(sub.socket(), (role, fd));
        self.entries.get_mut(&fd).unwrap().sub = Some(sub);
    }
}

impl Side for Sockwq {
    fn register(&mut self, fd: Fd) {
        if self.entries.contains_key(&fd) {
            return;
        }
        set_nonblock(fd);
        // SAFETY: the fd stays open until `close`, which drops the registration
        // first; `borrow_raw` needs only that it is open now.
        let reg = unsafe { self.reactor.handle().register(&BorrowedFd::borrow_raw(fd)) }.unwrap();
        self.entries.insert(fd, Entry { reg, sub: None });
    }
    fn arm(&mut self, fd: Fd, role: &'static str) {
        self.attach(fd, role, None);
    }
    fn arm_small(&mut self, fd: Fd, role: &'static str, cap: usize) {
        let (o, rx) = fasync::channel(cap);
        self.attach(fd, role, Some(&o));
        self.small.push((o, rx));
    }
    fn arm_then_connect(&mut self, fd: Fd, role: &'static str, port: u16) -> i32 {
        set_nonblock(fd);
        let u = Unregistered {
            fd,
            list: Deferred::new(),
        };
        let sub = self.owner.attach(&u).unwrap();
        let e = connect_lo(fd, port);
        self.register(fd);
        u.list.bind(&self.entries[&fd].reg, true);
        self.roles.insert(sub.socket(), (role, fd));
        self.entries.get_mut(&fd).unwrap().sub = Some(sub);
        e
    }
    fn disarm(&mut self, fd: Fd) {
        if let Some(e) = self.entries.get_mut(&fd) {
            e.sub = None;
        }
    }
    fn recv(&mut self, fd: Fd, n: usize, flags: i32) -> isize {
        self.io(fd, Interest::READABLE, || raw_recv(fd, n, flags))
    }
    fn read_avail(&mut self, fd: Fd) -> usize {
        let mut total = 0;
        for _ in 0..100_000 {
            let r = self.recv(fd, 65536, 0);
            if r <= 0 {
                break;
            }
            total += r as usize;
        }
        total
    }
    fn send(&mut self, fd: Fd, data: &[u8]) -> isize {
        self.io(fd, Interest::WRITABLE, || raw_send(fd, data, 0))
    }
    fn fill_until_eagain(&mut self, fd: Fd) -> (usize, i32) {
        let buf = vec![b'f'; 65536];
        let mut total = 0;
        while total < 64 << 20 {
            let w = self.send(fd, &buf);
            if w > 0 {
                total += w as usize;
                continue;
            }
            return (total, if w < 0 { errno() } else { 0 });
        }
        (total, 0)
    }
    fn check_writable(&mut self, fd: Fd, epoll: bool) -> String {
        // sockwq's readiness checks read the state word: what epoll has
        // reported, not the socket.
        let src = self.source(fd).unwrap();
        let waker = noop_waker();
        let r = src.poll_write_ready(&mut Context::from_waker(&waker));
        format!(
            "poll_write_ready()={} ({})",
            if r.is_ready() { "Ready" } else { "Pending" },
            if epoll { "epoll" } else { "poll" }
        )
    }
    fn waiter_start(&mut self, fd: Fd) {
        // A task reads, gets WouldBlock (which clears the readiness), and
        // waits: the kernel's blocking recv finds the queue empty and sleeps.
        let r = self.recv(fd, 256, 0);
        assert!(
            r < 0 && errno() == libc::EAGAIN,
            "nothing to read before the wait ({r})"
        );
        let src = self.source(fd).unwrap();
        let mut fut: Waiting = Box::pin(async move { src.readable().await.map(drop) });
        let waker = noop_waker();
        assert!(
            fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(),
            "a reader waits"
        );
        self.waiter = Some((fd, fut));
    }
    fn waiter_join(&mut self) -> isize {
        // The data is dispatched while the reader waits; then it reads.
        self.settle(30);
        let (fd, mut fut) = self.waiter.take().expect("a waiter");
        let waker = noop_waker();
        match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(r) => r.unwrap(),
            Poll::Pending => panic!("the waiting reader was not woken"),
        }
        drop(fut);
        self.recv(fd, 256, 0)
    }
    fn per_event(&mut self) {
        self.settle(0);
    }
    fn collect(&mut self, settle: u64) -> Vec<Sig> {
        self.settle(settle);
        let mut out = Vec::new();
        let rxs = std::iter::once(&self.rx).chain(self.small.iter().map(|(_, rx)| rx));
        for rx in rxs {
            while let Some(n) = rx.try_recv() {
                let role = match n.socket() {
                    None => "?",
                    Some(id) => {
                        let (role, fd) = *self.roles.get(&id).expect("a notice for a socket we attached");
                        assert_eq!(n.fd(), Some(fd), "the notice's fd");
                        role
                    }
                };
                assert_eq!(
                    n.signal() == Signal::Urg,
                    n.code() == Code::Pri,
                    "SIGURG goes with POLL_PRI"
                );
                out.push(Sig {
                    role,
                    code: n.code(),
                    urg: n.signal() == Signal::Urg,
                });
            }
        }
        out
    }
    fn close(&mut self, fd: Fd) {
        if self.waiter.as_ref().is_some_and(|(w, _)| *w == fd) {
            self.waiter = None;
        }
        self.entries.remove(&fd); // subscription, then registration, then:
        close(fd);
    }
}

// ------------------------------------------------------------ scenarios

/// How a step's two results must relate.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// The same notices (runs coalesced), per socket, in order.
    Same,
    /// The same apart from `POLL_OUT`, which depends on when ACKs come.
    OutOptional,
    /// Compared together with the next step (timing moves a notice across).
    WithNext,
    /// The same set, in any order (the kernel's dequeue order is by signal
    /// number, not by generation).
    Unordered,
    /// Known to differ: epoll cannot see it (the reason is in the docs).
    Differs(&'static str),
}

#[derive(Debug)]
struct Step {
    id: &'static str,
    what: &'static str,
    note: String,
    sigs: Vec<Sig>,
    expect: Expect,
}

struct Script<'a> {
    side: &'a mut dyn Side,
    steps: Vec<Step>,
    note: String,
}

impl Script<'_> {
    fn note(&mut self, s: impl Into<String>) {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(&s.into());
    }
    fn step_ex(&mut self, id: &'static str, what: &'static str, settle: u64, expect: Expect) {
        let sigs = self.side.collect(settle);
        self.steps.push(Step {
            id,
            what,
            note: std::mem::take(&mut self.note),
            sigs,
            expect,
        });
    }
    fn step(&mut self, id: &'static str, what: &'static str) {
        self.step_ex(id, what, 15, Expect::Same);
    }
}

/// The TCP rows: listener, data, reads, WAITD, write space, OOB, FIN, RST.
fn tcp_main(t: &mut Script<'_>) {
    let (l, lport) = tcp_listener();
    set_int(l, libc::SOL_SOCKET, libc::SO_SNDBUF, 32768); // inherited by S
    t.side.arm(l, "L");
    t.step("L0", "listener armed");

    let c = tcp_client(lport, 32768);
    t.note("connect ok");
    t.step("L1", "peer connects (handshake completes, not accepted)");
    let s = accept(l);
    t.step("L2", "accept()");
    t.note(format!("peer send={}", raw_send(c, b"pre", 0)));
    t.step("T0", "peer sends 3 bytes before S is armed");
    t.side.arm(s, "S"); // sockwq: registered and attached at once
    t.step("T1", "S armed with 3 bytes queued (no replay)");
    let r = t.side.recv(s, 3, 0);
    t.note(format!("read={r}"));
    t.step("T2", "we read the 3 pending bytes");
    t.note(format!("peer send={}", raw_send(c, b"0123456789", 0)));
    t.step("T3", "peer sends 10 bytes");
    for (id, what) in [
        ("T4", "we read 5"),
        ("T5", "we read 5 more (queue empty)"),
        ("T6", "we read on an empty queue (EAGAIN)"),
    ] {
        let r = t.side.recv(s, 5, 0);
        t.note(format!("read={r}"));
        t.step(id, what);
    }
    for _ in 0..3 {
        raw_send(c, b"abc", 0);
        t.side.per_event();
        msleep(10);
    }
    t.step("T7", "peer sends 3 segments, unread");
    let n = t.side.read_avail(s);
    t.note(format!("read={n}"));
    t.step("T8", "we read everything");

    t.side.waiter_start(s);
    raw_send(c, b"wake", 0);
    let got = t.side.waiter_join();
    t.note(format!("waiting reader got {got}"));
    t.step("T9", "a reader waits for data on S; peer sends 4 bytes");
    raw_send(c, b"nowt", 0);
    t.step("T10", "same send, nobody waiting");
    let n = t.side.read_avail(s);
    t.note(format!("read={n}"));
    t.step("T11", "we read everything");

    // Fill our send buffer while the peer does not read.
    let mut written = 0;
    let (w, e) = t.side.fill_until_eagain(s);
    written += w;
    t.note(format!("wrote {w} then {}", errname(e)));
    t.step_ex("T12a", "we write until EAGAIN #1", 150, Expect::OutOptional);
    let (w, e) = t.side.fill_until_eagain(s);
    written += w;
    t.note(format!("wrote {w} then {}", errname(e)));
    t.step_ex("T12b", "we write until EAGAIN #2", 150, Expect::WithNext);
    let got = drain_until(c, written);
    t.note(format!("peer read {got} of {written}"));
    t.step_ex("T13", "peer drains everything", 150, Expect::Same);

    let r = t.side.send(s, b"after-drain");
    t.note(format!("write={r}"));
    t.step("T14", "we write 11 bytes (space available)");
    t.note(format!("peer read={}", raw_read_avail(c)));
    t.step("T15", "peer reads them (NOSPACE not armed)");

    t.note(format!("peer send(MSG_OOB)={}", raw_send(c, b"!", libc::MSG_OOB)));
    t.step("T16", "peer sends 1 byte MSG_OOB");
    let r = raw_recv(s, 1, libc::MSG_OOB);
    let n = t.side.read_avail(s);
    t.note(format!("recv(MSG_OOB)={r}; then read={n}"));
    t.step("T17", "we read the OOB byte + stream");

    shutdown(c, libc::SHUT_WR);
    t.step("T18", "peer shutdown(SHUT_WR) [FIN]");
    let r = t.side.recv(s, 128, 0);
    t.note(format!("read={r}"));
    t.step("T19", "we read -> 0 (EOF)");
    let r = t.side.send(s, b"after-peer-fin-20byte");
    t.note(format!("write={r}"));
    t.step("T20", "we write after the peer's FIN");
    abort_close(c);
    t.step("T21", "peer closes with SO_LINGER 0 [RST]");
    t.note(format!("SO_ERROR={}", errname(so_error(s))));
    t.step("T22", "getsockopt(SO_ERROR)");
    let r = t.side.send(s, b"x");
    t.note(format!(
        "send={r} {}",
        if r < 0 { errname(errno()) } else { String::new() }
    ));
    t.step("T23", "we write after RST (MSG_NOSIGNAL)");
    t.side.close(s);
    t.side.close(l);
}

/// TCP close orders, an armed connect, a refused connect.
fn tcp_close_orders(t: &mut Script<'_>) {
    let (l, lport) = tcp_listener();
    t.side.arm(l, "L");
    let c2 = tcp_client(lport, 0);
    // The listener's wakeup, seen before accept() takes the connection
    // away again (see the fasync docs: epoll shows state at turn time).
    t.side.per_event();
    let s2 = accept(l);
    t.side.register(s2);
    t.side.arm(s2, "S2");
    t.step("H0", "2nd connection accepted on L, S2 armed");
    shutdown(s2, libc::SHUT_WR);
    t.step("H1", "we shutdown(SHUT_WR) first [our FIN, ACKed]");
    close(c2);
    t.step("H2", "then peer closes [FIN]: both directions shut");
    t.side.close(s2);

    let c3 = tcp_client(lport, 0);
    t.side.per_event();
    let s3 = accept(l);
    t.side.register(s3);
    t.side.arm(s3, "S3");
    t.step("H3", "3rd connection accepted on L, S3 armed");
    shutdown(c3, libc::SHUT_WR);
    t.step("H4", "peer shutdown(SHUT_WR) first [FIN]");
    shutdown(s3, libc::SHUT_WR);
    t.step("H5", "then we shutdown(SHUT_WR) [LAST_ACK -> CLOSE]");
    close(c3);
    t.side.close(s3);

    let k = socket(libc::SOCK_STREAM);
    let e = t.side.arm_then_connect(k, "K", lport);
    t.note(format!("connect()={}", errname(e)));
    t.step("H6", "client armed before a non-blocking connect() to L");
    let a = accept(l);
    close(a);
    t.step("H7", "L accepts it, closes it");
    t.side.close(k);
    t.step("H8", "(cleanup: close the client)");

    let k2 = socket(libc::SOCK_STREAM);
    let e = t.side.arm_then_connect(k2, "K2", closed_port(libc::SOCK_STREAM));
    t.note(format!("connect()={}", errname(e)));
    t.step("H9", "armed non-blocking connect() to a closed port [RST]");
    t.note(format!("SO_ERROR={}", errname(so_error(k2))));
    t.step("H10", "getsockopt(SO_ERROR)");
    t.side.close(k2);
    t.side.close(l);
}

/// A fresh connected pair through a private listener: (accepted S, peer C).
fn tcp_pair(peer_rcvbuf: i32) -> (Fd, Fd) {
    let (l, port) = tcp_listener();
    let c = tcp_client(port, peer_rcvbuf);
    let s = accept(l);
    close(l);
    (s, c)
}

/// What arms POLL_OUT without a failed write; SO_RCVLOWAT.
fn tcp_arming(t: &mut Script<'_>) {
    const NOT_SEEN: &str =
        "a readiness check reads what epoll reported; epoll never reports writable -> unwritable";
    let variants: [(&'static str, &'static str, &'static str, &'static str, Expect); 3] = [
        (
            "W0a",
            "W0b",
            "not writable, no readiness check",
            "peer drains",
            Expect::Same,
        ),
        (
            "W1a",
            "W1b",
            "not writable; poll(POLLOUT, 0)",
            "peer drains",
            Expect::Differs(NOT_SEEN),
        ),
        (
            "W2a",
            "W2b",
            "not writable; epoll_ctl(ADD)",
            "peer drains",
            Expect::Differs(NOT_SEEN),
        ),
    ];
    for (i, (a, b, what_a, what_b, expect)) in variants.into_iter().enumerate() {
        let (s, c) = tcp_pair(4096);
        set_int(s, libc::SOL_SOCKET, libc::SO_SNDBUF, 212_992);
        t.side.arm(s, "S");
        t.side.collect(0);
        let buf = vec![b'w'; 65536];
        let r = t.side.send(s, &buf);
        msleep(50);
        set_int(s, libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, 1024);
        t.note(format!("one send={r}, TCP_NOTSENT_LOWAT=1024"));
        if i > 0 {
            let n = t.side.check_writable(s, i == 2);
            t.note(n);
        }
        t.step(a, what_a);
        let got = drain_until(c, r.max(0) as usize);
        t.note(format!("peer read {got}"));
        t.step_ex(b, what_b, 150, expect);
        t.side.close(s);
        close(c);
    }

    let (s, c) = tcp_pair(0);
    t.side.arm(s, "S");
    set_int(s, libc::SOL_SOCKET, libc::SO_RCVLOWAT, 8);
    raw_send(c, b"1234", 0);
    t.step("W3a", "SO_RCVLOWAT=8, peer sends 4 bytes");
    raw_send(c, b"5678", 0);
    t.step("W3b", "peer sends 4 more (8 queued)");
    t.side.close(s);
    close(c);
}

fn udp(t: &mut Script<'_>) {
    let u = socket(libc::SOCK_DGRAM);
    bind_lo(u, 0);
    let uport = bound_port(u);
    t.side.arm(u, "U");
    let p = socket(libc::SOCK_DGRAM);
    assert_eq!(connect_lo(p, uport), 0);
    t.step("U0", "UDP socket bound + armed");
    raw_send(p, b"dgram1", 0);
    t.step("U1", "one datagram arrives");
    raw_send(p, b"dgram2", 0);
    t.side.per_event();
    raw_send(p, b"dgram3", 0);
    t.step("U2", "two more datagrams (unread)");
    let r = t.side.recv(u, 64, 0);
    t.note(format!("recv={r}"));
    t.step("U3", "we read one datagram");
    let n = t.side.read_avail(u);
    t.note(format!("read={n}"));
    t.step("U4", "we read the rest");
    t.side.waiter_start(u);
    raw_send(p, b"wake", 0);
    let got = t.side.waiter_join();
    t.note(format!("waiting reader got {got}"));
    t.step("U5", "a reader waits for data on U; a datagram arrives");
    let pa = lo(bound_port(p));
    // SAFETY: a live buffer and sockaddr.
    let r = unsafe {
        libc::sendto(
            u,
            b"reply".as_ptr().cast(),
            5,
            libc::MSG_DONTWAIT,
            (&raw const pa).cast(),
            size_of::<libc::sockaddr_in>() as u32,
        )
    };
    t.note(format!("sendto={r}"));
    t.step("U6", "we send a datagram");
    raw_read_avail(p);

    let u2 = socket(libc::SOCK_DGRAM);
    t.side.arm(u2, "U2");
    assert_eq!(connect_lo(u2, closed_port(libc::SOCK_DGRAM)), 0);
    t.side.collect(0);
    let r = t.side.send(u2, b"x");
    t.note(format!("send={r}"));
    t.step("U7", "connected UDP sends to a closed port [ICMP]");
    let r = t.side.recv(u2, 64, 0);
    t.note(format!(
        "recv={r} {}",
        if r < 0 { errname(errno()) } else { String::new() }
    ));
    t.step("U8", "recv() reports the error");
    t.side.close(u2);
    t.side.close(u);
    close(p);
}

fn unix(t: &mut Script<'_>) {
    let (a, b) = unix_pair();
    set_nonblock(b);
    t.side.arm(a, "A");
    t.step("X0", "socketpair, A armed");
    raw_send(b, b"0123456789", 0);
    t.step("X1", "peer writes 10 bytes");
    for (id, what) in [("X2", "we read 5"), ("X3", "we read 5 more")] {
        let r = t.side.recv(a, 5, 0);
        t.note(format!("read={r}"));
        t.step(id, what);
    }
    t.side.waiter_start(a);
    raw_send(b, b"wake", 0);
    let got = t.side.waiter_join();
    t.note(format!("waiting reader got {got}"));
    t.step("X4", "a reader waits for data on A; peer writes 4");
    let (w, e) = t.side.fill_until_eagain(a);
    t.note(format!("wrote {w} then {}", errname(e)));
    t.step("X5a", "we write until EAGAIN");
    let got = drain_until(b, w);
    t.note(format!("peer read {got} of {w}"));
    t.step("X6", "peer drains everything");
    t.note(format!("peer send(MSG_OOB)={}", raw_send(b, b"!", libc::MSG_OOB)));
    t.step("X7", "peer sends 1 byte MSG_OOB");
    let r = raw_recv(a, 1, libc::MSG_OOB);
    let n = t.side.read_avail(a);
    t.note(format!("recv(MSG_OOB)={r}; then read={n}"));
    t.step("X8", "we read the OOB byte + stream");
    shutdown(b, libc::SHUT_WR);
    t.step("X9", "peer shutdown(SHUT_WR)");
    let r = t.side.recv(a, 64, 0);
    t.note(format!("read={r}"));
    t.step("X10", "we read -> 0");
    close(b);
    t.step("X11", "peer close()");
    t.side.close(a);

    let (a2, b2) = unix_pair();
    t.side.arm(a2, "A2");
    t.side.collect(0);
    shutdown(b2, libc::SHUT_RDWR);
    t.step("X12", "new pair: peer shutdown(SHUT_RDWR)");
    shutdown(a2, libc::SHUT_RD);
    t.step("X13", "we shutdown(SHUT_RD) ourselves");
    t.side.close(a2);
    close(b2);
}

/// `SigQ: used/limit` of /proc/self/status.
fn sigq_used() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("SigQ:")).unwrap();
    line[5..].trim().split('/').next().unwrap().parse().unwrap()
}

/// Registration variants a channel can mirror: owner added later, disarm,
/// queue overflow.
fn variants(t: &mut Script<'_>) {
    let (a, b) = unix_pair();
    raw_send(b, b"abc", 0);
    t.step("V4", "unarmed socket, peer writes (no owner: nothing)");
    t.side.arm(a, "A");
    t.step("V5", "now armed (data pending: no replay)");
    t.side.read_avail(a);
    raw_send(b, b"abc", 0);
    t.step("V6", "peer writes");
    t.side.read_avail(a);
    t.side.disarm(a);
    raw_send(b, b"abc", 0);
    t.step("V7", "disarmed, peer writes");
    t.side.close(a);
    close(b);

    let (a, b) = unix_pair();
    t.side.arm_small(a, "A", 3);
    t.side.collect(0);
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a live rlimit.
    check(
        unsafe { libc::getrlimit(libc::RLIMIT_SIGPENDING, &raw mut old) },
        "getrlimit",
    );
    let lim = libc::rlimit {
        rlim_cur: sigq_used() + 3,
        rlim_max: old.rlim_max,
    };
    // SAFETY: a live rlimit; lowering our own soft limit.
    check(
        unsafe { libc::setrlimit(libc::RLIMIT_SIGPENDING, &raw const lim) },
        "setrlimit",
    );
    for _ in 0..8 {
        raw_send(b, b"abc", 0);
        t.side.per_event();
    }
    // SAFETY: restores the limit read above.
    check(
        unsafe { libc::setrlimit(libc::RLIMIT_SIGPENDING, &raw const old) },
        "setrlimit",
    );
    t.step_ex(
        "V10",
        "queue full (room for 3), 8 peer writes",
        30,
        Expect::Unordered,
    );
    t.side.close(a);
    close(b);
}

type Scenario = fn(&mut Script<'_>);

fn run(side: &mut dyn Side, f: Scenario) -> Vec<Step> {
    let mut s = Script {
        side,
        steps: Vec::new(),
        note: String::new(),
    };
    f(&mut s);
    s.steps
}

/// Compares the two runs of a scenario; the lines of the table and whether
/// every step matched.
fn compare(k: &[Step], q: &[Step]) -> (Vec<String>, bool) {
    assert_eq!(
        k.iter().map(|s| s.id).collect::<Vec<_>>(),
        q.iter().map(|s| s.id).collect::<Vec<_>>()
    );
    let mut lines = Vec::new();
    let mut all = true;
    let mut i = 0;
    while i < k.len() {
        let (ks, qs) = (&k[i], &q[i]);
        let mut kn = ks.sigs.clone();
        let mut qn = qs.sigs.clone();
        let mut id = ks.id.to_string();
        if matches!(ks.expect, Expect::WithNext) && i + 1 < k.len() {
            kn.extend(k[i + 1].sigs.iter().copied());
            qn.extend(q[i + 1].sigs.iter().copied());
            id = format!("{}+{}", ks.id, k[i + 1].id);
            i += 1;
        }
        let (ok, verdict) = match ks.expect {
            Expect::Same | Expect::WithNext => {
                let ok = normalized(&kn) == normalized(&qn);
                (
                    ok,
                    if ok {
                        "match".to_string()
                    } else {
                        "MISMATCH".to_string()
                    },
                )
            }
            Expect::OutOptional => {
                let strip = |v: &[Sig]| {
                    v.iter()
                        .copied()
                        .filter(|s| s.code != Code::Out)
                        .collect::<Vec<_>>()
                };
                let ok = normalized(&strip(&kn)) == normalized(&strip(&qn));
                (
                    ok,
                    if ok {
                        "match (OUT timing-dependent)".into()
                    } else {
                        "MISMATCH".into()
                    },
                )
            }
            Expect::Unordered => {
                let set = |v: &[Sig]| {
                    let mut v: Vec<_> = normalized(v)
                        .into_values()
                        .flatten()
                        .map(|(c, u)| (code_name(c), u))
                        .collect();
                    v.sort();
                    v.dedup();
                    v
                };
                let ok = set(&kn) == set(&qn);
                (
                    ok,
                    if ok {
                        "match (any order)".into()
                    } else {
                        "MISMATCH".into()
                    },
                )
            }
            Expect::Differs(why) => {
                let ok = normalized(&kn) != normalized(&qn);
                (
                    ok,
                    if ok {
                        format!("differs as documented: {why}")
                    } else {
                        "now MATCHES: update the docs".into()
                    },
                )
            }
        };
        // Notes that must agree: the socket's own state seen through both.
        let notes_ok = !(ks.id == "T22" || ks.id == "H10" || ks.id == "U8") || ks.note == qs.note;
        all &= ok && notes_ok;
        lines.push(format!(
            "{id:<8} | {:<50} | kernel: {:<40} | sockwq: {:<40} | {verdict}{}",
            ks.what,
            fmt_sigs(&kn),
            fmt_sigs(&qn),
            if notes_ok {
                String::new()
            } else {
                format!(" | notes differ: {:?} vs {:?}", ks.note, qs.note)
            }
        ));
        i += 1;
    }
    (lines, all)
}

fn main() {
    // Block the signals before any thread exists, so every thread inherits
    // the mask and only sigtimedwait takes them.
    let set = sigset();
    // SAFETY: a live sigset; no other thread exists yet.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    assert_eq!(r, 0);
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(120));
        eprintln!("fasync_oracle: watchdog: no result within 120 s");
        std::process::exit(2);
    });
    // `cargo test -- --list` and friends: this binary has one test.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        println!("fasync_oracle: test");
        return;
    }
    // The whole table with `-- --nocapture` (or SOCKWQ_ORACLE_TABLE=1);
    // otherwise only the scenarios that failed.
    let verbose =
        args.iter().any(|a| a == "--nocapture") || std::env::var_os("SOCKWQ_ORACLE_TABLE").is_some();
    let t0 = Instant::now();
    let (mut steps, mut differs) = (0, 0);
    let scenarios: [(&str, Scenario); 6] = [
        ("TCP", tcp_main),
        ("TCP close orders and connects", tcp_close_orders),
        ("TCP: what arms POLL_OUT; SO_RCVLOWAT", tcp_arming),
        ("UDP", udp),
        ("AF_UNIX stream", unix),
        ("registration variants", variants),
    ];
    let mut failed = Vec::new();
    for (name, f) in scenarios {
        let mut result = None;
        for attempt in 1..=3 {
            let k = run(&mut Kernel::new(), f);
            let q = run(&mut Sockwq::new(), f);
            let (lines, ok) = compare(&k, &q);
            result = Some((lines, ok, attempt));
            if ok {
                break;
            }
        }
        let (lines, ok, attempt) = result.unwrap();
        steps += lines.len();
        differs += lines
            .iter()
            .filter(|l| l.contains("differs as documented"))
            .count();
        if verbose || !ok {
            println!(
                "\n## {name}{}",
                if attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                }
            );
            for l in lines {
                println!("{l}");
            }
        }
        if !ok {
            failed.push(name);
        }
    }
    println!(
        "fasync_oracle: {steps} steps compared with the kernel, {} matched, {differs} differ as documented ({:.1} s)",
        steps - differs,
        t0.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        eprintln!("fasync_oracle: sockwq differs from the kernel in: {failed:?}");
        std::process::exit(1);
    }
    println!("test fasync_oracle ... ok");
}
