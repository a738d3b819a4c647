//! A panic puts the terminal back before its message is printed, even in a thread that owns
//! nothing of the screen (no destructor runs for it there). The binary has no way to panic on
//! purpose, so this test runs itself on a pty as the program: the full screen entered through
//! the wizard's own terminal code, then a panic in another thread. (harness = false: the same
//! file is the test and the program.)

mod common;

use common::pty::Session;
use drs_failback::terminal::{self, TerminalUi};
use drs_failback::ui::{Looks, Theme};

const AS_PROGRAM: &str = "DRS_FAILBACK_TEST_PANIC_PROGRAM";
const MESSAGE: &str = "a worker broke";

fn main() {
    if std::env::var_os(AS_PROGRAM).is_some() {
        program();
    }
    let me = std::env::current_exe().unwrap();
    let mut s = Session::spawn::<&str>(&me, &[], &[(AS_PROGRAM, "1")], 24, 80);
    let code = s.exit_code();
    let screen = s.wait_for(MESSAGE);
    let seen = s.screen.state.lock().unwrap().1.entered_alternate;
    assert!(seen, "the full screen was entered first");
    assert_eq!(code, 101, "{screen}");
    assert_eq!(s.not_restored(), Vec::<&str>::new(), "{screen}");
    println!("terminal_panic: 1 passed, 0 failed");
}

fn program() -> ! {
    terminal::install_panic_hook();
    let looks = Looks::new(Theme::detect(|k| std::env::var(k).ok()), false);
    let (ui, _keys) = TerminalUi::enter(looks).unwrap();
    // Held to the end: only the panic hook can restore the terminal.
    std::mem::forget(ui);
    let _ = std::thread::spawn(|| panic!("{MESSAGE}")).join();
    std::process::exit(101);
}
