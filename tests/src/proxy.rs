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
    /// The link drops every this often: every open connection is cut at once.
    pub cut_every: Option<Duration>,
}

#[derive(Debug, Default)]
pub struct Counters {
    pub up: AtomicU64,
    pub down: AtomicU64,
    pub connections: AtomicU64,
    /// Link drops so far (see [`Faults::cut_every`]).
    pub drops: AtomicU64,
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
        // The link's drops: each one bumps the epoch, and every connection open then ends.
        let (drops, _) = tokio::sync::watch::channel(0u64);
        let drops = Arc::new(drops);
        if let Some(every) = faults.cut_every {
            let drops = drops.clone();
            let counters = counters.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    counters.drops.fetch_add(1, Relaxed);
                    drops.send_modify(|n| *n += 1);
                    if Arc::strong_count(&drops) == 1 {
                        break;
                    }
                }
            });
        }
        // One link for every connection: its bandwidth is shared, as on a real link (two
        // uploads at once each get half of it, not all of it).
        let clock = Arc::new(LinkClock::default());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let clock = clock.clone();
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
                let mut dropped = drops.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let limit = |up: bool| (cut == Some(up)).then_some(cut_after);
                    let up = pipe(cr, sw, link, &clock.up, c.clone(), true, limit(true));
                    let down = pipe(sr, cw, link, &clock.down, c, false, limit(false));
                    let link_drop = dropped.changed();
                    if cut.is_some() {
                        // The cut direction ends early; the other is dropped with it, so
                        // both peers see the connection go.
                        tokio::select! {
                            _ = up => {}
                            _ = down => {}
                            _ = link_drop => {}
                        }
                    } else {
                        tokio::select! {
                            _ = async { tokio::join!(up, down) } => {}
                            _ = link_drop => {}
                        }
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

/// When each direction of the link is next free to carry a byte, for all its connections.
#[derive(Debug)]
struct LinkClock {
    up: std::sync::Mutex<tokio::time::Instant>,
    down: std::sync::Mutex<tokio::time::Instant>,
}

impl Default for LinkClock {
    fn default() -> Self {
        let now = tokio::time::Instant::now();
        LinkClock {
            up: std::sync::Mutex::new(now),
            down: std::sync::Mutex::new(now),
        }
    }
}

/// Copies one direction, delaying each chunk by the link's latency and pacing it to the
/// bandwidth, which this direction's other connections share (`link_free`). Chunks are
/// delayed in a pipeline (a later chunk does not wait for an earlier one's delay on top of
/// its own), as on a real link.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: Link,
    link_free: &std::sync::Mutex<tokio::time::Instant>,
    counters: Arc<Counters>,
    up: bool,
    limit: Option<u64>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    // Dropped with this future (a link drop): what was still queued on the link is lost.
    let mut writer = AbortOnDrop(tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    }));
    // Reads of at most half a second of the link's bandwidth (16 KB when unlimited).
    let read_size = if link.bytes_per_sec > 0 {
        (link.bytes_per_sec as usize / 2).clamp(1024, 16 * 1024)
    } else {
        16 * 1024
    };
    let mut buf = vec![0u8; read_size];
    let free_at = || *link_free.lock().unwrap_or_else(|p| p.into_inner());
    let mut passed = 0u64;
    // A link queues little: the proxy reads from the sender only as the link drains (half a
    // second of its bandwidth may wait), so a sender is held back by TCP as on a real
    // bottleneck, and bytes counted are bytes the link carried (or was about to).
    let queue = Duration::from_millis(500);
    loop {
        if link.bytes_per_sec > 0 {
            let now = tokio::time::Instant::now();
            let free = free_at();
            if free > now + queue {
                tokio::time::sleep_until(free - queue).await;
            }
        }
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
        let transmit = if link.bytes_per_sec > 0 {
            Duration::from_secs_f64(n as f64 / link.bytes_per_sec as f64)
        } else {
            Duration::ZERO
        };
        let sent_by = {
            let mut free = link_free.lock().unwrap_or_else(|p| p.into_inner());
            *free = (*free).max(tokio::time::Instant::now()) + transmit;
            *free
        };
        if tx
            .send((sent_by + link.one_way_delay, buf[..n].to_vec()))
            .is_err()
        {
            break;
        }
        if cut_here {
            break;
        }
    }
    drop(tx);
    let _ = (&mut writer.0).await;
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
