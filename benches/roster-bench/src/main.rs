//! Roster's benchmark suite. For each database and organization size it seeds a fresh
//! database, starts the release server with a local SMTP sink, signs in as the Owner,
//! drives each scenario with wrk, measures the bulk work (a CSV upload, the outbox's
//! delivery rate), checks that every answer and every invitation is as it must be, and
//! writes a markdown report. See the README's "Benchmarks" section.

mod report;
mod seed;
mod server;
mod sink;
mod web;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use roster::db::Db;

use report::{Bulk, Case, Measured};
use seed::{BenchDb, ORG_SLUG, OWNER_EMAIL, OWNER_PASSWORD};
use server::{Launch, Server};
use sink::SmtpSink;
use web::Browser;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// The scenarios, by the name `--scenarios` takes, with what the report calls them.
pub const SCENARIOS: [(&str, &str); 15] = [
    ("healthz", "Trivial route (`/healthz`)"),
    ("members", "Members page, first page"),
    (
        "members-sign-ins",
        "Members page, first page, while 4 clients sign in",
    ),
    ("members-deep", "Members page, 40 pages from the end"),
    ("members-middle", "Members page, the middle page by number"),
    ("members-search", "Members page, search by name"),
    ("invitations", "Invitations page"),
    ("api-members", "API: members, first page"),
    ("api-invitations", "API: invitations, first page"),
    ("scim-users", "SCIM: Users, first page of 100"),
    ("scim-lookup", "SCIM: a User by userName (filter)"),
    ("invite-form", "Creating invitations (form POST)"),
    ("csv", "CSV upload (preview, confirm)"),
    ("email", "Outbox delivery to SMTP"),
    ("export", "Member list export (CSV)"),
];

#[derive(Debug, Parser)]
#[command(
    name = "roster-bench",
    about = "Measure Roster at 1,000 to 100,000 members on SQLite and PostgreSQL."
)]
struct Args {
    /// Databases to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    db: Vec<Backend>,
    /// Organization sizes (members; 1% more as pending invitations).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    members: Vec<u64>,
    /// Seconds of measured load per scenario.
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Seconds of load before each measurement.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// wrk connections.
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Rows of the uploaded CSV file.
    #[arg(long, default_value_t = 10_000)]
    csv_rows: u64,
    /// Scenarios to run (default: all).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// PostgreSQL database through which fresh databases are created and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_admin_url: String,
    /// The server binary (default: build the release one).
    #[arg(long)]
    roster_bin: Option<PathBuf>,
    /// The server's log filter (RUST_LOG); Roster's default is info.
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Keep each seeded database (and say where it is), to look at its query plans.
    #[arg(long)]
    keep: bool,
    /// Where the markdown report goes.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../RESULTS.md"))]
    out: PathBuf,
}

impl Args {
    fn runs(&self, scenario: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s == scenario)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(unknown) = args
        .scenarios
        .iter()
        .find(|s| !SCENARIOS.iter().any(|(key, _)| key == s))
    {
        eprintln!("unknown scenario {unknown:?}; the scenarios are:");
        for (key, label) in SCENARIOS {
            eprintln!("  {key:16} {label}");
        }
        return ExitCode::FAILURE;
    }
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "some scenarios failed; see {} (\"Failures\")",
                args.out.display()
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every case and writes the report; false when any check failed.
async fn run(args: &Args) -> anyhow::Result<bool> {
    let bin = match &args.roster_bin {
        Some(bin) => bin.clone(),
        None => server::build_release()?,
    };
    let binary_bytes = std::fs::metadata(&bin)?.len();
    let work = tempfile::tempdir()?;
    let script = work.path().join("invite.lua");
    // The servers' logs outlive the run, for the failures they explain.
    let logs = std::env::temp_dir().join("roster-bench-logs");
    std::fs::create_dir_all(&logs)?;
    std::fs::write(&script, include_str!("../lua/invite.lua"))?;
    let mut cases = Vec::new();
    for &backend in &args.db {
        for &members in &args.members {
            eprintln!("== {} with {members} members", backend.label());
            let log = logs.join(format!("server-{backend:?}-{members}.log"));
            eprintln!("   server log: {}", log.display());
            let case = run_case(args, &bin, &script, &log, backend, members).await?;
            for (scenario, what) in &case.failures {
                eprintln!("   FAILED {scenario}: {what}");
            }
            cases.push(case);
            // Partial results survive an interrupted run.
            report::write(
                &args.out,
                &report::Report::new(args_line(), binary_bytes, &cases),
            )?;
        }
    }
    let report = report::Report::new(args_line(), binary_bytes, &cases);
    report::write(&args.out, &report)?;
    eprintln!("results written to {}", args.out.display());
    Ok(cases.iter().all(|c| c.failures.is_empty()))
}

fn args_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo run --release -p roster-bench -- {}", args.join(" "))
        .trim_end()
        .to_string()
}

