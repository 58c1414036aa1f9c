//! Unix pipes on the sockwq reactor (as `tokio::net::unix::pipe`):
//! anonymous pipes from [`pipe`], FIFOs opened with [`OpenOptions`], and
//! any pipe end wrapped with [`Sender::from_owned_fd`] or
//! [`Receiver::from_owned_fd`].
//!
//! A [`Sender`] writes with `write(2)`, a [`Receiver`] reads with
//! `read(2)`. A read of 0 bytes means every writing end has closed (end of
//! file). A write to a pipe whose reading ends are all closed fails with
//! `EPIPE` (`io::ErrorKind::BrokenPipe`) *if* `SIGPIPE` is ignored, which
//! Rust programs do by default (the standard runtime ignores it before
//! `main`); a program that restores the default disposition is killed by
//! the signal instead, as with any `write(2)` to such a pipe: unlike
//! sockets, pipes have no `MSG_NOSIGNAL`.
//!
//! Each end registers with the current reactor (see
//! [`Handle::try_current`]): sockwq's runtime, tokio's (through sockwq's
//! tokio driver), or the global reactor under any other executor. Where
//! tokio panics for want of a runtime, these functions return the
//! `io::Error` of `Handle::try_current` instead.
//!
//! ```
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//! use sockwq_net::unix::pipe;
//!
//! futures::executor::block_on(async {
//!     let (mut tx, mut rx) = pipe::pipe()?;
//!     tx.write_all(b"hello").await?;
//!     drop(tx);
//!     let mut got = Vec::new();
//!     rx.read_to_end(&mut got).await?;
//!     assert_eq!(got, b"hello");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::task::{Context, Poll};

use sockwq_reactor::{Async, Handle, Interest, Ready};

use crate::io::{as_uninit, impl_read_io, impl_write_io, iov_max, iov_max_mut, total_len};

/// Creates a new anonymous Unix pipe (`pipe2(O_NONBLOCK | O_CLOEXEC)`) and
/// registers both ends with the current reactor.
///
/// To give a pipe end to a child process, `std::process::Stdio::piped()`
/// is often simpler; otherwise pass the end through
/// [`Sender::into_blocking_fd`] or [`Receiver::into_blocking_fd`].
///
/// # Errors
///
/// The OS error of `pipe2` (`EMFILE`, ...), or the error of registering
/// with the reactor (where tokio would panic outside a runtime).
///
/// # Examples
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::unix::pipe;
///
/// futures::executor::block_on(async {
///     let (mut tx, mut rx) = pipe::pipe()?;
///     tx.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     rx.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pipe() -> io::Result<(Sender, Receiver)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` is a valid, writable array of two ints, as `pipe2`
    // requires.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: `pipe2` succeeded, so both fds are open and owned by nobody
    // else; each is wrapped exactly once.
    let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((
        Sender::from_owned_fd_unchecked(tx)?,
        Receiver::from_owned_fd_unchecked(rx)?,
    ))
}

/// Options and flags to configure how a FIFO file is opened (as tokio's
/// `pipe::OpenOptions`).
///
/// Call [`new`](Self::new), set options, then call
/// [`open_receiver`](Self::open_receiver) or
/// [`open_sender`](Self::open_sender) with the FIFO's path. The file is
/// opened with `O_NONBLOCK`, so neither call waits for the other end.
///
/// # Examples
///
/// Opening both ends of a FIFO:
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::unix::pipe;
/// # use std::os::unix::ffi::OsStrExt;
/// # let dir = std::env::temp_dir().join(format!("sockwq-doc-oo-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let fifo = dir.join("fifo");
/// # let _ = std::fs::remove_file(&fifo);
/// # let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
/// # assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
///
/// futures::executor::block_on(async {
///     // The receiver first: opening a sender fails with ENXIO while no
///     // one has the FIFO open for reading.
///     let mut rx = pipe::OpenOptions::new().open_receiver(&fifo)?;
///     let mut tx = pipe::OpenOptions::new().open_sender(&fifo)?;
///     tx.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     rx.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read_write: bool,
    unchecked: bool,
}

