//! [`Source`]: the reactor's per-fd state (the kernel's `struct sock`), and
//! [`ReadyEvent`] / [`Readiness`], what waiting on it yields.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, ready};

use crate::atomic_waker::AtomicWaker;
use arc_swap::ArcSwap;

use crate::coop;
use crate::fasync::{self, Link};
use crate::interest::{Interest, Ready};
use crate::state::{self, Direction, State};
use crate::wq::{SocketWq, Waiter};

/// What a reactor shares with its sources: counters bumped off the
/// dispatch path only (registration, RCU updates, eventfd writes), and the
/// list of retired wait queues.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) rcu_updates: AtomicU64,
    pub(crate) eventfd_writes: AtomicU64,
    pub(crate) registrations: AtomicU64,
    pub(crate) failed_deregistrations: AtomicU64,
    retired: Mutex<Retired>,
    /// `retired.lists.len()`, readable without the lock so that a turn with
    /// nothing to free takes no lock.
    retired_pending: AtomicUsize,
    /// The error IO on this reactor's sources returns once it has shut
    /// down, when not [`reactor_gone`] (a reactor that belongs to a tokio
    /// runtime fails with tokio's shutdown error). Set once, before the
    /// first registration.
    pub(crate) shutdown_error: OnceLock<fn() -> io::Error>,
}

/// Replaced [`SocketWq`]s that a reader still held when they were replaced
/// (the kernel's `call_rcu`): freed by the reactor at the start of its next
/// turn, so that the last reference is never dropped inside dispatch.
#[derive(Debug, Default)]
struct Retired {
    lists: Vec<Arc<SocketWq>>,
    /// The reactor is gone: no turn will free anything, so retiring frees at once.
    closed: bool,
}

impl Shared {
    fn retired(&self) -> MutexGuard<'_, Retired> {
        // A panic while holding the lock cannot leave the list inconsistent
        // (each update is one push or take).
        self.retired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Disposes of a wait queue that an RCU update just replaced.
    ///
    /// `ArcSwap::swap` converts every reader's outstanding guard on `old`
    /// into a counted reference before it returns ("paying the debt"), and
    /// no new reader can reach `old` after it. So if `old` is unique now,
    /// nobody else holds it and it is freed here, on the updater's thread
    /// (the common case). Otherwise a reader — typically the dispatcher,
    /// inside its wake — holds it, and dropping that reader's guard must
    /// not free it in the middle of dispatch: `old` waits in the retired
    /// list until the reactor's next turn begins (by then the dispatcher
    /// has dropped every guard of the previous turn). The list holds at
    /// most the lists replaced while some reader held them: per turn, no
    /// more than that turn's dispatched events plus concurrent readers
    /// elsewhere, so it needs no wake-up of its own.
    fn retire(&self, old: Arc<SocketWq>) {
        let old = match Arc::try_unwrap(old) {
            Ok(unique) => return drop(unique),
            Err(shared) => shared,
        };
        let mut r = self.retired();
        if r.closed {
            drop(r);
            // No reactor, so no dispatcher: the other holder may free it anywhere.
            return drop(old);
        }
        r.lists.push(old);
        self.retired_pending.store(r.lists.len(), Ordering::Relaxed);
    }

    /// The retired lists, for the reactor to free at the start of a turn;
    /// empty without taking the lock when there are none.
    pub(crate) fn take_retired(&self) -> Vec<Arc<SocketWq>> {
        if self.retired_pending.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut r = self.retired();
        self.retired_pending.store(0, Ordering::Relaxed);
        std::mem::take(&mut r.lists)
    }

    /// At reactor shutdown: from now on `retire` frees at once. Returns
    /// what was waiting.
    pub(crate) fn close_retired(&self) -> Vec<Arc<SocketWq>> {
        let mut r = self.retired();
        r.closed = true;
        self.retired_pending.store(0, Ordering::Relaxed);
        std::mem::take(&mut r.lists)
    }

