//! The executor of one thread: a [`Core`] (run queue, active tasks, timers,
//! and its own [`Reactor`], whose `epoll_wait` is the park) and its
//! [`Remote`], the part other threads reach: an injection queue, the
//! "parked" flag, and the reactor's [`Handle`] to wake it.
//!
//! # No lost wake-up, and no needless eventfd write
//!
//! A thread that schedules a task onto another core pushes it into that
//! core's lock-free injection queue, then checks whether the core is
//! parked, and writes its eventfd only if so. The core, before it sleeps
//! in `epoll_wait`, publishes "parked" and then re-checks the queue. It is
//! Dekker's pattern (the kernel's `wq_has_sleeper` / `sock_poll_wait`
//! pair), and each side has a `fence(SeqCst)` between its store and its
//! load:
//!
//! ```text
//!   waker                          core
//!   push(runnable)                 parked.store(true)
//!   fence(SeqCst)                  fence(SeqCst)
//!   if parked.load() { wake }      if !injector.is_empty() { don't sleep }
//! ```
//!
//! The two fences are totally ordered (SeqCst). If the core's fence comes
//! first, the waker's load sees `parked == true` (or a later store by
//! another waker that then owns the wake, see [`Remote::unpark`]) and
//! writes the eventfd. If the waker's fence comes first, the core's
//! re-check sees the push (the fence-to-fence rule holds for any atomic
//! the queue writes, whatever ordering the queue itself uses) and it does
//! not sleep. Either way the runnable is not stranded. The argument is
//! written out once more next to each side of the code.
//!
//! Wakes on the core's own thread (a socket event dispatched by its own
//! reactor, a task waking a task) never touch the injection queue or the
//! flag: they push onto a plain `VecDeque`.
//!
//! # A waker outlives its core
//!
//! The wakers of a core's tasks, and of its `block_on` future, hold its
//! [`Remote`], and a waker may be kept long after the core is gone: a
//! socket of another reactor keeps the last waker that waited on it in
//! its slot. So the `Remote` holds the core's reactor only while the core
//! lives; when the core is dropped it lets go, and the reactor's epoll fd
//! and eventfd close with the reactor instead of with the last such waker.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use slab::Slab;

use crate::context;
use crate::injector::Injector;
use crate::stats::{StatsCell, WorkerStats};
use sockwq_reactor::{Handle, Reactor, TimerKey, Timers, coop};

pub(crate) type Runnable = async_task::Runnable;

/// Task polls between two non-blocking reactor turns when a core always
/// has work (tokio's `event_interval` is 61 as well): the cooperative
/// budget that keeps an always-ready task from starving IO and timers.
pub(crate) const DEFAULT_EVENT_INTERVAL: u32 = 61;

static NEXT_CORE_ID: AtomicUsize = AtomicUsize::new(1);

/// The part of a core other threads use to hand it work.
pub(crate) struct Remote {
    /// Unique among cores, for "is this my core?" checks.
    pub(crate) id: usize,
    injector: Injector,
    /// True while the core is in (or about to enter) a blocking
    /// `epoll_wait`: only then does a remote schedule write the eventfd.
    parked: AtomicBool,
    /// Set by the runtime to make the core's loop return.
    shutdown: AtomicBool,
    /// The core's reactor, to wake it; `None` once the core is dropped
    /// (see the module docs). Loaded only to write the eventfd.
    reactor: ArcSwapOption<Handle>,
    /// The core's counters as of its last turn (its own cache line).
    stats: StatsCell,
    /// Timers of this core cancelled from another thread (a `Sleep`
    /// polled here, then moved, and dropped or reset there): the core
    /// removes them at its next pass. Rare, hence a `Mutex`, with a flag
    /// that keeps the core's check to one load.
    cancelled_timers: Mutex<Vec<TimerKey>>,
    has_cancelled_timers: AtomicBool,
}

impl Remote {
    pub(crate) fn new(handle: Handle) -> Arc<Remote> {
        Arc::new(Remote {
            id: NEXT_CORE_ID.fetch_add(1, Ordering::Relaxed),
            injector: Injector::new(),
            parked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            reactor: ArcSwapOption::from_pointee(handle),
            stats: StatsCell::default(),
            cancelled_timers: Mutex::new(Vec::new()),
            has_cancelled_timers: AtomicBool::new(false),
        })
    }

