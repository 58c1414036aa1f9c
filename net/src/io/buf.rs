//! Receiving into buffers whose spare part is not initialized (tokio's
//! `ReadBuf`, `bytes::BufMut`) without zeroing it first.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;

/// Views an initialized buffer as `MaybeUninit` for a socket receive call.
#[inline]
pub(crate) fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the callee (a
    // socket receive, socket2's or `recv(2)`) only writes initialized bytes
    // into it, so `buf` stays initialized.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

/// Runs a receive `f` on `buf`'s unfilled part (never zeroed first) and
/// marks the bytes it wrote as filled; returns `f`'s extra result (say,
/// the sender's address). For tokio-style `poll_recv*`/`poll_peek*`.
///
/// # Safety
///
/// `f` must only write initialized bytes into the slice it gets (a socket
/// receive does) and, on success, return `n` such that it initialized the
/// first `n` bytes.
#[cfg(feature = "tokio")]
pub(crate) unsafe fn recv_into_read_buf<R>(
    buf: &mut tokio::io::ReadBuf<'_>,
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<(usize, R)>,
) -> io::Result<R> {
    // SAFETY: per this function's contract, `f` never de-initializes bytes.
    let unfilled = unsafe { buf.unfilled_mut() };
    let (n, r) = f(unfilled)?;
    // SAFETY: per the contract, `f` initialized the first `n` bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(r)
}

/// Runs a receive `f` on `buf`'s spare capacity (never zeroed first) and
/// advances `buf` past the bytes it wrote; returns the byte count and
/// `f`'s extra result. For tokio's `try_read_buf`/`recv_buf*` methods.
///
/// # Safety
///
/// As [`recv_into_read_buf`]: `f` only writes initialized bytes and, on
/// success, returns `n` such that it initialized the first `n` bytes.
pub(super) unsafe fn recv_into_buf_mut<B: bytes::BufMut + ?Sized, R>(
    buf: &mut B,
    f: impl FnOnce(&mut [MaybeUninit<u8>]) -> io::Result<(usize, R)>,
) -> io::Result<(usize, R)> {
    // SAFETY: per this function's contract, `f` never de-initializes bytes.
    let dst = unsafe { buf.chunk_mut().as_uninit_slice_mut() };
    let (n, r) = f(dst)?;
    // SAFETY: per the contract, `f` initialized the first `n` bytes of the
    // chunk, which is `buf`'s spare capacity.
    unsafe { buf.advance_mut(n) };
    Ok((n, r))
}

/// The buffers one vectored call can take: the kernel refuses more than
/// `UIO_MAXIOV` (1024) (`EMSGSIZE` for sockets). std (and so tokio) passes
/// the first 1024 and reports a partial transfer; so does this crate. The
/// short-transfer check then counts only those, so that 1024 full buffers
/// out of 2048 do not read as "drained" (socket or pipe empty or full).
#[inline]
pub(crate) fn iov_max<'a, 'b>(bufs: &'a [IoSlice<'b>]) -> &'a [IoSlice<'b>] {
    &bufs[..bufs.len().min(libc::UIO_MAXIOV as usize)]
}

/// [`iov_max`] for reads.
#[inline]
pub(crate) fn iov_max_mut<'a, 'b>(bufs: &'a mut [IoSliceMut<'b>]) -> &'a mut [IoSliceMut<'b>] {
    let n = bufs.len().min(libc::UIO_MAXIOV as usize);
    &mut bufs[..n]
}

/// The sum of buffer lengths, saturating (`IoSlice`s may alias).
#[inline]
pub(crate) fn total_len(lens: impl Iterator<Item = usize>) -> usize {
    lens.fold(0, usize::saturating_add)
}
