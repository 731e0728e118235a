//! Roster: invite, manage and remove the people of an organization.

pub mod access_requests;
pub mod accounts;
pub mod actor;
pub mod audit_log;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod dns;
pub mod domain;
pub mod domains;
pub mod email;
pub mod error;
pub mod first_run;
pub mod invitations;
pub mod members;
pub mod orgs;
pub mod outbound;
pub mod routes;
pub mod scim;
pub mod sealed;
pub mod sso;
pub mod startup;
pub mod state;
pub mod teams;
pub mod telemetry;
pub mod tokens;
pub mod two_factor;
pub mod users;
pub mod webhooks;

#[cfg(test)]
mod ground_floor {
    /// The ground floor's files: everything else may import them, so they import
    /// nothing of the layers above (no circle).
    const GROUND: [(&str, &str); 4] = [
        ("state.rs", include_str!("state.rs")),
        ("error.rs", include_str!("error.rs")),
        ("config.rs", include_str!("config.rs")),
        ("clock.rs", include_str!("clock.rs")),
    ];

    /// The interfaces, the session machinery and the feature services.
    const ABOVE: [&str; 12] = [
        "routes",
        "domains",
        "auth",
        "accounts",
        "audit_log",
        "orgs",
        "invitations",
        "members",
        "users",
        "tokens",
        "first_run",
        "webhooks",
    ];

    /// The modules a source text names through `crate::` or `super::`, including inside
    /// a braced import (`use crate::{db, routes::pages}`).
    fn named_modules(source: &str) -> Vec<String> {
        let mut names = Vec::new();
        for prefix in ["crate::", "super::"] {
            for (at, _) in source.match_indices(prefix) {
                let rest = &source[at + prefix.len()..];
                let path = match rest.strip_prefix('{') {
                    Some(group) => &group[..group.find('}').unwrap_or(group.len())],
                    None => rest,
                };
                for item in path.split(',') {
                    let name: String = item
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    names.push(name);
                    if path == rest {
                        break;
                    }
                }
            }
        }
        names
    }

    #[test]
    fn the_ground_floor_imports_nothing_above_it() {
        for (file, source) in GROUND {
            for name in named_modules(source) {
                assert!(
                    !ABOVE.contains(&name.as_str()),
                    "src/{file} names crate::{name}, a layer above the ground floor"
                );
            }
        }
    }

    #[test]
    fn a_named_module_is_seen_plain_or_braced() {
        assert_eq!(
            named_modules("use crate::routes::api::Limiter;"),
            ["routes"]
        );
        assert_eq!(
            named_modules("use crate::{db::Db, auth::store};"),
            ["db", "auth"]
        );
        assert_eq!(named_modules("x: super::members::Row"), ["members"]);
    }
}
