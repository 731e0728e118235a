//! The release `roster` binary, run as an operator would run it, on a port of its own.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Builds the release server (a no-op when it is up to date) and returns its path, next
/// to this benchmark's own executable.
pub fn build_release() -> anyhow::Result<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    // `cargo run` describes this package in the environment; build scripts that watch
    // those variables would otherwise rebuild for the server and again for this.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    let status = command
        .current_dir(&workspace)
        // With the whole workspace, as `cargo build --release` at its root builds it (and
        // with the same features as this benchmark, so that neither rebuilds the other).
        .args(["build", "--release", "--workspace", "--bins"])
        .status()?;
    anyhow::ensure!(status.success(), "building the release server failed");
    let exe = std::env::current_exe()?;
    let dir = exe.parent().expect("an executable lives in a folder");
    anyhow::ensure!(
        dir.ends_with("release"),
        "run the benchmark as a release build (cargo run --release -p roster-bench), or pass --roster-bin"
    );
    Ok(dir.join("roster"))
}

/// A running server; killed if dropped without `stop`.
pub struct Server {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

/// What the server is started with.
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub database_url: &'a str,
    pub smtp_url: &'a str,
    pub log_filter: &'a str,
    pub log_file: &'a Path,
}

impl Server {
    /// Starts `roster serve` on a free port and waits until it listens.
    pub async fn start(launch: &Launch<'_>) -> anyhow::Result<Server> {
        let log = std::fs::File::create(launch.log_file)?;
        // The log goes to stdout; errors before logging starts go to stderr.
        let mut child = Command::new(launch.bin)
            .arg("serve")
            .env("ROSTER_DATABASE_URL", launch.database_url)
            .env("ROSTER_BIND", "127.0.0.1:0")
            .env("ROSTER_SMTP_URL", launch.smtp_url)
            .env("RUST_LOG", launch.log_filter)
            // The API's per-token rate limit would otherwise measure itself.
            .env("ROSTER_API_RATE_LIMIT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.try_clone()?)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().expect("a started child has an id");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut log = tokio::fs::File::from_std(log);
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                use tokio::io::AsyncWriteExt;
                log.write_all(format!("{line}\n").as_bytes()).await?;
                if let Some((_, rest)) = line.split_once("Roster listening on ") {
                    let address = rest.split_whitespace().next().unwrap_or_default();
                    return Ok::<_, anyhow::Error>(address.to_string());
                }
            }
            anyhow::bail!(
                "the server stopped before listening; see {}",
                launch.log_file.display()
            )
        })
        .await
        .map_err(|_| anyhow::anyhow!("the server did not listen within 60 s"))??;
        // Keep draining the log so that the server never blocks on a full pipe.
        let mut rest = lines.into_inner();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut rest, &mut log).await;
        });
        Ok(Server {
            child,
            pid,
            base: format!("http://{address}"),
        })
    }

    /// The highest resident set size of the process so far, in KiB (VmHWM).
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/{}/status", self.pid))
    }

    /// The CPU time the process has used so far, user and system, in all its threads.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields 14 and 15 (utime, stime), counted after the command's closing parenthesis,
        // in clock ticks of 10 ms (USER_HZ, fixed at 100 for /proc).
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
        match (ticks(11), ticks(12)) {
            (Some(user), Some(system)) => Ok(Duration::from_millis((user + system) * 10)),
            _ => anyhow::bail!("no CPU times in /proc/{}/stat", self.pid),
        }
    }

    /// Stops the server as an operator would (SIGTERM), killing it if it lingers.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}