    /// How many retired lists wait for the next turn.
    pub(crate) fn retired_pending(&self) -> usize {
        self.retired_pending.load(Ordering::Relaxed)
    }

    /// The error for IO on a reactor that has shut down.
    pub(crate) fn gone(&self) -> io::Error {
        self.shutdown_error.get().map_or_else(reactor_gone, |f| f())
    }
}

/// A readiness snapshot returned by [`Source::poll_ready`] and friends.
///
/// Pass it back to [`Source::clear_readiness`] after an IO call returned
/// `WouldBlock`: the clear only removes readiness that has not been renewed
/// by an event since this snapshot was taken (a tick per direction).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReadyEvent {
    ready: Ready,
    /// The state word when observed; only its tick bits are used.
    word: u64,
}

impl ReadyEvent {
    /// The readiness that satisfied the interest.
    pub fn ready(&self) -> Ready {
        self.ready
    }

    /// This event with its readiness narrowed to `ready`, e.g. to clear
    /// only `READABLE` after a short read.
    #[must_use]
    pub fn with_ready(self, ready: Ready) -> ReadyEvent {
        ReadyEvent { ready, ..self }
    }

    pub(crate) fn clear_args(&self) -> (u64, u64) {
        (self.ready.bits() as u64, self.word)
    }
}

impl fmt::Debug for ReadyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadyEvent")
            .field("ready", &self.ready)
            .field("read_tick", &state::tick(self.word, Direction::Read))
            .field("write_tick", &state::tick(self.word, Direction::Write))
            .finish()
    }
}

/// How the dispatcher reaches a source's [`SocketWq`]. sockwq reads it
/// through `ArcSwap`; the dispatch benchmark also runs the very same
/// protocol through a `RwLock` and a `Mutex` (the kernel's before/after).
pub(crate) trait WqRead {
    fn read_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R;
}

impl WqRead for ArcSwap<SocketWq> {
    #[inline]
    fn read_wq<R>(&self, f: impl FnOnce(&SocketWq) -> R) -> R {
        // `load`: a Guard from a thread-local debt slot — no lock, no
        // refcount traffic, no allocation.
        f(&self.load())
    }
}

/// The dispatch path, step 2 onwards: records `bits` (one RMW on the state
/// word), wakes the claimed slots, and — the "has sleeper" check — reads
/// the wait queue only if a readiness future waits on a side `bits` touch.
#[inline]
pub(crate) fn dispatch_with<W: WqRead>(state: &State, wq: &W, bits: u64) -> usize {
    let prev = state.record(bits);
    let mut woken = state.wake_claimed(prev, bits);
    let mut list = 0;
    for d in Direction::BOTH {
        if bits & d.wake_bits() != 0 {
            list |= d.list_bit();
        }
    }
    // `record` (AcqRel) read the LIST/FASYNC bit that the updater set after
    // storing its new list, so the read below sees that list.
    if prev & (list | state::FASYNC) != 0 {
        woken += wq.read_wq(|wq| {
            if prev & state::FASYNC != 0 {
                fasync::notify(state, wq, prev, bits);
            }
            if prev & list != 0 { wq.wake(bits) } else { 0 }
        });
    }
    woken
}

/// How many times one [`Source::poll_io`] / [`Source::poll_io_drain`] call
/// runs its IO closure at most (each run after the first follows a
/// `WouldBlock` whose readiness an event renewed meanwhile).
const IO_RETRY_LIMIT: usize = 32;

/// Whether `e` is `WouldBlock`. An OS error is checked by its errno, without
/// the out-of-line `io::Error::kind` (`EAGAIN` is `EWOULDBLOCK` on Linux).
#[inline]
fn is_would_block(e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(code) => code == libc::EAGAIN,
        None => e.kind() == io::ErrorKind::WouldBlock,
    }
}

