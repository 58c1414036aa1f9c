//! [`UdpSocket`]: a UDP socket on the sockwq reactor, with the API of
//! `tokio::net::UdpSocket`.

use std::fmt;
use std::io;
use std::net::{self, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

use sockwq_reactor::Interest;

use crate::addr::ToSocketAddrs;
use crate::io::Evented;

/// Resolves `addr` without blocking the executor on DNS (IP literals are
/// parsed in place).
async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<impl Iterator<Item = SocketAddr>> {
    crate::addr::to_socket_addrs(addr).await
}

/// A UDP socket (as `tokio::net::UdpSocket`).
///
/// UDP is connectionless: [`bind`](Self::bind) and then
/// [`send_to`](Self::send_to)/[`recv_from`](Self::recv_from) any peer, or
/// [`connect`](Self::connect) to fix one peer and use
/// [`send`](Self::send)/[`recv`](Self::recv) (datagrams from other
/// addresses are then dropped by the kernel). All methods take `&self`, so
/// one socket can be shared (e.g. in an `Arc`) by a sending and a
/// receiving task.
///
/// **Truncation.** A receive buffer shorter than the datagram gets the
/// datagram's first `buf.len()` bytes and the call returns `buf.len()`; the
/// rest of that datagram is discarded, and the next receive returns the
/// next datagram — as tokio's and `recv(2)`'s. Size buffers for the
/// largest datagram you expect (65,507 bytes for UDP over IPv4).
///
/// ```
/// use sockwq_net::UdpSocket;
///
/// futures::executor::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0u8; 64];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    io: Evented<net::UdpSocket>,
}

