//! The results as markdown: where and when they were measured, one table of requests per
//! database, the bulk work, the targets of issue 7, and every failed check.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::{Backend, SCENARIOS, wrk};

/// One scenario's measured run.
#[derive(Clone, Debug)]
pub struct Measured {
    pub run: wrk::Run,
    /// The server's CPU time (all threads) during the measured run.
    pub server_cpu: Duration,
}

impl Measured {
    /// The server's CPU time per answered request: a measure of the work each takes that
    /// other load on the machine disturbs less than the rate does.
    pub fn cpu_per_request(&self) -> Duration {
        self.server_cpu / u32::try_from(self.run.requests.max(1)).unwrap_or(u32::MAX)
    }

    /// What wrk itself saw go wrong.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.run.requests == 0 {
            problems.push("no request was answered within the run".into());
        }
        if self.run.not_2xx_3xx > 0 {
            problems.push(format!(
                "{} of {} answers were not 2xx or 3xx",
                self.run.not_2xx_3xx, self.run.requests
            ));
        }
        if self.run.socket_errors > 0 {
            problems.push(format!("{} socket errors", self.run.socket_errors));
        }
        problems
    }
}

/// The CSV upload and the delivery of its emails.
#[derive(Clone, Debug)]
pub struct Bulk {
    pub rows: u64,
    pub preview: Duration,
    pub confirm: Duration,
    pub emails_per_second: f64,
    pub smtp_connections: u64,
}

/// One download of the whole member list as CSV (the Members page's Export CSV).
#[derive(Clone, Debug)]
pub struct Export {
    pub rows: u64,
    pub took: Duration,
    /// The server's peak RSS before the export and after it: the export streams, so it
    /// should not raise it.
    pub peak_before_kib: u64,
    pub peak_after_kib: u64,
}

/// One database and organization size.
#[derive(Clone, Debug)]
pub struct Case {
    pub backend: Backend,
    pub members: u64,
    pub seed: Duration,
    pub scenarios: Vec<(&'static str, Measured)>,
    pub bulk: Option<Bulk>,
    pub export: Option<Export>,
    /// Before the sign-in storm, if it ran.
    pub peak_rss_kib: u64,
    /// After the sign-in storm.
    pub peak_rss_sign_ins_kib: Option<u64>,
    /// (scenario, what went wrong)
    pub failures: Vec<(&'static str, String)>,
}

impl Case {
    pub fn new(backend: Backend, members: u64, seed: Duration) -> Case {
        Case {
            backend,
            members,
            seed,
            scenarios: Vec::new(),
            bulk: None,
            export: None,
            peak_rss_kib: 0,
            peak_rss_sign_ins_kib: None,
            failures: Vec::new(),
        }
    }

    pub fn fail(&mut self, scenario: &'static str, what: String) {
        self.failures.push((scenario, what));
    }

    fn measured(&self, scenario: &str) -> Option<&Measured> {
        self.scenarios
            .iter()
            .find(|(key, _)| *key == scenario)
            .map(|(_, m)| m)
    }

    fn run(&self, scenario: &str) -> Option<&wrk::Run> {
        self.measured(scenario).map(|m| &m.run)
    }

    fn failed(&self, scenario: &str) -> bool {
        self.failures.iter().any(|(key, _)| *key == scenario)
    }
}

/// Everything the report says.
pub struct Report<'a> {
    command: String,
    binary_bytes: u64,
    cases: &'a [Case],
}

impl Report<'_> {
    pub fn new(command: String, binary_bytes: u64, cases: &[Case]) -> Report<'_> {
        Report {
            command,
            binary_bytes,
            cases,
        }
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.1} ms")
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let ram_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {:.1} GiB RAM",
        ram_kib as f64 / (1024.0 * 1024.0)
    )
}

fn commit() -> String {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(&workspace)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let head = git(&["rev-parse", "--short", "HEAD"]);
    // The report itself is rewritten after each database and size: not a change.
    let dirty = !git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":!benches/RESULTS.md",
    ])
    .is_empty();
    if dirty {
        format!("{head} with uncommitted changes")
    } else {
        head
    }
}

