//! The store's own threads. Every database access of a request runs here, not on tokio's
//! shared blocking pool: photo uploads, exports and anything else a client can start in
//! numbers use that one, and cannot take the threads the dashboard, `/healthz`'s database
//! check and the other UPTs' syncs need. Jobs wait in a queue for a free thread; the number
//! of threads bounds the database work in flight (connections are a pool of their own).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

pub struct StorePool {
    jobs: Mutex<mpsc::Sender<Job>>,
    threads: usize,
}

/// A job ended in a panic (logged by the panic hook), or the pool is gone.
#[derive(Debug)]
pub struct JobFailed;

impl StorePool {
    /// A pool of `threads` threads (at least one), named `karya-store-N`.
    pub fn new(threads: usize) -> std::io::Result<StorePool> {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("karya-store-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking a job, not while running it.
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break, // the pool was dropped
                        }
                    }
                })?;
        }
        Ok(StorePool {
            jobs: Mutex::new(tx),
            threads,
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on one of the pool's threads and waits for it without blocking the runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JobFailed> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic fails this job only; the thread goes on with the next.
            if let Ok(v) = catch_unwind(AssertUnwindSafe(f)) {
                let _ = tx.send(v);
            }
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| JobFailed)?;
        rx.await.map_err(|_| JobFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pool_and_a_panic_fails_only_its_job() {
        let pool = StorePool::new(2).unwrap();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("karya-store-"));
        assert!(pool.run(|| panic!("boom")).await.is_err());
        // Both threads still serve.
        let (a, b) = tokio::join!(pool.run(|| 1), pool.run(|| 2));
        assert_eq!((a.unwrap(), b.unwrap()), (1, 2));
    }
}
