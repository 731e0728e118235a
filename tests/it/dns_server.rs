//! A real DNS server on loopback (hickory-server), authoritative for the zones a test
//! names, answering over UDP and TCP with the records the test publishes.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hickory_server::ServerFuture;
use hickory_server::authority::{Catalog, ZoneType};
use hickory_server::proto::rr::rdata::{A, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryAuthority;
use tokio::net::{TcpListener, UdpSocket};

pub struct DnsServer {
    addr: SocketAddr,
    zones: Vec<(Name, Arc<InMemoryAuthority>)>,
    serial: AtomicU32,
    _server: ServerFuture<Catalog>,
}

impl DnsServer {
    /// Starts a server for `zones` (like "acme.test"), each with no record but its SOA.
    pub async fn start(zones: &[&str]) -> DnsServer {
        let mut catalog = Catalog::new();
        let mut authorities = Vec::new();
        for zone in zones {
            let origin = Name::from_str(&format!("{zone}.")).unwrap();
            let mut authority = InMemoryAuthority::empty(origin.clone(), ZoneType::Primary, false);
            // A negative answer may be kept for no time: a test publishes, then asks again.
            let soa = SOA::new(
                Name::from_str(&format!("ns.{zone}.")).unwrap(),
                Name::from_str(&format!("hostmaster.{zone}.")).unwrap(),
                1,
                3600,
                600,
                86_400,
                0,
            );
            authority.upsert_mut(Record::from_rdata(origin.clone(), 0, RData::SOA(soa)), 1);
            let authority = Arc::new(authority);
            catalog.upsert(LowerName::new(&origin), vec![authority.clone()]);
            authorities.push((origin, authority));
        }
        let mut server = ServerFuture::new(catalog);
        // UDP and TCP on one port, as resolvers expect.
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5));
        DnsServer {
            addr,
            zones: authorities,
            serial: AtomicU32::new(2),
            _server: server,
        }
    }

    /// What `--dns-resolver` takes to ask this server.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Publishes a TXT record at `name` (inside one of the zones), beside any there.
    pub async fn publish_txt(&self, name: &str, value: &str) {
        self.publish(name, |fqdn| {
            Record::from_rdata(fqdn, 0, RData::TXT(TXT::new(vec![value.to_string()])))
        })
        .await;
    }

    /// Publishes an A record at `name`: where a host name an Owner typed leads.
    pub async fn publish_a(&self, name: &str, ip: std::net::Ipv4Addr) {
        self.publish(name, |fqdn| Record::from_rdata(fqdn, 0, RData::A(A(ip))))
            .await;
    }

    async fn publish(&self, name: &str, record: impl FnOnce(Name) -> Record) {
        let fqdn = Name::from_str(&format!("{}.", name.trim_end_matches('.'))).unwrap();
        let (_, authority) = self
            .zones
            .iter()
            .find(|(origin, _)| origin.zone_of(&fqdn))
            .unwrap_or_else(|| panic!("{name} is in none of this server's zones"));
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        authority.upsert(record(fqdn), serial).await;
    }
}
