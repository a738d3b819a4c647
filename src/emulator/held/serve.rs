//! The held emulator's side: the scenario read once, the virtual disks, the emulator, and its
//! holds counted until the last lets go.

use super::{Hello, LOCK, SOCKET, Start};
use crate::disks::virtual_disks::VirtualDisks;
use crate::emulator::{Emulator, Scenario, credentials_of};
use crate::exit::{Exit, Setting, Stop};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// Serves the demo's emulator for `state_dir` until no one holds it (or SIGTERM, SIGINT);
/// `first` is the starting wizard's hold. Refused with `Exit::Busy` when another emulator
/// serves the directory.
pub async fn serve(
    state_dir: &Path,
    start: &Start,
    first: std::os::unix::net::UnixStream,
) -> Result<(), Stop> {
    crate::worker::prepare_state_dir(state_dir)?;
    let pid = std::process::id().to_string();
    let lock = match crate::worker::lock::take(state_dir, LOCK, pid.as_bytes())? {
        crate::worker::lock::Taken::Held(lock) => lock,
        crate::worker::lock::Taken::Busy(_) => {
            return Err(Stop::new(
                Exit::Busy,
                Some(Setting::STATE_DIR),
                format!(
                    "another demo emulator serves {}: join it",
                    state_dir.display()
                ),
            ));
        }
    };
    let made = match World::make(start).await {
        Ok(w) => w,
        Err(e) => {
            lock.release();
            let _ = std::fs::remove_dir(state_dir);
            return Err(e.into());
        }
    };
    let served = hold_until_released(state_dir, &made, first).await;
    drop(made.emulator);
    if made.temporary {
        let _ = std::fs::remove_dir_all(&made.hello.disk_dir);
    }
    lock.release();
    // Best effort: the directory goes when nothing else is in it.
    let _ = std::fs::remove_dir(state_dir);
    tracing::info!("the demo's emulator ends");
    for mut last in served? {
        let _ = last.write_all(b"{\"ending\":true}\n").await;
    }
    if let Some(log) = &start.log {
        let _ = std::fs::remove_file(log);
    }
    Ok(())
}

/// What the emulator made: the emulator itself, the disks, and what holders are told.
struct World {
    emulator: Emulator,
    hello: Hello,
    /// The disk directory is a temporary one, removed at the end.
    temporary: bool,
}

impl World {
    async fn make(start: &Start) -> Result<World, String> {
        let mut scenario = Scenario::load_or_embedded(start.scenario.as_deref())?;
        if let Some(region) = start
            .region
            .as_ref()
            .filter(|r| crate::domain::regions::find(r).is_some())
        {
            scenario.region = region.clone();
        }
        let keys = credentials_of(&scenario);
        if keys.is_empty() {
            return Err("the scenario defines no credentials".to_owned());
        }
        let (disk_dir, temporary) = match &start.disk_dir {
            Some(d) => (d.clone(), false),
            None => (
                tempfile::Builder::new()
                    .prefix("drs-failback-demo-")
                    .tempdir()
                    .map_err(|e| format!("cannot create the demo's disk directory: {e}"))?
                    .keep(),
                true,
            ),
        };
        let disks = scenario.demo_disks();
        let host = scenario.demo_host();
        let made = VirtualDisks::create(&disk_dir, &disks)
            .map_err(|e| format!("cannot create virtual disks in {}: {e}", disk_dir.display()));
        let emulator = match made {
            Ok(_) => Emulator::start(([127, 0, 0, 1], 0).into(), scenario)
                .await
                .map_err(|e| format!("cannot start the DRS emulator: {e}")),
            Err(e) => Err(e),
        };
        let emulator = emulator.inspect_err(|_| {
            if temporary {
                let _ = std::fs::remove_dir_all(&disk_dir);
            }
        })?;
        let hello = Hello {
            pid: std::process::id(),
            endpoint: emulator.endpoint(),
            region: emulator.region(),
            keys,
            host,
            disk_dir: std::path::absolute(&disk_dir).unwrap_or(disk_dir),
            disks,
            scenario: start.scenario.clone(),
        };
        tracing::info!(endpoint = %hello.endpoint, disks = %hello.disk_dir.display(), "the demo's emulator serves");
        Ok(World {
            emulator,
            hello,
            temporary,
        })
    }
}

