//! The worker's DRS polls: the recovery instance (every answer, for the dashboard's figures)
//! and the failback replication configuration (only its changes, so that a throttle or route
//! changed in the DRS console reaches every terminal). Both ask at once, then at the worker's
//! cadence, stretched while nothing changes or DRS throttles; after ExpiredToken they wait
//! for fresh credentials.

use super::Input;
use crate::domain::backoff::{PollOutcome, next_poll_delay};
use crate::domain::model::FailbackReplicationConfiguration;
use crate::drs::{DrsClient, DrsError, DrsErrorKind};
use crate::replicator::RunId;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

/// Asks with `ask` until `answer` says the worker is gone (false). `answer` gets each result,
/// whether it differs from the one before (errors compared by kind) and when it was asked.
/// After ExpiredToken,
/// or an error `waits` names, the next client is waited for: these credentials cannot do
/// better.
async fn poll_drs<T, Fut>(
    mut client: watch::Receiver<DrsClient>,
    base: Duration,
    ask: impl Fn(DrsClient) -> Fut,
    waits: impl Fn(&DrsErrorKind) -> bool,
    mut answer: impl FnMut(Result<T, DrsError>, bool, Instant) -> bool,
) where
    T: PartialEq + Clone,
    Fut: Future<Output = Result<T, DrsError>>,
{
    let mut delay = base;
    let mut last: Option<Result<T, DrsErrorKind>> = None;
    loop {
        let c = client.borrow_and_update().clone();
        let asked = Instant::now();
        let result = ask(c).await;
        let seen = result.as_ref().map(T::clone).map_err(|e| e.kind.clone());
        let changed = last.as_ref() != Some(&seen);
        let outcome = match &result {
            Ok(_) if changed => PollOutcome::Changed,
            Ok(_) => PollOutcome::Unchanged,
            Err(e) if e.kind == DrsErrorKind::Throttled => PollOutcome::Throttled,
            Err(_) => PollOutcome::Failed,
        };
        let wait =
            matches!(&result, Err(e) if e.kind == DrsErrorKind::ExpiredToken || waits(&e.kind));
        last = Some(seen);
        if !answer(result, changed, asked) {
            return;
        }
        if wait {
            if client.changed().await.is_err() {
                return;
            }
            delay = base;
            continue;
        }
        delay = next_poll_delay(base, delay, outcome);
        tokio::time::sleep(delay).await;
    }
}

/// The recovery instance, every answer (the dashboard's rates need each one's time).
pub(super) async fn instance(
    id: RunId,
    instance: String,
    client: watch::Receiver<DrsClient>,
    base: Duration,
    tx: UnboundedSender<Input>,
) {
    let ask = |c: DrsClient| {
        let instance = instance.clone();
        async move { c.recovery_instance(&instance).await }
    };
    let answer = |result, _, _| tx.send(Input::Polled(id, result)).is_ok();
    poll_drs(client, base, ask, |_| false, answer).await
}

/// GetFailbackReplicationConfiguration, each change. AccessDenied (the installation policy)
/// is said once, and asked again only with fresh credentials.
pub(super) async fn configuration(
    id: RunId,
    instance: String,
    client: watch::Receiver<DrsClient>,
    base: Duration,
    tx: UnboundedSender<Input>,
) {
    let ask = |c: DrsClient| {
        let instance = instance.clone();
        async move { c.failback_configuration(&instance).await }
    };
    let denied = |k: &DrsErrorKind| matches!(k, DrsErrorKind::AccessDenied { .. });
    let answer = |result, changed: bool, asked| {
        !changed || tx.send(Input::Configuration(id, asked, result)).is_ok()
    };
    poll_drs(client, base, ask, denied, answer).await
}

