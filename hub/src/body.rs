//! Request bodies read at a minimum pace: after a grace period a body must keep arriving at
//! `min_body_bytes_per_sec` on average, or it is cut. A client that trickles a byte every few
//! seconds holds its connection and its own slot for seconds, not for as long as it likes.

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};

/// Every body may take this long whatever its pace (headers, a slow start).
pub const GRACE: Duration = Duration::from_secs(10);

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// Past the size limit.
    TooLarge { limit: usize },
    /// Below the minimum pace.
    TooSlow { received: u64, min_rate: u64 },
    /// The connection failed or the body was malformed.
    Broken(String),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { limit } => write!(f, "the body is larger than {limit} bytes"),
            BodyError::TooSlow { received, min_rate } => write!(
                f,
                "the body arrived slower than {min_rate} bytes a second ({received} bytes came); check the link, or send smaller parts"
            ),
            BodyError::Broken(e) => write!(f, "the body could not be read ({e})"),
        }
    }
}

/// The pace one body is held to.
pub struct Pace {
    started: Instant,
    min_rate: u64,
}

impl Pace {
    pub fn new(min_rate: u64) -> Pace {
        Pace {
            started: Instant::now(),
            min_rate,
        }
    }

    /// When the bytes after the first `received` must have started to arrive.
    fn deadline(&self, received: u64) -> Instant {
        let earned = if self.min_rate == 0 {
            Duration::from_secs(365 * 24 * 3600)
        } else {
            Duration::from_secs_f64(received as f64 / self.min_rate as f64)
        };
        self.started + GRACE + earned
    }

    /// The next data of `body` (`None` at its end), waited for no later than the pace allows
    /// after `received` bytes.
    pub async fn next(&self, body: &mut Body, received: u64) -> Result<Option<Bytes>, BodyError> {
        loop {
            let frame = tokio::time::timeout_at(self.deadline(received).into(), body.frame())
                .await
                .map_err(|_| BodyError::TooSlow {
                    received,
                    min_rate: self.min_rate,
                })?;
            let Some(frame) = frame else {
                return Ok(None);
            };
            let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
            // Trailers are skipped (no karya client sends them).
            if let Ok(data) = frame.into_data() {
                return Ok(Some(data));
            }
        }
    }
}

/// Reads `body` whole, up to `limit` bytes, at `min_rate` bytes a second after [`GRACE`].
pub async fn read_paced(body: Body, limit: usize, min_rate: u64) -> Result<Bytes, BodyError> {
    let pace = Pace::new(min_rate);
    let mut body = body;
    let mut out = Vec::new();
    while let Some(data) = pace.next(&mut body, out.len() as u64).await? {
        if out.len() + data.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        out.extend_from_slice(&data);
    }
    Ok(Bytes::from(out))
}