/// Binds the hold socket (0600), a stale one replaced: the lock says no one else serves it.
fn bind(path: &Path) -> Result<UnixListener, String> {
    let _ = std::fs::remove_file(path);
    // SAFETY: umask only changes this process's file creation mask; restored below.
    let old = unsafe { libc::umask(0o177) };
    let listener = UnixListener::bind(path);
    unsafe { libc::umask(old) };
    listener.map_err(|e| format!("cannot listen on {}: {e}", path.display()))
}

/// The peer closed or shut down its writing side: it is letting go.
fn hung_up(fd: RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait; the descriptor's stream is alive until it is sent back.
    let ready = unsafe { libc::poll(&mut pfd, 1, 0) } > 0;
    ready && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0
}

/// Counts the holds until none is left; returns the connections of the last ones (to be told
/// that the emulator ends), none when a signal ended it.
async fn hold_until_released(
    state_dir: &Path,
    world: &World,
    first: std::os::unix::net::UnixStream,
) -> Result<Vec<UnixStream>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let path: PathBuf = state_dir.join(SOCKET);
    let listener = bind(&path)?;
    let hello: Arc<[u8]> = crate::worker::protocol::line(&world.hello).into();
    let (gone_tx, mut gone) = unbounded_channel::<(u64, UnixStream)>();
    let mut holds: HashMap<u64, RawFd> = HashMap::new();
    let mut next = 0u64;
    let mut hold = |stream: UnixStream, holds: &mut HashMap<u64, RawFd>| {
        next += 1;
        holds.insert(next, stream.as_raw_fd());
        tokio::spawn(held(next, stream, hello.clone(), gone_tx.clone()));
    };
    first
        .set_nonblocking(true)
        .and_then(|()| UnixStream::from_std(first))
        .map(|s| hold(s, &mut holds))
        .map_err(|e| format!("cannot use the first hold: {e}"))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut last = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => hold(stream, &mut holds),
                Err(e) => tracing::warn!("a hold could not be accepted: {e}"),
            },
            Some((id, stream)) = gone.recv() => {
                holds.remove(&id);
                // Holds already letting go (a worker that exited, a wizard leaving at the
                // same time) do not keep it: their news may simply not have come yet.
                if holds.values().all(|fd| hung_up(*fd)) {
                    break vec![stream];
                }
            }
            _ = term.recv() => return Ok(end(listener, &path, vec![])),
            _ = int.recv() => return Ok(end(listener, &path, vec![])),
        }
    };
    // Those letting go at the same time are each told that it ends. No timeout: they all hung
    // up, so each one's read ends at once, however busy the machine is (a 2 s limit here left
    // a waiting worker untold under load).
    while !holds.is_empty() {
        let Some((id, stream)) = gone.recv().await else {
            break;
        };
        holds.remove(&id);
        last.push(stream);
    }
    Ok(end(listener, &path, last))
}

/// New holders find no socket, and start a new emulator once this one's lock is gone.
fn end(listener: UnixListener, path: &Path, last: Vec<UnixStream>) -> Vec<UnixStream> {
    drop(listener);
    let _ = std::fs::remove_file(path);
    last
}

/// One hold: the hello, then waits for the holder to let go; the connection goes back to the
/// loop, which closes it.
async fn held(
    id: u64,
    mut stream: UnixStream,
    hello: Arc<[u8]>,
    gone: UnboundedSender<(u64, UnixStream)>,
) {
    if stream.write_all(&hello).await.is_ok() {
        let mut buf = [0u8; 256];
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    }
    let _ = gone.send((id, stream));
}
