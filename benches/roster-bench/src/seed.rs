//! A fresh database with Roster's own migrations and one large organization, written by
//! bulk SQL (many rows a statement, one transaction) rather than through HTTP.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use roster::db::Db;
use roster::domain::token;
use sqlx::Connection;

use crate::Backend;

pub const ORG_NAME: &str = "Bench Industries";
pub const ORG_SLUG: &str = "bench-industries";
pub const OWNER_EMAIL: &str = "owner@bench.example";
pub const OWNER_PASSWORD: &str = "the owner's long password";
/// Pending invitations per 100 members.
const INVITATIONS_PER_100: u64 = 1;
/// Rows per INSERT statement.
const CHUNK: usize = 1_000;

const FIRST: [&str; 40] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Margaret",
    "Dennis",
    "Ken",
    "Radia",
    "Katherine",
    "Tim",
    "Hedy",
    "Claude",
    "Niklaus",
    "Leslie",
    "Shafi",
    "Whitfield",
    "Joan",
    "Adele",
    "Sophie",
    "Fernando",
    "Jean",
    "Karen",
    "Robin",
    "Ivan",
    "Mary",
    "Tony",
    "Evelyn",
    "Hal",
    "Lynn",
    "Jim",
    "Anita",
    "Guido",
    "Bjarne",
    "Ada",
    "Yukihiro",
    "Rasmus",
];
const LAST: [&str; 50] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "McCarthy",
    "Hamilton",
    "Ritchie",
    "Thompson",
    "Perlman",
    "Johnson",
    "Berners-Lee",
    "Lamarr",
    "Shannon",
    "Wirth",
    "Lamport",
    "Goldwasser",
    "Diffie",
    "Clarke",
    "Goldberg",
    "Wilson",
    "Corbato",
    "Sammet",
    "Sparck-Jones",
    "Milner",
    "Sutherland",
    "Keller",
    "Hoare",
    "Boyd",
    "Abelson",
    "Conway",
    "Gray",
    "Borg",
    "Rossum",
    "Stroustrup",
    "Byron",
    "Matsumoto",
    "Lerdorf",
    "Kay",
    "Engelbart",
    "Backus",
    "Naur",
    "Floyd",
    "Karp",
    "Rabin",
    "Scott",
    "Hellman",
    "Rivest",
];
const DOMAINS: [&str; 5] = [
    "example.com",
    "example.org",
    "mail.example.net",
    "corp.example",
    "bench.example",
];

/// A database that exists for one run, and how to remove it.
pub struct BenchDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl BenchDb {
    /// A new, empty database: a SQLite file in a temporary folder, or a PostgreSQL
    /// database created through `pg_admin_url` (as the integration tests do).
    pub async fn create(backend: Backend, pg_admin_url: &str) -> anyhow::Result<BenchDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}", dir.path().join("roster.db").display());
                Ok(BenchDb {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                let mut admin = sqlx::PgConnection::connect(pg_admin_url).await?;
                let name = format!("roster_bench_{}", rand::random::<u32>());
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                let base = pg_admin_url
                    .rsplit_once('/')
                    .map_or(pg_admin_url, |(base, _)| base);
                Ok(BenchDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg: Some((pg_admin_url.to_string(), name)),
                })
            }
        }
    }

    /// Keeps the database past the run; returns its URL.
    pub fn keep(mut self) -> String {
        if let Some(dir) = self._dir.take() {
            let _ = dir.keep();
        }
        self.url.clone()
    }

    /// Drops a PostgreSQL database (a SQLite folder goes with `self`).
    pub async fn remove(mut self) -> anyhow::Result<()> {
        if let Some((admin_url, name)) = self.pg.take() {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}

/// What the seeded organization offers the scenarios.
#[derive(Clone, Debug)]
pub struct Seeded {
    /// The owner's API token (the secret, shown once in real life).
    pub api_token: String,
    /// The organization's SCIM token.
    pub scim_token: String,
    /// The address of a member halfway down the list (an identity provider's lookup).
    pub lookup_email: String,
    /// A member's full name: a search that finds a person and their namesakes.
    pub search: String,
}

fn person(i: u64) -> (String, String) {
    let first = FIRST[(i % FIRST.len() as u64) as usize];
    let last = LAST[((i / FIRST.len() as u64) % LAST.len() as u64) as usize];
    let domain = DOMAINS[(i % DOMAINS.len() as u64) as usize];
    let email = format!(
        "{}.{}{i}@{domain}",
        first.to_lowercase(),
        last.to_lowercase()
    );
    (email, format!("{first} {last}"))
}

fn member_role(i: u64) -> &'static str {
    match (i, i % 100) {
        (0, _) => "owner",
        (_, 1) => "admin",
        (_, 2) => "billing",
        (_, r) if r % 10 == 3 => "viewer",
        _ => "member",
    }
}