    /// Cancels the timer `key` of this core from another thread: queued
    /// for the core, which is woken if parked (its park timeout may be that
    /// very timer's deadline). Keys are never reused, so a timer that fired
    /// meanwhile makes this a no-op.
    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        if self.reactor.load().is_none() {
            // The core is gone, and its timers with it (its `Remote` may live
            // on in wakers): nothing to remove, nothing to keep.
            return;
        }
        self.cancelled_timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(key);
        // Release: the core's Acquire swap then finds the key pushed.
        self.has_cancelled_timers.store(true, Ordering::Release);
        self.unpark();
    }

    /// The core's counters as of its last reactor turn.
    pub(crate) fn stats(&self) -> WorkerStats {
        self.stats.read()
    }

    /// The schedule function of every task of this core: a wake on the
    /// core's own thread pushes onto its local queue; one from any other
    /// thread goes through the injection queue.
    ///
    /// `local_task`: the task's future is `!Send`, so its runnable must
    /// not be dropped on another thread (async-task panics if it is).
    #[inline]
    pub(crate) fn schedule(self: &Arc<Remote>, runnable: Runnable, local_task: bool) {
        if context::with_core(|core| Arc::ptr_eq(&core.remote, self)).unwrap_or(false) {
            // This core's own thread: `with_core` finds the core again (one
            // thread-local load), so the runnable is pushed, never dropped.
            context::with_core(|core| core.local.borrow_mut().push_back(runnable));
            return;
        }
        self.schedule_remote(runnable, local_task);
    }

    /// [`schedule`](Self::schedule) from another thread (or from this one
    /// outside its core): through the injection queue.
    #[inline(never)]
    fn schedule_remote(&self, runnable: Runnable, local_task: bool) {
        match self.injector.push(runnable) {
            Ok(()) => self.unpark(),
            // The core has shut down: every task it ran is closed, so only a
            // task spawned onto it after that gets here. Drop it (that drops
            // the future) unless it must be dropped on its own thread.
            Err(r) => {
                if local_task {
                    std::mem::forget(r);
                } else {
                    drop(r);
                }
            }
        }
    }

    /// Waker side of the park protocol, after the caller published work
    /// (a push into the injection queue, or the main future's flag).
    pub(crate) fn unpark(&self) {
        // On the core's own thread — a wake from its own reactor's dispatch,
        // during its turn, or from one of its tasks — the core is not asleep:
        // it re-checks its flags and queues when the turn returns. No fence,
        // no eventfd write (which would otherwise cost a `write` plus an extra
        // eventfd event per self-wake, since `parked` stays set for the turn).
        if context::with_core(|core| core.remote.id == self.id).unwrap_or(false) {
            return;
        }
        // Dekker, waker side: [publish] ; fence ; load(parked). See the
        // module docs: if this load misses the core's `parked = true`, the
        // core's re-check after its own fence sees what we published.
        fence(Ordering::SeqCst);
        // The load keeps the common case (core running) free of a write to
        // the shared line. The swap elects one waker per park: the winner
        // wakes; a loser saw `false` written by the winner after the core's
        // store, and the winner's eventfd write ends that very sleep, after
        // which the core drains the queue or re-checks it before sleeping
        // again (a re-check whose fence follows ours, so it sees our push).
        if self.parked.load(Ordering::Relaxed) && self.parked.swap(false, Ordering::Relaxed) {
            self.wake_reactor();
        }
    }

    /// Ends the core's `epoll_wait`; nothing to do once the core is gone.
    /// Lock-free (an `ArcSwap` load): a dispatcher may run this, inside
    /// a waker.
    fn wake_reactor(&self) {
        if let Some(reactor) = &*self.reactor.load() {
            reactor.wake();
        }
    }

    /// The core is gone: let go of its reactor (see the module docs).
    fn release_reactor(&self) {
        self.reactor.store(None);
    }

    /// Asks the core's loop to return, and wakes it.
    pub(crate) fn shut_down(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        // Unconditional: the turn in progress, or the next, returns.
        self.wake_reactor();
    }

    fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }
}

/// The waker of a `block_on`'s main future: raises a flag the core's loop
/// checks, and unparks the core.
struct MainWaker {
    woken: AtomicBool,
    remote: Arc<Remote>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // Publish, then the waker side of the park protocol.
        self.woken.store(true, Ordering::SeqCst);
        self.remote.unpark();
    }
}

/// One thread's executor. Lives on that thread only (`Rc`, `RefCell`).
pub(crate) struct Core {
    pub(crate) remote: Arc<Remote>,
    reactor: RefCell<Reactor>,
    /// Runnables woken on this thread.
    pub(crate) local: RefCell<VecDeque<Runnable>>,
    /// A waker of every task that has been polled here and whose future
    /// is still alive: what shutdown wakes in order to cancel them all.
    active: RefCell<Slab<Waker>>,
    pub(crate) timers: RefCell<Timers>,
    event_interval: u32,
    /// Set while the core is cancelling its tasks.
    closing: Cell<bool>,
    /// Wakers of tasks that called `yield_now`: woken after the next
    /// reactor turn, so a yielding task lets IO in first.
    deferred: RefCell<Vec<Waker>>,
    /// Counters only this thread touches, published at each turn.
    spawned: Cell<u64>,
    polled: Cell<u64>,
    budget_yields: Cell<u64>,
}

