//! Address resolution: [`ToSocketAddrs`] and [`lookup_host`], as in
//! `tokio::net`.
//!
//! IP literals (`"127.0.0.1:80"`, `("::1", 80)`, `SocketAddr`, ...) are
//! parsed in place and never touch the resolver. Host names are resolved
//! with the system resolver (`getaddrinfo`, through
//! `std::net::ToSocketAddrs`) on a short-lived thread of its own, so a slow
//! DNS lookup never blocks the executor thread; the answer comes back
//! through a oneshot channel.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::oneshot;

/// Converts or resolves without blocking to one or more `SocketAddr` values.
///
/// Implemented for the same types as `tokio::net::ToSocketAddrs`:
/// [`SocketAddr`], [`SocketAddrV4`], [`SocketAddrV6`], `(IpAddr, u16)`,
/// `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `&[SocketAddr]`, `str`, `String`,
/// `(&str, u16)`, `(String, u16)` and `&T` for any of these. The trait is
/// sealed: its method is an implementation detail.
///
/// Strings holding an IP literal are parsed in place; host names are
/// resolved on a separate thread (see [`lookup_host`]).
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

/// Resolves `addr` (a [`ToSocketAddrs`] value) to its socket addresses.
pub(crate) fn to_socket_addrs<T: ToSocketAddrs>(addr: T) -> sealed::Resolve {
    addr.to_socket_addrs(sealed::Internal)
}

/// Performs a DNS resolution, off the calling thread.
///
/// The returned iterator may not yield any values, depending on the
/// outcome of the lookup. IP literals are returned as they are, without a
/// lookup. Host names are resolved by the system resolver on a short-lived
/// thread, so the executor thread never blocks on DNS.
///
/// ```
/// # futures::executor::block_on(async {
/// use sockwq_net::lookup_host;
///
/// for addr in lookup_host("127.0.0.1:8080").await? {
///     assert_eq!(addr.port(), 8080);
/// }
/// for addr in lookup_host(("localhost", 8080)).await? {
///     assert!(addr.ip().is_loopback());
/// }
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub async fn lookup_host<T>(host: T) -> io::Result<impl Iterator<Item = SocketAddr>>
where
    T: ToSocketAddrs,
{
    to_socket_addrs(host).await
}

/// The error returned when an address resolves to nothing.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any address")
}

fn invalid_addr() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address")
}

/// Resolves `host` (a `"name:port"` string or a `(name, port)` pair) on a
/// thread of its own.
fn spawn_lookup<H>(host: H) -> sealed::Resolve
where
    H: std::net::ToSocketAddrs + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("sockwq-resolver".into())
        .spawn(move || {
            let res = std::net::ToSocketAddrs::to_socket_addrs(&host).map(Iterator::collect);
            // The receiver may be gone (the future was dropped): nothing to do.
            let _ = tx.send(res);
        });
    match spawned {
        Ok(_) => sealed::Resolve(sealed::State::Lookup(rx)),
        Err(e) => sealed::Resolve::ready(Err(e)),
    }
}

// ===== impl &T =====

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}

impl<T: sealed::ToSocketAddrsPriv + ?Sized> sealed::ToSocketAddrsPriv for &T {
    fn to_socket_addrs(&self, _: sealed::Internal) -> sealed::Resolve {
        (**self).to_socket_addrs(sealed::Internal)
    }
}

// ===== IP literals: never resolved =====

macro_rules! literal {
    ($ty:ty, |$s:ident| $to:expr) => {
        impl ToSocketAddrs for $ty {}

        impl sealed::ToSocketAddrsPriv for $ty {
            fn to_socket_addrs(&self, _: sealed::Internal) -> sealed::Resolve {
                let $s = self;
                sealed::Resolve::one($to)
            }
        }
    };
}

