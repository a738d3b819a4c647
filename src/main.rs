use clap::Parser;
use drs_failback::app::runtime::{self, Services};
use drs_failback::app::{self, App, Interrupt, Mode};
use drs_failback::cli::{Cli, Command};
use drs_failback::disks::report;
use drs_failback::emulator::Emulator;
use drs_failback::headless::Headless;
use drs_failback::process::{self, EXIT_CANNOT_START, EXIT_FAILED};
use drs_failback::standin;
use drs_failback::terminal::{self, TerminalUi};
use drs_failback::ui::Theme;
use drs_failback::wizard::network::NetworkForm;
use drs_failback::wizard::result::Outcome;
use drs_failback::worker::{self, client, status};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit statuses are listed in `--help` (`cli::EXIT_STATUS`).
fn main() -> ExitCode {
    // Before anything can hold a secret.
    if let Err(e) = process::forbid_core_dumps() {
        return fatal(&format!("cannot turn core dumps off: {e}"));
    }
    terminal::install_panic_hook();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fatal(&format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(async {
        match cli.command {
            Some(Command::Emulator {
                listen,
                ref scenario,
            }) => serve_emulator(listen, scenario.as_deref()).await,
            Some(Command::Disks { json, include_loop }) => {
                report::print(json, include_loop).map(|()| ExitCode::SUCCESS)
            }
            Some(Command::Preflight { json }) => preflight(&cli, json).await,
            Some(Command::Worker { ref log }) => run_worker(&cli, log.clone()).await,
            Some(Command::Status { json }) => print_status(&cli, json).await,
            Some(Command::FailbackClientStandin(args)) => {
                Ok(ExitCode::from(standin::run(args).await))
            }
            None if cli.demo => demo(&cli).await,
            None => real(&cli).await,
        }
    });
    // Don't wait for the blocked key-reader thread or idle workers.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match code {
        Ok(code) => code,
        Err(e) => fatal(&e),
    }
}

fn fatal(message: &str) -> ExitCode {
    terminal::restore();
    tracing::error!("{message}");
    // The terminal may be gone: a message that cannot be shown is not another error.
    let _ = writeln!(std::io::stderr(), "drs-failback: {message}");
    ExitCode::from(EXIT_CANNOT_START)
}

/// The exit status of a finished run: how it was interrupted, else how the failback went.
fn exit_code(app: &App) -> ExitCode {
    if let Some(why) = app.interrupted {
        tracing::warn!(?why, "the wizard was interrupted");
        return ExitCode::from(process::exit_status(why));
    }
    match app.outcome {
        Some(Outcome::Failed(_)) => ExitCode::from(EXIT_FAILED),
        _ => ExitCode::SUCCESS,
    }
}

async fn serve_emulator(listen: SocketAddr, scenario: Option<&Path>) -> Result<ExitCode, String> {
    let scenario = app::demo::load_scenario(scenario)?;
    let emulator = Emulator::start(listen, scenario)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("DRS emulator listening on {}", emulator.endpoint());
    println!("region: {}", emulator.region());
    println!("These are emulator credentials, not AWS keys:");
    for c in emulator.credentials() {
        println!(
            "  {:<28} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}{}",
            c.label,
            c.credentials.access_key_id,
            c.credentials.secret_access_key,
            c.credentials
                .session_token
                .as_ref()
                .map(|t| format!(" AWS_SESSION_TOKEN={t}"))
                .unwrap_or_default()
        );
        println!("  {:<28} {}", "", c.description);
    }
    println!(
        "Try: aws drs describe-recovery-instances --endpoint-url {} --region {}",
        emulator.endpoint(),
        emulator.region()
    );
    println!(
        "AWS's replication software (a stand-in) is served from the same address: --s3-endpoint {}",
        emulator.endpoint()
    );
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `drs-failback preflight`: the checks that need no recovery instance, printed.
async fn preflight(cli: &Cli, json: bool) -> Result<ExitCode, String> {
    use drs_failback::domain::preflight::{Verdict, worst};
    let region = cli.region.clone().unwrap_or_else(|| "us-east-1".to_owned());
    let targets = drs_failback::preflight::Targets::new(
        &region,
        cli.endpoint.as_deref(),
        cli.s3_endpoint.as_deref(),
    );
    let report = drs_failback::preflight::measure(&targets).await;
    let text = if json {
        drs_failback::preflight::json(&region, &report)
    } else {
        drs_failback::preflight::text(&region, &report)
    };
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(match worst(&report.checks) {
        Verdict::Fail => ExitCode::from(EXIT_CANNOT_START),
        _ => ExitCode::SUCCESS,
    })
}

fn init_logging(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let (file, path) = process::open_log(explicit)?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .init();
    Ok(path)
}

/// The worker: its output already goes to its log (stdout and stderr are that file).
async fn run_worker(cli: &Cli, log: Option<String>) -> Result<ExitCode, String> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let dir = cli
        .state_dir
        .clone()
        .ok_or("the worker is started by drs-failback, with --state-dir")?;
    worker::run(&dir, worker::PIPE_FD, log).await?;
    Ok(ExitCode::SUCCESS)
}