fn cell(case: &Case, scenario: &str) -> String {
    let numbers = case.measured(scenario).map(|m| {
        let r = &m.run;
        format!(
            "{}/s · {} · {} · {} µs",
            thousands(r.per_second.round() as u64),
            ms(r.p50_ms),
            ms(r.p99_ms),
            thousands(m.cpu_per_request().as_micros() as u64)
        )
    });
    match (numbers, case.failed(scenario)) {
        (Some(n), false) => n,
        (Some(n), true) => format!("**failed** ({n})"),
        (None, true) => "**failed**".into(),
        (None, false) => "–".into(),
    }
}

/// `mark value` for a target: ✅ met, ❌ missed.
fn verdict(met: bool, value: String) -> String {
    format!("{} {value}", if met { "✅" } else { "❌" })
}

/// The targets of issue 7 for one database at its largest organization.
fn targets(case: &Case) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let rps = |s: &str| {
        case.run(s)
            .filter(|_| !case.failed(s))
            .map_or(0.0, |r| r.per_second)
    };
    let floor = match case.backend {
        Backend::Sqlite => 5_000.0,
        Backend::Postgres => 3_000.0,
    };
    if let Some(first) = case.run("members") {
        rows.push((
            "Members page ≥ 5,000/s (SQLite), ≥ 3,000/s (PostgreSQL), p99 < 25 ms",
            verdict(
                first.per_second >= floor && first.p99_ms < 25.0 && !case.failed("members"),
                format!(
                    "{}/s, p99 {}",
                    thousands(first.per_second as u64),
                    ms(first.p99_ms)
                ),
            ),
        ));
        for (key, label) in [
            ("members-deep", "Deep page within 2× of the first"),
            ("members-search", "Search within 2× of the first"),
        ] {
            if let Some(run) = case.run(key) {
                rows.push((
                    label,
                    verdict(
                        rps(key) * 2.0 >= first.per_second && run.p99_ms <= 2.0 * first.p99_ms,
                        format!(
                            "{}/s, p99 {}",
                            thousands(run.per_second as u64),
                            ms(run.p99_ms)
                        ),
                    ),
                ));
            }
        }
    }
    if let (Some(calm), Some(storm)) = (case.run("members"), case.run("members-sign-ins")) {
        rows.push((
            "Members page p99 while 4 clients sign in within 3× of its p99 alone",
            verdict(
                storm.p99_ms <= 3.0 * calm.p99_ms && !case.failed("members-sign-ins"),
                format!(
                    "p99 {} against {} ({}/s)",
                    ms(storm.p99_ms),
                    ms(calm.p99_ms),
                    thousands(storm.per_second as u64)
                ),
            ),
        ));
    }
    if case.run("invite-form").is_some() {
        rows.push((
            "Creating invitations ≥ 2,000/s",
            verdict(
                rps("invite-form") >= 2_000.0,
                format!("{}/s", thousands(rps("invite-form") as u64)),
            ),
        ));
    }
    if let Some(bulk) = &case.bulk {
        rows.push((
            "CSV of 10,000 rows: preview < 1 s",
            verdict(
                bulk.preview < Duration::from_secs(1),
                format!("{:.2} s", bulk.preview.as_secs_f64()),
            ),
        ));
        rows.push((
            "CSV of 10,000 rows: confirm < 3 s",
            verdict(
                bulk.confirm < Duration::from_secs(3),
                format!("{:.2} s", bulk.confirm.as_secs_f64()),
            ),
        ));
        rows.push((
            "Email ≥ 300 messages/s",
            verdict(
                bulk.emails_per_second >= 300.0,
                format!("{:.0}/s", bulk.emails_per_second),
            ),
        ));
    }
    rows
}

