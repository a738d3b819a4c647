//! The full-screen terminal: entered once, restored on every exit path (drop, error, panic,
//! signals, suspend), with a fixed 80x24 viewport when a serial line reports no size. Only what
//! was changed is put back, and a terminal that is gone is not an error.

pub mod input;
mod quiet;
pub mod signals;

use crate::app::runtime::Frontend;
use crate::app::{Interrupt, Msg};
use crate::ui::{self, Looks};
use input::{Decoder, Input};
use quiet::Quiet;
use ratatui::crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io::{self, Stdout};
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// What this program changed on the terminal, so that restoring undoes only that.
static RAW: AtomicBool = AtomicBool::new(false);
static SCREEN: AtomicBool = AtomicBool::new(false);
/// The terminal keys are read from (-1 before `TerminalUi::enter`).
static TTY: AtomicI32 = AtomicI32::new(-1);

/// The loop a panic in any thread tells to end (set by `signals::spawn`).
static PANIC_LISTENER: Mutex<Option<UnboundedSender<Msg>>> = Mutex::new(None);

/// The size the screen is drawn at: a serial line reporting 0x0 gets 80x24.
pub fn screen_size() -> (u16, u16) {
    match terminal::size() {
        Ok((w, h)) if w > 0 && h > 0 => (w, h),
        _ => (ui::MIN_WIDTH, ui::MIN_HEIGHT),
    }
}

/// Puts the terminal back as it was, undoing only what `enter_modes` did. Safe to call more
/// than once, from any thread, and when the terminal is gone (errors are ignored: there is
/// nothing left to restore).
pub fn restore() {
    if SCREEN.swap(false, Ordering::SeqCst) {
        let _ = execute!(
            io::stdout(),
            DisableBracketedPaste,
            terminal::LeaveAlternateScreen,
            cursor::Show
        );
    }
    if RAW.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
    }
}

/// Raw mode, the alternate screen and bracketed paste; again after a suspend or Ctrl-L (the
/// shell may have reset the modes meanwhile).
fn enter_modes() -> io::Result<()> {
    if RAW.swap(true, Ordering::SeqCst) && !tty_is_raw() {
        // crossterm skips enabling when it thinks raw mode is on: make it set it again.
        terminal::disable_raw_mode()?;
    }
    terminal::enable_raw_mode()?;
    SCREEN.store(true, Ordering::SeqCst);
    execute!(
        io::stdout(),
        terminal::EnterAlternateScreen,
        EnableBracketedPaste
    )
}

/// Whether the terminal still is in raw mode (a shell may reset it while we are stopped).
fn tty_is_raw() -> bool {
    let fd = TTY.load(Ordering::SeqCst);
    // SAFETY: tcgetattr fills a zeroed termios; an invalid descriptor only fails.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    fd >= 0 && unsafe { libc::tcgetattr(fd, &mut t) } == 0 && t.c_lflag & libc::ICANON == 0
}

/// Stops the process as SIGTSTP's default action would; returns once it is continued.
pub fn stop_process() {
    // SAFETY: raise has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}

/// A panic anywhere restores the terminal, goes to the log, and ends the program through its
/// normal exit path, so destructors run (the demo's temporary disks are removed): the main
/// thread unwinds; a worker's panic tells the loop to leave.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        // The message and place only: panics never format secrets (their Debug redacts).
        tracing::error!("panic: {info}");
        previous(info);
        let listener = PANIC_LISTENER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = listener.as_ref() {
            let _ = tx.send(Msg::Interrupted(Interrupt::Panic));
        }
    }));
}

pub(crate) fn set_panic_listener(tx: UnboundedSender<Msg>) {
    *PANIC_LISTENER.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
}

pub struct TerminalUi {
    /// Never dropped: ratatui's Drop shows the cursor and reports failure with `eprintln!`,
    /// which panics when the terminal is gone. `restore` does that job instead.
    terminal: ManuallyDrop<Terminal<Quiet<Stdout>>>,
    /// Drawn in `App::rich`'s look.
    looks: Looks,
}

/// The terminal to read keys from: stdin when it is one, else the controlling terminal.
fn tty() -> io::Result<RawFd> {
    let stdin = io::stdin().as_raw_fd();
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(stdin) } == 1 {
        return Ok(stdin);
    }
    let file = std::fs::File::open("/dev/tty")?;
    // Kept open for the life of the process (the reader thread's).
    Ok(std::os::fd::IntoRawFd::into_raw_fd(file))
}

