//! mutex_contended, Tokio peer of weft's bench/micro_mutex.c: 64 tasks each do K
//! iterations of lock().await / increment / unlock on one tokio::sync::Mutex, on a
//! multi-thread runtime with WORKERS worker threads.
//! Prints: bench=mutex_contended workers=W value=OPS unit=ops/s
//!
//! Usage: sync-bench [WORKERS]   (default 1)
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Mutex;

const TASKS: usize = 64;
const K: u64 = 100_000;

fn main() {
    let w: usize = match std::env::args().nth(1) {
        None => 1,
        Some(s) => match s.parse() {
            Ok(n) if n >= 1 => n,
            _ => {
                eprintln!("usage: sync-bench [WORKERS]");
                std::process::exit(2);
            }
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(w)
        .build()
        .expect("runtime");
    let ops = rt.block_on(async {
        let m = Arc::new(Mutex::new(0u64));
        let t0 = Instant::now();
        let mut hs = Vec::with_capacity(TASKS);
        for _ in 0..TASKS {
            let m = m.clone();
            hs.push(tokio::spawn(async move {
                for _ in 0..K {
                    let mut g = m.lock().await;
                    *g += 1;
                }
            }));
        }
        for h in hs {
            h.await.expect("join");
        }
        let el = t0.elapsed();
        let c = *m.lock().await;
        if c != TASKS as u64 * K {
            eprintln!("bad counter {}", c);
            std::process::exit(1);
        }
        (TASKS as u64 * K) as f64 / el.as_secs_f64()
    });
    println!("bench=mutex_contended workers={} value={:.3} unit=ops/s", w, ops);
}
