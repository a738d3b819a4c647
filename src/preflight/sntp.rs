//! An SNTP query (RFC 4330): does any NTP server answer on UDP 123, and how far off are we?

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::{UdpSocket, lookup_host};

/// Seconds from 1900 (NTP's epoch) to 1970.
const NTP_TO_UNIX: u64 = 2_208_988_800;

/// The servers this machine is configured with (timesyncd's NTP=, chrony's and ntpd's
/// server/pool lines), else the public pool.
pub fn ntp_servers(
    timesyncd: Option<&str>,
    chrony: Option<&str>,
    ntp: Option<&str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in timesyncd.unwrap_or_default().lines() {
        if let Some(list) = line.trim().strip_prefix("NTP=") {
            out.extend(list.split_whitespace().map(str::to_owned));
        }
    }
    for text in [chrony, ntp].into_iter().flatten() {
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some("server" | "pool"), Some(host)) = (words.next(), words.next()) {
                out.push(host.to_owned());
            }
        }
    }
    out.dedup();
    if out.is_empty() {
        out.push("pool.ntp.org".into());
    }
    out
}

/// The first server that answers: (server, its time minus ours in seconds); Err lists the
/// servers tried.
pub async fn query(servers: &[String], timeout: Duration) -> Result<(String, i64), String> {
    for server in servers {
        if let Ok(Some(offset)) = tokio::time::timeout(timeout, ask(server)).await {
            return Ok((server.clone(), offset));
        }
    }
    Err(servers.join(", "))
}

async fn ask(server: &str) -> Option<i64> {
    let with_port = if server
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        server.to_owned()
    } else {
        format!("{server}:123")
    };
    let addr = lookup_host(with_port).await.ok()?.next()?;
    let bind = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(bind).await.ok()?;
    socket.connect(addr).await.ok()?;
    // LI 0, version 4, mode 3 (client).
    let mut request = [0u8; 48];
    request[0] = 0x23;
    socket.send(&request).await.ok()?;
    let mut reply = [0u8; 64];
    let n = socket.recv(&mut reply).await.ok()?;
    offset(&reply[..n], SystemTime::now())
}

/// The server's transmit time minus `now`, when `reply` is a server's answer.
pub(super) fn offset(reply: &[u8], now: SystemTime) -> Option<i64> {
    if reply.len() < 48 || reply[0] & 0x07 != 4 {
        return None;
    }
    let secs = u32::from_be_bytes(reply[40..44].try_into().ok()?) as u64;
    if secs == 0 {
        return None;
    }
    let server = secs.checked_sub(NTP_TO_UNIX)? as i64;
    let local = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(server - local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_come_from_the_configuration_else_the_pool() {
        let timesyncd = "[Time]\nNTP=ntp1.corp ntp2.corp\n#NTP=x\n";
        let chrony = "pool 2.debian.pool.ntp.org iburst\nserver 10.0.0.1\n";
        assert_eq!(
            ntp_servers(Some(timesyncd), Some(chrony), None),
            [
                "ntp1.corp",
                "ntp2.corp",
                "2.debian.pool.ntp.org",
                "10.0.0.1"
            ]
        );
        assert_eq!(ntp_servers(None, None, None), ["pool.ntp.org"]);
    }

    #[test]
    fn a_server_reply_gives_the_offset() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut reply = [0u8; 48];
        reply[0] = 0x24;
        let t = (1_700_000_360u64 + NTP_TO_UNIX) as u32;
        reply[40..44].copy_from_slice(&t.to_be_bytes());
        assert_eq!(offset(&reply, now), Some(360));
        reply[0] = 0x23;
        assert_eq!(offset(&reply, now), None, "a client packet is no answer");
    }
}
