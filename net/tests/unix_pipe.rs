//! `sockwq_net::unix::pipe`, as `tokio::net::unix::pipe`: anonymous pipes
//! and FIFOs, over real pipes. Every test runs under a watchdog: a lost
//! wakeup hangs, and so fails.
//!
//! `no_fd_leaked` counts the process's fds, so it takes `FDS` for writing;
//! every other test holds it for reading (they run in parallel with each
//! other, never with the fd count).

use sockwq_test_support as support;

use std::ffi::CString;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sockwq_net::unix::pipe::{self, OpenOptions, Receiver, Sender};
use sockwq_reactor::{Interest, Reactor};
use support::{Rng, assert_would_block, block_on, retry_would_block, with_watchdog};

const T: u64 = 60;

static FDS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    FDS.read().unwrap_or_else(|e| e.into_inner())
}

/// A FIFO in the temp dir, removed on drop.
struct Fifo(PathBuf);

impl Fifo {
    fn new(tag: &str) -> Fifo {
        let p = support::temp_path(tag);
        let c = CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        let r = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(r, 0, "mkfifo: {}", io::Error::last_os_error());
        Fifo(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn flags(fd: BorrowedFd<'_>) -> libc::c_int {
    // SAFETY: `F_GETFL` on an open (borrowed) fd only reads its flags.
    let f = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert!(f >= 0, "F_GETFL: {}", io::Error::last_os_error());
    f
}

fn is_nonblocking(fd: impl AsFd) -> bool {
    flags(fd.as_fd()) & libc::O_NONBLOCK != 0
}

/// Shrinks the pipe's buffer to one page, so that a writer fills it, and
/// waits for the reader, many times over.
fn shrink(fd: RawFd) {
    // SAFETY: `F_SETPIPE_SZ` on an open pipe fd only resizes its buffer.
    let r = unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, 4096) };
    assert!(r >= 4096, "F_SETPIPE_SZ: {}", io::Error::last_os_error());
}

/// Whether `poll_read_ready` is ready now (polled with a no-op waker).
fn read_ready_now(rx: &Receiver) -> bool {
    matches!(
        rx.poll_read_ready(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(Ok(()))
    )
}

/// Whether `poll_write_ready` is ready now (polled with a no-op waker).
fn write_ready_now(tx: &Sender) -> bool {
    matches!(
        tx.poll_write_ready(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(Ok(()))
    )
}

fn pattern(len: usize, seed: u64) -> Arc<Vec<u8>> {
    let mut data = vec![0u8; len];
    Rng::new(seed).fill(&mut data);
    Arc::new(data)
}

/// Writes `data` in chunks of random sizes through futures-io's
/// `AsyncWrite` (partial writes included), then closes the pipe end.
async fn write_all_chunks(mut tx: Sender, data: Arc<Vec<u8>>, seed: u64) {
    use futures_util::io::AsyncWriteExt;
    let mut rng = Rng::new(seed);
    let mut off = 0;
    while off < data.len() {
        let end = (off + rng.range(1, 20_000)).min(data.len());
        let n = tx.write(&data[off..end]).await.unwrap();
        assert!(n > 0);
        off += n;
    }
    tx.close().await.unwrap();
}

/// Reads until end of file in chunks of random sizes, checking every byte
/// against `data`.
async fn read_and_check(mut rx: Receiver, data: Arc<Vec<u8>>, seed: u64) {
    use futures_util::io::AsyncReadExt;
    let mut rng = Rng::new(seed);
    let mut buf = vec![0u8; 20_000];
    let mut off = 0;
    loop {
        let want = rng.range(1, buf.len());
        let n = rx.read(&mut buf[..want]).await.unwrap();
        if n == 0 {
            break;
        }
        assert!(off + n <= data.len(), "read past the end: {} bytes", off + n);
        if buf[..n] != data[off..off + n] {
            let i = (0..n).find(|&i| buf[i] != data[off + i]).unwrap();
            panic!("byte {} differs: {} != {}", off + i, buf[i], data[off + i]);
        }
        off += n;
    }
    assert_eq!(off, data.len(), "end of file before all bytes came");
}

const LEN: usize = 2 << 20;

#[test]
fn round_trip_writer_and_reader_tasks_in_one_executor() {
    let _g = shared();
    block_on(T, async {
        let (tx, rx) = pipe::pipe().unwrap();
        shrink(tx.as_raw_fd());
        let data = pattern(LEN, 1);
        futures::join!(write_all_chunks(tx, data.clone(), 2), read_and_check(rx, data, 3));
    });
}

#[test]
fn round_trip_writer_and_reader_on_two_threads() {
    let _g = shared();
    with_watchdog(T, || {
        let (tx, rx) = pipe::pipe().unwrap();
        shrink(rx.as_raw_fd());
        let data = pattern(LEN, 4);
        let d = data.clone();
        let writer = std::thread::spawn(move || futures::executor::block_on(write_all_chunks(tx, d, 5)));
        futures::executor::block_on(read_and_check(rx, data, 6));
        writer.join().unwrap();
    });
}

#[test]
fn round_trip_under_sockwq_runtime() {
    let _g = shared();
    with_watchdog(T, || {
        sockwq_runtime::block_on(async {
            let (tx, rx) = pipe::pipe().unwrap();
            shrink(tx.as_raw_fd());
            let data = pattern(LEN, 7);
            let w = sockwq_runtime::spawn(write_all_chunks(tx, data.clone(), 8));
            read_and_check(rx, data, 9).await;
            w.await.unwrap();
        });
    });
}

#[test]
fn tokio_traits_in_a_current_thread_runtime() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _g = shared();
    with_watchdog(T, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (mut tx, mut rx) = pipe::pipe().unwrap();
            shrink(tx.as_raw_fd());
            let data = pattern(LEN, 10);
            let d = data.clone();
            let writer = tokio::spawn(async move {
                assert!(tokio::io::AsyncWrite::is_write_vectored(&tx));
                for chunk in d.chunks(7_777) {
                    tx.write_all(chunk).await.unwrap();
                }
                tx.shutdown().await.unwrap();
                tx.flush().await.unwrap();
            });
            let ready = rx.ready(tokio::io::Interest::READABLE).await.unwrap();
            assert!(ready.is_readable());
            let mut head = vec![0u8; 100_000];
            rx.read_exact(&mut head).await.unwrap();
            assert_eq!(head[..], data[..head.len()]);
            let mut rest = Vec::new();
            rx.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest.len(), data.len() - head.len());
            assert!(rest[..] == data[head.len()..], "bytes differ");
            writer.await.unwrap();
        });
    });
}

