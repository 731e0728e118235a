//! Password hashing and checking off the async workers. Argon2 is built to take tens of
//! milliseconds of a core; run on the workers that serve pages, a few sign-ins at once
//! stalled every page. Here each runs on a blocking thread, and no more run at once than
//! leaves a core for everything else (one, on a machine of one or two cores).

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::domain::password;

/// Hashes and checks passwords, a bounded number at a time.
#[derive(Clone, Debug)]
pub struct Passwords {
    turns: Arc<Semaphore>,
}

impl Default for Passwords {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Passwords::with_limit(cores.saturating_sub(1).max(1))
    }
}

impl Passwords {
    /// At most `limit` hashes or checks at once.
    pub fn with_limit(limit: usize) -> Passwords {
        Passwords {
            turns: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// Whether `password` matches the stored PHC hash.
    pub async fn verify(&self, password: &str, stored: &str) -> bool {
        let (password, stored) = (password.to_string(), stored.to_string());
        self.run(move || password::verify(&password, &stored))
            .await
            .unwrap_or(false)
    }

    /// Spends the time of a check, for an unknown account (`password::verify_nothing`).
    pub async fn verify_nothing(&self, password: &str) {
        let password = password.to_string();
        self.run(move || password::verify_nothing(&password)).await;
    }

    /// An argon2id hash of `password`.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_string();
        self.run(move || password::hash(&password))
            .await
            .ok_or_else(|| anyhow::anyhow!("hashing a password did not finish"))
    }

    /// Runs `work` on a blocking thread once a turn is free; None if it panicked. The
    /// thread holds the turn, so a request that goes away meanwhile does not free it early.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let turn = self.turns.clone().acquire_owned().await.ok()?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work()
        })
        .await
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_made_off_the_workers_verify() {
        let passwords = Passwords::with_limit(1);
        let stored = passwords.hash("correct horse battery").await.unwrap();

        assert!(passwords.verify("correct horse battery", &stored).await);
        assert!(!passwords.verify("wrong horse battery", &stored).await);
    }

    #[tokio::test]
    async fn no_more_than_the_limit_run_at_once() {
        let passwords = Passwords::with_limit(2);
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (passwords, running, most) = (passwords.clone(), running.clone(), most.clone());
            tasks.spawn(async move {
                passwords
                    .run(move || {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, SeqCst);
                    })
                    .await
            });
        }
        while tasks.join_next().await.is_some() {}

        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