literal!(SocketAddr, |s| *s);
literal!(SocketAddrV4, |s| SocketAddr::V4(*s));
literal!(SocketAddrV6, |s| SocketAddr::V6(*s));
literal!((IpAddr, u16), |s| SocketAddr::from(*s));
literal!((Ipv4Addr, u16), |s| SocketAddr::from(*s));
literal!((Ipv6Addr, u16), |s| SocketAddr::from(*s));

impl ToSocketAddrs for &[SocketAddr] {}

impl sealed::ToSocketAddrsPriv for &[SocketAddr] {
    fn to_socket_addrs(&self, _: sealed::Internal) -> sealed::Resolve {
        // Owned: the future (and its addresses) must not borrow `self`.
        fn owned(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
            addrs.to_vec()
        }
        sealed::Resolve::ready(Ok(sealed::Addrs::More(owned(self).into_iter())))
    }
}

// ===== strings: parsed, else resolved off-thread =====

impl ToSocketAddrs for str {}

impl sealed::ToSocketAddrsPriv for str {
    fn to_socket_addrs(&self, _: sealed::Internal) -> sealed::Resolve {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return sealed::Resolve::one(addr);
        }
        // "host:port" with a valid port, else fail here without a thread.
        match self.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                spawn_lookup(self.to_owned())
            }
            _ => sealed::Resolve::ready(Err(invalid_addr())),
        }
    }
}

impl ToSocketAddrs for String {}

impl sealed::ToSocketAddrsPriv for String {
    fn to_socket_addrs(&self, _: sealed::Internal) -> sealed::Resolve {
        self.as_str().to_socket_addrs(sealed::Internal)
    }
}

impl ToSocketAddrs for (&str, u16) {}

impl sealed::ToSocketAddrsPriv for (&str, u16) {
    fn to_socket_addrs(&self, _: sealed::Internal) -> sealed::Resolve {
        let (host, port) = *self;
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return sealed::Resolve::one(SocketAddr::from((ip, port)));
        }
        if let Ok(ip) = host.parse::<Ipv6Addr>() {
            return sealed::Resolve::one(SocketAddr::from((ip, port)));
        }
        if host.is_empty() {
            return sealed::Resolve::ready(Err(invalid_addr()));
        }
        spawn_lookup((host.to_owned(), port))
    }
}

impl ToSocketAddrs for (String, u16) {}

impl sealed::ToSocketAddrsPriv for (String, u16) {
    fn to_socket_addrs(&self, _: sealed::Internal) -> sealed::Resolve {
        (self.0.as_str(), self.1).to_socket_addrs(sealed::Internal)
    }
}

pub(crate) mod sealed {
    //! The sealed half of [`ToSocketAddrs`](super::ToSocketAddrs): not part
    //! of the public API.

    use super::*;

    /// The method behind [`ToSocketAddrs`](super::ToSocketAddrs).
    #[doc(hidden)]
    pub trait ToSocketAddrsPriv {
        /// Starts resolving `self`.
        fn to_socket_addrs(&self, internal: Internal) -> Resolve;
    }

    /// Keeps the sealed method uncallable from outside the crate.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct Internal;

    /// A resolution in progress: ready at once for IP literals, else a
    /// lookup running on its own thread.
    #[doc(hidden)]
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Resolve(pub(super) State);

    #[derive(Debug)]
    pub(super) enum State {
        Ready(Option<io::Result<Addrs>>),
        Lookup(oneshot::Receiver<io::Result<Vec<SocketAddr>>>),
    }

    impl Resolve {
        pub(super) fn one(addr: SocketAddr) -> Resolve {
            Resolve::ready(Ok(Addrs::One(Some(addr).into_iter())))
        }

        pub(super) fn ready(res: io::Result<Addrs>) -> Resolve {
            Resolve(State::Ready(Some(res)))
        }

        /// Whether the answer is known without a lookup (tests).
        #[cfg(test)]
        pub(crate) fn is_immediate(&self) -> bool {
            matches!(self.0, State::Ready(_))
        }
    }