impl OpenOptions {
    /// Creates a blank new set of options; every option is `false`.
    ///
    /// ```
    /// let opts = sockwq_net::unix::pipe::OpenOptions::new();
    /// # let _ = opts;
    /// ```
    pub fn new() -> OpenOptions {
        OpenOptions {
            read_write: false,
            unchecked: false,
        }
    }

    /// Sets read-write access mode: the FIFO is opened `O_RDWR`.
    ///
    /// A [`Sender`] opened so holds a reading end as well, so opening it
    /// does not fail with `ENXIO` when no reader has the FIFO open, and
    /// writes succeed before any reader comes (data still in the pipe when
    /// every end closes is lost). A [`Receiver`] opened so holds a writing
    /// end as well, so it never reads end of file: it waits for the next
    /// writer instead (do not use `read_to_end` on it). Read-write access
    /// to a FIFO is not defined by POSIX; it works on Linux.
    ///
    /// # Examples
    ///
    /// Opening a sender while no one reads:
    ///
    /// ```
    /// use sockwq_net::unix::pipe;
    /// # use std::os::unix::ffi::OsStrExt;
    /// # let dir = std::env::temp_dir().join(format!("sockwq-doc-rw-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let fifo = dir.join("fifo");
    /// # let _ = std::fs::remove_file(&fifo);
    /// # let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    /// # assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    ///
    /// let tx = pipe::OpenOptions::new().read_write(true).open_sender(&fifo)?;
    /// # drop(tx);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read_write(&mut self, value: bool) -> &mut Self {
        self.read_write = value;
        self
    }

    /// Skips the check that the opened file is a FIFO.
    ///
    /// By default [`open_receiver`](Self::open_receiver) and
    /// [`open_sender`](Self::open_sender) fail with `InvalidInput` ("not a
    /// pipe") if the file is not a FIFO. Set this when you know it is one;
    /// an end opened on anything else then behaves as that file does.
    ///
    /// ```
    /// use sockwq_net::unix::pipe;
    /// # use std::os::unix::ffi::OsStrExt;
    /// # let dir = std::env::temp_dir().join(format!("sockwq-doc-unchecked-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let fifo = dir.join("fifo");
    /// # let _ = std::fs::remove_file(&fifo);
    /// # let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    /// # assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    ///
    /// let rx = pipe::OpenOptions::new().unchecked(true).open_receiver(&fifo)?;
    /// # drop(rx);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unchecked(&mut self, value: bool) -> &mut Self {
        self.unchecked = value;
        self
    }

    /// Opens the FIFO at `path` for reading (`O_RDONLY`, or `O_RDWR` with
    /// [`read_write`](Self::read_write); always `O_NONBLOCK | O_CLOEXEC`),
    /// checks that it is a FIFO unless [`unchecked`](Self::unchecked), and
    /// registers it with the current reactor.
    ///
    /// Opening for reading succeeds whether or not a writer has the FIFO
    /// open. Until one comes, reads wait (and `try_read` returns
    /// `WouldBlock`); once every writer has come and gone, reads return
    /// `Ok(0)` (end of file).
    ///
    /// # Errors
    ///
    /// `InvalidInput` ("not a pipe") if the file is not a FIFO; the OS
    /// error of `open` (`NotFound`, ...); the error of registering with the
    /// reactor.
    pub fn open_receiver<P: AsRef<Path>>(&self, path: P) -> io::Result<Receiver> {
        let file = self.open(path.as_ref(), PipeEnd::Receiver)?;
        Receiver::from_file_unchecked(file)
    }

    /// Opens the FIFO at `path` for writing (`O_WRONLY`, or `O_RDWR` with
    /// [`read_write`](Self::read_write); always `O_NONBLOCK | O_CLOEXEC`),
    /// checks that it is a FIFO unless [`unchecked`](Self::unchecked), and
    /// registers it with the current reactor.
    ///
    /// # Errors
    ///
    /// `ENXIO` (`raw_os_error() == Some(libc::ENXIO)`) if the FIFO is not
    /// open for reading by anyone and `read_write` is off: wait and retry,
    /// or use `read_write`. `InvalidInput` ("not a pipe") if the file is
    /// not a FIFO; the OS error of `open` (`NotFound`, ...); the error of
    /// registering with the reactor.
    ///
    /// ```
    /// use sockwq_net::unix::pipe;
    /// # use std::os::unix::ffi::OsStrExt;
    /// # let dir = std::env::temp_dir().join(format!("sockwq-doc-enxio-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let fifo = dir.join("fifo");
    /// # let _ = std::fs::remove_file(&fifo);
    /// # let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    /// # assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    ///
    /// // No reader yet.
    /// let err = pipe::OpenOptions::new().open_sender(&fifo).unwrap_err();
    /// assert_eq!(err.raw_os_error(), Some(libc::ENXIO));
    ///
    /// let _rx = pipe::OpenOptions::new().open_receiver(&fifo)?;
    /// let _tx = pipe::OpenOptions::new().open_sender(&fifo)?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open_sender<P: AsRef<Path>>(&self, path: P) -> io::Result<Sender> {
        let file = self.open(path.as_ref(), PipeEnd::Sender)?;
        Sender::from_file_unchecked(file)
    }

    fn open(&self, path: &Path, end: PipeEnd) -> io::Result<File> {
        let mut options = std::fs::OpenOptions::new();
        options
            .read(end == PipeEnd::Receiver)
            .write(end == PipeEnd::Sender)
            .custom_flags(libc::O_NONBLOCK);
        if self.read_write {
            options.read(true).write(true);
        }
        let file = options.open(path)?;
        if !self.unchecked && !is_pipe(file.as_fd())? {
            return Err(not_a_pipe());
        }
        Ok(file)
    }
}