/// One database and organization size, from an empty database to a stopped server.
async fn run_case(
    args: &Args,
    bin: &Path,
    script: &Path,
    log_file: &Path,
    backend: Backend,
    members: u64,
) -> anyhow::Result<Case> {
    let bench_db = BenchDb::create(backend, &args.pg_admin_url).await?;
    let db = Db::connect(&bench_db.url).await?;
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let seeded = seed::seed(&db, members, now).await?;
    let mut case = Case::new(backend, members, started.elapsed());
    eprintln!("   seeded in {:.1} s", case.seed.as_secs_f64());

    let sink = SmtpSink::start().await?;
    let server = Server::start(&Launch {
        bin,
        database_url: &bench_db.url,
        smtp_url: &sink.url(),
        log_filter: &args.server_log,
        log_file,
    })
    .await?;
    let browser = Browser::new(&server.base)?;
    let members_path = format!("/orgs/{ORG_SLUG}/members");
    let csrf = browser
        .sign_in(OWNER_EMAIL, OWNER_PASSWORD, &members_path)
        .await?;
    let wrk = wrk::Settings {
        threads: args.threads,
        connections: args.connections,
    };
    let cookie = browser.cookie_header()?;
    let bearer = format!("Authorization: Bearer {}", seeded.api_token);
    let api = |what: &str| format!("/api/v1/orgs/{ORG_SLUG}/{what}?page=1&per_page=50");
    let search = format!(
        "{members_path}?q={}",
        seeded.search.replace(' ', "+").to_lowercase()
    );
    let deep = deep_page(&browser, &members_path).await;
    let middle = middle_page(&browser, &members_path).await;
    let scim_lookup = format!(
        "/scim/v2/Users?filter=userName%20eq%20%22{}%22",
        seeded.lookup_email.replace('@', "%40")
    );
    let pages: [(&str, &anyhow::Result<String>, &str); 10] = [
        ("healthz", &Ok("/healthz".into()), ""),
        ("members", &Ok(members_path.clone()), "Members"),
        ("members-deep", &deep, "Members"),
        ("members-middle", &middle, "Members"),
        ("members-search", &Ok(search), &seeded.search),
        (
            "invitations",
            &Ok(format!("/orgs/{ORG_SLUG}/invitations")),
            "Invitations",
        ),
        ("api-members", &Ok(api("members")), ""),
        ("api-invitations", &Ok(api("invitations")), ""),
        (
            "scim-users",
            &Ok("/scim/v2/Users?startIndex=1&count=100".into()),
            "\"itemsPerPage\":100",
        ),
        ("scim-lookup", &Ok(scim_lookup), "\"totalResults\":1"),
    ];
    for (key, path, marker) in pages {
        if !args.runs(key) {
            continue;
        }
        let path = match path {
            Ok(path) => path.clone(),
            Err(why) => {
                case.fail(key, why.to_string());
                continue;
            }
        };
        let header = if key.starts_with("api-") {
            bearer.clone()
        } else if key.starts_with("scim-") {
            format!("Authorization: Bearer {}", seeded.scim_token)
        } else {
            cookie.clone()
        };
        let load = wrk::Load {
            url: format!("{}{path}", server.base),
            headers: vec![header.clone()],
            ..Default::default()
        };
        let measured = measure(&wrk, &load, args, &server).await?;
        // wrk counts 4xx and 5xx; a page that answers anything but 200 with its content
        // (a redirect to sign-in, a 404 from a missing route) fails as well.
        let (name, value) = header.split_once(": ").expect("a header has a colon");
        let (status, body) = browser.get_with(&path, (name, value)).await?;
        let mut problems = measured.problems();
        if status != 200 || !body.contains(marker) {
            problems.push(format!("GET {path} answered {status}"));
        }
        if !problems.is_empty() {
            case.fail(key, problems.join("; "));
        }
        case.scenarios.push((key, measured));
    }
    if args.runs("export") {
        // Before the bulk work, whose own memory would hide the export's.
        let peak_before_kib = server.peak_rss_kib()?;
        let path = format!("/orgs/{ORG_SLUG}/members.csv");
        let (name, value) = cookie.split_once(": ").expect("a header has a colon");
        let started = Instant::now();
        let (status, body) = browser.get_with(&path, (name, value)).await?;
        let took = started.elapsed();
        let rows = body.lines().count().saturating_sub(1) as u64;
        // Every member and pending invitation, and nothing cut short.
        let expected = members + members / 100;
        if status != 200 || rows < members {
            case.fail(
                "export",
                format!("GET {path} answered {status} with {rows} rows, {expected} expected"),
            );
        }
        case.export = Some(report::Export {
            rows,
            took,
            peak_before_kib,
            peak_after_kib: server.peak_rss_kib()?,
        });
    }
    if args.runs("csv") || args.runs("email") {
        match bulk_csv(args, &db, &browser, &csrf, &sink).await {
            Ok(bulk) => case.bulk = Some(bulk),
            Err(err) => case.fail("csv", format!("{err:#}")),
        }
    }
    if args.runs("invite-form") {
        let load = wrk::Load {
            url: format!("{}/orgs/{ORG_SLUG}/invitations", server.base),
            headers: vec![cookie.clone()],
            script: Some(script.to_path_buf()),
            script_args: vec![String::new(), csrf.clone()],
        };
        match invite_by_form(args, &wrk, load, &db, &server).await {
            Ok((measured, problems)) => {
                if !problems.is_empty() {
                    case.fail("invite-form", problems.join("; "));
                }
                case.scenarios.push(("invite-form", measured));
            }
            Err(err) => case.fail("invite-form", format!("{err:#}")),
        }
    }
    // Last, as argon2's working memory (19 MiB a hash) counts apart from the pages'.
    case.peak_rss_kib = server.peak_rss_kib()?;
    if args.runs("members-sign-ins") {
        let load = wrk::Load {
            url: format!("{}{members_path}", server.base),
            headers: vec![cookie.clone()],
            ..Default::default()
        };
        let storm = SignInStorm::start(&server.base, SIGN_IN_CLIENTS);
        let measured = measure(&wrk, &load, args, &server).await?;
        let signed_in = storm.stop().await;
        eprintln!("   {signed_in} sign-ins during the members-sign-ins scenario");
        let mut problems = measured.problems();
        if signed_in == 0 {
            problems.push("no sign-in succeeded during the run".into());
        }
        if !problems.is_empty() {
            case.fail("members-sign-ins", problems.join("; "));
        }
        case.scenarios.push(("members-sign-ins", measured));
        case.peak_rss_sign_ins_kib = Some(server.peak_rss_kib()?);
    }
    server.stop().await?;
    db.close().await;
    if args.keep {
        eprintln!("   kept the database: {}", bench_db.keep());
    } else {
        bench_db.remove().await?;
    }
    Ok(case)
}