/// The error every operation on a source returns once its reactor is gone.
pub(crate) fn reactor_gone() -> io::Error {
    io::Error::other("sockwq reactor has shut down")
}

/// A registered file descriptor's readiness and waker set.
///
/// A `Source` is shared between the owner of the fd (through a
/// [`Registration`](crate::Registration), which derefs to it) and the
/// reactor. It is freed only after the reactor has finished every turn
/// that could still hand out its token (the grace period).
///
/// The hot path touches one atomic word here (see `state.rs` for the
/// protocol and why no wakeup is lost) and, only when a readiness future
/// waits, one `ArcSwap` load of the `SocketWq` (its wait queue).
pub struct Source {
    pub(crate) state: State,
    pub(crate) wq: ArcSwap<SocketWq>,
    /// Serializes RCU updaters of `wq` (never taken by the dispatcher).
    wq_update: Mutex<()>,
    fd: RawFd,
    pub(crate) key: usize,
    shared: Arc<Shared>,
    /// The fasync [`SocketId`](crate::fasync::SocketId), given at the first
    /// attach (0 until then): no cost to sockets nobody attaches to.
    pub(crate) fasync_id: AtomicU64,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("fd", &self.fd)
            .field("readiness", &self.readiness())
            .field("wq", &*self.wq.load())
            .finish()
    }
}

/// Which slots a poll for `interest` arms.
#[inline]
fn directions(interest: Interest) -> &'static [Direction] {
    let read = interest.is_readable() || interest.is_priority();
    match (read, interest.is_writable()) {
        (true, true) => &Direction::BOTH,
        (false, true) => &Direction::BOTH[1..],
        _ => &Direction::BOTH[..1],
    }
}

impl Source {
    pub(crate) fn new(fd: RawFd, key: usize, shared: Arc<Shared>, assumed: Ready) -> Source {
        Source {
            state: State::with_ready(assumed.bits() as u64),
            wq: ArcSwap::from_pointee(SocketWq::default()),
            wq_update: Mutex::new(()),
            fd,
            key,
            shared,
            fasync_id: AtomicU64::new(0),
        }
    }

    /// The registered file descriptor.
    #[inline]
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// The readiness as last recorded (without waiting or arming anything).
    pub fn readiness(&self) -> Ready {
        Ready::from_bits((self.state.load() & state::READY_BITS) as u8)
    }

    /// How many readiness futures wait on this source right now.
    pub fn waiters(&self) -> usize {
        self.wq.load().waiters()
    }

    /// How many fasync channels are attached to this source.
    pub fn fasync_subscribers(&self) -> usize {
        self.wq.load().fasync_subscribers()
    }

    /// Whether the reactor this source belongs to has shut down.
    pub fn is_shutdown(&self) -> bool {
        self.state.load() & state::SHUTDOWN != 0
    }

    /// Dispatch: records `bits` and wakes whoever sleeps on the sides they
    /// touch. No lock, no allocation. Returns the number of wakers woken.
    #[inline]
    pub(crate) fn dispatch(&self, bits: u64) -> usize {
        dispatch_with(&self.state, &self.wq, bits)
    }

    /// Reactor shutdown: records `SHUTDOWN`, wakes every waiter (their
    /// polls now return an error), and drops the kept slot wakers.
    pub(crate) fn shutdown(&self) {
        let prev = self.state.shutdown();
        if prev & (state::LIST_RD | state::LIST_WR) != 0 {
            self.wq.load().wake(state::SHUTDOWN);
        }
    }

    #[inline]
    fn event(&self, word: u64, mask: u64) -> io::Result<ReadyEvent> {
        if word & state::SHUTDOWN != 0 {
            return Err(self.gone());
        }
        Ok(ReadyEvent {
            ready: Ready::from_bits((word & mask) as u8),
            word,
        })
    }

    /// The error of IO on a source whose reactor has shut down.
    #[cold]
    #[inline(never)]
    fn gone(&self) -> io::Error {
        self.shared.gone()
    }

