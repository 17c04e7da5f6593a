//! A TCP proxy for tests and the simulation: counts every byte that crosses it (HTTP headers
//! included) and can add latency and cap bandwidth, to play a satellite link on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    /// Added to each direction: a round trip costs twice this.
    pub one_way_delay: Duration,
    /// Bytes per second in each direction; 0 for unlimited.
    pub bytes_per_sec: u64,
}

/// Faults the proxy injects, per connection, in thousandths. Which connections is fixed (a
/// scrambled sequence that starts with a fault), so a test always meets them; where a cut
/// falls is random.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Connections closed as soon as they are accepted.
    pub drop_per_mille: u32,
    /// Connections cut part-way, in one direction picked at random (a request or a reply
    /// truncated after a random number of bytes, up to 2 KB), then closed both ways.
    pub truncate_per_mille: u32,
}

#[derive(Debug, Default)]
pub struct Counters {
    pub up: AtomicU64,
    pub down: AtomicU64,
    pub connections: AtomicU64,
}

impl Counters {
    pub fn total(&self) -> u64 {
        self.up.load(Relaxed) + self.down.load(Relaxed)
    }
    pub fn reset(&self) {
        self.up.store(0, Relaxed);
        self.down.store(0, Relaxed);
        self.connections.store(0, Relaxed);
    }
}

pub struct Proxy {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(target: SocketAddr, link: Link) -> std::io::Result<Proxy> {
        Self::start_faulty(target, link, Faults::default()).await
    }

    /// As [`Proxy::start`], dropping and truncating connections as `faults` says.
    pub async fn start_faulty(
        target: SocketAddr,
        link: Link,
        faults: Faults,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = c.connections.fetch_add(1, Relaxed);
                let c = c.clone();
                let roll = (n.wrapping_mul(7919) % 1000) as u32;
                if roll < faults.drop_per_mille {
                    drop(client);
                    continue;
                }
                // Some(true): the request is cut; Some(false): the reply.
                let cut = (roll < faults.drop_per_mille + faults.truncate_per_mille)
                    .then(rand::random::<bool>);
                let cut_after = rand::random::<u64>() % 2048;
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let limit = |up: bool| (cut == Some(up)).then_some(cut_after);
                    let up = pipe(cr, sw, link, c.clone(), true, limit(true));
                    let down = pipe(sr, cw, link, c, false, limit(false));
                    if cut.is_some() {
                        // The cut direction ends early; the other is dropped with it, so
                        // both peers see the connection go.
                        tokio::select! {
                            _ = up => {}
                            _ = down => {}
                        }
                    } else {
                        let _ = tokio::join!(up, down);
                    }
                });
            }
        });
        Ok(Proxy {
            addr,
            counters,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Copies one direction, delaying each chunk by the link's latency and pacing it to the
/// bandwidth. Chunks are delayed in a pipeline (a later chunk does not wait for an earlier
/// one's delay on top of its own), as on a real link.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: Link,
    counters: Arc<Counters>,
    up: bool,
    limit: Option<u64>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 16 * 1024];
    // When the (serialised) link is next free to carry a byte.
    let mut link_free = tokio::time::Instant::now();
    let mut passed = 0u64;
    loop {
        let mut n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let cut_here = limit.is_some_and(|l| passed + n as u64 >= l);
        if let Some(l) = limit {
            n = n.min(l.saturating_sub(passed) as usize);
        }
        passed += n as u64;
        let counter = if up { &counters.up } else { &counters.down };
        counter.fetch_add(n as u64, Relaxed);
        let now = tokio::time::Instant::now();
        let start = link_free.max(now);
        let transmit = if link.bytes_per_sec > 0 {
            Duration::from_secs_f64(n as f64 / link.bytes_per_sec as f64)
        } else {
            Duration::ZERO
        };
        link_free = start + transmit;
        if tx
            .send((link_free + link.one_way_delay, buf[..n].to_vec()))
            .is_err()
        {
            break;
        }
        if cut_here {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