/// Clients signing in at once during the `members-sign-ins` scenario.
const SIGN_IN_CLIENTS: usize = 4;

/// Browsers signing in as the Owner over and over, each time as a new browser (a fresh
/// session and form), with the right password: argon2's full cost on every request.
struct SignInStorm {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    clients: tokio::task::JoinSet<u64>,
}

impl SignInStorm {
    fn start(base: &str, clients: usize) -> SignInStorm {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let (base, stop) = (base.to_string(), stop.clone());
            set.spawn(async move {
                let mut signed_in = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(browser) = Browser::new(&base) else {
                        break;
                    };
                    if browser
                        .sign_in_only(OWNER_EMAIL, OWNER_PASSWORD)
                        .await
                        .is_ok()
                    {
                        signed_in += 1;
                    }
                }
                signed_in
            });
        }
        SignInStorm { stop, clients: set }
    }

    /// Stops the clients; how many sign-ins succeeded.
    async fn stop(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut total = 0;
        while let Some(count) = self.clients.join_next().await {
            total += count.unwrap_or(0);
        }
        total
    }
}

/// A warm-up, then the measured run.
async fn measure(
    wrk: &wrk::Settings,
    load: &wrk::Load,
    args: &Args,
    server: &Server,
) -> anyhow::Result<Measured> {
    if args.warmup > 0 {
        wrk::run(wrk, load, args.warmup).await?;
    }
    let before = server.cpu_time()?;
    let run = wrk::run(wrk, load, args.duration).await?;
    Ok(Measured {
        run,
        server_cpu: server.cpu_time()?.saturating_sub(before),
    })
}

