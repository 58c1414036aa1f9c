//! Dispatch ablation: the cost of delivering one readiness event to a
//! waiting task, with the socket's wait queue ([`SocketWq`]) reached through
//! `ArcSwap` (sockwq: the kernel's RCU `sk->sk_wq`), `RwLock<Arc<_>>` (the
//! kernel before the RCU conversion: `sk_callback_lock`) or `Mutex<Arc<_>>`.
//! Every variant runs the crate's real protocol (`State` + `dispatch_with`
//! through `sockwq_reactor::ablation`); only the container differs.
//!
//! Groups (one iteration each):
//! * `single/*`: the waiter re-arms (registers its waker *through the
//!   container*) + one dispatch that wakes it + the readiness clear.
//!   `single/poll_read_slot` is the per-direction slot path (no container):
//!   clear-and-arm in `State::poll_ready` + one dispatch.
//! * `nobody_waits/*`: dispatch + clear with no waiter: the has-sleeper
//!   check skips the container entirely.
//! * `two_threads_wake/*`: a second thread continuously re-arms the waiter
//!   that the measured thread's dispatch (+ clear) wakes: the cross-thread
//!   wake cycle. `poll_read_slot`: the second thread clears-and-arms the
//!   read slot, the measured thread dispatches.
//! * `two_threads_contended/*`: the `single` cycle, while a second thread
//!   continuously re-arms a write-side waiter in the same list (not woken
//!   by the readable event): the cost of sharing the container alone.
//!
//! Printed, not criterion: a `meter` line per benchmark (wall and thread
//! CPU time per op, context switches), a ping-pong `calibration` (how much
//! of the time two threads really ran at once on this machine, and what a
//! cache-line transfer costs), and `wake_cycle_rtt/*`: the wake cycle in
//! lockstep across two threads, median round trip — the figure that does
//! not depend on the scheduler letting both threads run.
//!
//! Run: `cargo bench --features bench-internals --bench dispatch`; the printed probes alone:
//! `cargo bench --features bench-internals --bench dispatch -- wake_cycle_rtt` (matches no criterion
//! benchmark, so those are skipped).

use std::cell::Cell;
use std::hint::black_box;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{RawWaker, RawWakerVTable, Waker};
use std::thread;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime};
use sockwq_reactor::ablation::{AblationSource, WqCell};
use sockwq_reactor::{Interest, Ready, SocketWq};

type ViaArcSwap = ArcSwap<SocketWq>;
type ViaRwLock = RwLock<Arc<SocketWq>>;
type ViaMutex = Mutex<Arc<SocketWq>>;

/// Wall time, the measured thread's CPU time, and its context switches,
/// summed over every timed batch of one benchmark (warm-up included).
///
/// On a shared machine wall time also counts the time the measured thread
/// was preempted by unrelated work; thread CPU time does not, but it also
/// leaves out time blocked in a lock (`futex` wait) — hence the voluntary
/// switch count next to it.
#[derive(Default)]
struct Meter {
    iters: Cell<u64>,
    wall: Cell<Duration>,
    cpu: Cell<Duration>,
    voluntary: Cell<i64>,
    involuntary: Cell<i64>,
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn thread_switches() -> (i64, i64) {
    // SAFETY: all-zero is a valid `rusage`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid out-pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0);
    (ru.ru_nvcsw, ru.ru_nivcsw)
}

impl Meter {
    /// Runs `f` `iters` times; returns the wall time (what criterion
    /// reports) and adds to the side counters.
    #[inline(never)]
    fn run<R>(&self, iters: u64, mut f: impl FnMut() -> R) -> Duration {
        let (v0, i0) = thread_switches();
        let c0 = thread_cpu();
        let t0 = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        let wall = t0.elapsed();
        let cpu = thread_cpu() - c0;
        let (v1, i1) = thread_switches();
        self.iters.set(self.iters.get() + iters);
        self.wall.set(self.wall.get() + wall);
        self.cpu.set(self.cpu.get() + cpu);
        self.voluntary.set(self.voluntary.get() + v1 - v0);
        self.involuntary.set(self.involuntary.get() + i1 - i0);
        wall
    }

    fn report(&self, id: &str) {
        let n = self.iters.get().max(1) as f64;
        eprintln!(
            "  meter {id}: wall {:.1} ns/op, thread-cpu {:.1} ns/op, switches per 1M ops: \
             {:.2} voluntary, {:.2} involuntary",
            self.wall.get().as_nanos() as f64 / n,
            self.cpu.get().as_nanos() as f64 / n,
            self.voluntary.get() as f64 * 1e6 / n,
            self.involuntary.get() as f64 * 1e6 / n,
        );
    }
}

/// A criterion group that also prints a [`Meter`] line per benchmark.
struct Group<'a> {
    g: BenchmarkGroup<'a, WallTime>,
    name: &'static str,
}