    /// Polls for readiness matching `interest`. When not ready, the task's
    /// waker is armed (lock-free; in steady state no clone, no allocation)
    /// and the task is woken by the next matching event.
    ///
    /// One task per direction: as with tokio's `poll_read_ready`, when
    /// several tasks poll the same direction concurrently only the last is
    /// guaranteed a wakeup. Use [`ready`](Self::ready) for many waiters.
    ///
    /// A ready result spends one unit of the task's [`coop`] budget.
    pub fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<ReadyEvent>> {
        let unit = ready!(coop::poll_proceed(cx));
        let ev = ready!(self.poll_ready_clearing(cx, interest, None));
        unit.made_progress();
        Poll::Ready(ev)
    }

    /// [`poll_ready`](Self::poll_ready) for `Interest::READABLE`.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(cx, Interest::READABLE)
    }

    /// [`poll_ready`](Self::poll_ready) for `Interest::WRITABLE`.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<ReadyEvent>> {
        self.poll_ready(cx, Interest::WRITABLE)
    }

    #[inline]
    fn poll_ready_clearing(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        clear: Option<ReadyEvent>,
    ) -> Poll<io::Result<ReadyEvent>> {
        let mask = interest.mask().bits() as u64;
        // Fast path, the common case after a wake: ready now and nothing to
        // clear. One load; no RMW, no slot.
        if clear.is_none() {
            let word = self.state.load();
            if word & (mask | state::SHUTDOWN) != 0 {
                return Poll::Ready(self.event(word, mask));
            }
        }
        self.poll_arm(cx, interest, mask, clear)
    }

    /// Clears (if asked) and arms the waker slot(s) for `interest`. Inlined
    /// so that a constant `interest` (every stream read and write) comes
    /// down to one slot's one-RMW arm.
    #[inline(always)]
    fn poll_arm(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mask: u64,
        clear: Option<ReadyEvent>,
    ) -> Poll<io::Result<ReadyEvent>> {
        let d = match directions(interest) {
            [d] => *d,
            _ => return self.poll_arm_both(cx, mask, clear),
        };
        match self
            .state
            .poll_ready(d, mask, clear.map(|e| e.clear_args()), cx.waker())
        {
            Poll::Ready(word) => Poll::Ready(self.event(word, mask)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// [`poll_arm`](Self::poll_arm) for an interest in both directions:
    /// arms the read slot, then the write slot; the clear goes with the
    /// first.
    #[inline(never)]
    fn poll_arm_both(
        &self,
        cx: &mut Context<'_>,
        mask: u64,
        mut clear: Option<ReadyEvent>,
    ) -> Poll<io::Result<ReadyEvent>> {
        for d in Direction::BOTH {
            let c = clear.take().map(|e| e.clear_args());
            if let Poll::Ready(word) = self.state.poll_ready(d, mask, c, cx.waker()) {
                return Poll::Ready(self.event(word, mask));
            }
        }
        Poll::Pending
    }

    /// Clears the readiness in `event`, unless an event for the same
    /// direction arrived since it was observed. Call it after an IO call
    /// returned `WouldBlock`.
    ///
    /// Closed bits in `event` are cleared too: an IO call that would block
    /// shows that the fd is not "closed, so the next call returns at once"
    /// in that direction, whatever epoll said. A datagram socket after
    /// `shutdown(SHUT_RD)` reports `EPOLLIN | EPOLLRDHUP` (read-closed) yet
    /// `recv` returns `EAGAIN`; a connected UDP socket reports
    /// `EPOLLERR | EPOLLOUT` (write-closed) after an ICMP error and then
    /// sends fine. Sticky bits there would make every later poll ready and
    /// every IO loop spin. (tokio keeps closed bits; for stream sockets the
    /// two agree, since at a real EOF or hang-up the call returns `0` or
    /// an error, never `WouldBlock`.) A later event sets them again.
    ///
    /// The clear compares a 24-bit per-direction tick: a snapshot exactly
    /// k·2^24 events of its direction old (k ≥ 1) is taken for current and
    /// erases readiness that the newest of those events set. Clear right
    /// after the IO call that returned `WouldBlock` (as
    /// [`poll_io`](Self::poll_io) and [`try_io`](Self::try_io) do), not
    /// with a snapshot kept for long.
    #[inline]
    pub fn clear_readiness(&self, event: ReadyEvent) {
        let (bits, word) = event.clear_args();
        self.state.clear(bits, word);
    }

    /// Waits until the source is ready for `interest`. Any number of these
    /// futures may wait at once, from any tasks.
    ///
    /// ```no_run
    /// # #[allow(dead_code)]
    /// # async fn f(source: &sockwq_reactor::Source) -> std::io::Result<()> {
    /// use sockwq_reactor::Interest;
    /// let ev = source.ready(Interest::READABLE | Interest::WRITABLE).await?;
    /// if ev.ready().is_readable() { /* read until WouldBlock, then clear */ }
    /// # Ok(()) }
    /// ```
    pub fn ready(&self, interest: Interest) -> Readiness<'_> {
        Readiness {
            source: self,
            mask: interest.mask().bits() as u64,
            waiter: None,
        }
    }

    /// Waits until the source is readable.
    pub fn readable(&self) -> Readiness<'_> {
        self.ready(Interest::READABLE)
    }

    /// Waits until the source is writable.
    pub fn writable(&self) -> Readiness<'_> {
        self.ready(Interest::WRITABLE)
    }

    /// Runs `f` if the source is ready for `interest`; if `f` returns
    /// `WouldBlock`, clears that readiness (closed bits included, see
    /// [`clear_readiness`](Self::clear_readiness)). Returns `WouldBlock`
    /// without calling `f` when not ready.
    pub fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        let mask = interest.mask().bits() as u64;
        let ev = self.event(self.state.load(), mask)?;
        if ev.ready.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match f() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(ev);
                Err(e)
            }
            other => other,
        }
    }

    /// Polls `f` until it does not return `WouldBlock`: waits for
    /// readiness, runs `f`, and on `WouldBlock` clears readiness and arms
    /// the waker in one step. The building block of `poll_read`/`poll_write`.
    /// Bounded like [`poll_io_drain`](Self::poll_io_drain): never loops
    /// inside one poll.
    #[inline]
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drain(cx, interest, || f().map(|r| (r, false)))
    }

    /// Like [`poll_io`](Self::poll_io), but `f` also reports whether it
    /// *drained* the fd — e.g. a stream read that returned fewer bytes than
    /// asked for. Then the readiness it used is cleared at once, saving the
    /// `read` that would only return `EAGAIN` (tokio does the same). Safe
    /// with edge-triggered epoll: data arriving later is a new edge with a
    /// new tick, which the tick-checked clear does not erase. Closed bits
    /// stay after such a clear: the next read returns the EOF at once.
    ///
    /// One poll calls `f` at most 32 times: `f` is retried after
    /// `WouldBlock` only if an event renewed the readiness meanwhile, and if
    /// that keeps happening the poll returns `Pending` with the task woken
    /// at once (a yield) instead of looping.
    ///
    /// A completed operation spends one unit of the task's [`coop`] budget;
    /// with the budget spent, a ready source yields (`Pending`, task woken)
    /// instead of doing the IO. A source that is not ready waits (armed)
    /// without touching the budget.
    #[inline]
    pub fn poll_io_drain<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<(R, bool)>,
    ) -> Poll<io::Result<R>> {
        // The first try, inline: after a wake (or for a write) the source is
        // ready and one load decides; otherwise the slot is armed.
        let mask = interest.mask().bits() as u64;
        let word = self.state.load();
        let ev = if word & (mask | state::SHUTDOWN) != 0 {
            self.event(word, mask)
        } else {
            ready!(self.poll_arm(cx, interest, mask, None))
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => return Poll::Ready(Err(e)),
        };
        // The budget is consulted only once there is IO to do: an operation
        // that waits costs none anyway, and its `Pending` yields as well as
        // the budget's would (inside tokio this saves the budget's
        // thread-local round trip on every wait).
        let unit = ready!(coop::poll_proceed(cx));
        match f() {
            Ok((r, drained)) => {
                if drained {
                    self.clear_drained(ev);
                }
                unit.made_progress();
                Poll::Ready(Ok(r))
            }
            Err(e) if is_would_block(&e) => self.poll_io_retry(cx, interest, f, unit, ev),
            Err(e) => {
                unit.made_progress();
                Poll::Ready(Err(e))
            }
        }
    }

    /// After a drained read or write: clears the readiness it used, closed
    /// bits excepted (see [`poll_io_drain`](Self::poll_io_drain)).
    #[inline]
    fn clear_drained(&self, ev: ReadyEvent) {
        let (bits, word) = ev.clear_args();
        self.state
            .clear(bits & !(state::READ_CLOSED | state::WRITE_CLOSED), word);
    }

    /// The rest of [`poll_io_drain`](Self::poll_io_drain) after its first
    /// try returned `WouldBlock` on readiness `ev`: clear and re-arm in one
    /// step, and try again while an event renewed the readiness meanwhile,
    /// `IO_RETRY_LIMIT` tries in all.
    #[inline(never)]
    fn poll_io_retry<R>(
        &self,
        cx: &mut Context<'_>,
        interest: Interest,
        mut f: impl FnMut() -> io::Result<(R, bool)>,
        unit: coop::RestoreOnPending,
        ev: ReadyEvent,
    ) -> Poll<io::Result<R>> {
        let mask = interest.mask().bits() as u64;
        let mut clear = ev;
        for _ in 1..IO_RETRY_LIMIT {
            let ev = match ready!(self.poll_arm(cx, interest, mask, Some(clear))) {
                Ok(ev) => ev,
                Err(e) => return Poll::Ready(Err(e)),
            };
            match f() {
                Ok((r, drained)) => {
                    if drained {
                        self.clear_drained(ev);
                    }
                    unit.made_progress();
                    return Poll::Ready(Ok(r));
                }
                Err(e) if is_would_block(&e) => clear = ev,
                Err(e) => {
                    unit.made_progress();
                    return Poll::Ready(Err(e));
                }
            }
        }
        // Readiness kept being renewed under us: give it back and yield.
        self.clear_readiness(clear);
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// The one RCU updater: under the update lock (updaters serialize, as
    /// the kernel's do; the dispatcher never takes it), builds the next
    /// `SocketWq` from the current one, publishes it with one `ArcSwap`
    /// store, then runs `flags` on it — still under the lock, so the
    /// state word's `LIST_*`/`FASYNC` bits change in the order the lists do.
    /// Raising a bit *after* the store is what lets a dispatcher that sees
    /// the bit (its `record` is AcqRel) load a list that has the entry.
    ///
    /// The replaced list is retired (see `Shared::retire`), after the lock
    /// is released: the dispatcher never frees a list.
    fn rcu<R>(&self, next: impl FnOnce(&SocketWq) -> SocketWq, flags: impl FnOnce(&SocketWq) -> R) -> R {
        let (r, old) = {
            let _g = self.wq_update.lock().unwrap_or_else(|p| p.into_inner());
            let next = Arc::new(next(&self.wq.load()));
            let old = self.wq.swap(next.clone());
            self.shared.rcu_updates.fetch_add(1, Ordering::Relaxed);
            (flags(&next), old)
        };
        self.shared.retire(old);
        r
    }

    /// Joins the waiter list; returns the state word after.
    fn join(&self, w: &Arc<Waiter>) -> u64 {
        self.rcu(
            |cur| SocketWq {
                waiters: cur.waiters.iter().chain([w]).cloned().collect(),
                fasync: cur.fasync.clone(),
            },
            |_| self.state.set_flags(w.list_bits()),
        )
    }

    /// Leaves the waiter list; drops the `LIST_*` bits nobody needs any more.
    fn leave(&self, w: &Arc<Waiter>) {
        self.rcu(
            |cur| SocketWq {
                waiters: cur
                    .waiters
                    .iter()
                    .filter(|x| !Arc::ptr_eq(x, w))
                    .cloned()
                    .collect(),
                fasync: cur.fasync.clone(),
            },
            |next| {
                let stale = (state::LIST_RD | state::LIST_WR) & !next.list_bits();
                if stale != 0 {
                    self.state.clear_flags(stale);
                }
            },
        )
    }

    /// Adds `links` to the fasync list and raises `FASYNC`; returns the state
    /// word as of raising it.
    pub(crate) fn attach_fasync(&self, links: &[Arc<Link>]) -> u64 {
        self.rcu(
            |cur| SocketWq {
                waiters: cur.waiters.clone(),
                fasync: cur.fasync.iter().chain(links).cloned().collect(),
            },
            |_| self.state.set_flags(state::FASYNC),
        )
    }

    /// Removes `link` from the fasync list; when it is empty, drops `FASYNC`
    /// and the fasync-only flags (`NOSPACE`, `CONNECTING`) with it.
    pub(crate) fn detach_fasync(&self, link: &Arc<Link>) {
        self.rcu(
            |cur| SocketWq {
                waiters: cur.waiters.clone(),
                fasync: cur
                    .fasync
                    .iter()
                    .filter(|l| !Arc::ptr_eq(l, link))
                    .cloned()
                    .collect(),
            },
            |next| {
                if next.fasync.is_empty() {
                    self.state
                        .clear_flags(state::FASYNC | state::NOSPACE | state::CONNECTING);
                }
            },
        );
    }
}

