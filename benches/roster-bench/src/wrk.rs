//! Load from wrk: a fixed number of connections for a fixed time, with its latency
//! distribution and its count of answers that were not 2xx or 3xx.

use std::path::PathBuf;

use tokio::process::Command;

/// How wrk is run for every scenario.
#[derive(Clone, Debug)]
pub struct Settings {
    pub threads: u32,
    pub connections: u32,
}

/// One scenario's load: a URL, headers, and optionally a Lua script with its arguments.
#[derive(Clone, Debug, Default)]
pub struct Load {
    pub url: String,
    pub headers: Vec<String>,
    pub script: Option<PathBuf>,
    pub script_args: Vec<String>,
}

/// What one wrk run reports.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers that were neither 2xx nor 3xx.
    pub not_2xx_3xx: u64,
    pub socket_errors: u64,
    /// Lines the script printed (they start with "roster-bench").
    pub script_output: Vec<String>,
}

impl Run {
    /// A number the script printed as `name=N`.
    pub fn script_value(&self, name: &str) -> Option<u64> {
        self.script_output.iter().find_map(|line| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
        })
    }
}

/// Runs wrk for `seconds` and reads its report.
pub async fn run(settings: &Settings, load: &Load, seconds: u64) -> anyhow::Result<Run> {
    let mut command = Command::new("wrk");
    command
        .arg(format!("--threads={}", settings.threads))
        .arg(format!("--connections={}", settings.connections))
        .arg(format!("--duration={seconds}s"))
        .arg("--timeout=10s")
        .arg("--latency");
    for header in &load.headers {
        command.arg("--header").arg(header);
    }
    if let Some(script) = &load.script {
        command.arg("--script").arg(script);
    }
    command.arg(&load.url);
    if !load.script_args.is_empty() {
        command.arg("--").args(&load.script_args);
    }
    let output = command
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}); install it: apt-get install wrk"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "wrk failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&stdout)
}

/// Milliseconds from wrk's `812.00us`, `1.25ms`, `2.00s` or `1.00m`.
fn millis(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

fn parse(report: &str) -> anyhow::Result<Run> {
    let mut run = Run::default();
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => run.p50_ms = millis(value).unwrap_or_default(),
            ["99%", value] => run.p99_ms = millis(value).unwrap_or_default(),
            [count, "requests", "in", ..] => run.requests = count.parse()?,
            ["Requests/sec:", value] => run.per_second = value.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", count] => run.not_2xx_3xx = count.parse()?,
            ["Socket", "errors:", rest @ ..] => {
                run.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ if line.starts_with("roster-bench") => run.script_output.push(line.to_string()),
            _ => {}
        }
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 2s test @ http://127.0.0.1:41234/healthz
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  300.00us   9.10ms   90.00%
    Req/Sec    20.01k     1.20k   22.00k    70.00%
  Latency Distribution
     50%  750.00us
     75%    1.00ms
     90%    1.20ms
     99%    2.50ms
  80000 requests in 2.00s, 10.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  40000.00
Transfer/sec:      5.00MB
roster-bench: invited=79990 other=10
";

    #[test]
    fn reads_a_wrk_report() {
        let run = parse(REPORT).unwrap();
        assert_eq!(run.requests, 80_000);
        assert_eq!(run.per_second, 40_000.0);
        assert_eq!(run.p50_ms, 0.75);
        assert_eq!(run.p99_ms, 2.5);
        assert_eq!(run.not_2xx_3xx, 7);
        assert_eq!(run.socket_errors, 3);
        assert_eq!(run.script_value("invited"), Some(79_990));
        assert_eq!(run.script_value("other"), Some(10));
    }

    #[test]
    fn reads_each_latency_unit() {
        assert_eq!(millis("500.00us"), Some(0.5));
        assert_eq!(millis("2.00s"), Some(2000.0));
        assert_eq!(millis("1.00m"), Some(60_000.0));
        assert_eq!(millis("fast"), None);
    }
}