impl UdpSocket {
    fn new(sock: net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Evented::new(sock)?,
        })
    }

    /// Creates a socket bound to `addr`; tries each resolved address in
    /// turn and returns the last error if none binds.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let mut last_err = None;
        for addr in resolve(addr).await? {
            match net::UdpSocket::bind(addr) {
                Ok(sock) => return UdpSocket::new(sock),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(crate::addr::no_addresses))
    }

    /// Wraps a std socket (sets it non-blocking, unlike tokio, which
    /// requires the caller to).
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::new(socket)
    }

    /// Deregisters and returns the std socket, still non-blocking.
    pub fn into_std(self) -> io::Result<net::UdpSocket> {
        self.io.into_inner()
    }

    /// The local address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` if not connected).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Connects the socket to `addr` (the first resolved address that
    /// works): `send`/`recv` then use that peer, and datagrams from other
    /// addresses are dropped.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let mut last_err = None;
        for addr in resolve(addr).await? {
            match self.io.get_ref().connect(addr) {
                Ok(()) => return Ok(()),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(crate::addr::no_addresses))
    }

    crate::io::evented_methods!(|this| &this.io;
        ready, readable, writable, poll_recv_ready, poll_send_ready,
        send, poll_send, try_send, recv, poll_recv, try_recv, peek,
        try_recv_buf, recv_buf, try_io, async_io,
    );

    /// Like [`try_recv_buf`](Self::try_recv_buf), also returning the
    /// sender's address.
    pub fn try_recv_buf_from<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.try_recv_buf_from(buf)?;
        Ok((n, inet(&addr)?))
    }

    /// Like [`recv_buf`](Self::recv_buf), also returning the sender's
    /// address.
    pub async fn recv_buf_from<B: bytes::BufMut>(&self, buf: &mut B) -> io::Result<(usize, SocketAddr)> {
        let (n, addr) = self.io.recv_buf_from(buf).await?;
        Ok((n, inet(&addr)?))
    }

    /// Sends a datagram to `target` (the first address it resolves to).
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        match resolve(target).await?.next() {
            Some(target) => {
                self.io
                    .async_io(Interest::WRITABLE, || self.io.get_ref().send_to(buf, target))
                    .await
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            )),
        }
    }

    /// Polls to send a datagram to `target`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Interest::WRITABLE, || self.io.get_ref().send_to(buf, target))
    }

    /// Sends a datagram to `target` without waiting.
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io
            .try_io(Interest::WRITABLE, || self.io.get_ref().send_to(buf, target))
    }

    /// Receives a datagram and its sender's address (truncated to
    /// `buf.len()`, see the type's docs).
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .async_io(Interest::READABLE, || self.io.get_ref().recv_from(buf))
            .await
    }

    /// Polls to receive a datagram into `buf`'s unfilled part (not zeroed
    /// first); returns the sender's address.
    #[cfg(feature = "tokio")]
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let addr = std::task::ready!(self.io.poll_recv_from(cx, buf))?;
        Poll::Ready(inet(&addr))
    }

    /// Receives a datagram and its sender's address without waiting.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .try_io(Interest::READABLE, || self.io.get_ref().recv_from(buf))
    }

    /// Polls to peek at the next datagram into `buf`'s unfilled part.
    #[cfg(feature = "tokio")]
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.io.poll_peek_read_buf(cx, buf).map_ok(drop)
    }

    /// Peeks without waiting: `WouldBlock` if no datagram is queued.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Interest::READABLE, || self.io.get_ref().peek(buf))
    }

    /// Receives the next datagram and its sender's address without
    /// removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .async_io(Interest::READABLE, || self.io.get_ref().peek_from(buf))
            .await
    }

    /// Polls to peek at the next datagram into `buf`'s unfilled part;
    /// returns the sender's address.
    #[cfg(feature = "tokio")]
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        self.io.poll_io(cx, Interest::READABLE, || {
            // SAFETY: the closure is a `recvfrom(MSG_PEEK)`, which only
            // writes received bytes and returns how many.
            let addr = unsafe { crate::io::recv_into_read_buf(buf, |b| self.io.sock_ref().peek_from(b))? };
            inet(&addr)
        })
    }

    /// [`peek_from`](Self::peek_from) without waiting.
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .try_io(Interest::READABLE, || self.io.get_ref().peek_from(buf))
    }

    /// The sender of the next queued datagram, which stays queued (no
    /// buffer needed: unlike a zero-length `peek_from`, this is not
    /// confused by truncation errors on some platforms).
    pub async fn peek_sender(&self) -> io::Result<SocketAddr> {
        self.io
            .async_io(Interest::READABLE, || self.peek_sender_now())
            .await
    }

    /// Polls for the sender of the next queued datagram.
    pub fn poll_peek_sender(&self, cx: &mut Context<'_>) -> Poll<io::Result<SocketAddr>> {
        self.io.poll_io(cx, Interest::READABLE, || self.peek_sender_now())
    }

    /// [`peek_sender`](Self::peek_sender) without waiting.
    pub fn try_peek_sender(&self) -> io::Result<SocketAddr> {
        self.io.try_io(Interest::READABLE, || self.peek_sender_now())
    }

    fn peek_sender_now(&self) -> io::Result<SocketAddr> {
        inet(&self.io.sock_ref().peek_sender()?)
    }

    /// Whether `SO_BROADCAST` is set.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets `SO_BROADCAST`: allows sending to broadcast addresses.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_LOOP`: whether multicast sent by this socket
    /// loops back to local sockets (IPv4 only).
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// The `IP_MULTICAST_TTL` (IPv4 multicast hop limit).
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets `IP_MULTICAST_TTL` (default 1: the local network only).
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// Sets `IPV6_MULTICAST_LOOP` (IPv6 only).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// The `IPV6_TCLASS` traffic class.
    pub fn tclass_v6(&self) -> io::Result<u32> {
        self.io.sock_ref().tclass_v6()
    }

    /// Sets `IPV6_TCLASS`.
    pub fn set_tclass_v6(&self, tclass: u32) -> io::Result<()> {
        self.io.sock_ref().set_tclass_v6(tclass)
    }

    /// The `IP_TTL` of outgoing unicast datagrams.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The `IP_TOS` type-of-service field (IPv4).
    pub fn tos_v4(&self) -> io::Result<u32> {
        self.io.sock_ref().tos_v4()
    }

    /// Sets `IP_TOS` (IPv4).
    pub fn set_tos_v4(&self, tos: u32) -> io::Result<()> {
        self.io.sock_ref().set_tos_v4(tos)
    }

    /// Deprecated. Use [`tos_v4()`](Self::tos_v4) instead.
    #[deprecated(note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific.")]
    #[doc(hidden)]
    pub fn tos(&self) -> io::Result<u32> {
        self.tos_v4()
    }

    /// Deprecated. Use [`set_tos_v4()`](Self::set_tos_v4) instead.
    #[deprecated(note = "`tos` related methods have been renamed `tos_v4` since they are IPv4-specific.")]
    #[doc(hidden)]
    pub fn set_tos(&self, tos: u32) -> io::Result<()> {
        self.set_tos_v4(tos)
    }

    /// The interface the socket is bound to (`SO_BINDTODEVICE`), if any.
    pub fn device(&self) -> io::Result<Option<Vec<u8>>> {
        self.io.sock_ref().device()
    }

    /// Binds the socket to an interface (`SO_BINDTODEVICE`; `None` unbinds).
    /// Usually needs `CAP_NET_RAW`.
    pub fn bind_device(&self, interface: Option<&[u8]>) -> io::Result<()> {
        self.io.sock_ref().bind_device(interface)
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with
    /// address `interface` (`UNSPECIFIED`: the kernel picks one).
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index
    /// `interface` (0: any).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    /// Returns and clears the socket's pending error (`SO_ERROR`), e.g. an
    /// ICMP port-unreachable on a connected socket.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

/// An IP socket address from a kernel address (`recvfrom` on a UDP socket
/// only ever returns IPv4 or IPv6 ones).
fn inet(addr: &socket2::SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "received a datagram from a non-IP address",
        )
    })
}

crate::io::impl_socket_traits!(UdpSocket, net::UdpSocket);

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("io", &self.io).finish()
    }
}