impl Default for OpenOptions {
    /// Same as [`OpenOptions::new`].
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PipeEnd {
    Sender,
    Receiver,
}

/// A pipe end registered with the reactor: what [`Sender`] and
/// [`Receiver`] share.
///
/// The reactor registers every fd for read and write readiness at once
/// (one `EPOLL_CTL_ADD`, never a `MOD`), so each end is registered for
/// both; a pipe end only ever reports its own direction, plus hang-up
/// and error, so the other costs nothing.
struct PipeIo {
    io: Async<OwnedFd>,
}

impl fmt::Debug for PipeIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeIo")
            .field("fd", &self.io.as_raw_fd())
            .field("readiness", &self.io.source().readiness())
            .finish()
    }
}

impl PipeIo {
    /// Registers `fd` with the current reactor, assuming no readiness until
    /// the reactor reports some (as tokio's pipes do); `fd` is used as is
    /// (non-blocking is the caller's business).
    fn new(fd: OwnedFd) -> io::Result<PipeIo> {
        let io = Async::from_nonblocking(fd, &Handle::try_current()?, Ready::EMPTY)?;
        Ok(PipeIo { io })
    }

    /// The registered fd.
    #[inline]
    fn fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }

    async fn ready(&self, interest: Interest) -> io::Result<Ready> {
        Ok(self.io.source().ready(interest).await?.ready())
    }

    fn poll_ready(&self, cx: &mut Context<'_>, interest: Interest) -> Poll<io::Result<()>> {
        self.io.source().poll_ready(cx, interest).map_ok(drop)
    }

    fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.io.source().try_io(interest, f)
    }

    // ---- reads ------------------------------------------------------

    /// One `read(2)` into `buf` (not necessarily initialized); returns
    /// the number of bytes read, all initialized.
    #[inline]
    fn read_now(&self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        let (init, _) = rustix::io::read(self.fd(), buf)?;
        Ok(init.len())
    }

    /// Reads into `buf`; a short read means the pipe is empty now, and
    /// clears read readiness at once (no trailing `EAGAIN` read).
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.io.source().poll_io_drain(cx, Interest::READABLE, || {
            let n = self.read_now(as_uninit(buf))?;
            Ok((n, n > 0 && n < want))
        })
    }

    fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let bufs = iov_max_mut(bufs);
        let want = total_len(bufs.iter().map(|b| b.len()));
        self.io.source().poll_io_drain(cx, Interest::READABLE, || {
            let n = rustix::io::readv(self.fd(), bufs)?;
            Ok((n, n > 0 && n < want))
        })
    }

    /// Reads into a tokio `ReadBuf`'s unfilled part, never zeroed first.
    #[cfg(feature = "tokio")]
    fn poll_read_buf(&self, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        // SAFETY: only `read(2)` writes to the unfilled part, and it never
        // de-initializes bytes.
        let unfilled = unsafe { buf.unfilled_mut() };
        let want = unfilled.len();
        let n = std::task::ready!(self.io.source().poll_io_drain(cx, Interest::READABLE, || {
            let n = self.read_now(unfilled)?;
            Ok((n, n > 0 && n < want))
        }))?;
        // SAFETY: `read(2)` initialized the first `n` bytes of the unfilled
        // part.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, || self.read_now(as_uninit(buf)))
    }

    fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, || Ok(rustix::io::readv(self.fd(), bufs)?))
    }

    fn try_read_buf<B: bytes::BufMut + ?Sized>(&self, buf: &mut B) -> io::Result<usize> {
        self.try_io(Interest::READABLE, || {
            let dst = buf.chunk_mut();
            // SAFETY: `read(2)` only writes initialized bytes into `dst`.
            let n = self.read_now(unsafe { dst.as_uninit_slice_mut() })?;
            // SAFETY: `read(2)` initialized the first `n` bytes of the chunk,
            // which is `buf`'s spare capacity.
            unsafe { buf.advance_mut(n) };
            Ok(n)
        })
    }

    // ---- writes -----------------------------------------------------

    /// Writes `buf`; a short write means the pipe is full now, and clears
    /// write readiness at once.
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let want = buf.len();
        self.io.source().poll_io_drain(cx, Interest::WRITABLE, || {
            let n = rustix::io::write(self.fd(), buf)?;
            Ok((n, n > 0 && n < want))
        })
    }

    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let bufs = iov_max(bufs);
        let want = total_len(bufs.iter().map(|b| b.len()));
        self.io.source().poll_io_drain(cx, Interest::WRITABLE, || {
            let n = rustix::io::writev(self.fd(), bufs)?;
            Ok((n, n > 0 && n < want))
        })
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_io(Interest::WRITABLE, || Ok(rustix::io::write(self.fd(), buf)?))
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.try_io(Interest::WRITABLE, || Ok(rustix::io::writev(self.fd(), bufs)?))
    }

    // ---- conversions --------------------------------------------------

    fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        self.io.into_inner()
    }

    fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = self.into_nonblocking_fd()?;
        set_blocking(fd.as_fd())?;
        Ok(fd)
    }
}