#[test]
fn eof_after_the_sender_drops() {
    let _g = shared();
    block_on(T, async {
        use futures_util::io::{AsyncReadExt, AsyncWriteExt};
        let (mut tx, mut rx) = pipe::pipe().unwrap();
        tx.write_all(b"last words").await.unwrap();
        drop(tx);
        let mut got = Vec::new();
        rx.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
        // End of file stays: every later read returns 0 at once.
        let mut buf = [0u8; 8];
        assert_eq!(rx.read(&mut buf).await.unwrap(), 0);
        let ready = rx.ready(Interest::READABLE).await.unwrap();
        assert!(ready.is_read_closed(), "{ready:?}");
        assert_eq!(rx.try_read(&mut buf).unwrap(), 0);
    });
}

#[test]
fn a_waiting_reader_wakes_at_eof() {
    let _g = shared();
    block_on(T, async {
        use futures_util::io::AsyncReadExt;
        let (tx, mut rx) = pipe::pipe().unwrap();
        let dropper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(tx);
        });
        let mut buf = [0u8; 8];
        assert_eq!(rx.read(&mut buf).await.unwrap(), 0);
        dropper.join().unwrap();
    });
}

#[test]
fn epipe_after_the_receiver_drops() {
    let _g = shared();
    block_on(T, async {
        use futures_util::io::AsyncWriteExt;
        let (mut tx, rx) = pipe::pipe().unwrap();
        drop(rx);
        let err = tx.write_all(b"nobody reads this").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
        let ready = tx.ready(Interest::WRITABLE).await.unwrap();
        assert!(ready.is_write_closed(), "{ready:?}");
        let err = tx.try_write(b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
    });
}

#[test]
fn a_writer_waiting_on_a_full_pipe_wakes_with_epipe() {
    let _g = shared();
    block_on(T, async {
        use futures_util::io::AsyncWriteExt;
        let (mut tx, rx) = pipe::pipe().unwrap();
        shrink(tx.as_raw_fd());
        let dropper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(rx);
        });
        // More than the pipe holds: the writer fills it, then waits.
        let err = tx.write_all(&[7u8; 64 * 1024]).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPIPE));
        dropper.join().unwrap();
    });
}