impl Group<'_> {
    /// Benchmarks `f` under `id`.
    fn bench<R>(&mut self, id: &str, mut f: impl FnMut() -> R) {
        let meter = Meter::default();
        self.g
            .bench_function(id, |b| b.iter_custom(|iters| meter.run(iters, &mut f)));
        meter.report(&format!("{}/{id}", self.name));
    }

    fn finish(self) {
        self.g.finish();
    }
}

/// The background thread of the two-thread cases stops by itself after
/// this long even if the stop flag is never raised.
const BACKGROUND_LIMIT: Duration = Duration::from_secs(60);

/// Runs `measure` while another thread calls `spin` in a loop; stops and
/// joins that thread afterwards. Returns how many `spin`s it ran.
fn with_background<S: Sync>(src: &S, spin: impl Fn(&S) + Sync, measure: impl FnOnce()) -> u64 {
    let stop = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    thread::scope(|s| {
        let bg = s.spawn(|| {
            let deadline = Instant::now() + BACKGROUND_LIMIT;
            let mut n = 0u64;
            started.store(true, Release);
            while !stop.load(Relaxed) && Instant::now() < deadline {
                for _ in 0..1024 {
                    spin(src);
                }
                n += 1024;
            }
            n
        });
        while !started.load(Acquire) {
            std::hint::spin_loop();
        }
        measure();
        let hit_deadline = bg.is_finished();
        stop.store(true, Relaxed);
        let n = bg.join().expect("background thread panicked");
        assert!(
            !hit_deadline,
            "background thread stopped before the measurement ended"
        );
        n
    })
}

/// A value on cache lines of its own.
#[repr(align(128))]
struct Padded<T>(T);

/// Calibration for the two-thread groups: a ping-pong between two threads
/// for half a second. Its fast round trips give the cost of moving a cache
/// line between the cores (half a round trip); the time spent in them, the
/// share of wall time during which both threads were actually running at
/// once. On a shared machine that share can be small, and then so is the
/// contention the two-thread groups can show.
fn overlap_probe() {
    const DONE: u64 = u64::MAX;
    let ping = Padded(AtomicU64::new(0));
    let pong = Padded(AtomicU64::new(0));
    let window = Duration::from_millis(500);
    let (trips, mut fast, wall) = thread::scope(|s| {
        s.spawn(|| {
            let deadline = Instant::now() + BACKGROUND_LIMIT;
            let mut seen = 0;
            while Instant::now() < deadline {
                for _ in 0..1024 {
                    match ping.0.load(Acquire) {
                        DONE => return,
                        v if v != seen => {
                            seen = v;
                            pong.0.store(v, Release);
                        }
                        _ => std::hint::spin_loop(),
                    }
                }
            }
        });
        let start = Instant::now();
        let mut fast = Vec::new();
        let mut trips = 0u64;
        while start.elapsed() < window {
            trips += 1;
            let t0 = Instant::now();
            ping.0.store(trips, Release);
            while pong.0.load(Acquire) != trips {
                std::hint::spin_loop();
            }
            let rtt = t0.elapsed();
            if rtt < Duration::from_micros(10) {
                fast.push(rtt);
            }
        }
        ping.0.store(DONE, Release);
        (trips, fast, start.elapsed())
    });
    fast.sort();
    let median = fast.get(fast.len() / 2).copied().unwrap_or_default();
    let both = fast.iter().sum::<Duration>().as_secs_f64() / wall.as_secs_f64();
    eprintln!(
        "calibration: {trips} ping-pong round trips in {wall:.2?}; median fast round trip {median:?} \
         (one cache-line transfer ~ half that); both threads running at once ~{:.0}% of the time",
        both * 100.0
    );
}

/// Set by [`flag_waker`]'s wake.
static WOKEN: Padded<AtomicBool> = Padded(AtomicBool::new(false));

fn flag_clone(_: *const ()) -> RawWaker {
    RawWaker::new(ptr::null(), &FLAG_VTABLE)
}
fn flag_wake(_: *const ()) {
    WOKEN.0.store(true, Release);
}
fn flag_drop(_: *const ()) {}
static FLAG_VTABLE: RawWakerVTable = RawWakerVTable::new(flag_clone, flag_wake, flag_wake, flag_drop);

/// A waker that raises [`WOKEN`]: cloning and dropping it touch no shared
/// memory, so the wake itself costs one store.
fn flag_waker() -> Waker {
    // SAFETY: the vtable ignores the (null) data pointer; its functions are
    // thread-safe and valid for any number of clones.
    unsafe { Waker::from_raw(RawWaker::new(ptr::null(), &FLAG_VTABLE)) }
}

