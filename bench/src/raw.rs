//! A lean joining client for the join storm: a WebSocket handshake by hand,
//! sync step 1 with an empty state vector, then the server's frames read
//! and discarded as they stream in, until the sync step 2 has arrived whole.
//!
//! A full client (tokio-tungstenite and yrs) copies a 20 MB step 2 three
//! times on the way in; with 150 of them on the same two cores as the
//! server, the load generator, not the server, set the pace (4 s of its CPU
//! against 0.7 s of the server's). This one only reads.

use anyhow::{anyhow, bail, Context};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant as Deadline;

/// A joined connection: kept open until dropped.
#[derive(Debug)]
pub struct Joined {
    /// The size of the sync step 2's payload (the lib0 message).
    pub step2_bytes: usize,
    _socket: Box<dyn std::any::Any + Send>,
}

/// `ws://HOST:PORT/PATH` → (`HOST:PORT`, `/PATH`).
fn split_url(url: &str) -> anyhow::Result<(&str, &str)> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("only ws:// URLs: {url}"))?;
    let slash = rest.find('/').unwrap_or(rest.len());
    Ok((&rest[..slash], &rest[slash..]))
}

/// One client frame: binary, final, masked (as a client must).
fn masked_frame(payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = vec![0x82];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Joins the document at `url` and returns once its whole state has
/// arrived.
pub async fn join(url: &str, deadline: Deadline) -> anyhow::Result<Joined> {
    tokio::time::timeout_at(deadline, join_inner(url))
        .await
        .map_err(|_| anyhow!("time limit reached"))?
}

async fn join_inner(url: &str) -> anyhow::Result<Joined> {
    let (host, path) = split_url(url)?;
    let mut socket = TcpStream::connect(host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    socket.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    // The response head; anything after it is the first frames.
    let mut head = Vec::with_capacity(1024);
    let mut byte = [0u8; 1024];
    let end = loop {
        let n = socket.read(&mut byte).await?;
        if n == 0 {
            bail!("the server closed during the handshake");
        }
        head.extend_from_slice(&byte[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > 64 * 1024 {
            bail!("no end to the handshake's answer");
        }
    };
    let status =
        String::from_utf8_lossy(&head[..head.iter().position(|b| *b == b'\r').unwrap_or(0)])
            .into_owned();
    if !status.contains(" 101 ") {
        bail!("the upgrade was refused: {status}");
    }
    // Sync step 1 with an empty state vector: [sync, step 1, len 1, 0 clients].
    let mask = (crate::client::now_us() as u32).to_be_bytes();
    socket.write_all(&masked_frame(&[0, 0, 1, 0], mask)).await?;
    let leftover = std::io::Cursor::new(head[end..].to_vec());
    let mut reader = BufReader::with_capacity(256 * 1024, leftover.chain(socket));
    let step2_bytes = read_until_step2(&mut reader).await?;
    Ok(Joined {
        step2_bytes,
        _socket: Box::new(reader),
    })
}

/// Reads frames until a whole sync step 2 message has gone by; returns its
/// length. Payloads are discarded as they arrive.
async fn read_until_step2<R: AsyncRead + Unpin>(reader: &mut R) -> anyhow::Result<usize> {
    let mut scratch = vec![0u8; 256 * 1024];
    // The message being received: its first two bytes and length so far.
    let mut kind: Vec<u8> = Vec::with_capacity(2);
    let mut length = 0usize;
    loop {
        let mut header = [0u8; 2];
        reader.read_exact(&mut header).await?;
        let fin = header[0] & 0x80 != 0;
        let opcode = header[0] & 0x0f;
        if header[1] & 0x80 != 0 {
            bail!("the server masked a frame");
        }
        let len = match header[1] & 0x7f {
            126 => usize::from(reader.read_u16().await?),
            127 => usize::try_from(reader.read_u64().await?)?,
            n => usize::from(n),
        };
        match opcode {
            0x1 | 0x2 => {
                kind.clear();
                length = 0;
            }
            0x0 => {}
            0x8 => bail!("the server closed the connection"),
            _ => {
                // Ping or pong: skip.
                let mut skip = vec![0u8; len];
                reader.read_exact(&mut skip).await?;
                continue;
            }
        }
        let mut remaining = len;
        while remaining > 0 {
            let want = remaining.min(scratch.len());
            let n = reader.read(&mut scratch[..want]).await?;
            if n == 0 {
                bail!("the connection ended mid-frame");
            }
            if kind.len() < 2 {
                let take = (2 - kind.len()).min(n);
                kind.extend_from_slice(&scratch[..take]);
            }
            remaining -= n;
            length += n;
        }
        if fin && kind == [0, 1] {
            return Ok(length);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        let (host, path) = split_url("ws://127.0.0.1:9/sync/d?token=t").unwrap();
        assert_eq!((host, path), ("127.0.0.1:9", "/sync/d?token=t"));
        assert!(split_url("wss://x/").is_err());
    }

    #[test]
    fn a_masked_frame_unmasks_to_its_payload() {
        let frame = masked_frame(&[0, 0, 1, 0], [1, 2, 3, 4]);
        assert_eq!(&frame[..2], &[0x82, 0x84]);
        let unmasked: Vec<u8> = frame[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4])
            .collect();
        assert_eq!(unmasked, vec![0, 0, 1, 0]);
    }

    #[tokio::test]
    async fn a_fragmented_step2_after_a_greeting_is_read_whole() {
        let mut wire = Vec::new();
        // The greeting: sync step 1, one frame.
        wire.extend_from_slice(&[0x82, 4, 0, 0, 1, 0]);
        // A step 2 of 300 payload bytes in two fragments (126: 16-bit length).
        let mut message = vec![0u8, 1];
        message.resize(300, 9);
        wire.extend_from_slice(&[0x02, 126]);
        wire.extend_from_slice(&200u16.to_be_bytes());
        wire.extend_from_slice(&message[..200]);
        wire.extend_from_slice(&[0x80, 100]); // a final binary frame of 100 bytes
        wire.extend_from_slice(&message[200..]);
        let mut reader = std::io::Cursor::new(wire);
        assert_eq!(read_until_step2(&mut reader).await.unwrap(), 300);
    }
}