#[test]
fn try_read_would_block_on_an_empty_pipe_until_data_comes() {
    let _g = shared();
    block_on(T, async {
        let (tx, rx) = pipe::pipe().unwrap();
        let mut buf = [0u8; 16];
        assert_would_block(rx.try_read(&mut buf));
        assert!(!read_ready_now(&rx));
        assert_would_block(rx.try_read(&mut buf));

        retry_would_block(|| tx.writable(), || tx.try_write(b"hello")).await;
        let n = retry_would_block(|| rx.readable(), || rx.try_read(&mut buf)).await;
        assert_eq!(&buf[..n], b"hello");
        // Drained: the next read would block, and says so.
        assert_would_block(rx.try_read(&mut buf));
        assert!(!read_ready_now(&rx));
    });
}

#[test]
fn try_write_would_block_on_a_full_pipe_until_it_is_read() {
    let _g = shared();
    block_on(T, async {
        let (tx, rx) = pipe::pipe().unwrap();
        let chunk = vec![0xa5u8; 16 * 1024];
        let mut written = 0;
        tx.writable().await.unwrap();
        loop {
            match tx.try_write(&chunk) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
            assert!(written <= 16 << 20, "the pipe never filled");
        }
        assert!(written >= 4096, "wrote only {written} bytes");
        assert_would_block(tx.try_write(b"x"));
        assert!(!write_ready_now(&tx), "a full pipe reads as writable");

        // Drain it all; write readiness comes back.
        let mut buf = vec![0u8; 64 * 1024];
        let mut read = 0;
        while read < written {
            let n = retry_would_block(|| rx.readable(), || rx.try_read(&mut buf)).await;
            assert!(buf[..n].iter().all(|&b| b == 0xa5));
            read += n;
        }
        assert_eq!(read, written);
        tx.writable().await.unwrap();
        assert_eq!(tx.try_write(b"again").unwrap(), 5);
    });
}

#[test]
fn try_vectored_buf_and_io() {
    let _g = shared();
    block_on(T, async {
        let (tx, rx) = pipe::pipe().unwrap();
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        let n = retry_would_block(|| tx.writable(), || tx.try_write_vectored(&bufs)).await;
        assert_eq!(n, 4);

        let (mut a, mut b) = ([0u8; 1], [0u8; 2]);
        let n = retry_would_block(
            || rx.readable(),
            || rx.try_read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]),
        )
        .await;
        assert_eq!((n, &a, &b), (3, b"a", b"bc"));

        let mut v = Vec::with_capacity(8);
        let n = retry_would_block(|| rx.readable(), || rx.try_read_buf(&mut v)).await;
        assert_eq!((n, &v[..]), (1, &b"d"[..]));

        // try_io with raw syscalls on the fd.
        let tfd = tx.as_raw_fd();
        let n = retry_would_block(
            || tx.writable(),
            || {
                tx.try_io(|| {
                    // SAFETY: `tfd` is the sender's open fd; the buffer is valid.
                    let r = unsafe { libc::write(tfd, b"raw".as_ptr().cast(), 3) };
                    if r < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(r as usize)
                    }
                })
            },
        )
        .await;
        assert_eq!(n, 3);
        let rfd = rx.as_fd().as_raw_fd();
        let mut buf = [0u8; 8];
        let n = retry_would_block(
            || rx.readable(),
            || {
                rx.try_io(|| {
                    // SAFETY: `rfd` is the receiver's open fd; `buf` is writable.
                    let r = unsafe { libc::read(rfd, buf.as_mut_ptr().cast(), buf.len()) };
                    if r < 0 {
                        Err(io::Error::last_os_error())
                    } else {
                        Ok(r as usize)
                    }
                })
            },
        )
        .await;
        assert_eq!(&buf[..n], b"raw");
        // A raw read's WouldBlock clears readiness too.
        let e = rx.try_io(|| {
            // SAFETY: as above.
            let r = unsafe { libc::read(rfd, buf.as_mut_ptr().cast(), buf.len()) };
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(r as usize)
            }
        });
        assert_would_block(e);
        assert!(!read_ready_now(&rx));
    });
}

