//! Signals as messages: ending ones (each its own exit status), suspend and resume, resizes.
//! Panics are routed to the same loop.

use super::{screen_size, set_panic_listener};
use crate::app::{Interrupt, Msg};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::UnboundedSender;

/// Starts listening; every signal is answered for as long as the loop runs.
pub fn spawn(tx: UnboundedSender<Msg>) {
    set_panic_listener(tx.clone());
    let ending = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];
    for signo in ending {
        on(signo, &tx, move || {
            Msg::Interrupted(Interrupt::Signal(signo))
        });
    }
    on(libc::SIGTSTP, &tx, || Msg::Suspend);
    on(libc::SIGCONT, &tx, || Msg::Resumed);
    on(libc::SIGWINCH, &tx, || {
        let (cols, rows) = screen_size();
        Msg::Resize { cols, rows }
    });
}

fn on(signo: i32, tx: &UnboundedSender<Msg>, msg: impl Fn() -> Msg + Send + 'static) {
    let tx = tx.clone();
    match signal(SignalKind::from_raw(signo)) {
        Ok(mut s) => {
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    if tx.send(msg()).is_err() {
                        break;
                    }
                }
            });
        }
        Err(e) => tracing::warn!("cannot listen for signal {signo}: {e}"),
    }
}