/// Writing end of a Unix pipe (as tokio's `pipe::Sender`).
///
/// Made by [`pipe`], [`OpenOptions::open_sender`] (a FIFO) or
/// [`Sender::from_owned_fd`]. Writes go through futures-io's and (with the
/// `tokio` feature) tokio's `AsyncWrite`, or through
/// [`try_write`](Self::try_write) after [`writable`](Self::writable).
/// Flushing and shutting down (`poll_close`/`poll_shutdown`) do nothing,
/// as in tokio; drop the sender to close the pipe end.
///
/// Opening a FIFO for writing fails with:
///
/// * `NotFound`: there is no file at the path;
/// * `InvalidInput`: the file exists but is not a FIFO;
/// * `ENXIO`: the file is a FIFO, but no one has it open for reading
///   (retry later, or open with [`OpenOptions::read_write`]);
/// * other OS errors.
///
/// A sender opened with `read_write` holds a reading end too: it opens
/// without `ENXIO` and can write before any reader comes, but what it
/// wrote is lost if every end closes before someone reads it.
///
/// Writing to a pipe with no reader left fails with `BrokenPipe`
/// (`EPIPE`), while `SIGPIPE` is ignored (see the [module docs](self)).
///
/// ```
/// use futures_util::io::AsyncWriteExt;
/// use sockwq_net::unix::pipe;
///
/// futures::executor::block_on(async {
///     let (mut tx, rx) = pipe::pipe()?;
///     drop(rx);
///     let err = tx.write_all(b"nobody reads this").await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Sender {
    io: PipeIo,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("io", &self.io).finish()
    }
}

