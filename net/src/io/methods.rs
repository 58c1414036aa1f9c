//! [`evented_methods!`]: the socket types' public readiness, `try_*` and
//! connected-datagram methods, each written once.

/// Defines public readiness and `try_*` methods (tokio's names, signatures
/// and semantics) on a socket type, each forwarding to the
/// [`Evented`](super::Evented) that `$io` returns (`$this` is `&self`
/// there). Each type lists the methods it offers; each method is written
/// once, in its arm below:
///
/// ```text
/// impl TcpStream {
///     evented_methods!(|this| &this.io; ready, readable, try_read);
/// }
/// ```
macro_rules! evented_methods {
    (|$this:ident| $io:expr; $($method:ident),+ $(,)?) => {
        $( $crate::io::evented_methods!(@$method |$this| $io); )+
    };

    // ---- readiness, every socket type ----
    (@ready |$this:ident| $io:expr) => {
        /// Waits for any of the requested readiness; returns what is ready.
        ///
        /// Takes sockwq's [`Interest`](sockwq_reactor::Interest) or tokio's
        /// `Interest`. Any number of tasks may wait at once. The readiness
        /// may be a false positive: the next `try_*` call may still return
        /// `WouldBlock`.
        pub async fn ready(
            &self,
            interest: impl Into<sockwq_reactor::Interest>,
        ) -> std::io::Result<sockwq_reactor::Ready> {
            let $this = self;
            $io.ready(interest.into()).await
        }
    };
    (@readable |$this:ident| $io:expr) => {
        /// Waits until the socket is readable (data, end of stream or an
        /// error), so that a `try_*` read or receive may succeed.
        pub async fn readable(&self) -> std::io::Result<()> {
            let $this = self;
            $io.readable().await
        }
    };
    (@writable |$this:ident| $io:expr) => {
        /// Waits until the socket is writable, so that a `try_*` write or
        /// send may succeed.
        pub async fn writable(&self) -> std::io::Result<()> {
            let $this = self;
            $io.writable().await
        }
    };
    (@poll_read_ready |$this:ident| $io:expr) => {
        /// Polls for read readiness. On `Pending`, the waker is woken when
        /// the socket becomes readable; only the last task to poll is
        /// guaranteed a wakeup.
        pub fn poll_read_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_read_ready(cx)
        }
    };
    (@poll_write_ready |$this:ident| $io:expr) => {
        /// Polls for write readiness. On `Pending`, the waker is woken when
        /// the socket becomes writable; only the last task to poll is
        /// guaranteed a wakeup.
        pub fn poll_write_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_write_ready(cx)
        }
    };
    (@poll_recv_ready |$this:ident| $io:expr) => {
        /// Polls for receive readiness. On `Pending`, the waker is woken
        /// when a datagram can be received; only the last task to poll is
        /// guaranteed a wakeup.
        pub fn poll_recv_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_read_ready(cx)
        }
    };
    (@poll_send_ready |$this:ident| $io:expr) => {
        /// Polls for send readiness. On `Pending`, the waker is woken when
        /// the socket can send; only the last task to poll is guaranteed a
        /// wakeup.
        pub fn poll_send_ready(
            &self,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_write_ready(cx)
        }
    };
    (@try_io |$this:ident| $io:expr) => {
        /// Runs a user IO operation `f` on the socket if it is ready for
        /// `interest`; if `f` returns `WouldBlock`, that readiness is
        /// cleared. Returns `WouldBlock` without calling `f` if not ready
        /// (as tokio's `try_io`).
        ///
        /// `f` should do its IO with raw syscalls on the fd (not with this
        /// type's methods), and return `WouldBlock` only when a syscall did.
        pub fn try_io<R>(
            &self,
            interest: impl Into<sockwq_reactor::Interest>,
            f: impl FnOnce() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            let $this = self;
            $io.try_io(interest.into(), f)
        }
    };
    (@async_io |$this:ident| $io:expr) => {
        /// Waits for `interest` and runs `f` until it returns anything but
        /// `WouldBlock` (clearing readiness on each `WouldBlock`), as
        /// tokio's `async_io`. Use one interest (readable or writable).
        pub async fn async_io<R>(
            &self,
            interest: impl Into<sockwq_reactor::Interest>,
            f: impl FnMut() -> std::io::Result<R>,
        ) -> std::io::Result<R> {
            let $this = self;
            $io.async_io(interest.into(), f).await
        }
    };

    // ---- stream reads and writes ----
    (@try_read |$this:ident| $io:expr) => {
        /// Tries to read into `buf` without waiting; `WouldBlock` if no
        /// data is queued (and then read readiness is cleared). `Ok(0)`
        /// means end of stream (or an empty `buf`).
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read(buf)
        }
    };
    (@try_read_vectored |$this:ident| $io:expr) => {
        /// Like [`try_read`](Self::try_read), into several buffers with one
        /// `readv`.
        pub fn try_read_vectored(
            &self,
            bufs: &mut [std::io::IoSliceMut<'_>],
        ) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read_vectored(bufs)
        }
    };
    (@try_read_buf |$this:ident| $io:expr) => {
        /// Like [`try_read`](Self::try_read), appending to a
        /// [`bytes::BufMut`] (its spare capacity is not zeroed first).
        pub fn try_read_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read_buf(buf)
        }
    };
    (@try_write |$this:ident| $io:expr) => {
        /// Tries to write `buf` without waiting (`send` with
        /// `MSG_NOSIGNAL`); `WouldBlock` if the send buffer is full (and
        /// then write readiness is cleared). Returns how many bytes were
        /// written.
        pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_write(buf)
        }
    };
    (@try_write_vectored |$this:ident| $io:expr) => {
        /// Like [`try_write`](Self::try_write), from several buffers with
        /// one `sendmsg`.
        pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_write_vectored(bufs)
        }
    };

    // ---- datagram sends and receives ----
    (@send |$this:ident| $io:expr) => {
        /// Sends a datagram to the connected peer (`MSG_NOSIGNAL`); returns
        /// the bytes sent.
        pub async fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.send(buf).await
        }
    };
    (@poll_send |$this:ident| $io:expr) => {
        /// Polls to send a datagram to the connected peer.
        pub fn poll_send(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let $this = self;
            $io.poll_send(cx, buf)
        }
    };
    (@try_send |$this:ident| $io:expr) => {
        /// Sends a datagram to the connected peer without waiting:
        /// `WouldBlock` if the send buffer is full.
        pub fn try_send(&self, buf: &[u8]) -> std::io::Result<usize> {
            let $this = self;
            // The same `send(2)` as a stream's `try_write`.
            $io.try_write(buf)
        }
    };
    (@recv |$this:ident| $io:expr) => {
        /// Receives a datagram from the connected peer, truncated to
        /// `buf.len()` (the rest of a longer datagram is discarded).
        pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.recv(buf).await
        }
    };
    (@try_recv |$this:ident| $io:expr) => {
        /// Receives a datagram without waiting: `WouldBlock` if no datagram
        /// is queued.
        pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.try_recv(buf)
        }
    };
    (@poll_recv |$this:ident| $io:expr) => {
        /// Polls to receive a datagram into `buf`'s unfilled part, which is
        /// never zeroed first; a datagram longer than the space left is
        /// truncated.
        #[cfg(feature = "tokio")]
        pub fn poll_recv(
            &self,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let $this = self;
            $io.poll_recv(cx, buf)
        }
    };
    (@peek |$this:ident| $io:expr) => {
        /// Receives the next datagram from the connected peer without
        /// removing it from the queue.
        pub async fn peek(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let $this = self;
            $io.peek(buf).await
        }
    };
    (@try_recv_buf |$this:ident| $io:expr) => {
        /// Receives a datagram into `buf`'s spare capacity (not zeroed
        /// first) without waiting; truncated to that capacity.
        /// `WouldBlock` if no datagram is queued.
        pub fn try_recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            let $this = self;
            $io.try_read_buf(buf)
        }
    };
    (@recv_buf |$this:ident| $io:expr) => {
        /// Receives a datagram into `buf`'s spare capacity (not zeroed
        /// first); truncated to that capacity.
        pub async fn recv_buf<B: bytes::BufMut>(&self, buf: &mut B) -> std::io::Result<usize> {
            let $this = self;
            $io.recv_buf(buf).await
        }
    };
}
pub(crate) use evented_methods;