/// A vectored read or write over more buffers than the kernel takes at
/// once (`UIO_MAXIOV`, 1024) moves only the first 1024: that is not a
/// short read or write (the pipe is neither empty nor full), so the
/// readiness stays and the next call goes on at once. Were it cleared, the
/// next call would wait for an edge that never comes.
#[test]
fn vectored_io_over_more_than_iov_max_buffers_keeps_the_readiness() {
    use futures::FutureExt;
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    const BUFS: usize = 2048;
    const IOV_MAX: usize = 1024;
    let _g = shared();
    block_on(T, async {
        let (mut tx, mut rx) = pipe::pipe().unwrap();
        let data = pattern(BUFS, 7);
        let slices: Vec<IoSlice<'_>> = data.chunks(1).map(IoSlice::new).collect();
        let n = tx.write_vectored(&slices).await.unwrap();
        assert_eq!(n, IOV_MAX, "one writev takes the first 1024 buffers");
        let n = tx
            .write_vectored(&slices[IOV_MAX..])
            .now_or_never()
            .expect("the pipe is far from full: the next write goes on at once")
            .unwrap();
        assert_eq!(n, IOV_MAX);

        let mut got = vec![0u8; BUFS];
        {
            let mut bufs: Vec<IoSliceMut<'_>> = got.chunks_mut(1).map(IoSliceMut::new).collect();
            let n = rx.read_vectored(&mut bufs).await.unwrap();
            assert_eq!(n, IOV_MAX, "one readv fills the first 1024 buffers");
        }
        {
            let mut bufs: Vec<IoSliceMut<'_>> = got[IOV_MAX..].chunks_mut(1).map(IoSliceMut::new).collect();
            let n = rx
                .read_vectored(&mut bufs)
                .now_or_never()
                .expect("1024 bytes are still in the pipe: the next read goes on at once")
                .unwrap();
            assert_eq!(n, IOV_MAX);
        }
        assert_eq!(got, *data);
    });
}

#[test]
fn from_file_refuses_a_regular_file() {
    let _g = shared();
    let path = support::temp_path("pipe-regular");
    std::fs::write(&path, b"data").unwrap();
    let rw = || File::options().read(true).write(true).open(&path).unwrap();
    for err in [
        Sender::from_file(rw()).unwrap_err(),
        Receiver::from_file(rw()).unwrap_err(),
        Sender::from_owned_fd(rw().into()).unwrap_err(),
        Receiver::from_owned_fd(rw().into()).unwrap_err(),
        OpenOptions::new().open_sender(&path).unwrap_err(),
        OpenOptions::new().open_receiver(&path).unwrap_err(),
    ] {
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "not a pipe");
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn from_file_refuses_the_wrong_access_mode() {
    use std::os::unix::fs::OpenOptionsExt;
    let _g = shared();
    let fifo = Fifo::new("pipe-mode");
    let nb = |read: bool| {
        File::options()
            .read(read)
            .write(!read)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo.path())
            .unwrap()
    };
    let reader = nb(true);
    let writer = nb(false);
    let err = Sender::from_file(reader).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(err.to_string(), "not in O_WRONLY or O_RDWR access mode");
    let err = Receiver::from_file(writer).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(err.to_string(), "not in O_RDONLY or O_RDWR access mode");

    // An anonymous pipe's ends, swapped.
    let (tx, rx) = pipe::pipe().unwrap();
    let (tfd, rfd) = (
        tx.into_nonblocking_fd().unwrap(),
        rx.into_nonblocking_fd().unwrap(),
    );
    let err = Sender::from_owned_fd(rfd).unwrap_err();
    assert_eq!(err.to_string(), "not in O_WRONLY or O_RDWR access mode");
    let err = Receiver::from_owned_fd(tfd).unwrap_err();
    assert_eq!(err.to_string(), "not in O_RDONLY or O_RDWR access mode");

    // O_RDWR is fine for both ends.
    let rw = || File::options().read(true).write(true).open(fifo.path()).unwrap();
    let tx = Sender::from_file(rw()).unwrap();
    let rx = Receiver::from_file(rw()).unwrap();
    assert!(
        is_nonblocking(&tx) && is_nonblocking(&rx),
        "from_file sets O_NONBLOCK"
    );
    block_on(T, async move {
        retry_would_block(|| tx.writable(), || tx.try_write(b"rw")).await;
        let mut buf = [0u8; 4];
        let n = retry_would_block(|| rx.readable(), || rx.try_read(&mut buf)).await;
        assert_eq!(&buf[..n], b"rw");
    });
}