impl Sender {
    /// Creates a `Sender` from a [`File`] (a FIFO opened for writing):
    /// checks that it is a pipe with write access, sets `O_NONBLOCK`, and
    /// registers it with the current reactor.
    ///
    /// # Errors
    ///
    /// `InvalidInput` with "not a pipe" if the file is not a pipe or FIFO,
    /// or "not in O_WRONLY or O_RDWR access mode" if it was opened
    /// read-only; the OS errors of `fstat`/`fcntl`; the error of
    /// registering with the reactor.
    ///
    /// ```
    /// use sockwq_net::unix::pipe;
    ///
    /// let file = std::fs::File::open("/dev/null")?;
    /// let err = pipe::Sender::from_file(file).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// assert_eq!(err.to_string(), "not a pipe");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_file(file: File) -> io::Result<Sender> {
        Sender::from_owned_fd(file.into())
    }

    /// Creates a `Sender` from an [`OwnedFd`] (an anonymous pipe's
    /// writing end or a FIFO): checks that it is a pipe with write access,
    /// sets `O_NONBLOCK`, and registers it with the current reactor.
    ///
    /// # Errors
    ///
    /// As [`from_file`](Self::from_file).
    ///
    /// ```
    /// use std::io::Read;
    /// use futures_util::io::AsyncWriteExt;
    /// use sockwq_net::unix::pipe;
    ///
    /// // Two plain blocking pipe ends, as a parent process might pass on.
    /// let (tx, rx) = pipe::pipe()?;
    /// let (writer, reader) = (tx.into_blocking_fd()?, rx.into_blocking_fd()?);
    ///
    /// let mut tx = pipe::Sender::from_owned_fd(writer)?;
    /// futures::executor::block_on(tx.write_all(b"from a plain fd"))?;
    /// drop(tx);
    /// let mut got = String::new();
    /// std::fs::File::from(reader).read_to_string(&mut got)?;
    /// assert_eq!(got, "from a plain fd");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<Sender> {
        check_end(owned_fd.as_fd(), PipeEnd::Sender)?;
        Sender::from_owned_fd_unchecked(owned_fd)
    }

    /// Creates a `Sender` from a [`File`] without any check: the caller
    /// makes sure that it is a pipe's writing end in non-blocking mode (a
    /// blocking one would block the thread that writes).
    ///
    /// # Errors
    ///
    /// The error of registering with the reactor.
    pub fn from_file_unchecked(file: File) -> io::Result<Sender> {
        Sender::from_owned_fd_unchecked(file.into())
    }

    /// Creates a `Sender` from an [`OwnedFd`] without any check, as
    /// [`from_file_unchecked`](Self::from_file_unchecked).
    ///
    /// # Errors
    ///
    /// The error of registering with the reactor.
    pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<Sender> {
        Ok(Sender {
            io: PipeIo::new(owned_fd)?,
        })
    }

    /// Waits for any of the requested readiness (check the returned set
    /// for `WRITABLE` and `WRITE_CLOSED`); any number of tasks may wait at
    /// once. The readiness may be a false positive (the next write returns
    /// `WouldBlock`). Takes sockwq's or tokio's `Interest`.
    ///
    /// Cancel safe: the readiness stays until an operation returns
    /// `WouldBlock` or `Pending`.
    pub async fn ready(&self, interest: impl Into<Interest>) -> io::Result<Ready> {
        self.io.ready(interest.into()).await
    }

    /// Waits until the pipe is writable (there is room, or no reader is
    /// left, so that a write returns at once); usually paired with
    /// [`try_write`](Self::try_write).
    ///
    /// ```
    /// use sockwq_net::unix::pipe;
    ///
    /// futures::executor::block_on(async {
    ///     let (tx, _rx) = pipe::pipe()?;
    ///     loop {
    ///         tx.writable().await?;
    ///         match tx.try_write(b"hello") {
    ///             Ok(n) => break assert_eq!(n, 5),
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     }
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Interest::WRITABLE).await.map(drop)
    }

    /// Polls for write readiness. On `Pending`, the waker is woken when the
    /// pipe becomes writable; only the task of the last call is guaranteed
    /// a wakeup (shared with `poll_write`). Prefer
    /// [`writable`](Self::writable) where a future can be used.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Interest::WRITABLE)
    }

    /// Tries to write `buf` without waiting; returns how many bytes were
    /// written, or `WouldBlock` if the pipe is full (and then write
    /// readiness is cleared) or the reactor has not reported it writable
    /// yet.
    ///
    /// A `buf` no longer than `PIPE_BUF` (4096 on Linux) is written
    /// atomically: all of it, or `WouldBlock`. A longer one may be written
    /// in part.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Like [`try_write`](Self::try_write), from several buffers with one
    /// `writev` (atomic if their total length is at most `PIPE_BUF`).
    pub fn try_write_vectored(&self, buf: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(buf)
    }

    /// Runs a user write operation `f` if the pipe is ready for writing;
    /// if `f` returns `WouldBlock`, write readiness is cleared. Returns
    /// `WouldBlock` without calling `f` if not ready (as tokio's `try_io`).
    ///
    /// `f` should do its IO with raw syscalls on the fd (not with this
    /// type's methods), and return `WouldBlock` only when a syscall did.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.io.try_io(Interest::WRITABLE, f)
    }

    /// Deregisters the pipe end and returns its fd in blocking mode
    /// (`O_NONBLOCK` cleared), say to hand to a child process.
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        self.io.into_blocking_fd()
    }

    /// Deregisters the pipe end and returns its fd, still non-blocking.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        self.io.into_nonblocking_fd()
    }
}

