//! [`SocketAddr`]: the address of a Unix-domain socket (a path, an
//! abstract name, or unnamed), and conversions to and from the kernel's.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net;
use std::path::Path;
use std::sync::OnceLock;

use socket2::SockAddr;

/// An address associated with a Unix socket: a filesystem path, a name in
/// Linux's abstract namespace, or unnamed (as in
/// `tokio::net::unix::SocketAddr`).
///
/// ```
/// use sockwq_net::unix::SocketAddr;
///
/// let addr = SocketAddr::from_abstract_name(b"sockwq-doc")?;
/// assert_eq!(addr.as_abstract_name(), Some(&b"sockwq-doc"[..]));
/// assert!(addr.as_pathname().is_none() && !addr.is_unnamed());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct SocketAddr(pub(super) net::SocketAddr);

impl SocketAddr {
    /// Returns `true` if the address is unnamed (e.g. the peer of an
    /// unbound client, or either end of [`UnixStream::pair`](super::UnixStream::pair)).
    pub fn is_unnamed(&self) -> bool {
        self.0.is_unnamed()
    }

    /// The filesystem path of this address, if it is a pathname address.
    pub fn as_pathname(&self) -> Option<&Path> {
        self.0.as_pathname()
    }

    /// The name (without the leading NUL byte) of this address, if it is in
    /// the abstract namespace.
    pub fn as_abstract_name(&self) -> Option<&[u8]> {
        self.0.as_abstract_name()
    }

    /// An address in Linux's abstract namespace (sockwq extra; tokio spells
    /// it as a path starting with `"\0"`, which sockwq accepts too).
    ///
    /// Errors with `InvalidInput` if `name` is longer than 107 bytes.
    pub fn from_abstract_name(name: impl AsRef<[u8]>) -> io::Result<SocketAddr> {
        net::SocketAddr::from_abstract_name(name).map(SocketAddr)
    }

    /// A filesystem path address (sockwq extra).
    ///
    /// Errors with `InvalidInput` if the path is too long or holds a NUL byte.
    pub fn from_pathname(path: impl AsRef<Path>) -> io::Result<SocketAddr> {
        net::SocketAddr::from_pathname(path).map(SocketAddr)
    }
}

impl fmt::Debug for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<net::SocketAddr> for SocketAddr {
    fn from(value: net::SocketAddr) -> Self {
        SocketAddr(value)
    }
}

impl From<SocketAddr> for net::SocketAddr {
    fn from(value: SocketAddr) -> Self {
        value.0
    }
}

/// Parses a tokio-style path: a leading NUL byte names an abstract address.
pub(crate) fn from_path(path: &Path) -> io::Result<net::SocketAddr> {
    let bytes = path.as_os_str().as_bytes();
    match bytes.split_first() {
        Some((0, name)) => net::SocketAddr::from_abstract_name(name),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty path is not a Unix socket address",
        )),
        Some(_) => net::SocketAddr::from_pathname(path),
    }
}

/// The kernel form of `addr`, for socket2 calls.
pub(crate) fn to_sockaddr(addr: &net::SocketAddr) -> io::Result<SockAddr> {
    if let Some(path) = addr.as_pathname() {
        SockAddr::unix(path)
    } else if let Some(name) = addr.as_abstract_name() {
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        SockAddr::unix(OsStr::from_bytes(&bytes))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot connect or send to an unnamed Unix socket address",
        ))
    }
}

/// The std form of a kernel address returned by `accept`/`recvfrom`.
pub(crate) fn from_sockaddr(addr: &SockAddr) -> io::Result<net::SocketAddr> {
    if let Some(path) = addr.as_pathname() {
        net::SocketAddr::from_pathname(path)
    } else if let Some(name) = addr.as_abstract_namespace() {
        net::SocketAddr::from_abstract_name(name)
    } else if addr.is_unnamed() || addr.len() == 0 {
        // Linux reports an unnamed sender of a datagram with length 0.
        unnamed()
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a Unix socket address",
        ))
    }
}

/// std has no constructor for an unnamed address: take one, once, from an
/// unbound socket.
fn unnamed() -> io::Result<net::SocketAddr> {
    static UNNAMED: OnceLock<net::SocketAddr> = OnceLock::new();
    if let Some(a) = UNNAMED.get() {
        return Ok(a.clone());
    }
    let a = net::UnixDatagram::unbound()?.local_addr()?;
    Ok(UNNAMED.get_or_init(|| a).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        let a = from_path(Path::new("\0sockwq-abs")).unwrap();
        assert_eq!(a.as_abstract_name(), Some(&b"sockwq-abs"[..]));
        let back = from_sockaddr(&to_sockaddr(&a).unwrap()).unwrap();
        assert_eq!(back.as_abstract_name(), Some(&b"sockwq-abs"[..]));

        let p = from_path(Path::new("/tmp/x.sock")).unwrap();
        let back = from_sockaddr(&to_sockaddr(&p).unwrap()).unwrap();
        assert_eq!(back.as_pathname(), Some(Path::new("/tmp/x.sock")));

        assert!(unnamed().unwrap().is_unnamed());
        assert_eq!(
            to_sockaddr(&unnamed().unwrap()).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            from_path(Path::new("")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let long = "x".repeat(200);
        assert_eq!(
            from_path(Path::new(&long)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