impl TerminalUi {
    /// Enters raw mode and the alternate screen; keys and pastes arrive on the returned channel.
    pub fn enter(looks: Looks) -> io::Result<(TerminalUi, UnboundedReceiver<Msg>)> {
        let fd = tty()?;
        TTY.store(fd, Ordering::SeqCst);
        enter_modes()?;
        // A frame reaches stdout (a line writer, locked per write) in one write, when ratatui
        // flushes at the end of each draw.
        let backend = Quiet::new(io::stdout());
        let viewport = match terminal::size() {
            Ok((w, h)) if w > 0 && h > 0 => Viewport::Fullscreen,
            _ => Viewport::Fixed(Rect::new(0, 0, ui::MIN_WIDTH, ui::MIN_HEIGHT)),
        };
        let terminal = Terminal::with_options(backend, TerminalOptions { viewport })?;
        let (tx, rx) = unbounded_channel();
        // Reads block: a thread of its own, ending with the process.
        std::thread::spawn(move || read_input(fd, &tx));
        Ok((
            TerminalUi {
                terminal: ManuallyDrop::new(terminal),
                looks,
            },
            rx,
        ))
    }
}

/// Waits until `fd` is readable or `wait` passed; Ok(false) on timeout.
fn poll_readable(fd: RawFd, wait: Option<std::time::Duration>) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = wait.map_or(-1, |w| w.as_millis().min(i32::MAX as u128) as i32);
    // SAFETY: one valid pollfd for the duration of the call.
    match unsafe { libc::poll(&mut pfd, 1, ms) } {
        n if n < 0 => Err(io::Error::last_os_error()),
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// Reads everything the terminal sends, as soon as it is there, through the decoder; tells the
/// loop when the terminal is gone (end of file or an I/O error: the window closed, SSH dropped).
fn read_input(fd: RawFd, tx: &UnboundedSender<Msg>) {
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    let lost = loop {
        let inputs = match poll_readable(fd, decoder.wait()) {
            Ok(false) => decoder.timeout(),
            Ok(true) => {
                // SAFETY: reads into a buffer of the given length.
                let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                match n {
                    0 => break "end of input".to_owned(),
                    n if n > 0 => {
                        let inputs = decoder.feed(&buf[..n as usize]);
                        // Typed or pasted secrets pass through here: none stays behind.
                        zeroize::Zeroize::zeroize(&mut buf[..n as usize]);
                        inputs
                    }
                    _ => {
                        let e = io::Error::last_os_error();
                        match e.kind() {
                            io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => continue,
                            _ => break e.to_string(),
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break e.to_string(),
        };
        for input in inputs {
            let msg = match input {
                Input::Key(key) => Msg::Key(key),
                Input::Paste(text) => Msg::Paste(text),
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    };
    tracing::warn!("the terminal went away: {lost}");
    let _ = tx.send(Msg::Interrupted(Interrupt::TerminalLost));
}

impl Frontend for TerminalUi {
    fn draw(&mut self, app: &crate::app::App) -> io::Result<()> {
        let theme = self.looks.get(app.rich);
        self.terminal.draw(|frame| ui::view(app, theme, frame))?;
        Ok(())
    }

    /// Ctrl-L and resume: the modes again (a shell may have reset them), then a full repaint.
    fn clear(&mut self) -> io::Result<()> {
        enter_modes()?;
        // Not `Terminal::clear`: it asks the terminal where the cursor is and reads the answer
        // through crossterm's reader, which would compete with ours for the operator's keys.
        self.terminal.backend_mut().forget();
        let area = self.terminal.get_frame().area();
        self.terminal.resize(area)?;
        ratatui::backend::Backend::flush(self.terminal.backend_mut())
    }

    fn suspend(&mut self) -> io::Result<()> {
        restore();
        stop_process();
        self.clear()
    }
}

impl Drop for TerminalUi {
    fn drop(&mut self) {
        restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Log {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_is_logged_and_ends_the_loop_instead_of_the_process() {
        install_panic_hook();
        let (tx, mut rx) = unbounded_channel();
        set_panic_listener(tx);
        let log = Log::default();
        let writer = log.clone();
        let worker = std::thread::spawn(move || {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .finish();
            tracing::subscriber::with_default(subscriber, || panic!("a worker broke"));
        });
        // The hook returned (no process::exit): the thread unwound and the test goes on.
        assert!(worker.join().is_err());
        assert!(matches!(
            rx.try_recv(),
            Ok(Msg::Interrupted(Interrupt::Panic))
        ));
        let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(
            logged.contains("panic: ") && logged.contains("a worker broke"),
            "{logged}"
        );
    }
}
