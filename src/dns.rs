//! DNS lookups for domain verification, through the operator's resolver
//! (`--dns-resolver`) or the system's.

use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;

use crate::config::Config;

/// Why a lookup found nothing to compare.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The name exists with no such record, or does not exist.
    #[error("no record")]
    NoRecords,
    /// The resolver could not answer (unreachable, timed out, refused).
    #[error("{0}")]
    Failed(String),
}

/// The resolver, or why it could not be set up (a system without /etc/resolv.conf):
/// Roster runs without it, and a verification says so.
#[derive(Clone)]
pub struct Dns(Result<TokioResolver, String>);

impl Dns {
    pub fn new(config: &Config) -> Dns {
        let builder = match config.dns_resolver {
            Some(addr) => Ok(TokioResolver::builder_with_config(
                ResolverConfig::from_parts(
                    None,
                    vec![],
                    NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true),
                ),
                TokioConnectionProvider::default(),
            )),
            None => TokioResolver::builder_tokio().map_err(|e| e.to_string()),
        };
        Dns(builder.map(|mut builder| {
            let options: &mut ResolverOpts = builder.options_mut();
            // A verification is asked for right after the record is published: an
            // answer kept from the last try would hide it.
            options.cache_size = 0;
            options.timeout = Duration::from_secs(5);
            options.attempts = 2;
            builder.build()
        }))
    }

    /// The TXT strings at `name` (a fully qualified name), each record's parts joined.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        let resolver = self
            .0
            .as_ref()
            .map_err(|e| LookupError::Failed(e.clone()))?;
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match resolver.txt_lookup(fqdn).await {
            Ok(found) => Ok(found
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect::<String>()
                })
                .collect()),
            Err(e) if e.is_no_records_found() => Err(LookupError::NoRecords),
            Err(e) => Err(LookupError::Failed(e.to_string())),
        }
    }
}

impl Dns {
    /// The addresses `name` resolves to, for the outbound HTTP client.
    pub async fn ips(&self, name: &str) -> Result<Vec<std::net::IpAddr>, LookupError> {
        let resolver = self
            .0
            .as_ref()
            .map_err(|e| LookupError::Failed(e.clone()))?;
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match resolver.lookup_ip(fqdn).await {
            Ok(found) => Ok(found.iter().collect()),
            Err(e) if e.is_no_records_found() => Err(LookupError::NoRecords),
            Err(e) => Err(LookupError::Failed(e.to_string())),
        }
    }
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("Dns")
    }
}