#[test]
fn unchecked_skips_the_fifo_check() {
    let _g = shared();
    // A regular file: the check is skipped, and registering fails instead
    // (epoll refuses regular files with EPERM).
    let path = support::temp_path("pipe-unchecked");
    std::fs::write(&path, b"data").unwrap();
    let err = OpenOptions::new()
        .unchecked(true)
        .open_receiver(&path)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    let err = Receiver::from_file_unchecked(File::open(&path).unwrap()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    std::fs::remove_file(&path).unwrap();

    // A FIFO works unchecked.
    let fifo = Fifo::new("pipe-unchecked-fifo");
    let mut opts = OpenOptions::new();
    opts.unchecked(true);
    let rx = opts.open_receiver(fifo.path()).unwrap();
    let tx = opts.open_sender(fifo.path()).unwrap();
    block_on(T, async move {
        use futures_util::io::{AsyncReadExt, AsyncWriteExt};
        let (mut tx, mut rx) = (tx, rx);
        tx.write_all(b"unchecked").await.unwrap();
        drop(tx);
        let mut got = Vec::new();
        rx.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"unchecked");
    });
}

#[test]
fn opening_a_fifo_sender_with_no_reader_is_enxio() {
    let _g = shared();
    let fifo = Fifo::new("pipe-enxio");
    let err = OpenOptions::new().open_sender(fifo.path()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENXIO), "{err}");
    // Once a reader has it open, the sender opens.
    let rx = OpenOptions::new().open_receiver(fifo.path()).unwrap();
    let tx = OpenOptions::new().open_sender(fifo.path()).unwrap();
    assert!(is_nonblocking(&tx) && is_nonblocking(&rx));
    assert_eq!(flags(tx.as_fd()) & libc::O_ACCMODE, libc::O_WRONLY);
    assert_eq!(flags(rx.as_fd()) & libc::O_ACCMODE, libc::O_RDONLY);
    drop(rx);
    // Readers gone again: ENXIO again.
    drop(tx);
    let err = OpenOptions::new().open_sender(fifo.path()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENXIO), "{err}");
    assert_eq!(
        OpenOptions::new()
            .open_sender("/nonexistent/sockwq-fifo")
            .unwrap_err()
            .kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn a_fifo_receiver_waits_for_its_first_writer() {
    let _g = shared();
    let fifo = Fifo::new("pipe-first-writer");
    let rx = OpenOptions::new().open_receiver(fifo.path()).unwrap();
    // No writer yet: nothing to read, and no end of file either.
    assert_would_block(rx.try_read(&mut [0u8; 8]));
    assert!(!read_ready_now(&rx));
    let path = fifo.path().to_owned();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let mut f = File::options().write(true).open(path).unwrap();
        f.write_all(b"first").unwrap();
    });
    block_on(T, async move {
        use futures_util::io::AsyncReadExt;
        let mut rx = rx;
        let mut got = Vec::new();
        rx.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"first");
    });
    writer.join().unwrap();
}

