//! Who is on the other end of a request: the client's address, as the socket says or, when the
//! socket's peer is a trusted reverse proxy, as that proxy's `X-Forwarded-For` says.

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client address that throttles and rate limits count under. IPv6 clients count by their
/// /64 (one subscriber's usual allocation), so rotating through one's own addresses buys nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
            v4 => write!(f, "{v4}"),
        }
    }
}

impl ClientAddr {
    /// From the request's socket peer (absent when the router is driven without a socket, as
    /// in-process callers do: they count as the loopback) and its forwarding header.
    pub fn of(headers: &HeaderMap, extensions: &Extensions, trusted: &[IpAddr]) -> ClientAddr {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        ClientAddr(network(resolve(peer, &forwarded, trusted)))
    }
}

/// Walk the forwarding chain from the nearest hop while each hop is trusted: the first
/// untrusted hop is the client. A malformed entry ends the walk at the last hop we believe.
fn resolve(peer: IpAddr, forwarded: &str, trusted: &[IpAddr]) -> IpAddr {
    let mut client = canonical(peer);
    for hop in forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        if !trusted.contains(&client) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => client = canonical(ip),
            Err(_) => break,
        }
    }
    client
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if !v6.is_loopback() => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_nobody_else_can() {
        let trusted = [ip("127.0.0.1"), ip("10.0.0.2")];
        // Direct client: its header is its own word, ignored.
        assert_eq!(
            resolve(ip("203.0.113.9"), "198.51.100.1", &trusted),
            ip("203.0.113.9")
        );
        // Through nginx on the loopback.
        assert_eq!(
            resolve(ip("127.0.0.1"), "203.0.113.9", &trusted),
            ip("203.0.113.9")
        );
        // A forged entry before the real one is not reached.
        assert_eq!(
            resolve(ip("127.0.0.1"), "198.51.100.1, 203.0.113.9", &trusted),
            ip("203.0.113.9")
        );
        // Two trusted hops.
        assert_eq!(
            resolve(ip("127.0.0.1"), "203.0.113.9, 10.0.0.2", &trusted),
            ip("203.0.113.9")
        );
        // Garbage stops at the proxy.
        assert_eq!(
            resolve(ip("127.0.0.1"), "not-an-ip", &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), "192.0.2.7", &trusted),
            ip("192.0.2.7")
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(network(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(
            ClientAddr(network(ip("2001:db8:1:2:ffff::1"))).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(network(ip("192.0.2.7")), ip("192.0.2.7"));
    }
}