impl Core {
    pub(crate) fn new(reactor: Reactor, remote: Arc<Remote>, event_interval: u32) -> Core {
        Core {
            remote,
            reactor: RefCell::new(reactor),
            local: RefCell::new(VecDeque::new()),
            active: RefCell::new(Slab::new()),
            timers: RefCell::new(Timers::new()),
            event_interval: event_interval.max(1),
            closing: Cell::new(false),
            deferred: RefCell::new(Vec::new()),
            spawned: Cell::new(0),
            polled: Cell::new(0),
            budget_yields: Cell::new(0),
        }
    }

    pub(crate) fn reactor_handle(&self) -> Handle {
        self.reactor.borrow().handle()
    }

    /// Records a task polled for the first time; returns its key.
    pub(crate) fn register_active(&self, waker: &Waker) -> usize {
        self.spawned.set(self.spawned.get() + 1);
        self.active.borrow_mut().insert(waker.clone())
    }

    /// Wakes `waker` after the next reactor turn (`yield_now`).
    pub(crate) fn defer(&self, waker: &Waker) {
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Forgets a task whose future is being dropped.
    pub(crate) fn deregister_active(&self, key: usize) {
        self.active.borrow_mut().try_remove(key);
    }

    /// Runs `fut` on this thread, and the core's tasks while it waits,
    /// turning the reactor when idle. `None` if the core was shut down
    /// first.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = pin!(fut);
        let main = Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            remote: self.remote.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        // Polls (tasks and the main future) since the reactor last turned.
        let mut polls = 0u32;
        loop {
            if main.woken.swap(false, Ordering::AcqRel) {
                polls += 1;
                // A fresh IO budget per poll (see `sockwq_reactor::coop`).
                if let Poll::Ready(v) = coop::budget(|| fut.as_mut().poll(&mut cx)) {
                    return Some(v);
                }
            }
            if self.remote.is_shut_down() {
                return None;
            }
            self.run_tasks(&mut polls);
            if polls >= self.event_interval {
                // Out of budget: look at IO without blocking (timers are
                // fired at the top of `run_tasks`), then go on. An always
                // ready task or main future cannot starve sockets.
                self.budget_yields.set(self.budget_yields.get() + 1);
                self.turn(Some(Duration::ZERO));
                polls = 0;
                continue;
            }
            if main.woken.load(Ordering::Acquire) || !self.local.borrow().is_empty() {
                continue;
            }
            if !self.deferred.borrow().is_empty() {
                // Tasks yielded: look at IO (without sleeping), then run them.
                self.turn(Some(Duration::ZERO));
                polls = 0;
                continue;
            }
            self.park(&main);
            polls = 0;
        }
    }

    /// Fires due timers, moves injected runnables to the local queue and
    /// runs them until the queue is empty or `polls` reaches the budget.
    fn run_tasks(&self, polls: &mut u32) {
        self.fire_timers();
        self.remote
            .injector
            .drain(|r| self.local.borrow_mut().push_back(r));
        while *polls < self.event_interval {
            let next = self.local.borrow_mut().pop_front();
            let Some(runnable) = next else { return };
            *polls += 1;
            self.polled.set(self.polled.get() + 1);
            // The task future catches its own panics; this guards against a
            // panic while dropping one, which must not take the worker down.
            // Each task poll gets a fresh IO budget: an always-ready socket
            // makes its task yield after `coop::BUDGET` operations.
            if catch_unwind(AssertUnwindSafe(|| coop::budget(|| runnable.run()))).is_err() {
                tracing::error!("sockwq: a task panicked while being dropped");
            }
        }
    }

    fn fire_timers(&self) {
        self.remove_cancelled_timers();
        if self.timers.borrow().is_empty() {
            return;
        }
        let now = Instant::now();
        loop {
            // Not borrowed while waking: a wake may touch the timers.
            let next = self.timers.borrow_mut().pop_expired(now);
            match next {
                Some(w) => w.wake(),
                None => break,
            }
        }
    }