/// The wake cycle in lockstep, timed end to end: the measured thread fires
/// (dispatches); the other thread sees its waker fire, re-arms, and says
/// so; the measured thread sees that. Returns the round trips taken and
/// the median of those under 10 µs (both threads on a CPU throughout) —
/// unlike a throughput figure, that median does not depend on how much of
/// the time the scheduler lets the two threads run at once.
fn lockstep<S: Sync>(src: &S, arm: impl Fn(&S) + Sync, fire: impl Fn(&S)) -> (u64, Duration) {
    let armed = Padded(AtomicU64::new(0));
    let stop = AtomicBool::new(false);
    let window = Duration::from_millis(500);
    WOKEN.0.store(false, Relaxed);
    thread::scope(|s| {
        s.spawn(|| {
            let deadline = Instant::now() + BACKGROUND_LIMIT;
            let mut n = 1;
            arm(src);
            armed.0.store(n, Release);
            loop {
                let mut spins = 0u32;
                while !WOKEN.0.load(Acquire) {
                    std::hint::spin_loop();
                    spins = spins.wrapping_add(1);
                    if spins % 1024 == 0 && (stop.load(Relaxed) || Instant::now() > deadline) {
                        return;
                    }
                }
                WOKEN.0.store(false, Relaxed);
                arm(src);
                n += 1;
                armed.0.store(n, Release);
            }
        });
        let start = Instant::now();
        let mut fast = Vec::new();
        let mut k = 1;
        'trips: while start.elapsed() < window {
            while armed.0.load(Acquire) < k {
                if start.elapsed() > 4 * window {
                    break 'trips;
                }
                std::hint::spin_loop();
            }
            let t0 = Instant::now();
            fire(src);
            while armed.0.load(Acquire) <= k {
                if start.elapsed() > 4 * window {
                    break 'trips;
                }
                std::hint::spin_loop();
            }
            let rtt = t0.elapsed();
            if rtt < Duration::from_micros(10) {
                fast.push(rtt);
            }
            k += 1;
        }
        stop.store(true, Relaxed);
        fast.sort();
        (k - 1, fast.get(fast.len() / 2).copied().unwrap_or_default())
    })
}

/// Prints the lockstep wake-cycle round trip of every variant.
fn wake_cycle_latency() {
    fn list<W: WqCell>() {
        let waker = flag_waker();
        let mut src = AblationSource::<W>::new();
        let j = src.join(Interest::READABLE, &waker);
        let (trips, median) = lockstep(
            &src,
            |s| s.rearm_via_container(j, &waker),
            |s| {
                dispatch_clear(s);
            },
        );
        eprintln!(
            "  wake_cycle_rtt/{}: median {median:?} ({trips} round trips)",
            W::NAME
        );
    }
    list::<ViaArcSwap>();
    list::<ViaRwLock>();
    list::<ViaMutex>();
    let waker = flag_waker();
    let src = AblationSource::<ViaArcSwap>::new();
    let (trips, median) = lockstep(
        &src,
        // Until armed: `Ready` (an event raced the snapshot) is where a
        // task would read, get `WouldBlock`, and poll again.
        |s| while s.poll_read_slot(Some(s.word()), &waker).is_ready() {},
        |s| {
            s.dispatch(Ready::READABLE);
        },
    );
    eprintln!("  wake_cycle_rtt/poll_read_slot: median {median:?} ({trips} round trips)");
}

// ---- the cycles (each checked once before it is measured) ----

/// Re-arm waiter `i` through the container, dispatch (wakes it), clear.
#[inline]
fn list_cycle<W: WqCell>(src: &AblationSource<W>, i: usize, waker: &Waker) -> usize {
    src.rearm_via_container(i, waker);
    let n = src.dispatch(Ready::READABLE);
    src.clear_readable(src.word());
    n
}

/// Dispatch + clear (nobody waits, or the waiter re-arms elsewhere).
#[inline]
fn dispatch_clear<W: WqCell>(src: &AblationSource<W>) -> usize {
    let n = src.dispatch(Ready::READABLE);
    src.clear_readable(src.word());
    n
}

/// The poll_read path: clear what was seen + arm the slot, then dispatch.
#[inline]
fn slot_cycle<W: WqCell>(src: &AblationSource<W>, waker: &Waker) -> usize {
    let armed = src.poll_read_slot(Some(src.word()), waker).is_pending();
    armed as usize + src.dispatch(Ready::READABLE)
}

fn group<'a>(c: &'a mut Criterion, name: &'static str) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    Group { g, name }
}