/// `status`: the given state directory, else the real one, else the demo's.
async fn print_status(cli: &Cli, json: bool) -> Result<ExitCode, String> {
    let dirs = match &cli.state_dir {
        Some(d) => vec![d.clone()],
        None => vec![
            worker::default_state_dir(false),
            worker::default_state_dir(true),
        ],
    };
    let mut found = status::Status::default();
    for dir in dirs {
        found = status::read(&dir).await?;
        if found.running {
            break;
        }
    }
    let out = if json {
        serde_json::to_string(&found).map_err(|e| e.to_string())?
    } else {
        status::text(&found)
    };
    let _ = writeln!(std::io::stdout(), "{out}");
    Ok(if found.running {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// How to come back to a failback that goes on without this terminal.
fn come_back(cli: &Cli) -> String {
    let mut cmd = "drs-failback".to_owned();
    if cli.demo {
        cmd.push_str(" --demo");
    }
    if let Some(d) = &cli.state_dir {
        cmd.push_str(&format!(" --state-dir {}", d.display()));
    }
    cmd
}

/// A failback already runs in `state_dir`: what the wizard needs to go straight to its
/// dashboard.
fn attach(
    state_dir: &Path,
    host_identity: Option<drs_failback::domain::model::HostIdentity>,
) -> Result<Option<Services>, String> {
    let found = client::connect(state_dir).map_err(|e| {
        format!(
            "cannot reach the failback worker in {}: {e}",
            state_dir.display()
        )
    })?;
    Ok(found.map(|attach| {
        tracing::info!(dir = %state_dir.display(), "attaching to the running failback");
        Services {
            disks: None,
            host_identity,
            state_dir: state_dir.to_owned(),
            worker: None,
            attach: Some(attach),
            set_clock: drs_failback::preflight::set_system_clock,
            network: Some(drs_failback::netconfig::System::live()),
        }
    }))
}

/// Without --demo: attach to a running failback; starting one on real disks is not in this
/// build yet.
async fn real(cli: &Cli) -> Result<ExitCode, String> {
    let state_dir = cli
        .state_dir
        .clone()
        .unwrap_or_else(|| worker::default_state_dir(false));
    let Some(services) = attach(&state_dir, None)? else {
        return Err(
            "failing back onto real disks needs the udev disk discovery and AWS's replication \
             software, which this build does not include yet. Run `drs-failback --demo` to \
             rehearse the whole failback against the embedded emulator."
                .to_owned(),
        );
    };
    let log_path = init_logging(cli.log_file.as_deref())?;
    wizard(cli, App::new(Mode::Real), services, log_path).await
}

async fn demo(cli: &Cli) -> Result<ExitCode, String> {
    let log_path = init_logging(cli.log_file.as_deref())?;
    let state_dir = cli
        .state_dir
        .clone()
        .unwrap_or_else(|| worker::default_state_dir(true));
    let scenario = app::demo::load_scenario(cli.scenario.as_deref())?;

    if let Some(services) = attach(&state_dir, Some(scenario.demo_host()))? {
        let app = App::new(Mode::Demo {
            disk_dir: String::new(),
            keys: vec![],
            endpoint: String::new(),
        });
        return wizard(cli, app, services, log_path).await;
    }

    let program =
        std::env::current_exe().map_err(|e| format!("cannot find this program's file: {e}"))?;
    let (mut app, services, ready) = app::demo::start(app::demo::DemoStart {
        program: &program,
        state_dir,
        scenario: cli.scenario.clone(),
        disk_dir: cli.demo_dir.clone(),
        poll_every_ms: 1000,
    })?;
    if let Some(parts) = app
        .credentials
        .fill_keys(&cli.access_keys(|k| std::env::var(k).ok()))
    {
        tracing::info!("the {parts} came from the command line or the environment");
    }
    app.s3_endpoint = cli.s3_endpoint.clone();
    if cli.no_prompt {
        let _ = writeln!(
            std::io::stdout(),
            "drs-failback demo: emulator at {}, virtual disks in {} (no AWS account, no real disk)",
            ready.endpoint,
            ready.disk_dir.display()
        );
    }
    wizard(cli, app, services, log_path).await
}

/// Runs the wizard (full screen, or headless with --no-prompt) and leaves the worker as the
/// run ended: waited for when it has nothing left to do, else running on.
async fn wizard(
    cli: &Cli,
    mut app: App,
    mut services: Services,
    log_path: PathBuf,
) -> Result<ExitCode, String> {
    app.log_path = Some(log_path.display().to_string());
    // The official client's variables fill the Network screen; --s3-endpoint counts as S3_ENDPOINT.
    app.network = NetworkForm::from_prefill(drs_failback::domain::network::prefill(|k| match k {
        "S3_ENDPOINT" => cli.s3_endpoint.clone(),
        _ => std::env::var(k).ok(),
    }));
    let mut headless = Headless::default();
    // Err: drawing failed, the terminal is gone.
    let result = if cli.no_prompt {
        runtime::run(app, &mut services, &mut headless, None).await
    } else {
        let mut theme = Theme::detect(|k| std::env::var(k).ok());
        theme.unicode &= !cli.ascii;
        theme.color &= !cli.no_color;
        let (mut ui, keys) =
            TerminalUi::enter(theme).map_err(|e| format!("cannot use this terminal: {e}"))?;
        app.size = terminal::screen_size();
        let app = runtime::run(app, &mut services, &mut ui, Some(keys)).await;
        drop(ui);
        app
    };
    let acknowledged = result.as_ref().is_ok_and(|a| a.acknowledged);
    if let Some(worker) = services.worker.take() {
        worker.finish(acknowledged);
    }
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            tracing::warn!("the terminal went away: {e}");
            return Ok(ExitCode::from(process::exit_status(
                Interrupt::TerminalLost,
            )));
        }
    };
    if let Some(w) = app.worker.as_ref().filter(|_| !app.acknowledged) {
        let message = format!(
            "drs-failback: the failback goes on in its worker (pid {}). Run `{}` again, on any \
             console or over SSH, to come back to it.",
            w.pid,
            come_back(cli)
        );
        tracing::info!("{message}");
        let _ = writeln!(std::io::stderr(), "{message}");
    }
    if app.interrupted.is_some() || !cli.no_prompt {
        return Ok(exit_code(&app));
    }
    Ok(match (&app.outcome, &headless.failure) {
        (Some(Outcome::Completed(_)), _) => ExitCode::SUCCESS,
        (_, Some(why)) if headless.cannot_start => {
            let _ = writeln!(std::io::stderr(), "drs-failback: cannot start: {why}");
            ExitCode::from(EXIT_CANNOT_START)
        }
        (_, Some(why)) => {
            let _ = writeln!(std::io::stderr(), "drs-failback: stopped: {why}");
            ExitCode::from(EXIT_FAILED)
        }
        _ => ExitCode::from(EXIT_FAILED),
    })
}