    impl Future for Resolve {
        type Output = io::Result<Addrs>;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            match &mut self.0 {
                State::Ready(res) => {
                    Poll::Ready(res.take().unwrap_or_else(|| {
                        Err(io::Error::other("address resolution polled after completion"))
                    }))
                }
                State::Lookup(rx) => match Pin::new(rx).poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Ok(res)) => Poll::Ready(res.map(|v| Addrs::More(v.into_iter()))),
                    Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(io::Error::other(
                        "the resolver thread exited without an answer",
                    ))),
                },
            }
        }
    }

    /// The addresses a [`Resolve`] yields.
    #[doc(hidden)]
    pub enum Addrs {
        One(std::option::IntoIter<SocketAddr>),
        More(std::vec::IntoIter<SocketAddr>),
    }

    impl fmt::Debug for Addrs {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Addrs::One(i) => f.debug_list().entries(i.clone()).finish(),
                Addrs::More(i) => f.debug_list().entries(i.as_slice()).finish(),
            }
        }
    }

    impl Iterator for Addrs {
        type Item = SocketAddr;

        fn next(&mut self) -> Option<SocketAddr> {
            match self {
                Addrs::One(i) => i.next(),
                Addrs::More(i) => i.next(),
            }
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            match self {
                Addrs::One(i) => i.size_hint(),
                Addrs::More(i) => i.size_hint(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    fn immediate<T: ToSocketAddrs>(t: T) -> bool {
        to_socket_addrs(t).is_immediate()
    }

    #[test]
    #[allow(clippy::needless_borrows_for_generic_args)] // `&T` impls on purpose
    fn ip_literals_never_touch_the_resolver() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert!(immediate(v4));
        assert!(immediate("127.0.0.1:80"));
        assert!(immediate("[::1]:80"));
        assert!(immediate(String::from("10.0.0.1:1")));
        assert!(immediate(("127.0.0.1", 80)));
        assert!(immediate(("::1", 80)));
        assert!(immediate((String::from("::1"), 80)));
        assert!(immediate((Ipv4Addr::LOCALHOST, 80)));
        assert!(immediate((Ipv6Addr::LOCALHOST, 80)));
        assert!(immediate((IpAddr::V4(Ipv4Addr::LOCALHOST), 80)));
        assert!(immediate(&[v4, v4][..]));
        assert!(immediate(&&v4));
        // Bad input fails at once, without a thread.
        assert!(immediate("no port here"));
        assert!(immediate("host:notaport"));
        assert!(immediate(":80"));
        assert!(immediate(("", 80)));
        // Host names go to the resolver thread.
        assert!(!immediate("localhost:80"));
        assert!(!immediate(("localhost", 80)));
    }

    #[test]
    fn resolves_literals_and_names() {
        block_on(async {
            let got: Vec<_> = lookup_host("127.0.0.1:7").await.unwrap().collect();
            assert_eq!(got, vec!["127.0.0.1:7".parse::<SocketAddr>().unwrap()]);
            let got: Vec<_> = lookup_host(("::1", 7)).await.unwrap().collect();
            assert_eq!(got, vec!["[::1]:7".parse::<SocketAddr>().unwrap()]);
            let two: [SocketAddr; 2] = ["1.2.3.4:1".parse().unwrap(), "[::1]:2".parse().unwrap()];
            let got: Vec<_> = lookup_host(&two[..]).await.unwrap().collect();
            assert_eq!(got, two);
            let got: Vec<_> = lookup_host("localhost:9").await.unwrap().collect();
            assert!(!got.is_empty());
            assert!(got.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        });
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        block_on(async {
            for bad in ["", "nonsense", "1.2.3.4", "1.2.3.4:99999", "[::1]", "host:"] {
                let err = lookup_host(bad).await.err().unwrap();
                assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            }
            let err = lookup_host(("", 1)).await.err().unwrap();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            // A name that cannot exist (RFC 6761 `.invalid`): an error, not a hang.
            assert!(lookup_host("no-such-host.invalid:80").await.is_err());
        });
    }
}