/// Future returned by [`Source::ready`], [`Source::readable`] and
/// [`Source::writable`]. Joins the source's `SocketWq` only if it has to
/// wait, and leaves it when it completes or is dropped.
#[must_use = "futures do nothing unless polled"]
pub struct Readiness<'a> {
    source: &'a Source,
    mask: u64,
    waiter: Option<Arc<Waiter>>,
}

impl fmt::Debug for Readiness<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("fd", &self.source.fd)
            .field("mask", &Ready::from_bits(self.mask as u8))
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

impl Readiness<'_> {
    fn done(&mut self, word: u64) -> Poll<io::Result<ReadyEvent>> {
        self.leave();
        Poll::Ready(self.source.event(word, self.mask))
    }

    /// Leaves the waiter list, and drops the waiter's waker here: an older
    /// list that a dispatcher may still read keeps the `Waiter`, and its
    /// wake must not drop the last reference to a finished task.
    fn leave(&mut self) {
        if let Some(w) = self.waiter.take() {
            self.source.leave(&w);
            drop(w.waker.take());
        }
    }
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let want = this.mask | state::SHUTDOWN;
        let word = this.source.state.load();
        if word & want != 0 {
            return this.done(word);
        }
        match &this.waiter {
            Some(w) => {
                // AtomicWaker: a wake racing with this register is not lost;
                // one that completed before it made its `record` visible to
                // the load below.
                w.waker.register(cx.waker());
                let word = this.source.state.load();
                if word & want != 0 {
                    return this.done(word);
                }
            }
            None => {
                let w = Arc::new(Waiter {
                    mask: want,
                    waker: AtomicWaker::new(),
                });
                w.waker.register(cx.waker());
                // `join`'s RMW reads any readiness recorded before it; any
                // recorded after it sees our LIST bit and wakes us.
                let word = this.source.join(&w);
                this.waiter = Some(w);
                if word & want != 0 {
                    return this.done(word);
                }
            }
        }
        Poll::Pending
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}
