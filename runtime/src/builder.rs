//! [`Builder`]: how many workers, their names and stack size, the
//! cooperative budget.

use std::io;
use std::time::Duration;

use crate::Runtime;
use crate::blocking::{DEFAULT_KEEP_ALIVE, DEFAULT_MAX_THREADS};
use crate::core::DEFAULT_EVENT_INTERVAL;

/// Configures and builds a thread-per-core [`Runtime`].
///
/// ```
/// use sockwq_runtime::Builder;
/// let rt = Builder::new().worker_threads(2).thread_name("srv").build()?;
/// assert_eq!(rt.worker_threads(), 2);
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    pub(crate) worker_threads: Option<usize>,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) event_interval: u32,
    pub(crate) max_events: usize,
    pub(crate) max_blocking_threads: usize,
    pub(crate) thread_keep_alive: Duration,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: one worker per CPU this process may run on, threads
    /// named `sockwq-worker-N`, a budget of 61 task polls between reactor
    /// turns.
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().build()?;
    /// assert!(rt.worker_threads() >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder {
            worker_threads: None,
            thread_name: "sockwq-worker".to_owned(),
            stack_size: None,
            event_interval: DEFAULT_EVENT_INTERVAL,
            max_events: 1024,
            max_blocking_threads: DEFAULT_MAX_THREADS,
            thread_keep_alive: DEFAULT_KEEP_ALIVE,
        }
    }

    /// The number of worker threads, each with its own reactor, run queue
    /// and timers.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().worker_threads(1).build()?;
    /// assert_eq!(rt.worker_threads(), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "sockwq: worker_threads must be at least 1");
        self.worker_threads = Some(n);
        self
    }

    /// The name prefix of worker threads (`NAME-0`, `NAME-1`, ...).
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().thread_name("io").build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.thread_name = name.into();
        self
    }

    /// The stack size of worker and blocking-pool threads (default: std's).
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().thread_stack_size(4 << 20).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// The cooperative budget: task polls a worker makes before it turns
    /// its reactor without blocking, so that tasks that are always ready
    /// cannot starve IO and timers. Default 61; clamped to at least 1.
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().event_interval(32).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn event_interval(&mut self, polls: u32) -> &mut Builder {
        self.event_interval = polls.max(1);
        self
    }

    /// The most epoll events one reactor turn takes (default 1024).
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().max_events(256).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_events(&mut self, n: usize) -> &mut Builder {
        self.max_events = n.max(1);
        self
    }

    /// The most threads the runtime's blocking pool
    /// ([`spawn_blocking`](crate::spawn_blocking)) runs at once (default
    /// 512, as tokio). Threads start on demand; tasks beyond the bound wait
    /// for a thread.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().max_blocking_threads(4).build()?;
    /// let v = rt.block_on(sockwq_runtime::spawn_blocking(|| 2 + 2)).unwrap();
    /// assert_eq!(v, 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "sockwq: max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long a blocking-pool thread stays idle before it exits (default
    /// 10 s, as tokio).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = sockwq_runtime::Builder::new()
    ///     .thread_keep_alive(Duration::from_millis(100))
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.thread_keep_alive = keep_alive;
        self
    }

    /// Starts the workers.
    ///
    /// Errors if a reactor (epoll, eventfd) or a thread cannot be created.
    ///
    /// ```
    /// let rt = sockwq_runtime::Builder::new().worker_threads(2).build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        Runtime::start(self)
    }
}