/// Whether two `Arc<Waiter>`s (data at `a` and `b`; the allocation spans
/// 16 bytes of counts before it and 32 bytes of data) lie on disjoint
/// 128-byte line pairs.
fn apart(a: usize, b: usize) -> bool {
    let lines = |p: usize| (p - 16) / 128..=(p + 31) / 128;
    let (x, y) = (lines(a), lines(b));
    x.end() < y.start() || y.end() < x.start()
}

fn single<W: WqCell>(g: &mut Group<'_>) {
    let waker = Waker::noop();
    let mut src = AblationSource::<W>::new();
    let i = src.join(Interest::READABLE, waker);
    for _ in 0..3 {
        assert_eq!(list_cycle(&src, i, waker), 1);
        assert!(!src.is_readable());
    }
    g.bench(W::NAME, || list_cycle(black_box(&src), i, waker));
}

fn single_slot(g: &mut Group<'_>) {
    let waker = Waker::noop();
    let src = AblationSource::<ViaArcSwap>::new();
    for _ in 0..3 {
        assert_eq!(slot_cycle(&src, waker), 2, "armed, then woken");
    }
    g.bench("poll_read_slot", || slot_cycle(black_box(&src), waker));
}

fn nobody_waits<W: WqCell>(g: &mut Group<'_>) {
    let src = AblationSource::<W>::new();
    for _ in 0..3 {
        assert_eq!(dispatch_clear(&src), 0);
        assert!(!src.is_readable());
    }
    g.bench(W::NAME, || dispatch_clear(black_box(&src)));
}

fn two_threads_wake<W: WqCell>(g: &mut Group<'_>) {
    let waker = Waker::noop();
    let mut src = AblationSource::<W>::new();
    let j = src.join(Interest::READABLE, waker);
    let rearms = with_background(
        &src,
        |s| s.rearm_via_container(j, waker),
        || {
            assert_eq!(dispatch_clear(&src), 1);
            g.bench(W::NAME, || dispatch_clear(black_box(&src)));
        },
    );
    eprintln!("  (background: {rearms} re-arms)");
}

fn two_threads_wake_slot(g: &mut Group<'_>) {
    let waker = Waker::noop();
    let src = AblationSource::<ViaArcSwap>::new();
    let arms = with_background(
        &src,
        |s| {
            let _ = black_box(s.poll_read_slot(Some(s.word()), waker));
        },
        || {
            g.bench("poll_read_slot", || black_box(&src).dispatch(Ready::READABLE));
        },
    );
    eprintln!("  (background: {arms} clear-and-arms)");
}

fn two_threads_contended<W: WqCell>(g: &mut Group<'_>) {
    let waker = Waker::noop();
    let mut src = AblationSource::<W>::new();
    let i = src.join(Interest::READABLE, waker);
    let j = src.join(Interest::WRITABLE, waker);
    let (a, b) = (src.waiter_addr(i), src.waiter_addr(j));
    if !apart(a, b) {
        eprintln!("  note: the two waiters share a cache-line pair ({a:#x}, {b:#x})");
    }
    let rearms = with_background(
        &src,
        |s| s.rearm_via_container(j, waker),
        || {
            assert_eq!(list_cycle(&src, i, waker), 1, "only the reader is woken");
            g.bench(W::NAME, || list_cycle(black_box(&src), i, waker));
        },
    );
    eprintln!("  (background: {rearms} re-arms)");
}

fn dispatch(c: &mut Criterion) {
    let mut g = group(c, "single");
    single::<ViaArcSwap>(&mut g);
    single::<ViaRwLock>(&mut g);
    single::<ViaMutex>(&mut g);
    single_slot(&mut g);
    g.finish();

    let mut g = group(c, "nobody_waits");
    nobody_waits::<ViaArcSwap>(&mut g);
    nobody_waits::<ViaRwLock>(&mut g);
    nobody_waits::<ViaMutex>(&mut g);
    g.finish();

    overlap_probe();
    let mut g = group(c, "two_threads_wake");
    two_threads_wake::<ViaArcSwap>(&mut g);
    two_threads_wake::<ViaRwLock>(&mut g);
    two_threads_wake::<ViaMutex>(&mut g);
    two_threads_wake_slot(&mut g);
    g.finish();

    overlap_probe();
    let mut g = group(c, "two_threads_contended");
    two_threads_contended::<ViaArcSwap>(&mut g);
    two_threads_contended::<ViaRwLock>(&mut g);
    two_threads_contended::<ViaMutex>(&mut g);
    g.finish();
    overlap_probe();

    eprintln!("wake-cycle round trip, lockstep (not a criterion benchmark):");
    wake_cycle_latency();
    overlap_probe();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
