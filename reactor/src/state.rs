//! The per-[`Source`](crate::Source) state word and the arm/dispatch protocol.
//!
//! One `AtomicU64` holds everything the hot path needs, so that the poller
//! (a task re-arming after `WouldBlock`) and the dispatcher (the thread
//! turning the reactor) meet on a single word:
//!
//! ```text
//!  bits  0..6   readiness: READABLE WRITABLE PRIORITY READ_CLOSED WRITE_CLOSED ERROR
//!  bit   6      SHUTDOWN: the reactor is gone; every poll reports an error
//!  bits  7..9   read slot:  IDLE | REGISTERING | ARMED | WAKING
//!  bits  9..11  write slot: IDLE | REGISTERING | ARMED | WAKING
//!  bit  11      LIST_RD: a readiness future waits for a read-side event
//!  bit  12      LIST_WR: a readiness future waits for a write-side event
//!  bit  13      FASYNC: a fasync subscriber is attached (the SocketWq's list)
//!  bit  14      NOSPACE: a write hit WouldBlock since the last POLL_OUT notice
//!  bit  15      CONNECTING: a connect's outcome is owed to the fasync list
//!  bits 16..40  read tick  (24 bits)
//!  bits 40..64  write tick (24 bits)
//! ```
//!
//! # Why no lost wakeup (the `wq_has_sleeper` argument)
//!
//! The kernel's `wq_has_sleeper()` needs `smp_mb()` on both sides because the
//! waker writes *readiness* and then reads *the wait queue*, while the sleeper
//! writes *the wait queue* and then reads *readiness*: two locations, the
//! store-buffer (Dekker) pattern. Here both facts live in the same word and
//! both sides change it with a read-modify-write. All RMWs on one atomic
//! are totally ordered (its modification order), and each RMW reads the
//! value written by the one just before it. So either
//!
//! * the dispatcher's `record` comes first: the poller's publishing RMW then
//!   reads the new readiness and returns `Ready` instead of sleeping; or
//! * the poller's publish (slot `ARMED`) comes first: `record` reads `ARMED`,
//!   claims the slot (`WAKING`) in the same RMW, and wakes the waker.
//!
//! No fence beyond the RMWs themselves is needed; `AcqRel`/`Acquire`/`Release`
//! below carry only the *waker cell's* contents between the two threads.
//!
//! # The waker slots
//!
//! Each direction has one `Option<Waker>` cell (the `poll_read`/`poll_write`
//! path: one task per direction, as in tokio). Ownership of the cell is the
//! slot's 2-bit state: a poller writes it only while the slot is
//! `REGISTERING` (which it enters by CAS from `IDLE` or `ARMED`), the
//! dispatcher reads it only while the slot is `WAKING` (which it enters from
//! `ARMED` in the same RMW that records readiness). A poller owns the cell
//! only if *its own* CAS made that transition: seeing `REGISTERING` means
//! another poller owns it, and writing the cell then would race with that
//! poller's write. The waker is kept in the
//! cell after a wake (`wake_by_ref`), so a task re-arming in steady state
//! neither clones nor allocates. Reactor
//! shutdown empties the cells (`State::shutdown`): a kept waker would keep
//! its task, and through it the reactor's fds, alive for as long as the
//! source lives.
//!
//! # Arming with one RMW (the steady state)
//!
//! Next to each cell, two atomics hold the identity of the waker in it:
//! its data and vtable pointers, exactly what `Waker::will_wake` compares
//! (vtable 0: the cell is empty; a real vtable is a `&'static`). Only the
//! cell's owner writes them (`Relaxed`, before its `Release` publish); any
//! poller may read them without owning the cell. A poller whose waker
//! matches them — the same task re-arming, the common case — has nothing
//! to write into the cell, so it skips `REGISTERING` and moves the slot
//! `IDLE -> ARMED` in the one RMW that also checks readiness (and folds in
//! its clear): one RMW per arm instead of two. If the slot is `ARMED` with
//! a matching waker already and there is nothing to clear, it is not even
//! written: the `Acquire` load that found it not ready is the check.
//!
//! Why that is enough. The lost-wakeup argument above needs only that the
//! poller's decision ("not ready, so armed") and the arming are one RMW on
//! the word (or, for the no-write case, that the slot already is `ARMED`
//! in the value the poller's load read: every later `record` reads that
//! value or a later one, finds `ARMED` and wakes). The waker that `record`
//! then wakes is the poller's, because the identity read between the load
//! and the CAS belongs to the cell as of the value the CAS replaced: the
//! identity is written only by a `REGISTERING` owner, whose claim changes
//! the word and so fails any CAS that expected the value from before it,
//! and whose publish happens-before our `Acquire` load of any later value.
//! (An ABA — the word back at the very value the poller read, after a
//! claim and publish in between — needs the slot to go `ARMED` -> `IDLE`,
//! which only a readiness change allows, and that bumps a tick: the
//! 2^24-event bound of "Ticks" below. Even then the cell holds a valid
//! waker, of another task polling the same side: the "last poller wins"
//! rule for two tasks on one side, which is all the API promises.) The
//! dispatcher's read of the cell stays ordered after the owner's write:
//! every change of the word is an RMW, so the owner's `Release` publish
//! heads a release sequence that our CAS continues, and the dispatcher's
//! `Acquire` claim synchronizes with it.
//!
//! # Ticks
//!
//! Each direction has its own tick, bumped by every event for that
//! direction. A reader that saw readiness at tick `t` and then got
//! `WouldBlock` clears read readiness only if the read tick is still `t`;
//! a write-side event in between does not defeat the clear (tokio #8054).
//!
//! The bound: a tick is 24 bits, so it compares modulo 2^24. A clear whose
//! snapshot is exactly k·2^24 events (k ≥ 1) of that direction old finds
//! the tick "unchanged" and erases readiness that the newest of those
//! events set: a lost edge. Every count that is not a multiple of 2^24 is
//! detected. The word has no room for wider ticks (bits 0..16 hold the
//! readiness, slots and flags, one bit spare), and a second word would
//! cost the hot path a second RMW. The bound is far out of reach where
//! clears happen: `poll_io` clears right after the one IO call that
//! returned `WouldBlock`; in a thread-per-core runtime the dispatcher is
//! the polling thread, so no event at all lands in between; across
//! threads it takes 2^24 `epoll_wait` returns reporting that one fd
//! (edge-triggered: at most one event per fd per wait, each wait a
//! syscall) between the snapshot and the clear — seconds of the polling
//! thread being descheduled at a full event rate, and then an exact
//! multiple. Only a caller that keeps a [`ReadyEvent`](crate::ReadyEvent)
//! for long before passing it to `clear_readiness` can get there, and
//! `Source::clear_readiness` says so. tokio #6133 hung with an 8-bit tick.
//! `state_tests::tick_wraps_after_exactly_2_pow_24_events` pins the
//! behaviour down.