impl_write_io!([] Sender, |this| &this.io, |_s| Ok(()));

impl AsRawFd for Sender {
    fn as_raw_fd(&self) -> RawFd {
        self.io.io.as_raw_fd()
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.io.as_fd()
    }
}

/// Reading end of a Unix pipe (as tokio's `pipe::Receiver`).
///
/// Made by [`pipe`], [`OpenOptions::open_receiver`] (a FIFO) or
/// [`Receiver::from_owned_fd`]. Reads go through futures-io's and (with
/// the `tokio` feature) tokio's `AsyncRead`, or through
/// [`try_read`](Self::try_read) after [`readable`](Self::readable). A read
/// of 0 bytes means every writing end has closed (end of file); a FIFO's
/// receiver can be opened again to wait for the next writer.
///
/// A receiver opened with [`OpenOptions::read_write`] holds a writing end
/// itself, so it never sees end of file: it waits for the next writer
/// instead (and `read_to_end` on it never returns).
///
/// ```
/// use futures_util::io::{AsyncReadExt, AsyncWriteExt};
/// use sockwq_net::unix::pipe;
///
/// futures::executor::block_on(async {
///     let (mut tx, mut rx) = pipe::pipe()?;
///     tx.write_all(b"last words").await?;
///     drop(tx);
///     let mut buf = [0u8; 64];
///     let n = rx.read(&mut buf).await?;
///     assert_eq!(&buf[..n], b"last words");
///     assert_eq!(rx.read(&mut buf).await?, 0); // end of file
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Receiver {
    io: PipeIo,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("io", &self.io).finish()
    }
}

