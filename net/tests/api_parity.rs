//! API parity with tokio 1.54's `tokio::net` on Linux, checked by the
//! compiler: one surface description (`surface!`), written against
//! `tokio::net`, is compiled twice — once with `tokio::net`, once with
//! `sockwq_net as net`. Every synchronous method is coerced to tokio's exact
//! `fn` pointer type, every async method is called with tokio's argument
//! and result types, and every trait impl tokio has is required. A method
//! that goes missing or changes signature fails this test's build.
//!
//! `#[cfg(tokio_unstable)]`, Windows-only and WASI-only items are out of
//! scope. Behaviour is tested in the per-type test files; this file pins
//! the names, signatures and trait impls.
#![cfg(feature = "tokio")] // tokio's `ReadBuf`, `AsyncRead`, `AsyncWrite` and `Interest` are part of the API
#![allow(deprecated)] // tokio's deprecated methods are part of the surface too
#![allow(dead_code)] // the surface functions are checked by type, not run

macro_rules! surface {
    () => {
        use std::fmt::{Debug, Display};
        use std::hash::Hash;
        use std::io::{self, IoSlice, IoSliceMut};
        use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
        use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
        use std::path::Path;
        use std::task::{Context, Poll};
        use std::time::Duration;

        use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf, Ready};

        use net::tcp;
        use net::unix::{self, pipe};

        fn common<T: Send + Sync + Unpin + Debug>() {}
        fn socket<T: Send + Sync + Unpin + Debug + AsFd + AsRawFd>() {}
        fn from_std<T: TryFrom<S, Error = io::Error>, S>() {}
        fn raw_fd<T: FromRawFd + IntoRawFd>() {}
        fn stream<T: AsyncRead + AsyncWrite + AsRef<T>>() {}
        fn reader<T: AsyncRead + AsRef<S> + Debug + Send + Sync + Unpin, S>() {}
        fn writer<T: AsyncWrite + AsRef<S> + Debug + Send + Sync + Unpin, S>() {}
        fn error<T: std::error::Error + Display + Debug + Send + Sync>() {}

        pub(crate) fn traits() {
            socket::<net::TcpListener>();
            socket::<net::TcpStream>();
            socket::<net::TcpSocket>();
            socket::<net::UdpSocket>();
            socket::<net::UnixListener>();
            socket::<net::UnixStream>();
            socket::<net::UnixDatagram>();
            socket::<net::UnixSocket>();
            from_std::<net::TcpListener, std::net::TcpListener>();
            from_std::<net::TcpStream, std::net::TcpStream>();
            from_std::<net::UdpSocket, std::net::UdpSocket>();
            from_std::<net::UnixListener, std::os::unix::net::UnixListener>();
            from_std::<net::UnixStream, std::os::unix::net::UnixStream>();
            from_std::<net::UnixDatagram, std::os::unix::net::UnixDatagram>();
            raw_fd::<net::TcpSocket>();
            raw_fd::<net::UnixSocket>();
            stream::<net::TcpStream>();
            stream::<net::UnixStream>();

            reader::<tcp::ReadHalf<'static>, net::TcpStream>();
            writer::<tcp::WriteHalf<'static>, net::TcpStream>();
            reader::<tcp::OwnedReadHalf, net::TcpStream>();
            writer::<tcp::OwnedWriteHalf, net::TcpStream>();
            error::<tcp::ReuniteError>();
            reader::<unix::ReadHalf<'static>, net::UnixStream>();
            writer::<unix::WriteHalf<'static>, net::UnixStream>();
            reader::<unix::OwnedReadHalf, net::UnixStream>();
            writer::<unix::OwnedWriteHalf, net::UnixStream>();
            error::<unix::ReuniteError>();

            fn addr<T: Clone + Debug + Send + Sync + From<std::os::unix::net::SocketAddr>>()
            where
                std::os::unix::net::SocketAddr: From<T>,
            {
            }
            addr::<unix::SocketAddr>();
            fn ucred<T: Copy + Clone + Eq + PartialEq + Hash + Debug + Send + Sync>() {}
            ucred::<unix::UCred>();
            let _: unix::uid_t = 0u32;
            let _: unix::gid_t = 0u32;
            let _: unix::pid_t = 0i32;

            fn options<T: Clone + Debug + Default>() {}
            options::<pipe::OpenOptions>();
            fn sender<T: AsyncWrite + AsFd + AsRawFd + Debug + Send + Sync + Unpin>() {}
            sender::<pipe::Sender>();
            fn receiver<T: AsyncRead + AsFd + AsRawFd + Debug + Send + Sync + Unpin>() {}
            receiver::<pipe::Receiver>();

            fn addrs<T: net::ToSocketAddrs + ?Sized>() {}
            addrs::<SocketAddr>();
            addrs::<std::net::SocketAddrV4>();
            addrs::<std::net::SocketAddrV6>();
            addrs::<(std::net::IpAddr, u16)>();
            addrs::<(Ipv4Addr, u16)>();
            addrs::<(Ipv6Addr, u16)>();
            addrs::<&'static [SocketAddr]>();
            addrs::<str>();
            addrs::<&'static str>();
            addrs::<String>();
            addrs::<(&'static str, u16)>();
            addrs::<(String, u16)>();
            addrs::<&'static String>();
            common::<net::TcpListener>();
        }

        pub(crate) fn tcp_sync() {
            // TcpListener
            let _: fn(&net::TcpListener, &mut Context<'_>) -> Poll<io::Result<(net::TcpStream, SocketAddr)>> =
                net::TcpListener::poll_accept;
            let _: fn(std::net::TcpListener) -> io::Result<net::TcpListener> = net::TcpListener::from_std;
            let _: fn(net::TcpListener) -> io::Result<std::net::TcpListener> = net::TcpListener::into_std;
            let _: fn(&net::TcpListener) -> io::Result<SocketAddr> = net::TcpListener::local_addr;
            let _: fn(&net::TcpListener) -> io::Result<u32> = net::TcpListener::ttl;
            let _: fn(&net::TcpListener, u32) -> io::Result<()> = net::TcpListener::set_ttl;

            // TcpStream
            let _: fn(std::net::TcpStream) -> io::Result<net::TcpStream> = net::TcpStream::from_std;
            let _: fn(net::TcpStream) -> io::Result<std::net::TcpStream> = net::TcpStream::into_std;
            let _: fn(&net::TcpStream) -> io::Result<SocketAddr> = net::TcpStream::local_addr;
            let _: fn(&net::TcpStream) -> io::Result<SocketAddr> = net::TcpStream::peer_addr;
            let _: fn(&net::TcpStream) -> io::Result<Option<io::Error>> = net::TcpStream::take_error;
            let _: for<'a, 'b, 'c> fn(
                &'a net::TcpStream,
                &mut Context<'b>,
                &mut ReadBuf<'c>,
            ) -> Poll<io::Result<usize>> = net::TcpStream::poll_peek;
            let _: fn(&net::TcpStream, &mut Context<'_>) -> Poll<io::Result<()>> =
                net::TcpStream::poll_read_ready;
            let _: fn(&net::TcpStream, &mut Context<'_>) -> Poll<io::Result<()>> =
                net::TcpStream::poll_write_ready;
            let _: fn(&net::TcpStream, &mut [u8]) -> io::Result<usize> = net::TcpStream::try_read;
            let _: fn(&net::TcpStream, &mut [IoSliceMut<'_>]) -> io::Result<usize> =
                net::TcpStream::try_read_vectored;
            let _: fn(&net::TcpStream, &mut Vec<u8>) -> io::Result<usize> =
                net::TcpStream::try_read_buf::<Vec<u8>>;
            let _: fn(&net::TcpStream, &[u8]) -> io::Result<usize> = net::TcpStream::try_write;
            let _: fn(&net::TcpStream, &[IoSlice<'_>]) -> io::Result<usize> =
                net::TcpStream::try_write_vectored;
            let _: fn(&net::TcpStream) -> io::Result<bool> = net::TcpStream::nodelay;
            let _: fn(&net::TcpStream, bool) -> io::Result<()> = net::TcpStream::set_nodelay;
            let _: fn(&net::TcpStream) -> io::Result<bool> = net::TcpStream::quickack;
            let _: fn(&net::TcpStream, bool) -> io::Result<()> = net::TcpStream::set_quickack;
            let _: fn(&net::TcpStream) -> io::Result<Option<Duration>> = net::TcpStream::linger;
            let _: fn(&net::TcpStream, Option<Duration>) -> io::Result<()> = net::TcpStream::set_linger;
            let _: fn(&net::TcpStream) -> io::Result<()> = net::TcpStream::set_zero_linger;
            let _: fn(&net::TcpStream) -> io::Result<u32> = net::TcpStream::ttl;
            let _: fn(&net::TcpStream, u32) -> io::Result<()> = net::TcpStream::set_ttl;
            let _: for<'a> fn(&'a mut net::TcpStream) -> (tcp::ReadHalf<'a>, tcp::WriteHalf<'a>) =
                net::TcpStream::split;
            let _: fn(net::TcpStream) -> (tcp::OwnedReadHalf, tcp::OwnedWriteHalf) =
                net::TcpStream::into_split;
            fn try_io(s: &net::TcpStream) -> io::Result<u8> {
                s.try_io(Interest::READABLE, || Ok(1u8))
            }

            // TcpSocket
            let _: fn() -> io::Result<net::TcpSocket> = net::TcpSocket::new_v4;
            let _: fn() -> io::Result<net::TcpSocket> = net::TcpSocket::new_v6;
            let _: fn(&net::TcpSocket, bool) -> io::Result<()> = net::TcpSocket::set_keepalive;
            let _: fn(&net::TcpSocket) -> io::Result<bool> = net::TcpSocket::keepalive;
            let _: fn(&net::TcpSocket, bool) -> io::Result<()> = net::TcpSocket::set_reuseaddr;
            let _: fn(&net::TcpSocket) -> io::Result<bool> = net::TcpSocket::reuseaddr;
            let _: fn(&net::TcpSocket, bool) -> io::Result<()> = net::TcpSocket::set_reuseport;
            let _: fn(&net::TcpSocket) -> io::Result<bool> = net::TcpSocket::reuseport;
            let _: fn(&net::TcpSocket, u32) -> io::Result<()> = net::TcpSocket::set_send_buffer_size;
            let _: fn(&net::TcpSocket) -> io::Result<u32> = net::TcpSocket::send_buffer_size;
            let _: fn(&net::TcpSocket, u32) -> io::Result<()> = net::TcpSocket::set_recv_buffer_size;
            let _: fn(&net::TcpSocket) -> io::Result<u32> = net::TcpSocket::recv_buffer_size;
            let _: fn(&net::TcpSocket, Option<Duration>) -> io::Result<()> = net::TcpSocket::set_linger;
            let _: fn(&net::TcpSocket) -> io::Result<()> = net::TcpSocket::set_zero_linger;
            let _: fn(&net::TcpSocket) -> io::Result<Option<Duration>> = net::TcpSocket::linger;
            let _: fn(&net::TcpSocket, bool) -> io::Result<()> = net::TcpSocket::set_nodelay;
            let _: fn(&net::TcpSocket) -> io::Result<bool> = net::TcpSocket::nodelay;
            let _: fn(&net::TcpSocket) -> io::Result<u32> = net::TcpSocket::tclass_v6;
            let _: fn(&net::TcpSocket, u32) -> io::Result<()> = net::TcpSocket::set_tclass_v6;
            let _: fn(&net::TcpSocket) -> io::Result<u32> = net::TcpSocket::tos_v4;
            let _: fn(&net::TcpSocket) -> io::Result<u32> = net::TcpSocket::tos;
            let _: fn(&net::TcpSocket, u32) -> io::Result<()> = net::TcpSocket::set_tos_v4;
            let _: fn(&net::TcpSocket, u32) -> io::Result<()> = net::TcpSocket::set_tos;
            let _: fn(&net::TcpSocket) -> io::Result<Option<Vec<u8>>> = net::TcpSocket::device;
            let _: fn(&net::TcpSocket, Option<&[u8]>) -> io::Result<()> = net::TcpSocket::bind_device;
            let _: fn(&net::TcpSocket) -> io::Result<SocketAddr> = net::TcpSocket::local_addr;
            let _: fn(&net::TcpSocket) -> io::Result<Option<io::Error>> = net::TcpSocket::take_error;
            let _: fn(&net::TcpSocket, SocketAddr) -> io::Result<()> = net::TcpSocket::bind;
            let _: fn(net::TcpSocket, u32) -> io::Result<net::TcpListener> = net::TcpSocket::listen;
            let _: fn(std::net::TcpStream) -> net::TcpSocket = net::TcpSocket::from_std_stream;

            // Split halves
            let _: for<'a, 'b, 'c> fn(
                &'a mut tcp::ReadHalf<'static>,
                &mut Context<'b>,
                &mut ReadBuf<'c>,
            ) -> Poll<io::Result<usize>> = tcp::ReadHalf::poll_peek;
            let _: fn(&tcp::ReadHalf<'static>, &mut [u8]) -> io::Result<usize> = tcp::ReadHalf::try_read;
            let _: fn(&tcp::ReadHalf<'static>, &mut [IoSliceMut<'_>]) -> io::Result<usize> =
                tcp::ReadHalf::try_read_vectored;
            let _: fn(&tcp::ReadHalf<'static>, &mut Vec<u8>) -> io::Result<usize> =
                tcp::ReadHalf::try_read_buf::<Vec<u8>>;
            let _: fn(&tcp::ReadHalf<'static>) -> io::Result<SocketAddr> = tcp::ReadHalf::peer_addr;
            let _: fn(&tcp::ReadHalf<'static>) -> io::Result<SocketAddr> = tcp::ReadHalf::local_addr;
            let _: fn(&tcp::WriteHalf<'static>, &[u8]) -> io::Result<usize> = tcp::WriteHalf::try_write;
            let _: fn(&tcp::WriteHalf<'static>, &[IoSlice<'_>]) -> io::Result<usize> =
                tcp::WriteHalf::try_write_vectored;
            let _: fn(&tcp::WriteHalf<'static>) -> io::Result<SocketAddr> = tcp::WriteHalf::peer_addr;
            let _: fn(&tcp::WriteHalf<'static>) -> io::Result<SocketAddr> = tcp::WriteHalf::local_addr;
            let _: fn(tcp::OwnedReadHalf, tcp::OwnedWriteHalf) -> Result<net::TcpStream, tcp::ReuniteError> =
                tcp::OwnedReadHalf::reunite;
            let _: for<'a, 'b, 'c> fn(
                &'a mut tcp::OwnedReadHalf,
                &mut Context<'b>,
                &mut ReadBuf<'c>,
            ) -> Poll<io::Result<usize>> = tcp::OwnedReadHalf::poll_peek;
            let _: fn(&tcp::OwnedReadHalf, &mut [u8]) -> io::Result<usize> = tcp::OwnedReadHalf::try_read;
            let _: fn(&tcp::OwnedReadHalf, &mut [IoSliceMut<'_>]) -> io::Result<usize> =
                tcp::OwnedReadHalf::try_read_vectored;
            let _: fn(&tcp::OwnedReadHalf, &mut Vec<u8>) -> io::Result<usize> =
                tcp::OwnedReadHalf::try_read_buf::<Vec<u8>>;
            let _: fn(&tcp::OwnedReadHalf) -> io::Result<SocketAddr> = tcp::OwnedReadHalf::peer_addr;
            let _: fn(&tcp::OwnedReadHalf) -> io::Result<SocketAddr> = tcp::OwnedReadHalf::local_addr;
            let _: fn(tcp::OwnedWriteHalf, tcp::OwnedReadHalf) -> Result<net::TcpStream, tcp::ReuniteError> =
                tcp::OwnedWriteHalf::reunite;
            let _: fn(tcp::OwnedWriteHalf) = tcp::OwnedWriteHalf::forget;
            let _: fn(&tcp::OwnedWriteHalf, &[u8]) -> io::Result<usize> = tcp::OwnedWriteHalf::try_write;
            let _: fn(&tcp::OwnedWriteHalf, &[IoSlice<'_>]) -> io::Result<usize> =
                tcp::OwnedWriteHalf::try_write_vectored;
            let _: fn(&tcp::OwnedWriteHalf) -> io::Result<SocketAddr> = tcp::OwnedWriteHalf::peer_addr;
            let _: fn(&tcp::OwnedWriteHalf) -> io::Result<SocketAddr> = tcp::OwnedWriteHalf::local_addr;
            let e: Option<tcp::ReuniteError> = None;
            let _: Option<(tcp::OwnedReadHalf, tcp::OwnedWriteHalf)> = e.map(|e| (e.0, e.1));
        }

        pub(crate) async fn tcp_async(
            l: &net::TcpListener,
            s: &mut net::TcpStream,
            (r, w): (&mut tcp::OwnedReadHalf, &tcp::OwnedWriteHalf),
        ) -> io::Result<()> {
            let _: net::TcpListener = net::TcpListener::bind("127.0.0.1:0").await?;
            let _: (net::TcpStream, SocketAddr) = l.accept().await?;
            let _: net::TcpStream = net::TcpStream::connect(("127.0.0.1", 1)).await?;
            let _: net::TcpStream = net::TcpSocket::new_v4()?.connect(l.local_addr()?).await?;
            let _: Ready = s
                .ready(Interest::READABLE | Interest::WRITABLE)
                .await?
                .into();
            let _: () = s.readable().await?;
            let _: () = s.writable().await?;
            let _: usize = s.peek(&mut [0u8; 4]).await?;
            let _: u8 = s.async_io(Interest::READABLE, || Ok(1u8)).await?;
            {
                let (mut rh, wh) = s.split();
                let _: usize = rh.peek(&mut [0u8; 4]).await?;
                let _: Ready = rh.ready(Interest::READABLE).await?.into();
                let _: () = rh.readable().await?;
                let _: Ready = wh.ready(Interest::WRITABLE).await?.into();
                let _: () = wh.writable().await?;
            }
            let _: usize = r.peek(&mut [0u8; 4]).await?;
            let _: Ready = r.ready(Interest::READABLE).await?.into();
            let _: () = r.readable().await?;
            let _: Ready = w.ready(Interest::WRITABLE).await?.into();
            let _: () = w.writable().await?;
            let addrs: Vec<SocketAddr> = net::lookup_host("localhost:80").await?.collect();
            let _ = addrs;
            Ok(())
        }

        pub(crate) fn udp_sync() {
            type U = net::UdpSocket;
            let _: fn(std::net::UdpSocket) -> io::Result<U> = U::from_std;
            let _: fn(U) -> io::Result<std::net::UdpSocket> = U::into_std;
            let _: fn(&U) -> io::Result<SocketAddr> = U::local_addr;
            let _: fn(&U) -> io::Result<SocketAddr> = U::peer_addr;
            let _: fn(&U, &mut Context<'_>) -> Poll<io::Result<()>> = U::poll_send_ready;
            let _: fn(&U, &mut Context<'_>, &[u8]) -> Poll<io::Result<usize>> = U::poll_send;
            let _: fn(&U, &[u8]) -> io::Result<usize> = U::try_send;
            let _: fn(&U, &mut Context<'_>) -> Poll<io::Result<()>> = U::poll_recv_ready;
            let _: for<'a, 'b, 'c> fn(&'a U, &mut Context<'b>, &mut ReadBuf<'c>) -> Poll<io::Result<()>> =
                U::poll_recv;
            let _: fn(&U, &mut [u8]) -> io::Result<usize> = U::try_recv;
            let _: fn(&U, &mut Vec<u8>) -> io::Result<usize> = U::try_recv_buf::<Vec<u8>>;
            let _: fn(&U, &mut Vec<u8>) -> io::Result<(usize, SocketAddr)> = U::try_recv_buf_from::<Vec<u8>>;
            let _: fn(&U, &mut Context<'_>, &[u8], SocketAddr) -> Poll<io::Result<usize>> = U::poll_send_to;
            let _: fn(&U, &[u8], SocketAddr) -> io::Result<usize> = U::try_send_to;
            let _: for<'a, 'b, 'c> fn(
                &'a U,
                &mut Context<'b>,
                &mut ReadBuf<'c>,
            ) -> Poll<io::Result<SocketAddr>> = U::poll_recv_from;
            let _: fn(&U, &mut [u8]) -> io::Result<(usize, SocketAddr)> = U::try_recv_from;
            let _: for<'a, 'b, 'c> fn(&'a U, &mut Context<'b>, &mut ReadBuf<'c>) -> Poll<io::Result<()>> =
                U::poll_peek;
            let _: fn(&U, &mut [u8]) -> io::Result<usize> = U::try_peek;
            let _: for<'a, 'b, 'c> fn(
                &'a U,
                &mut Context<'b>,
                &mut ReadBuf<'c>,
            ) -> Poll<io::Result<SocketAddr>> = U::poll_peek_from;
            let _: fn(&U, &mut [u8]) -> io::Result<(usize, SocketAddr)> = U::try_peek_from;
            let _: fn(&U, &mut Context<'_>) -> Poll<io::Result<SocketAddr>> = U::poll_peek_sender;
            let _: fn(&U) -> io::Result<SocketAddr> = U::try_peek_sender;
            let _: fn(&U) -> io::Result<bool> = U::broadcast;
            let _: fn(&U, bool) -> io::Result<()> = U::set_broadcast;
            let _: fn(&U) -> io::Result<bool> = U::multicast_loop_v4;
            let _: fn(&U, bool) -> io::Result<()> = U::set_multicast_loop_v4;
            let _: fn(&U) -> io::Result<u32> = U::multicast_ttl_v4;
            let _: fn(&U, u32) -> io::Result<()> = U::set_multicast_ttl_v4;
            let _: fn(&U) -> io::Result<bool> = U::multicast_loop_v6;
            let _: fn(&U, bool) -> io::Result<()> = U::set_multicast_loop_v6;
            let _: fn(&U) -> io::Result<u32> = U::tclass_v6;
            let _: fn(&U, u32) -> io::Result<()> = U::set_tclass_v6;
            let _: fn(&U) -> io::Result<u32> = U::ttl;
            let _: fn(&U, u32) -> io::Result<()> = U::set_ttl;
            let _: fn(&U) -> io::Result<u32> = U::tos_v4;
            let _: fn(&U) -> io::Result<u32> = U::tos;
            let _: fn(&U, u32) -> io::Result<()> = U::set_tos_v4;
            let _: fn(&U, u32) -> io::Result<()> = U::set_tos;
            let _: fn(&U) -> io::Result<Option<Vec<u8>>> = U::device;
            let _: fn(&U, Option<&[u8]>) -> io::Result<()> = U::bind_device;
            let _: fn(&U, Ipv4Addr, Ipv4Addr) -> io::Result<()> = U::join_multicast_v4;
            let _: fn(&U, &Ipv6Addr, u32) -> io::Result<()> = U::join_multicast_v6;
            let _: fn(&U, Ipv4Addr, Ipv4Addr) -> io::Result<()> = U::leave_multicast_v4;
            let _: fn(&U, &Ipv6Addr, u32) -> io::Result<()> = U::leave_multicast_v6;
            let _: fn(&U) -> io::Result<Option<io::Error>> = U::take_error;
            fn try_io(s: &U) -> io::Result<u8> {
                s.try_io(Interest::READABLE, || Ok(1u8))
            }
        }

        pub(crate) async fn udp_async(s: &net::UdpSocket) -> io::Result<()> {
            let _: net::UdpSocket = net::UdpSocket::bind("127.0.0.1:0").await?;
            let _: () = s.connect("127.0.0.1:9").await?;
            let _: Ready = s.ready(Interest::READABLE).await?.into();
            let _: () = s.writable().await?;
            let _: () = s.readable().await?;
            let _: usize = s.send(b"x").await?;
            let _: usize = s.recv(&mut [0u8; 4]).await?;
            let _: usize = s.recv_buf(&mut Vec::<u8>::new()).await?;
            let _: (usize, SocketAddr) = s.recv_buf_from(&mut Vec::<u8>::new()).await?;
            let _: usize = s.send_to(b"x", ("127.0.0.1", 9)).await?;
            let _: (usize, SocketAddr) = s.recv_from(&mut [0u8; 4]).await?;
            let _: usize = s.peek(&mut [0u8; 4]).await?;
            let _: (usize, SocketAddr) = s.peek_from(&mut [0u8; 4]).await?;
            let _: SocketAddr = s.peek_sender().await?;
            let _: u8 = s.async_io(Interest::READABLE, || Ok(1u8)).await?;
            Ok(())
        }

        pub(crate) fn unix_sync() {
            type L = net::UnixListener;
            let _: fn(&'static str) -> io::Result<L> = L::bind::<&'static str>;
            let _: fn(&unix::SocketAddr) -> io::Result<L> = L::bind_addr;
            let _: fn(std::os::unix::net::UnixListener) -> io::Result<L> = L::from_std;
            let _: fn(L) -> io::Result<std::os::unix::net::UnixListener> = L::into_std;
            let _: fn(&L) -> io::Result<unix::SocketAddr> = L::local_addr;
            let _: fn(&L) -> io::Result<Option<io::Error>> = L::take_error;
            let _: fn(&L, &mut Context<'_>) -> Poll<io::Result<(net::UnixStream, unix::SocketAddr)>> =
                L::poll_accept;

            type S = net::UnixStream;
            let _: fn(&S, &mut Context<'_>) -> Poll<io::Result<()>> = S::poll_read_ready;
            let _: fn(&S, &mut Context<'_>) -> Poll<io::Result<()>> = S::poll_write_ready;
            let _: fn(&S, &mut [u8]) -> io::Result<usize> = S::try_read;
            let _: fn(&S, &mut [IoSliceMut<'_>]) -> io::Result<usize> = S::try_read_vectored;
            let _: fn(&S, &mut Vec<u8>) -> io::Result<usize> = S::try_read_buf::<Vec<u8>>;
            let _: fn(&S, &[u8]) -> io::Result<usize> = S::try_write;
            let _: fn(&S, &[IoSlice<'_>]) -> io::Result<usize> = S::try_write_vectored;
            let _: fn(std::os::unix::net::UnixStream) -> io::Result<S> = S::from_std;
            let _: fn(S) -> io::Result<std::os::unix::net::UnixStream> = S::into_std;
            let _: fn() -> io::Result<(S, S)> = S::pair;
            let _: fn(&S) -> io::Result<unix::SocketAddr> = S::local_addr;
            let _: fn(&S) -> io::Result<unix::SocketAddr> = S::peer_addr;
            let _: fn(&S) -> io::Result<unix::UCred> = S::peer_cred;
            let _: fn(&S) -> io::Result<Option<io::Error>> = S::take_error;
            let _: for<'a> fn(&'a mut S) -> (unix::ReadHalf<'a>, unix::WriteHalf<'a>) = S::split;
            let _: fn(S) -> (unix::OwnedReadHalf, unix::OwnedWriteHalf) = S::into_split;
            fn try_io(s: &S) -> io::Result<u8> {
                s.try_io(Interest::READABLE, || Ok(1u8))
            }

            let _: fn(&unix::ReadHalf<'static>, &mut [u8]) -> io::Result<usize> = unix::ReadHalf::try_read;
            let _: fn(&unix::ReadHalf<'static>, &mut Vec<u8>) -> io::Result<usize> =
                unix::ReadHalf::try_read_buf::<Vec<u8>>;
            let _: fn(&unix::ReadHalf<'static>, &mut [IoSliceMut<'_>]) -> io::Result<usize> =
                unix::ReadHalf::try_read_vectored;
            let _: fn(&unix::ReadHalf<'static>) -> io::Result<unix::SocketAddr> = unix::ReadHalf::peer_addr;
            let _: fn(&unix::ReadHalf<'static>) -> io::Result<unix::SocketAddr> = unix::ReadHalf::local_addr;
            let _: fn(&unix::WriteHalf<'static>, &[u8]) -> io::Result<usize> = unix::WriteHalf::try_write;
            let _: fn(&unix::WriteHalf<'static>, &[IoSlice<'_>]) -> io::Result<usize> =
                unix::WriteHalf::try_write_vectored;
            let _: fn(&unix::WriteHalf<'static>) -> io::Result<unix::SocketAddr> = unix::WriteHalf::peer_addr;
            let _: fn(&unix::WriteHalf<'static>) -> io::Result<unix::SocketAddr> =
                unix::WriteHalf::local_addr;
            let _: fn(unix::OwnedReadHalf, unix::OwnedWriteHalf) -> Result<S, unix::ReuniteError> =
                unix::OwnedReadHalf::reunite;
            let _: fn(&unix::OwnedReadHalf, &mut [u8]) -> io::Result<usize> = unix::OwnedReadHalf::try_read;
            let _: fn(&unix::OwnedReadHalf, &mut Vec<u8>) -> io::Result<usize> =
                unix::OwnedReadHalf::try_read_buf::<Vec<u8>>;
            let _: fn(&unix::OwnedReadHalf, &mut [IoSliceMut<'_>]) -> io::Result<usize> =
                unix::OwnedReadHalf::try_read_vectored;
            let _: fn(&unix::OwnedReadHalf) -> io::Result<unix::SocketAddr> = unix::OwnedReadHalf::peer_addr;
            let _: fn(&unix::OwnedReadHalf) -> io::Result<unix::SocketAddr> = unix::OwnedReadHalf::local_addr;
            let _: fn(unix::OwnedWriteHalf, unix::OwnedReadHalf) -> Result<S, unix::ReuniteError> =
                unix::OwnedWriteHalf::reunite;
            let _: fn(unix::OwnedWriteHalf) = unix::OwnedWriteHalf::forget;
            let _: fn(&unix::OwnedWriteHalf, &[u8]) -> io::Result<usize> = unix::OwnedWriteHalf::try_write;
            let _: fn(&unix::OwnedWriteHalf, &[IoSlice<'_>]) -> io::Result<usize> =
                unix::OwnedWriteHalf::try_write_vectored;
            let _: fn(&unix::OwnedWriteHalf) -> io::Result<unix::SocketAddr> =
                unix::OwnedWriteHalf::peer_addr;
            let _: fn(&unix::OwnedWriteHalf) -> io::Result<unix::SocketAddr> =
                unix::OwnedWriteHalf::local_addr;
            let e: Option<unix::ReuniteError> = None;
            let _: Option<(unix::OwnedReadHalf, unix::OwnedWriteHalf)> = e.map(|e| (e.0, e.1));

            type D = net::UnixDatagram;
            let _: fn(&D, &mut Context<'_>) -> Poll<io::Result<()>> = D::poll_send_ready;
            let _: fn(&D, &mut Context<'_>) -> Poll<io::Result<()>> = D::poll_recv_ready;
            let _: fn(&'static str) -> io::Result<D> = D::bind::<&'static str>;
            let _: fn() -> io::Result<(D, D)> = D::pair;
            let _: fn(std::os::unix::net::UnixDatagram) -> io::Result<D> = D::from_std;
            let _: fn(D) -> io::Result<std::os::unix::net::UnixDatagram> = D::into_std;
            let _: fn() -> io::Result<D> = D::unbound;
            let _: fn(&D, &'static str) -> io::Result<()> = D::connect::<&'static str>;
            let _: fn(&D, &[u8]) -> io::Result<usize> = D::try_send;
            let _: fn(&D, &[u8], &'static str) -> io::Result<usize> = D::try_send_to::<&'static str>;
            let _: fn(&D, &mut [u8]) -> io::Result<usize> = D::try_recv;
            let _: fn(&D, &mut Vec<u8>) -> io::Result<(usize, unix::SocketAddr)> =
                D::try_recv_buf_from::<Vec<u8>>;
            let _: fn(&D, &mut Vec<u8>) -> io::Result<usize> = D::try_recv_buf::<Vec<u8>>;
            let _: for<'a, 'b, 'c> fn(
                &'a D,
                &mut Context<'b>,
                &mut ReadBuf<'c>,
            ) -> Poll<io::Result<unix::SocketAddr>> = D::poll_recv_from;
            let _: fn(&D, &mut Context<'_>, &[u8], &'static str) -> Poll<io::Result<usize>> =
                D::poll_send_to::<&'static str>;
            let _: fn(&D, &mut Context<'_>, &[u8]) -> Poll<io::Result<usize>> = D::poll_send;
            let _: for<'a, 'b, 'c> fn(&'a D, &mut Context<'b>, &mut ReadBuf<'c>) -> Poll<io::Result<()>> =
                D::poll_recv;
            let _: fn(&D, &mut [u8]) -> io::Result<(usize, unix::SocketAddr)> = D::try_recv_from;
            let _: fn(&D) -> io::Result<unix::SocketAddr> = D::local_addr;
            let _: fn(&D) -> io::Result<unix::SocketAddr> = D::peer_addr;
            let _: fn(&D) -> io::Result<Option<io::Error>> = D::take_error;
            let _: fn(&D, Shutdown) -> io::Result<()> = D::shutdown;
            fn dtry_io(s: &D) -> io::Result<u8> {
                s.try_io(Interest::READABLE, || Ok(1u8))
            }

            type K = net::UnixSocket;
            let _: fn() -> io::Result<K> = K::new_datagram;
            let _: fn() -> io::Result<K> = K::new_stream;
            let _: fn(&K, &Path) -> io::Result<()> = |k, p| K::bind(k, p);
            let _: fn(K, u32) -> io::Result<L> = K::listen;
            let _: fn(K) -> io::Result<D> = K::datagram;

            let _: fn(&unix::SocketAddr) -> bool = unix::SocketAddr::is_unnamed;
            let _: fn(&unix::SocketAddr) -> Option<&Path> = unix::SocketAddr::as_pathname;
            let _: fn(&unix::SocketAddr) -> Option<&[u8]> = unix::SocketAddr::as_abstract_name;
            let _: fn(&unix::UCred) -> unix::uid_t = unix::UCred::uid;
            let _: fn(&unix::UCred) -> unix::gid_t = unix::UCred::gid;
            let _: fn(&unix::UCred) -> Option<unix::pid_t> = unix::UCred::pid;

            let _: fn() -> io::Result<(pipe::Sender, pipe::Receiver)> = pipe::pipe;
            let _: fn() -> pipe::OpenOptions = pipe::OpenOptions::new;
            let _: fn(&mut pipe::OpenOptions, bool) -> &mut pipe::OpenOptions = pipe::OpenOptions::read_write;
            let _: fn(&mut pipe::OpenOptions, bool) -> &mut pipe::OpenOptions = pipe::OpenOptions::unchecked;
            let _: fn(&pipe::OpenOptions, &'static str) -> io::Result<pipe::Receiver> =
                pipe::OpenOptions::open_receiver::<&'static str>;
            let _: fn(&pipe::OpenOptions, &'static str) -> io::Result<pipe::Sender> =
                pipe::OpenOptions::open_sender::<&'static str>;
            type Tx = pipe::Sender;
            let _: fn(std::fs::File) -> io::Result<Tx> = Tx::from_file;
            let _: fn(OwnedFd) -> io::Result<Tx> = Tx::from_owned_fd;
            let _: fn(std::fs::File) -> io::Result<Tx> = Tx::from_file_unchecked;
            let _: fn(OwnedFd) -> io::Result<Tx> = Tx::from_owned_fd_unchecked;
            let _: fn(&Tx, &mut Context<'_>) -> Poll<io::Result<()>> = Tx::poll_write_ready;
            let _: fn(&Tx, &[u8]) -> io::Result<usize> = Tx::try_write;
            let _: fn(&Tx, &[IoSlice<'_>]) -> io::Result<usize> = Tx::try_write_vectored;
            let _: fn(Tx) -> io::Result<OwnedFd> = Tx::into_blocking_fd;
            let _: fn(Tx) -> io::Result<OwnedFd> = Tx::into_nonblocking_fd;
            fn tx_try_io(s: &Tx) -> io::Result<u8> {
                s.try_io(|| Ok(1u8))
            }
            type Rx = pipe::Receiver;
            let _: fn(std::fs::File) -> io::Result<Rx> = Rx::from_file;
            let _: fn(OwnedFd) -> io::Result<Rx> = Rx::from_owned_fd;
            let _: fn(std::fs::File) -> io::Result<Rx> = Rx::from_file_unchecked;
            let _: fn(OwnedFd) -> io::Result<Rx> = Rx::from_owned_fd_unchecked;
            let _: fn(&Rx, &mut Context<'_>) -> Poll<io::Result<()>> = Rx::poll_read_ready;
            let _: fn(&Rx, &mut [u8]) -> io::Result<usize> = Rx::try_read;
            let _: fn(&Rx, &mut [IoSliceMut<'_>]) -> io::Result<usize> = Rx::try_read_vectored;
            let _: fn(&Rx, &mut Vec<u8>) -> io::Result<usize> = Rx::try_read_buf::<Vec<u8>>;
            let _: fn(Rx) -> io::Result<OwnedFd> = Rx::into_blocking_fd;
            let _: fn(Rx) -> io::Result<OwnedFd> = Rx::into_nonblocking_fd;
            fn rx_try_io(s: &Rx) -> io::Result<u8> {
                s.try_io(|| Ok(1u8))
            }
        }

        pub(crate) async fn unix_async(
            l: &net::UnixListener,
            s: &mut net::UnixStream,
            d: &net::UnixDatagram,
            (r, w): (&unix::OwnedReadHalf, &unix::OwnedWriteHalf),
            (tx, rx): (&pipe::Sender, &pipe::Receiver),
        ) -> io::Result<()> {
            let _: (net::UnixStream, unix::SocketAddr) = l.accept().await?;
            let _: net::UnixStream = net::UnixStream::connect("/nonexistent").await?;
            let _: net::UnixStream = net::UnixStream::connect_addr(&l.local_addr()?).await?;
            let _: net::UnixStream = net::UnixSocket::new_stream()?
                .connect("/nonexistent")
                .await?;
            let _: Ready = s.ready(Interest::READABLE).await?.into();
            let _: () = s.readable().await?;
            let _: () = s.writable().await?;
            let _: u8 = s.async_io(Interest::READABLE, || Ok(1u8)).await?;
            {
                let (rh, wh) = s.split();
                let _: Ready = rh.ready(Interest::READABLE).await?.into();
                let _: () = rh.readable().await?;
                let _: Ready = wh.ready(Interest::WRITABLE).await?.into();
                let _: () = wh.writable().await?;
            }
            let _: Ready = r.ready(Interest::READABLE).await?.into();
            let _: () = r.readable().await?;
            let _: Ready = w.ready(Interest::WRITABLE).await?.into();
            let _: () = w.writable().await?;

            let _: Ready = d.ready(Interest::READABLE).await?.into();
            let _: () = d.writable().await?;
            let _: () = d.readable().await?;
            let _: usize = d.send(b"x").await?;
            let _: usize = d.recv(&mut [0u8; 4]).await?;
            let _: (usize, unix::SocketAddr) = d.recv_buf_from(&mut Vec::<u8>::new()).await?;
            let _: usize = d.recv_buf(&mut Vec::<u8>::new()).await?;
            let _: usize = d.send_to(b"x", "/nonexistent").await?;
            let _: (usize, unix::SocketAddr) = d.recv_from(&mut [0u8; 4]).await?;
            let _: u8 = d.async_io(Interest::READABLE, || Ok(1u8)).await?;

            let _: Ready = tx.ready(Interest::WRITABLE).await?.into();
            let _: () = tx.writable().await?;
            let _: Ready = rx.ready(Interest::READABLE).await?.into();
            let _: () = rx.readable().await?;
            Ok(())
        }
    };
}

mod with_tokio {
    use tokio::net;
    surface!();
}

mod with_sockwq {
    use sockwq_net as net;
    surface!();
}

#[test]
fn surfaces_compile() {
    // The checks above are type checks; calling the sync ones makes sure
    // they were not optimized out of the build as unused.
    with_tokio::traits();
    with_tokio::tcp_sync();
    with_tokio::udp_sync();
    with_tokio::unix_sync();
    with_sockwq::traits();
    with_sockwq::tcp_sync();
    with_sockwq::udp_sync();
    with_sockwq::unix_sync();
}