use std::task::{Poll, Waker};

use crate::sync::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::sync::{AtomicU64, AtomicUsize, UnsafeCell};

pub(crate) const READABLE: u64 = 1 << 0;
pub(crate) const WRITABLE: u64 = 1 << 1;
pub(crate) const PRIORITY: u64 = 1 << 2;
pub(crate) const READ_CLOSED: u64 = 1 << 3;
pub(crate) const WRITE_CLOSED: u64 = 1 << 4;
pub(crate) const ERROR: u64 = 1 << 5;
pub(crate) const READY_BITS: u64 = 0x3f;
pub(crate) const SHUTDOWN: u64 = 1 << 6;
pub(crate) const LIST_RD: u64 = 1 << 11;
pub(crate) const LIST_WR: u64 = 1 << 12;
pub(crate) const FASYNC: u64 = 1 << 13;
pub(crate) const NOSPACE: u64 = 1 << 14;
pub(crate) const CONNECTING: u64 = 1 << 15;

const SLOT_MASK: u64 = 0b11;
/// The low bit of both slots (read at 7, write at 9).
const SLOT_LOW_BITS: u64 = (1 << 7) | (1 << 9);
const IDLE: u64 = 0;
const REGISTERING: u64 = 1;
const ARMED: u64 = 2;
const WAKING: u64 = 3;
pub(crate) const TICK_MASK: u64 = (1 << 24) - 1;