#[test]
fn read_write_opens_a_fifo_sender_with_no_reader() {
    let _g = shared();
    let fifo = Fifo::new("pipe-rw");
    let tx = OpenOptions::new()
        .read_write(true)
        .open_sender(fifo.path())
        .unwrap();
    assert_eq!(flags(tx.as_fd()) & libc::O_ACCMODE, libc::O_RDWR);
    let path = fifo.path().to_owned();
    block_on(T, async move {
        use futures_util::io::{AsyncReadExt, AsyncWriteExt};
        let mut tx = tx;
        // Written before any reader comes; kept by the pipe.
        tx.write_all(b"early").await.unwrap();
        let mut rx = OpenOptions::new().open_receiver(&path).unwrap();
        let mut buf = [0u8; 5];
        rx.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"early");
    });
}

#[test]
fn a_read_write_receiver_never_sees_eof() {
    let _g = shared();
    let fifo = Fifo::new("pipe-rw-rx");
    let rx = OpenOptions::new()
        .read_write(true)
        .open_receiver(fifo.path())
        .unwrap();
    let tx = OpenOptions::new().open_sender(fifo.path()).unwrap();
    let path = fifo.path().to_owned();
    block_on(T, async move {
        use futures_util::io::AsyncWriteExt;
        let mut tx = tx;
        tx.write_all(b"one").await.unwrap();
        drop(tx);
        let mut buf = [0u8; 8];
        let n = retry_would_block(|| rx.readable(), || rx.try_read(&mut buf)).await;
        assert_eq!(&buf[..n], b"one");
        // The writer left, but the receiver's own writing end keeps the
        // pipe open: no end of file, the pipe is just empty.
        assert_would_block(rx.try_read(&mut buf));

        // A read waiting for the next writer wakes when it writes.
        let path = path.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut f = File::options().write(true).open(path).unwrap();
            f.write_all(b"two").unwrap();
        });
        use futures_util::io::AsyncReadExt;
        let mut rx = rx;
        let mut two = [0u8; 3];
        rx.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"two");
        writer.join().unwrap();
    });
}

#[test]
fn a_fifo_receiver_reads_eof_then_the_next_writer() {
    let _g = shared();
    let fifo = Fifo::new("pipe-next-writer");
    let rx = OpenOptions::new().open_receiver(fifo.path()).unwrap();
    let path = fifo.path().to_owned();
    block_on(T, async move {
        use futures_util::io::{AsyncReadExt, AsyncWriteExt};
        let mut rx = rx;
        for round in 0..3u8 {
            let mut tx = OpenOptions::new().open_sender(&path).unwrap();
            tx.write_all(&[round; 10]).await.unwrap();
            drop(tx);
            let mut buf = [0u8; 10];
            rx.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [round; 10]);
            let err = rx.read_exact(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        }
    });
}

#[test]
fn into_blocking_and_nonblocking_fds() {
    let _g = shared();
    let (tx, rx) = pipe::pipe().unwrap();
    assert!(is_nonblocking(&tx) && is_nonblocking(&rx));
    let tfd = tx.into_blocking_fd().unwrap();
    assert!(!is_nonblocking(&tfd), "into_blocking_fd left O_NONBLOCK set");
    let rfd = rx.into_nonblocking_fd().unwrap();
    assert!(is_nonblocking(&rfd), "into_nonblocking_fd cleared O_NONBLOCK");

    // Plain blocking IO on the returned fds.
    let mut w = File::from(tfd);
    w.write_all(b"plain").unwrap();

    // Wrapping them again registers them anew (the old registrations are
    // gone, or epoll would refuse the fd with EEXIST) and sets O_NONBLOCK.
    let tx = Sender::from_owned_fd(w.into()).unwrap();
    assert!(is_nonblocking(&tx));
    let rx = Receiver::from_owned_fd(rfd).unwrap();
    block_on(T, async move {
        use futures_util::io::AsyncReadExt;
        drop(tx);
        let mut rx = rx;
        let mut got = String::new();
        rx.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "plain");
    });

    // A blocking read end from into_blocking_fd reads as a std File.
    let (tx, rx) = pipe::pipe().unwrap();
    let mut r = File::from(rx.into_blocking_fd().unwrap());
    block_on(T, async move {
        use futures_util::io::AsyncWriteExt;
        let mut tx = tx;
        tx.write_all(b"to std").await.unwrap();
    });
    let mut got = String::new();
    r.read_to_string(&mut got).unwrap();
    assert_eq!(got, "to std");
}