    /// Removes the timers other threads cancelled (see
    /// [`Remote::cancel_timer`]).
    fn remove_cancelled_timers(&self) {
        // A load first: the common case (nothing cancelled) writes nothing
        // to the line that remote wakers read `parked` from. Acquire (on
        // the swap): pairs with `cancel_timer`'s Release store.
        if !self.remote.has_cancelled_timers.load(Ordering::Relaxed)
            || !self.remote.has_cancelled_timers.swap(false, Ordering::Acquire)
        {
            return;
        }
        let keys = std::mem::take(
            &mut *self
                .remote
                .cancelled_timers
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let wakers: Vec<Waker> = {
            let mut timers = self.timers.borrow_mut();
            keys.into_iter().filter_map(|k| timers.remove(k)).collect()
        };
        // Dropped with the timers released: a waker's drop may drop (and so
        // cancel) another timer.
        drop(wakers);
    }

    /// Sleeps in `epoll_wait` until IO, a wake, or the next timer.
    fn park(&self, main: &MainWaker) {
        let remote = &self.remote;
        // Dekker, core side: store(parked) ; fence ; re-check. If a waker's
        // fence came before ours, its push (or `woken` store) is visible
        // here; if after, its load sees `parked` and it writes the eventfd.
        remote.parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if !remote.injector.is_empty()
            || main.woken.load(Ordering::Relaxed)
            || remote.is_shut_down()
            || !self.local.borrow().is_empty()
            || remote.has_cancelled_timers.load(Ordering::Relaxed)
        {
            remote.parked.store(false, Ordering::Relaxed);
            return;
        }
        let timeout = self
            .timers
            .borrow()
            .next_deadline()
            .map(|d| d.saturating_duration_since(Instant::now()));
        self.turn(timeout);
        remote.parked.store(false, Ordering::Relaxed);
    }

    fn turn(&self, timeout: Option<Duration>) {
        self.publish_stats();
        let res = self.reactor.borrow_mut().turn(timeout);
        if let Err(e) = res {
            // Only a broken epoll fd fails here; do not spin on it.
            tracing::error!(error = %e, "sockwq runtime: reactor turn failed");
            std::thread::sleep(Duration::from_millis(1));
        }
        if !self.deferred.borrow().is_empty() {
            // Taken out first: no borrow is held while a waker runs.
            let mut deferred = std::mem::take(&mut *self.deferred.borrow_mut());
            for w in deferred.drain(..) {
                w.wake();
            }
            // Keep the allocation for the next yields.
            let mut d = self.deferred.borrow_mut();
            if d.is_empty() {
                *d = deferred;
            }
        }
    }

    /// Copies this core's counters, and its reactor's, where other threads
    /// can read them (see `stats.rs`): once per turn, not per event.
    fn publish_stats(&self) {
        self.remote.stats.publish(WorkerStats {
            reactor: self.reactor.borrow().stats(),
            tasks_alive: self.active.borrow().len() as u64,
            tasks_spawned: self.spawned.get(),
            tasks_polled: self.polled.get(),
            budget_yields: self.budget_yields.get(),
        });
    }

    /// Cancels every task of this core: drops their futures here, on
    /// their own thread (so their sockets close), then closes the
    /// injection queue. Called on the core's thread with the core entered.
    pub(crate) fn shutdown_tasks(&self) {
        self.closing.set(true);
        // Each round wakes every live task (which queues it, or finds it
        // queued already) and drops every queued runnable, which cancels
        // the task and drops its future. Dropping a future can wake or
        // spawn others, hence the rounds; they are bounded so that a future
        // that spawns on drop forever cannot hang shutdown.
        for round in 0..64 {
            let wakers: Vec<Waker> = self.active.borrow().iter().map(|(_, w)| w.clone()).collect();
            for w in wakers {
                w.wake();
            }
            if round == 63 {
                self.remote.injector.close();
            }
            self.drain_queues();
            if self.active.borrow().is_empty() && self.local.borrow().is_empty() {
                break;
            }
        }
        self.remote.injector.close();
        self.drain_queues();
        if !self.active.borrow().is_empty() {
            tracing::warn!(
                tasks = self.active.borrow().len(),
                "sockwq: tasks left at shutdown"
            );
        }
        // Pending timers and yielded tasks only hold wakers of cancelled
        // tasks. (Taken out first: dropping a waker must not find them
        // borrowed.)
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        drop(timers);
        let deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        drop(deferred);
        // The cancelled tasks' sockets were deregistered into the reactor's
        // grace-period list, which a turn empties. Empty it now: those
        // sources may hold wakers of tasks, whose schedule functions hold
        // this core's `Remote` and so the reactor's `Handle` — a cycle that
        // would keep the epoll fd and the eventfd open after shutdown.
        self.turn(Some(Duration::ZERO));
    }

    fn drain_queues(&self) {
        loop {
            let next = self.local.borrow_mut().pop_front();
            let next = next.or_else(|| self.remote.injector.pop());
            let Some(r) = next else { break };
            if catch_unwind(AssertUnwindSafe(|| drop(r))).is_err() {
                tracing::error!("sockwq: a task panicked while being dropped at shutdown");
            }
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        context::forget_core(self);
        if !self.closing.get() {
            // Not reached in normal use (the runtime cancels first); never
            // leave runnables for a dead core.
            self.remote.injector.close();
        }
        // The wakers of this core's tasks may outlive it (kept in another
        // reactor's slots): they must not keep this reactor's fds open.
        self.remote.release_reactor();
    }
}
