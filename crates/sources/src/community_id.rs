//! Community ID flow hashing, version 1, as Elasticsearch's `community_id`
//! ingest processor computes it for TCP and UDP flows (seed 0).

use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// `1:<base64(sha1(seed, lower endpoint, higher endpoint, proto, 0, ports))>`,
/// or `None` when the transport is not TCP, UDP or SCTP, or the address families differ.
pub fn community_id(
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    dst_port: u16,
    transport: &str,
) -> Option<String> {
    let proto: u8 = match transport.to_ascii_lowercase().as_str() {
        "tcp" => 6,
        "udp" => 17,
        "sctp" => 132,
        _ => return None,
    };
    let (a, b) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        (IpAddr::V6(s), IpAddr::V6(d)) => (s.octets().to_vec(), d.octets().to_vec()),
        _ => return None,
    };
    // The flow is ordered so that both directions hash the same.
    let forward = (a.as_slice(), src_port) <= (b.as_slice(), dst_port);
    let (ip1, p1, ip2, p2) = if forward {
        (&a, src_port, &b, dst_port)
    } else {
        (&b, dst_port, &a, src_port)
    };
    let mut h = Sha1::new();
    h.update(0u16.to_be_bytes());
    h.update(ip1);
    h.update(ip2);
    h.update([proto, 0]);
    h.update(p1.to_be_bytes());
    h.update(p2.to_be_bytes());
    let digest = h.finalize();
    Some(format!("1:{}", base64(&digest)))
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let n = group.len();
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }

    #[test]
    fn spec_example_tcp() {
        // The example flow from the Community ID specification's README.
        let id = community_id(
            "128.232.110.120".parse().unwrap(),
            34855,
            "66.35.250.204".parse().unwrap(),
            80,
            "tcp",
        );
        assert_eq!(id.as_deref(), Some("1:LQU9qZlK+B5F3KDmev6m5PMibrg="));
        // The same flow seen from the other side hashes the same.
        let back = community_id(
            "66.35.250.204".parse().unwrap(),
            80,
            "128.232.110.120".parse().unwrap(),
            34855,
            "TCP",
        );
        assert_eq!(id, back);
    }
}