#[test]
fn a_shut_down_reactor_is_an_error_not_a_panic_or_hang() {
    let _g = shared();
    with_watchdog(T, || {
        let reactor = Reactor::new().unwrap();
        let handle = reactor.handle();
        let _enter = handle.enter();
        let (tx, rx) = pipe::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                use futures_util::io::AsyncReadExt;
                let mut rx = rx;
                rx.read(&mut [0u8; 8]).await
            })
        });
        // The reactor is never turned: the reader waits until shutdown.
        std::thread::sleep(Duration::from_millis(20));
        drop(reactor);
        let err = reader.join().unwrap().unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
        let err = tx.try_write(b"x").unwrap_err();
        assert!(err.to_string().contains("shut down"), "{err}");
        // New pipe ends cannot register: an error, where tokio panics.
        assert!(pipe::pipe().is_err());
    });
}

#[test]
fn debug_and_options() {
    let _g = shared();
    let (tx, rx) = pipe::pipe().unwrap();
    let (ts, rs) = (format!("{tx:?}"), format!("{rx:?}"));
    assert!(
        ts.starts_with("Sender") && ts.contains(&tx.as_raw_fd().to_string()),
        "{ts}"
    );
    assert!(
        rs.starts_with("Receiver") && rs.contains(&rx.as_raw_fd().to_string()),
        "{rs}"
    );
    assert_eq!(tx.as_fd().as_raw_fd(), tx.as_raw_fd());

    let mut o = OpenOptions::default();
    assert_eq!(format!("{o:?}"), format!("{:?}", OpenOptions::new()));
    assert_eq!(
        format!("{o:?}"),
        "OpenOptions { read_write: false, unchecked: false }"
    );
    o.read_write(true).unchecked(true);
    let c = o.clone();
    assert_eq!(
        format!("{c:?}"),
        "OpenOptions { read_write: true, unchecked: true }"
    );
}

#[test]
fn no_fd_leaked() {
    let _g = FDS.write().unwrap_or_else(|e| e.into_inner());
    // Warm up: the global reactor's fds are made on first use.
    drop(pipe::pipe().unwrap());
    let before = support::open_fds();
    for _ in 0..20 {
        let (tx, rx) = pipe::pipe().unwrap();
        block_on(T, async move {
            use futures_util::io::{AsyncReadExt, AsyncWriteExt};
            let (mut tx, mut rx) = (tx, rx);
            tx.write_all(b"x").await.unwrap();
            drop(tx);
            let mut v = Vec::new();
            rx.read_to_end(&mut v).await.unwrap();
        });
        let (tx, rx) = pipe::pipe().unwrap();
        drop(tx.into_blocking_fd().unwrap());
        drop(rx.into_nonblocking_fd().unwrap());

        let fifo = Fifo::new("pipe-leak");
        assert!(OpenOptions::new().open_sender(fifo.path()).is_err());
        let rx = OpenOptions::new().open_receiver(fifo.path()).unwrap();
        let tx = OpenOptions::new().open_sender(fifo.path()).unwrap();
        drop((tx, rx));
        let rx = File::open(fifo.path().parent().unwrap()).unwrap();
        assert!(Receiver::from_file(rx).is_err());
        let (tx, rx) = pipe::pipe().unwrap();
        let rfd = rx.into_nonblocking_fd().unwrap();
        assert!(Sender::from_owned_fd(rfd).is_err());
        drop(tx);
    }
    let after = support::open_fds();
    assert_eq!(before, after, "fds leaked");
}