/// Runs `statements` in one transaction.
async fn execute(db: &Db, statements: &[String]) -> anyhow::Result<()> {
    match db {
        Db::Sqlite(pool, _) => {
            let mut tx = pool.begin().await?;
            for sql in statements {
                sqlx::raw_sql(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            for sql in statements {
                sqlx::raw_sql(sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
    }
    Ok(())
}

/// One number that `sql` selects.
pub async fn count(db: &Db, sql: &str) -> anyhow::Result<i64> {
    Ok(match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
    })
}

async fn user_ids(db: &Db) -> anyhow::Result<HashMap<String, i64>> {
    let sql = "SELECT email_normalized, id FROM users";
    let rows: Vec<(String, i64)> = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(sql).fetch_all(pool).await?,
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
    };
    Ok(rows.into_iter().collect())
}

/// `INSERT INTO {head} VALUES …` statements of at most CHUNK rows each.
fn inserts(head: &str, rows: impl Iterator<Item = String>) -> Vec<String> {
    let rows: Vec<String> = rows.collect();
    rows.chunks(CHUNK)
        .map(|chunk| format!("INSERT INTO {head} VALUES {}", chunk.join(",\n")))
        .collect()
}

/// Applies Roster's migrations to `db` and seeds one organization with `members`
/// members (the first one its Owner, who signs in with OWNER_PASSWORD), 1% pending
/// invitations with their sent emails, and an API token for the Owner. The
/// organization's limits are raised so that the run's invitations fit.
pub async fn seed(db: &Db, members: u64, now: i64) -> anyhow::Result<Seeded> {
    db.migrate().await?;
    let password_hash = roster::domain::password::hash(OWNER_PASSWORD);
    let mut statements = vec![format!(
        "INSERT INTO organizations (name, slug, invitation_lifetime_secs, max_pending_invitations, \
         max_members, seats, members_may_invite, allowed_email_domains, created_at) \
         VALUES ('{ORG_NAME}', '{ORG_SLUG}', 604800, 1000000, 1000000, NULL, FALSE, '', {})",
        now - 800 * 86_400
    )];
    // Member i joined (and created their account) i × 10 minutes after the first.
    let joined = |i: u64| now - (members - i) as i64 * 600;
    statements.extend(inserts(
        "users (email, email_normalized, name, password_hash, is_instance_admin, status, \
         created_at, last_sign_in_at, sessions_valid_after, auth_method)",
        (0..members).map(|i| {
            let (email, name) = if i == 0 {
                (OWNER_EMAIL.to_string(), "Bench Owner".to_string())
            } else {
                person(i)
            };
            format!(
                "('{email}', '{email}', '{name}', '{password_hash}', {}, 'active', {}, NULL, 0, 'password')",
                i == 0,
                joined(i)
            )
        }),
    ));
    execute(db, &statements).await?;
    let org_id = count(
        db,
        &format!("SELECT id FROM organizations WHERE slug = '{ORG_SLUG}'"),
    )
    .await?;
    let ids = user_ids(db).await?;
    let owner_id = ids[OWNER_EMAIL];
    let memberships = inserts(
        "memberships (org_id, user_id, role, status, has_seat, joined_at, invited_by, \
         last_active_at, sort_email, sort_name, user_name_key)",
        (0..members).map(|i| {
            let (email, name) = if i == 0 {
                (OWNER_EMAIL.to_string(), "Bench Owner".to_string())
            } else {
                person(i)
            };
            let status = if i % 50 == 7 { "inactive" } else { "active" };
            // Seven in ten members were active within the last 30 days.
            let last_active = if i % 10 < 7 {
                (now - (i as i64 * 7_919) % (30 * 86_400)).to_string()
            } else {
                "NULL".into()
            };
            let invited_by = if i == 0 { "NULL".into() } else { owner_id.to_string() };
            format!(
                "({org_id}, {}, '{}', '{status}', FALSE, {}, {invited_by}, {last_active}, '{email}', '{}', '{email}')",
                ids[&email],
                member_role(i),
                joined(i),
                name.to_lowercase()
            )
        }),
    );
    execute(db, &memberships).await?;

    // Pending invitations sent during the last six days, each with its delivered email.
    let invitations = (members * INVITATIONS_PER_100 / 100).max(1);
    let invitation_email = |j: u64| format!("invitee{j}@{}", DOMAINS[(j % 5) as usize]);
    let sent = |j: u64| now - (j as i64 * 3_613) % (6 * 86_400);
    let mut statements = inserts(
        "outbox (created_at, recipient, subject, text_body, html_body, attempts, next_attempt_at, sent_at)",
        (0..invitations).map(|j| {
            format!(
                "({at}, '{}', 'You are invited to {ORG_NAME}', 'Open the link to join.', \
                 '<p>Open the link to join.</p>', 1, {at}, {at})",
                invitation_email(j),
                at = sent(j)
            )
        }),
    );
    statements.extend(inserts(
        "invitations (org_id, email, email_normalized, role, invited_by, created_at, expires_at, \
         last_sent_at, send_count, token_hash, state)",
        (0..invitations).map(|j| {
            let email = invitation_email(j);
            let role = if j % 10 == 3 { "viewer" } else { "member" };
            format!(
                "({org_id}, '{email}', '{email}', '{role}', {owner_id}, {at}, {}, {at}, 1, '{}', 'pending')",
                sent(j) + 604_800,
                token::generate().1,
                at = sent(j)
            )
        }),
    ));
    // The outbox was empty, so both tables numbered their rows in the same order.
    statements.push("UPDATE invitations SET outbox_id = id".into());

    let api_token = format!(
        "roster_{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    );
    let owner_membership =
        format!("(SELECT id FROM memberships WHERE org_id = {org_id} AND user_id = {owner_id})");
    statements.push(format!(
        "INSERT INTO api_tokens (membership_id, org_id, user_id, name, prefix, token_hash, created_at) \
         VALUES ({owner_membership}, {org_id}, {owner_id}, 'benchmark', '{}', '{}', {now})",
        &api_token[..15],
        token::hash(&api_token)
    ));
    // The organization's SCIM token, for the identity provider's lookups.
    let scim_token = format!(
        "{}{}",
        roster::scim::TOKEN_PREFIX,
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    );
    statements.push(format!(
        "INSERT INTO org_scim (org_id, token_hash, token_created_at, updated_at) \
         VALUES ({org_id}, '{}', {now}, {now})",
        token::hash(&scim_token)
    ));
    execute(db, &statements).await?;
    let linked = count(
        db,
        "SELECT COUNT(*) FROM invitations i JOIN outbox o ON o.id = i.outbox_id AND o.recipient = i.email",
    )
    .await?;
    anyhow::ensure!(
        linked == invitations as i64,
        "seeding linked {linked} of {invitations} invitations to their emails"
    );
    if let Db::Postgres(pool) = db {
        // What autovacuum would do shortly after a bulk load.
        sqlx::raw_sql("VACUUM ANALYZE").execute(pool).await?;
    }
    Ok(Seeded {
        api_token,
        search: person(members / 2).1,
        scim_token,
        lookup_email: person(members / 2).0,
    })
}