impl Receiver {
    /// Creates a `Receiver` from a [`File`] (a FIFO opened for reading):
    /// checks that it is a pipe with read access, sets `O_NONBLOCK`, and
    /// registers it with the current reactor.
    ///
    /// # Errors
    ///
    /// `InvalidInput` with "not a pipe" if the file is not a pipe or FIFO,
    /// or "not in O_RDONLY or O_RDWR access mode" if it was opened
    /// write-only; the OS errors of `fstat`/`fcntl`; the error of
    /// registering with the reactor.
    ///
    /// ```
    /// use sockwq_net::unix::pipe;
    ///
    /// let file = std::fs::File::open("/dev/null")?;
    /// let err = pipe::Receiver::from_file(file).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// assert_eq!(err.to_string(), "not a pipe");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_file(file: File) -> io::Result<Receiver> {
        Receiver::from_owned_fd(file.into())
    }

    /// Creates a `Receiver` from an [`OwnedFd`] (an anonymous pipe's
    /// reading end or a FIFO): checks that it is a pipe with read access,
    /// sets `O_NONBLOCK`, and registers it with the current reactor.
    ///
    /// # Errors
    ///
    /// As [`from_file`](Self::from_file).
    ///
    /// ```
    /// use std::io::Write;
    /// use futures_util::io::AsyncReadExt;
    /// use sockwq_net::unix::pipe;
    ///
    /// // Two plain blocking pipe ends, as a parent process might pass on.
    /// let (tx, rx) = pipe::pipe()?;
    /// let (writer, reader) = (tx.into_blocking_fd()?, rx.into_blocking_fd()?);
    /// std::fs::File::from(writer).write_all(b"from a plain fd")?; // and closes
    ///
    /// let mut rx = pipe::Receiver::from_owned_fd(reader)?;
    /// let mut got = String::new();
    /// futures::executor::block_on(rx.read_to_string(&mut got))?;
    /// assert_eq!(got, "from a plain fd");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_owned_fd(owned_fd: OwnedFd) -> io::Result<Receiver> {
        check_end(owned_fd.as_fd(), PipeEnd::Receiver)?;
        Receiver::from_owned_fd_unchecked(owned_fd)
    }

    /// Creates a `Receiver` from a [`File`] without any check: the caller
    /// makes sure that it is a pipe's reading end in non-blocking mode (a
    /// blocking one would block the thread that reads).
    ///
    /// # Errors
    ///
    /// The error of registering with the reactor.
    pub fn from_file_unchecked(file: File) -> io::Result<Receiver> {
        Receiver::from_owned_fd_unchecked(file.into())
    }

    /// Creates a `Receiver` from an [`OwnedFd`] without any check, as
    /// [`from_file_unchecked`](Self::from_file_unchecked).
    ///
    /// # Errors
    ///
    /// The error of registering with the reactor.
    pub fn from_owned_fd_unchecked(owned_fd: OwnedFd) -> io::Result<Receiver> {
        Ok(Receiver {
            io: PipeIo::new(owned_fd)?,
        })
    }

    /// Waits for any of the requested readiness (check the returned set
    /// for `READABLE` and `READ_CLOSED`); any number of tasks may wait at
    /// once. The readiness may be a false positive (the next read returns
    /// `WouldBlock`). Takes sockwq's or tokio's `Interest`.
    ///
    /// Cancel safe: the readiness stays until an operation returns
    /// `WouldBlock` or `Pending`.
    pub async fn ready(&self, interest: impl Into<Interest>) -> io::Result<Ready> {
        self.io.ready(interest.into()).await
    }

    /// Waits until the pipe is readable (data, or end of file); usually
    /// paired with [`try_read`](Self::try_read).
    ///
    /// ```
    /// use futures_util::io::AsyncWriteExt;
    /// use sockwq_net::unix::pipe;
    ///
    /// futures::executor::block_on(async {
    ///     let (mut tx, rx) = pipe::pipe()?;
    ///     tx.write_all(b"hello").await?;
    ///     let mut buf = [0u8; 16];
    ///     let n = loop {
    ///         rx.readable().await?;
    ///         match rx.try_read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"hello");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Interest::READABLE).await.map(drop)
    }

    /// Polls for read readiness. On `Pending`, the waker is woken when the
    /// pipe becomes readable; only the task of the last call is guaranteed
    /// a wakeup (shared with `poll_read`). Prefer
    /// [`readable`](Self::readable) where a future can be used.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Interest::READABLE)
    }

    /// Tries to read into `buf` without waiting; returns how many bytes
    /// were read (`0`: every writer has closed, or `buf` is empty), or
    /// `WouldBlock` if the pipe is empty (and then read readiness is
    /// cleared) or the reactor has not reported it readable yet.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Like [`try_read`](Self::try_read), into several buffers with one
    /// `readv`.
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Like [`try_read`](Self::try_read), appending to a
    /// [`bytes::BufMut`] (its spare capacity is not zeroed first).
    ///
    /// ```
    /// use futures_util::io::AsyncWriteExt;
    /// use sockwq_net::unix::pipe;
    ///
    /// futures::executor::block_on(async {
    ///     let (mut tx, rx) = pipe::pipe()?;
    ///     tx.write_all(b"bytes").await?;
    ///     let mut buf = Vec::with_capacity(64);
    ///     loop {
    ///         rx.readable().await?;
    ///         match rx.try_read_buf(&mut buf) {
    ///             Ok(_) => break,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     }
    ///     assert_eq!(buf, b"bytes");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.io.try_read_buf(buf)
    }

    /// Runs a user read operation `f` if the pipe is ready for reading;
    /// if `f` returns `WouldBlock`, read readiness is cleared. Returns
    /// `WouldBlock` without calling `f` if not ready (as tokio's `try_io`).
    ///
    /// `f` should do its IO with raw syscalls on the fd (not with this
    /// type's methods), and return `WouldBlock` only when a syscall did.
    pub fn try_io<R>(&self, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        self.io.try_io(Interest::READABLE, f)
    }

    /// Deregisters the pipe end and returns its fd in blocking mode
    /// (`O_NONBLOCK` cleared), say to hand to a child process.
    pub fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        self.io.into_blocking_fd()
    }

    /// Deregisters the pipe end and returns its fd, still non-blocking.
    pub fn into_nonblocking_fd(self) -> io::Result<OwnedFd> {
        self.io.into_nonblocking_fd()
    }
}