/// The path of the Members page 40 pages before its last, found as a person would: the
/// "Last" link, then "Previous" 40 times.
async fn deep_page(browser: &Browser, first: &str) -> anyhow::Result<String> {
    let (_, html) = browser.get(first).await?;
    let mut path = link(&html, r#"data-page="last""#)
        .ok_or_else(|| anyhow::anyhow!("the Members page has no link to its last page"))?;
    for _ in 0..40 {
        let (_, html) = browser.get(&path).await?;
        match link(&html, r#"rel="prev""#) {
            Some(previous) => path = previous,
            None => break,
        }
    }
    Ok(path)
}

/// The path of the Members page's middle page, asked for by its number (as a typed or
/// bookmarked address would): the costliest page to find by its position.
async fn middle_page(browser: &Browser, first: &str) -> anyhow::Result<String> {
    let (_, html) = browser.get(first).await?;
    let pages = html
        .split_once("Page 1 of ")
        .and_then(|(_, rest)| rest.split_once('<'))
        .and_then(|(pages, _)| pages.trim().parse::<u64>().ok())
        .ok_or_else(|| anyhow::anyhow!("the Members page does not say how many pages it has"))?;
    Ok(format!("{first}?page={}", pages.div_ceil(2)))
}

/// The `href` of the first link whose attributes contain `marker`.
fn link(html: &str, marker: &str) -> Option<String> {
    html.split("<a ")
        .find(|tag| {
            tag.split_once('>')
                .is_some_and(|(attrs, _)| attrs.contains(marker))
        })
        .and_then(|tag| tag.split_once(r#"href=""#))
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(href, _)| href.replace("&amp;", "&"))
}

/// Uploads a CSV file of `csv_rows` new addresses, confirms it, checks that every
/// invitation was stored once with its email queued, and times the outbox delivering
/// those emails to the sink.
async fn bulk_csv(
    args: &Args,
    db: &Db,
    browser: &Browser,
    csrf: &str,
    sink: &SmtpSink,
) -> anyhow::Result<Bulk> {
    let csv: String = std::iter::once("email".to_string())
        .chain((0..args.csv_rows).map(|i| format!("csv-{i}@bench.example")))
        .collect::<Vec<_>>()
        .join("\n");
    let (preview, confirm_path) = browser.preview_csv(ORG_SLUG, csrf, csv).await?;
    let received_before = sink.received();
    let connections_before = sink.connections();
    let confirm = browser.confirm_csv(&confirm_path, csrf).await?;
    let queued_at = Instant::now();
    check_invitations(db, "csv", args.csv_rows..=args.csv_rows).await?;
    let expected = received_before + args.csv_rows;
    let deadline = Duration::from_secs(600);
    while sink.received() < expected {
        anyhow::ensure!(
            queued_at.elapsed() < deadline,
            "the sink received {} of {} emails in {} s",
            sink.received() - received_before,
            args.csv_rows,
            deadline.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivery = queued_at.elapsed();
    Ok(Bulk {
        rows: args.csv_rows,
        preview,
        confirm,
        // Counted from the confirmation's answer, when the worker was woken.
        emails_per_second: args.csv_rows as f64 / delivery.as_secs_f64(),
        smtp_connections: sink.connections() - connections_before,
    })
}

/// Every invitation whose address starts with `prefix-` is stored once, with exactly one
/// email queued to it, and their number is in `expected`.
async fn check_invitations(
    db: &Db,
    prefix: &str,
    expected: std::ops::RangeInclusive<u64>,
) -> anyhow::Result<()> {
    let like = format!("'{prefix}-%'");
    // One statement, so one snapshot: the requests still in flight when wrk stopped may
    // commit between two statements.
    let sql = "SELECT CAST((SELECT COUNT(*) FROM invitations WHERE email LIKE {like}) AS BIGINT), \
         CAST((SELECT COUNT(DISTINCT email_normalized) FROM invitations WHERE email LIKE {like}) AS BIGINT), \
         CAST((SELECT COUNT(*) FROM outbox WHERE recipient LIKE {like}) AS BIGINT), \
         CAST((SELECT COUNT(*) FROM invitations i JOIN outbox o ON o.id = i.outbox_id \
           AND o.recipient = i.email WHERE i.email LIKE {like}) AS BIGINT)"
        .replace("{like}", &like);
    let (invitations, distinct, emails, linked): (i64, i64, i64, i64) = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(&sql).fetch_one(pool).await?,
        Db::Postgres(pool) => sqlx::query_as(&sql).fetch_one(pool).await?,
    };
    anyhow::ensure!(
        [distinct, emails, linked] == [invitations; 3]
            && expected.contains(&u64::try_from(invitations)?),
        "{prefix}: expected {expected:?} invitations, each with one email; found {invitations} \
         invitations ({distinct} addresses), {emails} emails, {linked} linked to their email"
    );
    Ok(())
}

/// Creates invitations through the form under load (warm-up and measured run, each with
/// its own addresses) and checks each created invitation against the database.
async fn invite_by_form(
    args: &Args,
    wrk: &wrk::Settings,
    mut load: wrk::Load,
    db: &Db,
    server: &Server,
) -> anyhow::Result<(Measured, Vec<String>)> {
    let mut problems = Vec::new();
    let mut runs = Vec::new();
    let mut server_cpu = Duration::ZERO;
    for (prefix, seconds) in [("warm", args.warmup), ("form", args.duration)] {
        if seconds == 0 {
            continue;
        }
        load.script_args[0] = prefix.to_string();
        let before = server.cpu_time()?;
        let run = wrk::run(wrk, &load, seconds).await?;
        server_cpu = server.cpu_time()?.saturating_sub(before);
        let invited = run
            .script_value("invited")
            .ok_or_else(|| anyhow::anyhow!("the wrk script printed no count"))?;
        if let Some(other) = run.script_value("other").filter(|n| *n > 0) {
            let first = run
                .script_output
                .iter()
                .find_map(|l| l.strip_prefix("roster-bench-first-other: "));
            problems.push(format!(
                "{other} POSTs were not answered 303 (the first: {})",
                first.unwrap_or("?")
            ));
        }
        // Requests still in flight when wrk stops are completed but not counted.
        let in_flight = u64::from(wrk.connections);
        if let Err(err) = check_invitations(db, prefix, invited..=invited + in_flight).await {
            problems.push(err.to_string());
        }
        runs.push(run);
    }
    let measured = Measured {
        run: runs.pop().expect("the measured run ran"),
        server_cpu,
    };
    problems.extend(measured.problems());
    Ok((measured, problems))
}
