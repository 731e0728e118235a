//! Command line and environment. Every setting of `roster serve` is a flag and an
//! environment variable; a bad value stops start-up with one line naming it.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use lettre::message::Mailbox;
use url::Url;

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "Invite, manage and remove the people of your organizations."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create the first account (instance admin) and its organization, as the set-up page does.
    CreateAdmin(CreateAdmin),
    /// Queue a test email to ADDRESS and try to deliver it now.
    SendTestEmail {
        /// Where to send the test email.
        address: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateAdmin {
    /// Email address of the account.
    #[arg(long)]
    pub email: String,
    /// The person's name.
    #[arg(long)]
    pub name: String,
    /// Name of the first organization.
    #[arg(long)]
    pub organization: String,
    /// Read the password from standard input instead of asking for it twice.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Database: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "ROSTER_DATABASE_URL", default_value = "sqlite://roster.db", value_parser = parse_database_url, global = true)]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "ROSTER_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// Public URL of Roster, used in links in emails [default: http:// + the bind address].
    #[arg(long, env = "ROSTER_BASE_URL", value_parser = parse_base_url, global = true)]
    pub base_url: Option<Url>,

    /// SMTP server: smtp://user:pass@host:587?tls=required (STARTTLS), smtps://host:465, or
    /// smtp://host:25 (no TLS). Without it no email is sent.
    #[arg(long, env = "ROSTER_SMTP_URL", value_parser = parse_smtp_url, global = true)]
    pub smtp_url: Option<String>,

    /// Sender of emails.
    #[arg(long, env = "ROSTER_SMTP_FROM", default_value = "Roster <roster@localhost>", value_parser = parse_mailbox, global = true)]
    pub smtp_from: Mailbox,

    /// Mark cookies Secure (turn on behind TLS).
    #[arg(long, env = "ROSTER_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,

    /// Log filter, e.g. info or roster=debug,tower_http=info.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Days to keep audit events; older ones are deleted once an hour. Unset: forever.
    #[arg(long, env = "ROSTER_AUDIT_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500), global = true)]
    pub audit_retention_days: Option<u32>,

    /// API requests allowed per token and minute, in each Roster process (0: no limit).
    #[arg(
        long,
        env = "ROSTER_API_RATE_LIMIT",
        default_value_t = 600,
        global = true
    )]
    pub api_rate_limit: u32,

    /// The DNS server that domain verification asks (IP or IP:PORT); by default the
    /// system's (/etc/resolv.conf).
    #[arg(long, env = "ROSTER_DNS_RESOLVER", value_parser = parse_dns_resolver, global = true)]
    pub dns_resolver: Option<std::net::SocketAddr>,

    /// Let Roster call plain-HTTP addresses and private, loopback or link-local ones
    /// (an identity provider or webhook endpoint on the operator's own network). Off,
    /// such addresses are refused wherever an Owner types them.
    #[arg(
        long,
        env = "ROSTER_ALLOW_PRIVATE_ADDRESSES",
        num_args = 0..=1,
        default_missing_value = "true",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub allow_private_addresses: bool,

    /// Seconds before the first retry of a failed email; it doubles with each attempt.
    #[arg(
        long,
        env = "ROSTER_EMAIL_RETRY_SECS",
        default_value_t = 30,
        hide = true,
        global = true
    )]
    pub email_retry_secs: u64,

    /// Seconds before the first retry of a failed webhook delivery; it doubles with each
    /// attempt, up to six hours.
    #[arg(
        long,
        env = "ROSTER_WEBHOOK_RETRY_SECS",
        default_value_t = 30,
        hide = true,
        global = true
    )]
    pub webhook_retry_secs: u64,
}

impl Config {
    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    pub fn email_retry_base(&self) -> Duration {
        Duration::from_secs(self.email_retry_secs.max(1))
    }

    pub fn webhook_retry_base(&self) -> Duration {
        Duration::from_secs(self.webhook_retry_secs.max(1))
    }
}

fn parse_dns_resolver(value: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(ip) = value.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 53));
    }
    value
        .parse()
        .map_err(|_| format!("{value:?} is not an IP address, or IP:PORT, of a DNS server"))
}

fn parse_database_url(value: &str) -> Result<String, String> {
    let ok = value.starts_with("sqlite:")
        || value.starts_with("postgres://")
        || value.starts_with("postgresql://");
    if ok {
        Ok(value.to_string())
    } else {
        Err("must start with sqlite:// or postgres://".into())
    }
}

fn parse_base_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    Ok(url)
}

fn parse_smtp_url(value: &str) -> Result<String, String> {
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(value)
        .map(|_| value.to_string())
        .map_err(|e| format!("not a usable SMTP URL ({e})"))
}

fn parse_mailbox(value: &str) -> Result<Mailbox, String> {
    value.parse::<Mailbox>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("roster").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_design() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.config.database_url, "sqlite://roster.db");
        assert_eq!(cli.config.public_url(), "http://127.0.0.1:3000");
        assert!(cli.config.smtp_url.is_none());
    }

    #[test]
    fn a_bad_setting_names_itself() {
        let err = parse(&["--database-url", "mysql://x"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--database-url"), "{err}");
        let err = parse(&["--base-url", "ftp://x"]).unwrap_err().to_string();
        assert!(err.contains("--base-url"), "{err}");
        let err = parse(&["--bind", "nowhere"]).unwrap_err().to_string();
        assert!(err.contains("--bind"), "{err}");
    }
}
