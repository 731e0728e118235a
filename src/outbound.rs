//! Requests Roster makes to addresses an Owner typed: an identity provider's issuer and
//! the endpoints its discovery document names, a webhook endpoint. Such an address is a
//! server-side request forgery risk, so every request here follows no redirect, gives
//! up quickly, reads a bounded answer, and (unless the operator allows it with
//! `--allow-private-addresses`) goes only over HTTPS to public addresses. The address
//! is checked where it is connected to, after resolution, so a name whose answer
//! changes between a check and the request cannot slip past.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::dns::Dns;
use axum::http;

/// The most of an answer read; the rest is dropped (a discovery document or a key set
/// is a few kilobytes).
const MAX_BODY: usize = 1024 * 1024;

/// Why a request was not sent or not answered. The messages are for the Owner who
/// typed the address.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} is not a web address Roster can call.")]
    InvalidUrl(String),
    #[error("The address must start with https://.")]
    NotHttps,
    #[error(
        "{0} is a private, loopback or reserved address, which Roster does not call (the operator can allow it with --allow-private-addresses)."
    )]
    PrivateAddress(IpAddr),
    #[error("The name {0} did not resolve.")]
    Unresolved(String),
    #[error("The server did not answer in time.")]
    Timeout,
    #[error("The server answered with a redirect to {0}, which Roster does not follow.")]
    Redirect(String),
    #[error("The answer is larger than Roster reads.")]
    TooLarge,
    #[error("The connection failed: {0}.")]
    Connection(String),
}

/// The HTTP client for Owner-typed addresses.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allow_private", &self.allow_private)
            .finish()
    }
}

impl Outbound {
    /// A client resolving through `dns` (the operator's resolver, as domain
    /// verification does) and allowing private addresses and plain HTTP only if told.
    pub fn new(dns: Dns, allow_private: bool) -> anyhow::Result<Outbound> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            // A proxy from the environment would connect in our place, to an address
            // this guard never sees.
            .no_proxy()
            .user_agent(concat!("Roster/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { dns, allow_private }))
            .build()?;
        Ok(Outbound {
            client,
            allow_private,
        })
    }

    /// Whether `url` may be called at all: its scheme, and its host when it is an IP
    /// address (names are checked once resolved). What a form calls to refuse an
    /// address before it is stored.
    pub fn check_url(&self, url: &str) -> Result<url::Url, Error> {
        let parsed = url::Url::parse(url).map_err(|_| Error::InvalidUrl(url.to_string()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            "http" => return Err(Error::NotHttps),
            _ => return Err(Error::InvalidUrl(url.to_string())),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::InvalidUrl(url.to_string()));
        }
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(Error::InvalidUrl(url.to_string())),
        };
        // An address written as an IP is connected to without resolution.
        if let Some(ip) = ip
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(Error::PrivateAddress(ip));
        }
        Ok(parsed)
    }

    /// Sends `request` and reads its answer, up to a limit. A redirect is an error,
    /// not followed.
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let url = self.check_url(&request.uri().to_string())?;
        let (parts, body) = request.into_parts();
        let response = self
            .client
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        if response.status().is_redirection() {
            let to = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("another address")
                .chars()
                .take(200)
                .collect();
            return Err(Error::Redirect(to));
        }
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            headers.extend(response.headers().clone());
        }
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Error::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        answer
            .body(body)
            .map_err(|e| Error::Connection(e.to_string()))
    }
}

/// What went wrong, in the terms of [`Error`]: the resolver's refusal is found in the
/// error's causes.
fn transport_error(err: reqwest::Error) -> Error {
    if err.is_timeout() {
        return Error::Timeout;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(inner) = cause {
        if let Some(refused) = inner.downcast_ref::<Refused>() {
            return match refused {
                Refused::Private(ip) => Error::PrivateAddress(*ip),
                Refused::Unresolved(name) => Error::Unresolved(name.clone()),
            };
        }
        cause = inner.source();
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        message = inner.to_string();
        source = inner.source();
    }
    Error::Connection(message)
}

/// The resolver's refusals, carried through reqwest's error to [`transport_error`].
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("{0} is not a public address")]
    Private(IpAddr),
    #[error("{0} did not resolve")]
    Unresolved(String),
}

/// Resolves names through Roster's resolver and drops, unless allowed, every address
/// that is not public; a name left with none is refused.
struct GuardedResolver {
    dns: Dns,
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dns = self.dns.clone();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found = dns
                .ips(&host)
                .await
                .map_err(|_| Box::new(Refused::Unresolved(host.clone())))?;
            let allowed: Vec<SocketAddr> = found
                .iter()
                .filter(|ip| allow_private || is_public(**ip))
                .map(|ip| SocketAddr::new(*ip, 0))
                .collect();
            match (allowed.is_empty(), found.first()) {
                (false, _) => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
                (true, Some(ip)) => Err(Box::new(Refused::Private(*ip)) as _),
                (true, None) => Err(Box::new(Refused::Unresolved(host)) as _),
            }
        })
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private,
/// link-local (where cloud metadata services answer), shared, multicast, reserved or
/// for documentation, in either family, nor such an IPv4 address inside an IPv6 one.
pub fn is_public(ip: IpAddr) -> bool {
    use ipnet::{Ipv4Net, Ipv6Net};
    const V4: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    ];
    const V6: &[&str] = &[
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ];
    match ip {
        IpAddr::V4(v4) => !V4
            .iter()
            .any(|net| net.parse::<Ipv4Net>().is_ok_and(|net| net.contains(&v4))),
        IpAddr::V6(v6) => {
            // ::ffff:a.b.c.d and NAT64's 64:ff9b::a.b.c.d reach the IPv4 address inside.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            !V6.iter()
                .any(|net| net.parse::<Ipv6Net>().is_ok_and(|net| net.contains(&v6)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_are_told_from_the_rest() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
