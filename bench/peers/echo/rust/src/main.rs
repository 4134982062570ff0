//! Echo server peer for weft's bench/run_echo.sh: Tokio multi-thread runtime, one task
//! per connection looping read -> write_all with a 64 KiB buffer.
//!
//!     echo-server [--addr 127.0.0.1] [--port 7007] [--threads N]
//!
//! Worker threads = CPUs unless --threads is given. Stops on SIGINT/SIGTERM.
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};

async fn serve(mut sock: TcpStream) {
    let _ = sock.set_nodelay(true); // as Go does by default
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if sock.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((sock, _)) => {
                tokio::spawn(serve(sock));
            }
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: echo-server [--addr ADDR] [--port PORT] [--threads N]");
    std::process::exit(2);
}

fn main() {
    let mut addr = String::from("127.0.0.1");
    let mut port: u16 = 7007;
    let mut threads: usize = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--addr" => addr = v,
            "--port" => port = v.parse().unwrap_or_else(|_| usage()),
            "--threads" => threads = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if threads > 0 {
        rt.worker_threads(threads);
    }
    let rt = rt.build().expect("tokio runtime");
    rt.block_on(async move {
        let sa: SocketAddr = format!("{addr}:{port}").parse().unwrap_or_else(|_| usage());
        let listener = TcpListener::bind(sa).await.expect("bind");
        println!("listening on {}", listener.local_addr().expect("local_addr"));
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = accept_loop(listener) => {}
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    });
    // Connection tasks still running are dropped with the runtime.
    rt.shutdown_background();
}
