//! Every socket type crosses `catch_unwind`, as tokio's do.

use std::panic::{RefUnwindSafe, UnwindSafe};

use sockwq_net::{
    TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixSocket, UnixStream, tcp,
    unix,
};

fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn socket_types_are_unwind_safe() {
    unwind_safe::<TcpListener>();
    unwind_safe::<TcpStream>();
    unwind_safe::<TcpSocket>();
    unwind_safe::<tcp::OwnedReadHalf>();
    unwind_safe::<tcp::OwnedWriteHalf>();
    unwind_safe::<tcp::ReadHalf<'static>>();
    unwind_safe::<tcp::WriteHalf<'static>>();
    unwind_safe::<UdpSocket>();
    unwind_safe::<UnixListener>();
    unwind_safe::<UnixStream>();
    unwind_safe::<UnixDatagram>();
    unwind_safe::<UnixSocket>();
    unwind_safe::<unix::OwnedReadHalf>();
    unwind_safe::<unix::OwnedWriteHalf>();
    unwind_safe::<unix::pipe::Sender>();
    unwind_safe::<unix::pipe::Receiver>();
}
