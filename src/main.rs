use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Parser;
use roster::clock::Clock;
use roster::config::{Cli, Command, Config, CreateAdmin};
use roster::db::{self, Db};
use roster::email::messages;
use roster::email::worker::Worker;
use roster::first_run::{self, FirstAccountForm};
use roster::startup::{Application, shutdown_signal};
use roster::state::AppState;

fn main() -> ExitCode {
    limit_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Caps glibc's allocator at two arenas, before any thread starts. By default each
/// thread that allocates (Tokio's workers, one per SQLite connection) may get an arena
/// of its own, and their free pages add up (see benches/README.md).
///
/// It also fixes the size above which memory is mapped on its own and given back when
/// freed: by default glibc raises that bar to the largest block freed so far, so after
/// the first argon2 hash (19 MiB of working memory) every later one was carved from an
/// arena and its pages stayed in the process.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any other
    // thread exists, and a refusal (return 0) leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = roster::telemetry::init(&cli.config.log) {
        eprintln!("error: {err}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => migrate(&cli.config).await,
        Command::CreateAdmin(args) => create_admin(cli.config, args).await,
        Command::SendTestEmail { address } => send_test_email(cli.config, &address).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config, Clock::default()).await?;
    app.run_until_stopped(shutdown_signal()).await
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    println!("migrations applied");
    Ok(())
}

/// State for a one-off command, without a listener.
async fn command_state(config: Config) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    AppState::new(db, config, Clock::default()).await
}

async fn create_admin(config: Config, args: CreateAdmin) -> anyhow::Result<()> {
    let (password, password_confirm) = if args.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        (line.clone(), line)
    } else {
        (
            rpassword::prompt_password("Password: ")?,
            rpassword::prompt_password("Password again: ")?,
        )
    };
    let form = FirstAccountForm {
        email: args.email,
        name: args.name,
        password,
        password_confirm,
        organization: args.organization,
    };
    let account = form.parse().map_err(|errors| {
        let fields = [
            "email",
            "name",
            "password",
            "password_confirm",
            "organization",
        ];
        let lines: Vec<String> = fields
            .iter()
            .filter_map(|f| errors.get(f).map(|m| format!("{f}: {m}")))
            .collect();
        anyhow::anyhow!("{}", lines.join("; "))
    })?;
    let state = command_state(config).await?;
    let created = first_run::create(&state, &account, None, None).await?;
    Worker::for_state(&state).deliver_due().await?;
    println!(
        "Created {} (instance admin) as Owner of {}/orgs/{}/members",
        account.email,
        state.public_url(),
        created.org_slug
    );
    Ok(())
}

async fn send_test_email(config: Config, address: &str) -> anyhow::Result<()> {
    let state = command_state(config).await?;
    if !state.mailer.is_enabled() {
        anyhow::bail!("no SMTP server is configured (--smtp-url / ROSTER_SMTP_URL)");
    }
    let to =
        roster::domain::Email::parse(address).map_err(|m| anyhow::anyhow!("{address:?}: {m}"))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let email = messages::Test {
        to: to.to_string(),
        base_url: state.public_url(),
    };
    let id = state
        .mailer
        .queue(&mut tx, &email, now)
        .await?
        .expect("SMTP is enabled");
    let actor = db::audit::Actor::default();
    let event = db::audit::Event::new(db::audit::Action::TestEmailQueued, &actor).target(
        "email",
        Some(id),
        Some(to.normalized()),
    );
    db::audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Worker::for_state(&state).deliver_due().await?;
    match db::outbox::status(&state.db, id).await? {
        Some(status) if status.sent_at.is_some() => {
            println!("sent a test email to {to}");
            Ok(())
        }
        Some(status) => anyhow::bail!(
            "the test email was not delivered yet ({}); Roster will retry it while it runs",
            status.last_error.unwrap_or_else(|| "no answer".into())
        ),
        None => anyhow::bail!("the test email disappeared from the outbox"),
    }
}