/// Whether a read of the configuration, asked at `asked`, is news to the terminals, which
/// have `known`: a read asked before a throttle set here was answered (`throttled`) may show
/// the throttle before it; a failed re-read keeps what is known, unless these credentials may
/// not read it (then that is the news); the same configuration is not news.
pub(super) fn is_news(
    known: Option<&Result<FailbackReplicationConfiguration, DrsError>>,
    read: &Result<FailbackReplicationConfiguration, DrsError>,
    asked: Instant,
    throttled: Option<Instant>,
) -> bool {
    if read.is_ok() && throttled.is_some_and(|set| asked < set) {
        return false;
    }
    match (known, read) {
        (Some(Ok(_)), Err(e)) => matches!(e.kind, DrsErrorKind::AccessDenied { .. }),
        (Some(Ok(a)), Ok(b)) => a != b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drs::{Auth, DrsTarget};
    use crate::emulator::{Emulator, Scenario};
    use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
    use tokio::time::Instant;

    const BASE: Duration = Duration::from_secs(1);

    async fn client_as(emu: &Emulator, label: &str) -> DrsClient {
        let key = emu
            .credentials()
            .into_iter()
            .find(|c| c.label == label)
            .expect("the scenario's key");
        DrsClient::connect(&DrsTarget {
            region: emu.region(),
            endpoint: Some(emu.endpoint()),
            auth: Auth::Static(key.credentials),
        })
        .await
        .expect("client")
    }

    fn first_instance() -> String {
        Scenario::embedded_default().instances[0].id.clone()
    }

    async fn next_configuration(
        rx: &mut UnboundedReceiver<Input>,
    ) -> Result<crate::domain::model::FailbackReplicationConfiguration, DrsError> {
        match rx.recv().await {
            Some(Input::Configuration(_, _, result)) => result,
            _ => panic!("not a configuration"),
        }
    }

    #[test]
    fn only_a_change_is_news_and_never_a_read_from_before_the_throttle_set_here() {
        let config = |mbps| {
            Ok(FailbackReplicationConfiguration {
                bandwidth_mbps: mbps,
                use_private_ip: false,
            })
        };
        let failed = |kind| Err(DrsError::new(kind, "x"));
        let t0 = std::time::Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        assert!(is_news(None, &config(0), t0, None), "the first read");
        assert!(!is_news(Some(&config(0)), &config(0), t0, None));
        assert!(
            is_news(Some(&config(0)), &config(40), t1, None),
            "the console's"
        );
        // Set here to 25 at t1: a read asked before shows 0 and is not news; one after is.
        assert!(!is_news(Some(&config(25)), &config(0), t0, Some(t1)));
        assert!(is_news(Some(&config(25)), &config(40), t1, Some(t0)));
        // A failed re-read keeps what is known; these credentials being denied is news.
        assert!(!is_news(
            Some(&config(0)),
            &failed(DrsErrorKind::Unreachable),
            t1,
            None
        ));
        let denied = DrsErrorKind::AccessDenied { action: None };
        assert!(is_news(Some(&config(0)), &failed(denied), t1, None));
        assert!(is_news(None, &failed(DrsErrorKind::Unreachable), t0, None));
    }

    /// Virtual time: the intervals are the back-off's, exactly, and a quiet minute is a
    /// minute without an answer.
    #[tokio::test(start_paused = true)]
    async fn a_configuration_changed_in_the_console_is_sent_once_at_the_polls_cadence() {
        let emu = Emulator::start(([127, 0, 0, 1], 0).into(), Scenario::embedded_default())
            .await
            .expect("emulator");
        let id = first_instance();
        let console = client_as(&emu, "full access").await;
        let (_keep, client) = watch::channel(client_as(&emu, "full access").await);
        let (tx, mut rx) = unbounded_channel();
        tokio::spawn(configuration(RunId(1), id.clone(), client, BASE, tx));

        let first = next_configuration(&mut rx).await.expect("read");
        assert_eq!(first.bandwidth_mbps, 0);
        // Nothing changes: nothing is sent.
        assert!(
            tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .is_err()
        );
        // Changed in the console: sent at the next read, at most the quiet interval later.
        console.set_bandwidth(&id, 50).await.expect("throttle");
        let changed_at = Instant::now();
        let changed = next_configuration(&mut rx).await.expect("read");
        assert_eq!(changed.bandwidth_mbps, 50);
        assert!(
            changed_at.elapsed() <= BASE * 4,
            "{:?}",
            changed_at.elapsed()
        );
        // Lifted again: that is a change too.
        console.set_bandwidth(&id, 0).await.expect("lift");
        assert_eq!(
            next_configuration(&mut rx)
                .await
                .expect("read")
                .bandwidth_mbps,
            0
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_installation_policy_is_told_once_and_fresh_credentials_read_it() {
        let emu = Emulator::start(([127, 0, 0, 1], 0).into(), Scenario::embedded_default())
            .await
            .expect("emulator");
        let id = first_instance();
        let (fresh, client) = watch::channel(client_as(&emu, "failback installation policy").await);
        let (tx, mut rx) = unbounded_channel();
        tokio::spawn(configuration(RunId(1), id, client, BASE, tx));
        let denied = next_configuration(&mut rx).await.expect_err("denied");
        assert!(matches!(denied.kind, DrsErrorKind::AccessDenied { .. }));
        assert!(
            tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .is_err(),
            "denied again"
        );
        fresh.send_replace(client_as(&emu, "full access").await);
        assert!(next_configuration(&mut rx).await.is_ok());
    }

    /// Unchanged answers stretch the interval: 1, 2, 4, then 4 s (the back-off's quiet limit).
    #[tokio::test(start_paused = true)]
    async fn the_instance_is_asked_less_often_while_it_stays_the_same() {
        let emu = Emulator::start(([127, 0, 0, 1], 0).into(), Scenario::embedded_default())
            .await
            .expect("emulator");
        let (_keep, client) = watch::channel(client_as(&emu, "full access").await);
        let (tx, mut rx) = unbounded_channel();
        tokio::spawn(instance(RunId(1), first_instance(), client, BASE, tx));
        let mut at = Vec::new();
        for _ in 0..5 {
            match rx.recv().await {
                Some(Input::Polled(_, Ok(_))) => at.push(Instant::now()),
                _ => panic!("not a poll"),
            }
        }
        let gaps: Vec<u64> = at.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
        assert_eq!(gaps, [1, 2, 4, 4]);
    }
}
