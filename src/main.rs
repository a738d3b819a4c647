use clap::Parser;
use drs_failback::app::runtime::{self, Frontend, Services};
use drs_failback::app::{App, Interrupt, Mode};
use drs_failback::cli::{Cli, Command};
use drs_failback::disks::report;
use drs_failback::disks::virtual_disks::VirtualDisks;
use drs_failback::emulator::{Emulator, Scenario};
use drs_failback::headless::Headless;
use drs_failback::process::{self, EXIT_CANNOT_START, EXIT_FAILED};
use drs_failback::replication::demo::DemoReplicator;
use drs_failback::terminal::{self, TerminalUi};
use drs_failback::ui::Theme;
use drs_failback::wizard::endpoint::EndpointForm;
use drs_failback::wizard::result::Outcome;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
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
            None if cli.demo => demo(&cli).await,
            None => Err(
                "failing back onto real disks needs the udev disk discovery and AWS's replication \
                 software, which this build does not include yet. Run `drs-failback --demo` to \
                 rehearse the whole failback against the embedded emulator."
                    .to_owned(),
            ),
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

fn load_scenario(path: Option<&Path>) -> Result<Scenario, String> {
    match path {
        Some(p) => Scenario::load(p).map_err(|e| format!("scenario {}: {e}", p.display())),
        None => Ok(Scenario::embedded_default()),
    }
}

async fn serve_emulator(listen: SocketAddr, scenario: Option<&Path>) -> Result<ExitCode, String> {
    let scenario = load_scenario(scenario)?;
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

async fn demo(cli: &Cli) -> Result<ExitCode, String> {
    let log_path = init_logging(cli.log_file.as_deref())?;
    let scenario = load_scenario(cli.scenario.as_deref())?;
    let host_identity = scenario.demo_host();
    let specs = scenario.demo_disks();
    let emulator = Emulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), scenario)
        .await
        .map_err(|e| format!("cannot start the DRS emulator: {e}"))?;
    // A temporary directory is removed when `_temp` drops, after the wizard ends.
    let (_temp, dir) = match &cli.demo_dir {
        Some(d) => (None, d.clone()),
        None => {
            let t = tempfile::Builder::new()
                .prefix("drs-failback-demo-")
                .tempdir()
                .map_err(|e| format!("cannot create the demo's disk directory: {e}"))?;
            let p = t.path().to_owned();
            (Some(t), p)
        }
    };
    let disks = VirtualDisks::create(&dir, &specs)
        .map_err(|e| format!("cannot create virtual disks in {}: {e}", dir.display()))?;
    tracing::info!(endpoint = %emulator.endpoint(), dir = %dir.display(), "demo started");

    let keys = emulator.credentials();
    let first = keys
        .first()
        .cloned()
        .ok_or("the scenario defines no credentials")?;
    let mut app = App::new(Mode::Demo {
        disk_dir: dir.display().to_string(),
        keys,
        endpoint: emulator.endpoint(),
    });
    app.log_path = Some(log_path.display().to_string());
    app.credentials.fill(&first.credentials);
    if let Some(parts) = app
        .credentials
        .fill_keys(&cli.access_keys(|k| std::env::var(k).ok()))
    {
        tracing::info!("the {parts} came from the command line or the environment");
    }
    app.credentials.region = emulator.region();
    app.endpoint = EndpointForm::with_custom(&emulator.endpoint());
    app.s3_endpoint = cli.s3_endpoint.clone();

    let services = Services {
        disks: Arc::new(disks),
        replicator: Arc::new(DemoReplicator::new(emulator.failback_client())),
        poll_every: Duration::from_secs(1),
        host_identity: Some(host_identity),
        set_clock: drs_failback::preflight::set_system_clock,
    };
    if cli.no_prompt {
        let mut headless = Headless::default();
        let _ = writeln!(
            std::io::stdout(),
            "drs-failback demo: emulator at {}, virtual disks in {} (no AWS account, no real disk)",
            emulator.endpoint(),
            dir.display()
        );
        let app = run(app, services, &mut headless, None).await?;
        if app.interrupted.is_some() {
            return Ok(exit_code(&app));
        }
        return Ok(match (&app.outcome, &headless.failure) {
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
        });
    }
    let mut theme = Theme::detect(|k| std::env::var(k).ok());
    theme.unicode &= !cli.ascii;
    theme.color &= !cli.no_color;
    let (mut ui, keys) =
        TerminalUi::enter(theme).map_err(|e| format!("cannot use this terminal: {e}"))?;
    app.size = terminal::screen_size();
    let app = runtime::run(app, services, &mut ui, Some(keys)).await;
    drop(ui);
    Ok(match app {
        Ok(app) => exit_code(&app),
        // Drawing failed: the terminal is gone (the demo's directory is still removed).
        Err(e) => {
            tracing::warn!("the terminal went away: {e}");
            ExitCode::from(process::exit_status(Interrupt::TerminalLost))
        }
    })
}

async fn run(
    app: App,
    services: Services,
    frontend: &mut dyn Frontend,
    keys: Option<tokio::sync::mpsc::UnboundedReceiver<drs_failback::app::Msg>>,
) -> Result<App, String> {
    runtime::run(app, services, frontend, keys)
        .await
        .map_err(|e| format!("terminal error: {e}"))
}