impl_read_io!([] Receiver, |this| &this.io);

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> RawFd {
        self.io.io.as_raw_fd()
    }
}

impl AsFd for Receiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.io.as_fd()
    }
}

// ---- vectored IO --------------------------------------------------------

// ---- fd checks and flags ------------------------------------------------

/// A libc call's result: `-1` is the thread's `errno`.
fn cvt(res: libc::c_int) -> io::Result<libc::c_int> {
    if res == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(res)
    }
}

fn not_a_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a pipe")
}

/// `from_owned_fd`'s checks, tokio's: `fd` is a pipe or FIFO open for
/// `end`'s direction (else `InvalidInput`, with tokio's messages); then it
/// is made non-blocking.
fn check_end(fd: BorrowedFd<'_>, end: PipeEnd) -> io::Result<()> {
    if !is_pipe(fd)? {
        return Err(not_a_pipe());
    }
    let flags = get_file_flags(fd)?;
    let (access, mode_error) = match end {
        PipeEnd::Sender => (has_write_access(flags), "not in O_WRONLY or O_RDWR access mode"),
        PipeEnd::Receiver => (has_read_access(flags), "not in O_RDONLY or O_RDWR access mode"),
    };
    if !access {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, mode_error));
    }
    set_nonblocking(fd, flags)
}

/// Whether `fd` is a pipe or a FIFO (`fstat`: `S_IFIFO`).
fn is_pipe(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fd` is open (borrowed), and `stat` points to writable memory
    // for a `libc::stat`.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), stat.as_mut_ptr()) })?;
    // SAFETY: `fstat` succeeded, so it filled `stat` in.
    let stat = unsafe { stat.assume_init() };
    Ok(stat.st_mode & libc::S_IFMT == libc::S_IFIFO)
}

/// The file status flags of `fd` (`fcntl(F_GETFL)`).
fn get_file_flags(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: `F_GETFL` on an open (borrowed) fd only reads its flags.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })
}

/// `O_RDONLY` or `O_RDWR` access mode.
fn has_read_access(flags: libc::c_int) -> bool {
    let mode = flags & libc::O_ACCMODE;
    mode == libc::O_RDONLY || mode == libc::O_RDWR
}

/// `O_WRONLY` or `O_RDWR` access mode.
fn has_write_access(flags: libc::c_int) -> bool {
    let mode = flags & libc::O_ACCMODE;
    mode == libc::O_WRONLY || mode == libc::O_RDWR
}

/// Sets `O_NONBLOCK` on `fd`, whose flags are `flags` (no call if set).
fn set_nonblocking(fd: BorrowedFd<'_>, flags: libc::c_int) -> io::Result<()> {
    let new = flags | libc::O_NONBLOCK;
    if new != flags {
        // SAFETY: `F_SETFL` on an open (borrowed) fd changes only its status
        // flags.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) })?;
    }
    Ok(())
}

/// Clears `O_NONBLOCK` on `fd`.
fn set_blocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = get_file_flags(fd)?;
    let new = flags & !libc::O_NONBLOCK;
    if new != flags {
        // SAFETY: as in `set_nonblocking`.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, new) })?;
    }
    Ok(())
}
