//! [`UCred`]: the credentials of a Unix socket's peer (`SO_PEERCRED`).

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};

use super::{gid_t, pid_t, uid_t};

/// Credentials of a process connected to a Unix socket, as captured by the
/// kernel when the connection was made (as in `tokio::net::unix::UCred`).
#[derive(Copy, Clone, Eq, PartialEq, Hash, Debug)]
pub struct UCred {
    pid: Option<pid_t>,
    uid: uid_t,
    gid: gid_t,
}

impl UCred {
    /// The peer's effective user ID.
    pub fn uid(&self) -> uid_t {
        self.uid
    }

    /// The peer's effective group ID.
    pub fn gid(&self) -> gid_t {
        self.gid
    }

    /// The peer's process ID (always `Some` on Linux).
    pub fn pid(&self) -> Option<pid_t> {
        self.pid
    }
}

/// Reads `SO_PEERCRED` from a connected Unix stream socket.
pub(crate) fn get_peer_cred(fd: BorrowedFd<'_>) -> io::Result<UCred> {
    // SAFETY: `ucred` is plain old data; all-zero is a valid value.
    let mut cred: libc::ucred = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor for the call's duration; `cred` and
    // `len` point to writable memory of the size `len` says.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if len as usize != mem::size_of::<libc::ucred>() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "SO_PEERCRED returned a short ucred",
        ));
    }
    Ok(UCred {
        pid: Some(cred.pid),
        uid: cred.uid,
        gid: cred.gid,
    })
}