/// One side of a socket: the read side or the write side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    pub(crate) const BOTH: [Direction; 2] = [Direction::Read, Direction::Write];

    const fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
    const fn slot_shift(self) -> u32 {
        match self {
            Direction::Read => 7,
            Direction::Write => 9,
        }
    }
    const fn tick_shift(self) -> u32 {
        match self {
            Direction::Read => 16,
            Direction::Write => 40,
        }
    }
    /// The readiness bits that belong to this side: an event with any of
    /// them bumps this side's tick and wakes this side's sleepers.
    /// `ERROR` belongs to both sides.
    pub(crate) const fn ready_bits(self) -> u64 {
        match self {
            Direction::Read => READABLE | PRIORITY | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
    /// Bits of a `record` that wake this side: its readiness, and shutdown.
    pub(crate) const fn wake_bits(self) -> u64 {
        self.ready_bits() | SHUTDOWN
    }
    pub(crate) const fn list_bit(self) -> u64 {
        match self {
            Direction::Read => LIST_RD,
            Direction::Write => LIST_WR,
        }
    }
}

/// The low bit of each slot (bit 7: read, bit 9: write) of the sides that
/// a `record` of `bits` wakes.
#[inline]
fn claim_bits(bits: u64) -> u64 {
    let mut m = 0;
    for d in Direction::BOTH {
        if bits & d.wake_bits() != 0 {
            m |= 1 << d.slot_shift();
        }
    }
    m
}

/// For each slot that is `ARMED` (0b10) in `s`, its low bit; 0 elsewhere.
#[inline]
fn armed_low_bits(s: u64) -> u64 {
    (s >> 1) & !s & (SLOT_LOW_BITS)
}

#[inline]
fn slot(s: u64, d: Direction) -> u64 {
    (s >> d.slot_shift()) & SLOT_MASK
}

#[inline]
fn with_slot(s: u64, d: Direction, v: u64) -> u64 {
    (s & !(SLOT_MASK << d.slot_shift())) | (v << d.slot_shift())
}

#[inline]
pub(crate) fn tick(s: u64, d: Direction) -> u64 {
    (s >> d.tick_shift()) & TICK_MASK
}

#[inline]
fn bump_tick(s: u64, d: Direction) -> u64 {
    let t = (tick(s, d) + 1) & TICK_MASK;
    (s & !(TICK_MASK << d.tick_shift())) | (t << d.tick_shift())
}

/// `cur` with the readiness `bits` observed in `snapshot` removed, side by
/// side, only where that side's tick has not moved since (see "Ticks" for
/// the 2^24 bound). Exactly `bits` are cleared, closed bits included: after
/// a `WouldBlock` the caller passes them too (an IO call that would block
/// proves the fd is not "closed, so the next call returns at once", as a
/// datagram socket's `EPOLLRDHUP` after `shutdown(SHUT_RD)` or a UDP
/// socket's `EPOLLERR` after an ICMP error claims); after a short read it
/// leaves them out (the next read returns EOF at once).
/// Clearing `WRITABLE` (a write hit `WouldBlock`, or wrote short) raises
/// `NOSPACE` in the same RMW when a fasync channel is attached: the
/// kernel's `SOCKWQ_ASYNC_NOSPACE`, which `sk_set_bit` sets only on a
/// `SOCK_FASYNC` socket.
#[inline]
pub(crate) fn cleared(cur: u64, bits: u64, snapshot: u64) -> u64 {
    let mut out = cur;
    for d in Direction::BOTH {
        let mine = bits & d.ready_bits();
        if mine != 0 && tick(cur, d) == tick(snapshot, d) {
            out &= !mine;
            if mine & WRITABLE != 0 && cur & FASYNC != 0 {
                out |= NOSPACE;
            }
        }
    }
    out
}

/// The state word plus the two waker cells it governs.
#[derive(Debug)]
pub(crate) struct State {
    word: AtomicU64,
    slots: [UnsafeCell<Option<Waker>>; 2],
    /// Per cell: the identity of the waker in it, `[data, vtable]` (see
    /// "Arming with one RMW"). Written only by the cell's owner.
    keys: [[AtomicUsize; 2]; 2],
}

/// `waker`'s identity as `State::keys` holds it: what `Waker::will_wake`
/// compares.
#[inline]
fn key(waker: &Waker) -> [usize; 2] {
    [
        waker.data() as usize,
        waker.vtable() as *const std::task::RawWakerVTable as usize,
    ]
}

// SAFETY: the cells are only touched by the owner the slot bits name
// (see the module docs); `Waker` is `Send + Sync`.
unsafe impl Send for State {}
// SAFETY: as above.
unsafe impl Sync for State {}

// A panic in a waker's `clone`, `drop` or `wake_by_ref` inside the
// protocol hands the slot it held back (`Unclaim` in `poll_ready_slow`,
// `HandBack` in `wake_claimed`), so the state after a caught unwind is one
// the protocol allows: sockets can cross `catch_unwind`, as tokio's can.
impl std::panic::UnwindSafe for State {}
impl std::panic::RefUnwindSafe for State {}

impl State {
    #[cfg(any(test, feature = "bench-internals"))]
    pub(crate) fn new() -> State {
        State::with_ready(0)
    }

    /// A state that starts with readiness `bits` assumed (tick 0, nobody
    /// waiting). A wrong guess costs the caller one `WouldBlock`, whose
    /// clear removes it; a real event bumps the tick, so that clear can
    /// never erase it.
    pub(crate) fn with_ready(bits: u64) -> State {
        State {
            word: AtomicU64::new(bits & READY_BITS),
            slots: [UnsafeCell::new(None), UnsafeCell::new(None)],
            keys: [
                [AtomicUsize::new(0), AtomicUsize::new(0)],
                [AtomicUsize::new(0), AtomicUsize::new(0)],
            ],
        }
    }

    /// Whether `d`'s cell holds a waker that `will_wake` `waker`, as far as
    /// its identity atomics tell. `Relaxed`: the caller's `Acquire` load (or
    /// failed CAS) of the word orders these reads after the owner's publish;
    /// a claim racing with them changes the word, and the caller's CAS then
    /// fails (see "Arming with one RMW").
    #[inline]
    fn holds(&self, d: Direction, waker: &Waker) -> bool {
        let [data, vtable] = key(waker);
        let k = &self.keys[d.index()];
        k[1].load(Relaxed) == vtable && k[0].load(Relaxed) == data
    }

    /// Records the identity of the waker now in `d`'s cell (`None`: empty).
    /// Only the cell's owner calls it, before the `Release` that publishes
    /// the cell.
    #[inline]
    fn set_key(&self, d: Direction, waker: Option<&Waker>) {
        let [data, vtable] = waker.map_or([0, 0], key);
        let k = &self.keys[d.index()];
        k[0].store(data, Relaxed);
        k[1].store(vtable, Relaxed);
    }

    /// A snapshot of the word. `Acquire` pairs with `record`'s release so a
    /// reader of readiness also sees what was ordered before the event.
    #[inline]
    pub(crate) fn load(&self) -> u64 {
        self.word.load(Acquire)
    }

    /// Dispatcher, step 2 of the hot path: one RMW records `bits`
    /// (readiness and/or `SHUTDOWN`), bumps the tick of each side they
    /// touch, and claims (`ARMED` → `WAKING`) that side's slot if a task
    /// sleeps there. Returns the previous word: its slot and list bits say
    /// whom to wake.
    ///
    /// `AcqRel`: the acquire half makes the poller's waker (written before
    /// its `Release` publish) visible to us; the release half orders the
    /// readiness after anything the caller did before recording it.
    #[inline]
    pub(crate) fn record(&self, bits: u64) -> u64 {
        let claim = claim_bits(bits);
        // Test-and-clear of NOSPACE (`SOCK_WAKE_SPACE`): the caller sees it
        // in the returned word and sends at most one POLL_OUT.
        let keep = if bits & WRITABLE != 0 { !NOSPACE } else { !0 };
        let mut cur = self.word.load(Relaxed);
        loop {
            let mut next = (cur | bits) & keep;
            for d in Direction::BOTH {
                if bits & d.wake_bits() != 0 {
                    next = bump_tick(next, d);
                }
            }
            // ARMED (0b10) -> WAKING (0b11) on each side `bits` touch: set the
            // low slot bit where the high one is set and the low one is not.
            next |= armed_low_bits(cur) & claim;
            match self.word.compare_exchange_weak(cur, next, AcqRel, Relaxed) {
                Ok(_) => return cur,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Dispatcher, step 3: wakes the slots that `record` claimed (as told by
    /// `prev`, its return value) and hands them back. Returns how many.
    #[inline]
    pub(crate) fn wake_claimed(&self, prev: u64, bits: u64) -> usize {
        let claimed = armed_low_bits(prev) & claim_bits(bits);
        if claimed == 0 {
            return 0;
        }
        // WAKING -> IDLE for every slot we claimed, in one RMW, when this
        // returns or a waker's `wake_by_ref` panics (a slot left WAKING would
        // make every later poller of that side wake itself forever). Release:
        // our reads of the cells happen-before the next poller's claim
        // (Acquire) and the write it may then make.
        struct HandBack<'a>(&'a AtomicU64, u64);
        impl Drop for HandBack<'_> {
            #[inline]
            fn drop(&mut self) {
                self.0.fetch_and(!(self.1 | self.1 << 1), Release);
            }
        }
        let _hand_back = HandBack(&self.word, claimed);
        let mut n = 0;
        for d in Direction::BOTH {
            if claimed & (1 << d.slot_shift()) != 0 {
                self.slots[d.index()].with(|cell| {
                    // SAFETY: `record` moved this slot ARMED -> WAKING and only the
                    // dispatcher (one thread: the one turning the reactor) leaves
                    // WAKING, so no poller writes the cell now. The poller's write
                    // is visible: its Release publish, our AcqRel `record`.
                    if let Some(w) = unsafe { &*cell } {
                        w.wake_by_ref();
                    }
                });
                n += 1;
            }
        }
        n
    }

    /// Poller: returns `Ready(word)` if any of `mask` (or `SHUTDOWN`) is set,
    /// otherwise leaves `waker` in `d`'s slot, armed, and returns `Pending`.
    ///
    /// `clear`, if given as `(bits, snapshot)`, first clears readiness the
    /// caller saw and then hit `WouldBlock` on (tick-checked, see
    /// [`cleared`]); it is folded into the arming RMW. With the waker
    /// already in the cell (the steady state) clear + arm is one RMW; a new
    /// waker costs two (claim, publish). Inlined: with a constant direction
    /// and mask the fast path is a handful of instructions.
    #[inline(always)]
    pub(crate) fn poll_ready(
        &self,
        d: Direction,
        mask: u64,
        clear: Option<(u64, u64)>,
        waker: &Waker,
    ) -> Poll<u64> {
        let want = mask | SHUTDOWN;
        let mut cur = self.word.load(Acquire);
        loop {
            let base = match clear {
                Some((bits, snap)) => cleared(cur, bits, snap),
                None => cur,
            };
            let armable = base & want == 0 && matches!(slot(base, d), IDLE | ARMED);
            if !armable || !self.holds(d, waker) {
                return self.poll_ready_slow(d, want, clear, waker, cur);
            }
            // Not ready, and the cell already holds this waker: arm without
            // touching the cell (see "Arming with one RMW").
            let next = with_slot(base, d, ARMED);
            if next == cur {
                // Armed already, nothing to clear: the Acquire load above was
                // the check. Any later `record` reads this value or a later one.
                return Poll::Pending;
            }
            // Release: continues the release sequence of the cell owner's
            // publish (every change of the word is an RMW), so a dispatcher
            // claiming from our value sees the cell. Acquire on failure: the
            // identity read again must be ordered after the value we got.
            match self.word.compare_exchange_weak(cur, next, Release, Acquire) {
                Ok(_) => return Poll::Pending,
                Err(actual) => cur = actual,
            }
        }
    }

    /// [`poll_ready`](Self::poll_ready) when the one-RMW arm does not apply:
    /// ready, a slot someone else holds, or a waker that is not in the cell.
    /// Claims the cell (`REGISTERING`), writes the waker, publishes `ARMED`.
    #[inline(never)]
    fn poll_ready_slow(
        &self,
        d: Direction,
        want: u64,
        clear: Option<(u64, u64)>,
        waker: &Waker,
        mut cur: u64,
    ) -> Poll<u64> {
        let claimed = loop {
            let base = match clear {
                Some((bits, snap)) => cleared(cur, bits, snap),
                None => cur,
            };
            // Whether this iteration takes the slot. Decided by *our* transition,
            // never by seeing REGISTERING: that may be another poller's.
            let claim = base & want == 0 && matches!(slot(base, d), IDLE | ARMED);
            let next = if claim {
                with_slot(base, d, REGISTERING)
            } else {
                base
            };
            if next != cur {
                // Acquire: on claiming, see the previous waker (will_wake) and
                // make our write come after the dispatcher's read (its Release).
                if let Err(actual) = self.word.compare_exchange_weak(cur, next, Acquire, Acquire) {
                    cur = actual;
                    continue;
                }
            }
            if next & want != 0 {
                return Poll::Ready(next);
            }
            if !claim {
                // REGISTERING: another task is arming this side right now (only
                // one task per side is woken, as in tokio). WAKING: the dispatcher
                // is waking the previous waker. Either way the cell is not ours;
                // ask to be polled again rather than spin here.
                waker.wake_by_ref();
                return Poll::Pending;
            }
            break next;
        };

        // A panicking `Waker::clone` (or drop of the old waker) must not leave
        // the slot REGISTERING: every later poller of this side would find it
        // owned and wake itself forever. Unwinding, hand it back IDLE with the
        // identity cleared (the cell holds a valid waker or none, but which
        // is unknown), so that the next poller writes the cell. Release: our
        // write of the cell, if any, happens-before the next claim.
        struct Unclaim<'a>(&'a State, Direction);
        impl Drop for Unclaim<'_> {
            fn drop(&mut self) {
                self.0.set_key(self.1, None);
                self.0
                    .word
                    .fetch_and(!(SLOT_MASK << self.1.slot_shift()), Release);
            }
        }
        let unclaim = Unclaim(self, d);
        self.slots[d.index()].with_mut(|cell| {
            // SAFETY: we moved the slot to REGISTERING; only we leave it, and
            // neither another poller nor the dispatcher touches the cell meanwhile.
            let cell = unsafe { &mut *cell };
            match cell {
                Some(old) if old.will_wake(waker) => {}
                _ => *cell = Some(waker.clone()),
            }
        });
        // We own the cell: its identity is ours to write (published below).
        self.set_key(d, Some(waker));
        std::mem::forget(unclaim);

        let mut cur = claimed;
        loop {
            let ready = cur & want != 0;
            if cur & SHUTDOWN != 0 {
                // The reactor shut down while we held the cell: no dispatcher
                // will read it again, and `shutdown` left it to us (it only
                // empties IDLE cells). Drop our waker now, or the source would
                // keep the task (and whatever the task holds) alive.
                self.slots[d.index()].with_mut(|cell| {
                    // SAFETY: still REGISTERING, by our own claim: the cell is ours.
                    drop(unsafe { (*cell).take() });
                });
                self.set_key(d, None);
            }
            let next = with_slot(cur, d, if ready { IDLE } else { ARMED });
            // Release: the waker we wrote happens-before the dispatcher's claim.
            // Being an RMW, this reads any readiness recorded meanwhile.
            match self.word.compare_exchange_weak(cur, next, Release, Relaxed) {
                Ok(_) if ready => return Poll::Ready(cur),
                Ok(_) => return Poll::Pending,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Reactor shutdown (the reactor is being dropped; no turn runs and
    /// none will): records `SHUTDOWN`, which wakes an armed slot as
    /// [`record`](Self::record) does, then empties both waker cells, so a
    /// source that outlives its reactor holds no task. Returns the word
    /// before: its `LIST_*` bits say whether readiness futures wait.
    ///
    /// Cell ownership is respected: a cell is emptied only after claiming
    /// its slot `IDLE -> WAKING`. A slot that is `REGISTERING` belongs to a
    /// poller; its publishing RMW comes after our `record` (no poller can
    /// claim a slot once `SHUTDOWN` is set), reads `SHUTDOWN`, and that
    /// poller empties the cell itself (see [`poll_ready`](Self::poll_ready)).
    pub(crate) fn shutdown(&self) -> u64 {
        let prev = self.record(SHUTDOWN);
        self.wake_claimed(prev, SHUTDOWN);
        for d in Direction::BOTH {
            let mut cur = self.word.load(Relaxed);
            loop {
                // After `record`, a slot is IDLE, REGISTERING (a poller's, see
                // above) or, never here, WAKING: only the dispatcher enters it,
                // and the dispatcher is this thread.
                if slot(cur, d) != IDLE {
                    break;
                }
                // Acquire: the last poller's write of the cell (its Release
                // publish) happens-before our take.
                match self
                    .word
                    .compare_exchange_weak(cur, with_slot(cur, d, WAKING), Acquire, Relaxed)
                {
                    Ok(_) => {
                        self.slots[d.index()].with_mut(|cell| {
                            // SAFETY: we moved the slot IDLE -> WAKING; only we leave
                            // WAKING, and no poller claims a slot once SHUTDOWN is set.
                            drop(unsafe { (*cell).take() });
                        });
                        self.set_key(d, None);
                        // Release: pairs with any later claimant's Acquire (none
                        // can come after SHUTDOWN; kept for the protocol's shape).
                        self.word.fetch_and(!(SLOT_MASK << d.slot_shift()), Release);
                        break;
                    }
                    Err(actual) => cur = actual,
                }
            }
        }
        prev
    }

    /// Clears readiness `bits` seen in `snapshot` (tick-checked per side).
    ///
    /// `Relaxed`: no data travels with a clear; a later poll by this thread
    /// is ordered after it by coherence of the one word, and a concurrent
    /// `record` either precedes the CAS (tick moved: nothing cleared) or
    /// follows it (its bits stay).
    #[inline]
    pub(crate) fn clear(&self, bits: u64, snapshot: u64) {
        let mut cur = self.word.load(Relaxed);
        loop {
            let next = cleared(cur, bits, snapshot);
            if next == cur {
                return;
            }
            match self.word.compare_exchange_weak(cur, next, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Sets flag bits (`LIST_*`); returns the word *after*. `AcqRel`: a
    /// joiner's list store happens-before a dispatcher that sees the flag.
    pub(crate) fn set_flags(&self, bits: u64) -> u64 {
        self.word.fetch_or(bits, AcqRel) | bits
    }

    /// Clears flag bits (`LIST_*`).
    pub(crate) fn clear_flags(&self, bits: u64) {
        self.word.fetch_and(!bits, AcqRel);
    }

    /// Clears flag bits and returns those of them that were set: the one
    /// caller that sees a bit set has claimed it. `AcqRel`, as `set_flags`.
    pub(crate) fn take_flags(&self, bits: u64) -> u64 {
        self.word.fetch_and(!bits, AcqRel) & bits
    }
}