/// The report as markdown.
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    let _ = writeln!(md, "# Benchmark results\n");
    let _ = writeln!(md, "Written by `{}`.\n", report.command);
    let _ = writeln!(md, "- Date: {date}");
    let _ = writeln!(md, "- Machine: {}", machine());
    let _ = writeln!(md, "- Commit: {}", commit());
    let _ = writeln!(md, "- Release binary: {}", mib(report.binary_bytes));
    let _ = writeln!(
        md,
        "- Each organization has its members plus 1% as pending invitations. Cells: requests \
         per second · p50 · p99 latency (wrk, 32 connections, after a warm-up) · the server's \
         CPU time per request (all its threads; less disturbed by other load than the rate).\n"
    );
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let cases: Vec<&Case> = report
            .cases
            .iter()
            .filter(|c| c.backend == backend)
            .collect();
        if cases.is_empty() {
            continue;
        }
        let _ = writeln!(md, "## {}\n", backend.label());
        let header: Vec<String> = cases
            .iter()
            .map(|c| format!("{} members", thousands(c.members)))
            .collect();
        let _ = writeln!(md, "| | {} |", header.join(" | "));
        let _ = writeln!(md, "|---|{}", "---|".repeat(cases.len()));
        for (key, label) in SCENARIOS
            .iter()
            .filter(|(k, _)| !["csv", "email", "export"].contains(k))
        {
            let cells: Vec<String> = cases.iter().map(|c| cell(c, key)).collect();
            let _ = writeln!(md, "| {label} | {} |", cells.join(" | "));
        }
        let bulk = |f: &dyn Fn(&Bulk) -> String| -> Vec<String> {
            cases
                .iter()
                .map(|c| c.bulk.as_ref().map_or("–".into(), f))
                .collect()
        };
        let export: Vec<String> = cases
            .iter()
            .map(|c| {
                c.export.as_ref().map_or("–".into(), |e| {
                    format!(
                        "{:.2} s ({} rows); peak RSS {} → {}",
                        e.took.as_secs_f64(),
                        thousands(e.rows),
                        mib(e.peak_before_kib * 1024),
                        mib(e.peak_after_kib * 1024)
                    )
                })
            })
            .collect();
        let rows: [(&str, Vec<String>); 8] = [
            ("Member list export (CSV, streamed)", export),
            (
                "CSV upload to preview",
                bulk(&|b| {
                    format!(
                        "{:.2} s ({} rows)",
                        b.preview.as_secs_f64(),
                        thousands(b.rows)
                    )
                }),
            ),
            (
                "CSV confirm to all stored and queued",
                bulk(&|b| format!("{:.2} s", b.confirm.as_secs_f64())),
            ),
            (
                "Outbox to SMTP sink",
                bulk(&|b| {
                    format!(
                        "{:.0} messages/s over {} connections",
                        b.emails_per_second, b.smtp_connections
                    )
                }),
            ),
            (
                "Server peak RSS (VmHWM)",
                cases.iter().map(|c| mib(c.peak_rss_kib * 1024)).collect(),
            ),
            (
                "Server peak RSS, then with 4 clients signing in",
                cases
                    .iter()
                    .map(|c| {
                        c.peak_rss_sign_ins_kib
                            .map_or("–".into(), |k| mib(k * 1024))
                    })
                    .collect(),
            ),
            (
                "Seeding (bulk SQL)",
                cases
                    .iter()
                    .map(|c| format!("{:.1} s", c.seed.as_secs_f64()))
                    .collect(),
            ),
            (
                "Checks",
                cases
                    .iter()
                    .map(|c| {
                        if c.failures.is_empty() {
                            "all passed".to_string()
                        } else {
                            format!("**{} failed**", c.failures.len())
                        }
                    })
                    .collect(),
            ),
        ];
        for (label, cells) in rows {
            let _ = writeln!(md, "| {label} | {} |", cells.join(" | "));
        }
        let _ = writeln!(md);
        if let Some(largest) = cases.iter().max_by_key(|c| c.members) {
            let _ = writeln!(md, "Targets at {} members:\n", thousands(largest.members));
            let _ = writeln!(md, "| target | measured |\n|---|---|");
            for (target, value) in targets(largest) {
                let _ = writeln!(md, "| {target} | {value} |");
            }
            let peak = cases.iter().map(|c| c.peak_rss_kib).max().unwrap_or(0);
            let _ = writeln!(
                md,
                "| Peak RSS < 48 MiB in every run | {} |\n",
                verdict(peak < 48 * 1024, mib(peak * 1024))
            );
        }
    }
    let failures: Vec<String> = report
        .cases
        .iter()
        .flat_map(|c| {
            c.failures.iter().map(move |(key, what)| {
                format!(
                    "- {} at {} members, `{key}`: {what}",
                    c.backend.label(),
                    thousands(c.members)
                )
            })
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "## Failures\n\n{}\n", failures.join("\n"));
    }
    md
}

pub fn write(path: &Path, report: &Report) -> anyhow::Result<()> {
    std::fs::write(path, render(report))?;
    Ok(())
}
