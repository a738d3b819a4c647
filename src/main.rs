use clap::Parser;
use drs_failback::app::runtime::{self, Services, WorkerStart};
use drs_failback::app::{self, App, Interrupt, Mode};
use drs_failback::cli::{Cli, Command, Output, SECRET_OPTIONS};
use drs_failback::disks::report;
use drs_failback::disks::udev_disks::UdevDisks;
use drs_failback::emulator::Emulator;
use drs_failback::exit::{Exit, Setting, Stop};
use drs_failback::failback_software::S3Endpoint;
use drs_failback::headless::{self, Headless};
use drs_failback::process;
use drs_failback::standin;
use drs_failback::terminal::{self, TerminalUi};
use drs_failback::ui::{Looks, Theme};
use drs_failback::wizard::network::NetworkForm;
use drs_failback::wizard::result::Outcome;
use drs_failback::worker::protocol::Setup;
use drs_failback::worker::{self, client, status};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit statuses are listed in `--help` (`exit::TABLE`).
fn main() -> ExitCode {
    // Before anything can hold a secret.
    if let Err(e) = process::forbid_core_dumps() {
        return fatal(
            &Stop::from(format!("cannot turn core dumps off: {e}")),
            None,
        );
    }
    terminal::install_panic_hook();
    let cli = Cli::parse().with_env(|k| std::env::var(k).ok());
    // Secrets given as arguments: read now, so no other user sees them there from here on.
    // The stand-in takes AWS's program's, under the same names.
    let standin_secrets = matches!(&cli.command, Some(Command::FailbackClientStandin(a))
        if a.aws_secret_access_key.is_some() || a.aws_session_token.is_some());
    let hidden =
        (cli.secret_access_key.is_some() || cli.session_token.is_some() || standin_secrets)
            .then(|| process::hide_args(&SECRET_OPTIONS));
    let output = cli.no_prompt.then_some(cli.output);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            let stop = Stop::from(format!("cannot start the async runtime: {e}"));
            return fatal(&stop, output);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Some(Command::Emulator {
                held: true,
                ref scenario,
                ref demo_dir,
                ref region,
                ref log,
                ..
            }) => serve_held_emulator(&cli, scenario, demo_dir, region, log).await,
            Some(Command::Emulator {
                listen,
                ref scenario,
                ..
            }) => serve_emulator(listen, scenario.as_deref()).await,
            Some(Command::Disks { json, include_loop }) => report::print(json, include_loop)
                .map(|()| ExitCode::SUCCESS)
                .map_err(Stop::from),
            Some(Command::Preflight { json }) => preflight(&cli, json).await,
            Some(Command::Worker { ref log }) => run_worker(&cli, log.clone()).await,
            Some(Command::Status { json }) => print_status(&cli, json).await,
            Some(Command::FailbackClientStandin(args)) => {
                Ok(ExitCode::from(standin::run(args).await))
            }
            None if cli.demo => demo(&cli, hidden).await,
            None => real(&cli, hidden).await,
        }
    });
    // Don't wait for the blocked key-reader thread or idle workers.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match code {
        Ok(code) => code,
        Err(stop) => fatal(&stop, output),
    }
}

/// Ends a run that could not go on: `--no-prompt` says it as its outcome.
fn fatal(stop: &Stop, no_prompt: Option<Output>) -> ExitCode {
    terminal::restore();
    tracing::error!("{stop}");
    // The terminal may be gone: a message that cannot be shown is not another error.
    match no_prompt {
        Some(output) => ExitCode::from(headless::stop_before_start(output, stop)),
        None => {
            let _ = writeln!(std::io::stderr(), "drs-failback: {stop}");
            ExitCode::from(stop.exit.code())
        }
    }
}

/// The exit status of a finished run: how it was interrupted, else how the failback went.
fn exit_code(app: &App) -> ExitCode {
    if let Some(why) = app.interrupted {
        tracing::warn!(?why, "the wizard was interrupted");
        return ExitCode::from(process::exit_status(why));
    }
    match app.outcome {
        Some(Outcome::Failed(_)) => ExitCode::from(Exit::Failed.code()),
        _ => ExitCode::SUCCESS,
    }
}

async fn serve_emulator(listen: SocketAddr, scenario: Option<&Path>) -> Result<ExitCode, Stop> {
    use std::fmt::Write as _;
    let scenario = drs_failback::emulator::Scenario::load_or_embedded(scenario)?;
    // Heard from before it listens: a client may stop it as soon as it answers.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    let emulator = Emulator::start(listen, scenario)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let mut text = String::new();
    let _ = writeln!(text, "DRS emulator listening on {}", emulator.endpoint());
    let _ = writeln!(text, "region: {}", emulator.region());
    let _ = writeln!(text, "These are emulator credentials, not AWS keys:");
    for c in emulator.credentials() {
        let _ = writeln!(
            text,
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
        let _ = writeln!(text, "  {:<28} {}", "", c.description);
    }
    let _ = writeln!(
        text,
        "Try: aws drs describe-recovery-instances --endpoint-url {} --region {}",
        emulator.endpoint(),
        emulator.region()
    );
    let _ = writeln!(
        text,
        "AWS's replication software (a stand-in) is served from the same address: --s3-endpoint {}",
        emulator.endpoint()
    );
    let _ = writeln!(text, "Ctrl-C stops it.");
    // A reader that went (`| head -1`) is no reason to stop serving.
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    interrupt.recv().await;
    Ok(ExitCode::SUCCESS)
}

/// The demo's emulator, started by a demo wizard (its output already goes to its log).
async fn serve_held_emulator(
    cli: &Cli,
    scenario: &Option<PathBuf>,
    demo_dir: &Option<PathBuf>,
    region: &Option<String>,
    log: &Option<PathBuf>,
) -> Result<ExitCode, Stop> {
    use drs_failback::emulator::held;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let dir = cli.state_dir.as_deref().ok_or("--held needs --state-dir")?;
    // SAFETY: descriptor 3 is the socket the starting wizard passed; nothing else owns it.
    let first = unsafe {
        use std::os::fd::FromRawFd;
        (libc::fcntl(held::FIRST_HOLD_FD, libc::F_SETFD, libc::FD_CLOEXEC) == 0)
            .then(|| std::os::unix::net::UnixStream::from_raw_fd(held::FIRST_HOLD_FD))
    }
    .ok_or("--held: descriptor 3 is the starting wizard's hold; start the demo instead")?;
    let start = held::Start {
        scenario: scenario.clone(),
        disk_dir: demo_dir.clone(),
        region: region.clone(),
        log: log.clone(),
    };
    held::serve(dir, &start, first).await?;
    Ok(ExitCode::SUCCESS)
}

/// `drs-failback preflight`: the checks that need no recovery instance, printed.
async fn preflight(cli: &Cli, json: bool) -> Result<ExitCode, Stop> {
    use drs_failback::domain::preflight::{Verdict, worst};
    let region = cli.region.clone().unwrap_or_else(|| "us-east-1".to_owned());
    let mut targets = drs_failback::preflight::Targets::new(
        &region,
        cli.endpoint.as_deref(),
        cli.s3_endpoint.as_deref(),
    );
    if let Some(dir) = &cli.state_dir {
        targets.state_dir = dir.clone();
    }
    let report = drs_failback::preflight::measure(&targets).await;
    let text = if json {
        drs_failback::preflight::json(&region, &report)
    } else {
        drs_failback::preflight::text(&region, &report)
    };
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(match worst(&report.checks) {
        Verdict::Fail => ExitCode::from(Exit::CannotStart.code()),
        _ => ExitCode::SUCCESS,
    })
}

/// The log file; with `--no-prompt --log-console` its lines also go to standard error (a
/// full screen has no room for them).
fn init_logging(cli: &Cli) -> Result<PathBuf, String> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let (file, path) = process::open_log(cli.log_file.as_deref())?;
    let file = std::sync::Mutex::new(file);
    let console = cli.log_console && cli.no_prompt;
    let builder = tracing_subscriber::fmt().with_ansi(false);
    if console {
        builder.with_writer(file.and(std::io::stderr)).init();
    } else {
        builder.with_writer(file).init();
    }
    if cli.log_console && !console {
        tracing::info!("--log-console: the full-screen wizard keeps the screen; the log is here");
    }
    Ok(path)
}

/// Says in the log whether secrets given as arguments were blanked from our command line.
fn log_hidden(hidden: Option<std::io::Result<usize>>) {
    match hidden {
        Some(Ok(n)) => tracing::info!(
            blanked = n,
            "secrets given as arguments are blanked from this process's command line"
        ),
        Some(Err(e)) => tracing::warn!(
            "secrets given as arguments could not be blanked from the command line ({e}): \
             `ps` may show them; prefer AWS_SECRET_KEY / AWS_SESSION_TOKEN"
        ),
        None => {}
    }
}

/// The worker: its output already goes to its log (stdout and stderr are that file).
async fn run_worker(cli: &Cli, log: Option<String>) -> Result<ExitCode, Stop> {
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
async fn print_status(cli: &Cli, json: bool) -> Result<ExitCode, Stop> {
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
        ExitCode::from(Exit::Failed.code())
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
            start_worker: None,
            attach: Some(attach),
            set_clock: drs_failback::preflight::set_system_clock,
            demo: None,
            emulator: None,
            network: Some(drs_failback::netconfig::System::live()),
        }
    }))
}

/// No failback runs here yet: a second one would be refused by the worker's lock (held
/// from the moment a wizard starts its worker).
fn check_not_busy(state_dir: &Path) -> Result<(), Stop> {
    worker::lock::check_free(state_dir)
        .map_err(|e| Stop::new(Exit::Busy, Some(Setting::STATE_DIR), e))
}

/// The arguments and the environment into the screens; with --no-prompt, what cannot work
/// stops the run before anything is asked of AWS.
fn prefill(cli: &Cli, app: &mut App) -> Result<(), Stop> {
    let given = cli.prefill(|k| std::env::var(k).ok());
    let none_given = given.keys == drs_failback::domain::access_keys::AccessKeys::default();
    let filled = given.apply(app);
    if !filled.is_empty() {
        tracing::info!(?filled, "filled in from the arguments and the environment");
    }
    if cli.no_prompt && cli.wait_for_credentials && none_given {
        app.wait_for_credentials();
    }
    if cli.no_prompt {
        headless::check_start(app)?;
    }
    Ok(())
}

/// Without --demo: attach to a running failback, else the wizard on this machine's disks; the
/// worker starts when the plan is confirmed.
async fn real(cli: &Cli, hidden: Option<std::io::Result<usize>>) -> Result<ExitCode, Stop> {
    let state_dir = cli
        .state_dir
        .clone()
        .unwrap_or_else(|| worker::default_state_dir(false));
    if let Some(services) = attach(&state_dir, None)? {
        let log_path = init_logging(cli)?;
        log_hidden(hidden);
        return wizard(cli, App::new(Mode::Real), services, log_path, &[]).await;
    }
    let mut app = App::new(Mode::Real);
    prefill(cli, &mut app)?;
    check_not_busy(&state_dir)?;
    let s3_endpoint = cli.s3_endpoint.clone().filter(|e| !e.trim().is_empty());
    if let Some(e) = &s3_endpoint {
        S3Endpoint::parse(e)
            .map_err(|e| Stop::new(Exit::CannotStart, Some(Setting::S3_ENDPOINT), e.message))?;
    }
    app.s3_endpoint = s3_endpoint.clone();
    let log_path = init_logging(cli)?;
    log_hidden(hidden);
    let program =
        std::env::current_exe().map_err(|e| format!("cannot find this program's file: {e}"))?;
    let services = Services {
        disks: Some(Arc::new(UdevDisks::new(cli.include_loop))),
        network: Some(drs_failback::netconfig::System::live()),
        host_identity: None,
        state_dir,
        worker: None,
        start_worker: Some(WorkerStart {
            program,
            setup: Setup {
                started_by: worker::started_by(),
                poll_every_ms: 1000,
                s3_endpoint,
                demo: None,
            },
        }),
        attach: None,
        set_clock: drs_failback::preflight::set_system_clock,
        demo: None,
        emulator: None,
    };
    wizard(cli, app, services, log_path, &[]).await
}

async fn demo(cli: &Cli, hidden: Option<std::io::Result<usize>>) -> Result<ExitCode, Stop> {
    let log_path = init_logging(cli)?;
    log_hidden(hidden);
    let state_dir = cli
        .state_dir
        .clone()
        .unwrap_or_else(|| worker::default_state_dir(true));

    if let Some(mut services) = attach(&state_dir, None)? {
        // The failback's worker holds the demo's emulator; this wizard too while it runs.
        services.emulator = drs_failback::emulator::held::join(&state_dir)?;
        services.host_identity = services.emulator.as_ref().map(|e| e.hello.host.clone());
        let app = App::new(Mode::Demo {
            disk_dir: String::new(),
            keys: vec![],
            endpoint: String::new(),
        });
        return wizard(cli, app, services, log_path, &[]).await;
    }
    check_not_busy(&state_dir)?;

    // A scenario that cannot even be opened is said before the screen; one that does not
    // parse, once the background start reads it (the program then leaves with the reason).
    if let Some(path) = &cli.scenario {
        std::fs::File::open(path)
            .map_err(|e| format!("scenario {}: cannot read it: {e}", path.display()))?;
    }
    let program =
        std::env::current_exe().map_err(|e| format!("cannot find this program's file: {e}"))?;
    // On a screen the demo starts in the background: Welcome does not wait for the scenario
    // or the emulator. Unattended, the first line names the emulator and the disks and the
    // start checks need the demo's keys: it starts first.
    let (mut app, mut services) = app::demo::starting(app::demo::DemoStart {
        program,
        state_dir,
        scenario: cli.scenario.clone(),
        disk_dir: cli.demo_dir.clone(),
        poll_every_ms: 1000,
        region: cli.region.clone(),
    });
    let mut about = Vec::new();
    if cli.no_prompt
        && let Some(start) = services.demo.take()
    {
        let info = app::demo::start(start)?.keep(&mut services);
        about = vec![
            ("endpoint", info.endpoint.clone()),
            ("region", info.region.clone()),
            ("disk_dir", info.disk_dir.clone()),
        ];
        app::update(&mut app, app::Msg::DemoReady(Ok(info)));
    }
    if let Err(stop) = prefill(cli, &mut app) {
        if let Some(emulator) = services.emulator.take() {
            emulator.leave();
        }
        return Err(stop);
    }
    app.s3_endpoint = cli.s3_endpoint.clone();
    wizard(cli, app, services, log_path, &about).await
}

/// Runs the wizard (full screen, or headless with --no-prompt) and leaves the worker as the
/// run ended: waited for when it has nothing left to do, else running on. `about` is what
/// --no-prompt's first line says of this run.
async fn wizard(
    cli: &Cli,
    mut app: App,
    mut services: Services,
    log_path: PathBuf,
    about: &[(&str, String)],
) -> Result<ExitCode, Stop> {
    app.log_path = Some(log_path.display().to_string());
    app.come_back = come_back(cli);
    app.network = NetworkForm::from_prefill(cli.network_prefill(|k| std::env::var(k).ok()));
    let mut headless = Headless::new(cli.output, cli.launch_when_ready);
    headless.attaching = services.attach.is_some();
    // Err: drawing failed, the terminal is gone.
    let result = if cli.no_prompt {
        headless.started(&app, about);
        runtime::run(app, &mut services, &mut headless, None).await
    } else {
        let mut theme = Theme::detect(|k| std::env::var(k).ok());
        theme.unicode &= !cli.ascii;
        theme.color &= !cli.no_color;
        app.rich = !theme.is_basic();
        let looks = Looks::new(theme, std::env::var_os("NO_COLOR").is_some());
        let (mut ui, keys) = TerminalUi::enter(looks).map_err(|e| {
            format!(
                "cannot use this terminal ({e}): run drs-failback on a console, a serial line \
                 or in an SSH session with a terminal (ssh -t)"
            )
        })?;
        app.size = terminal::screen_size();
        let app = runtime::run(app, &mut services, &mut ui, Some(keys)).await;
        drop(ui);
        app
    };
    let acknowledged = result.as_ref().is_ok_and(|a| a.acknowledged);
    if let Some(worker) = services.worker.take() {
        worker.finish(acknowledged);
    }
    // After the worker: a demo's emulator ends with its last holder.
    if let Some(emulator) = services.emulator.take() {
        emulator.leave();
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
    if let Some(why) = app.cannot_start {
        return Err(Stop::from(why));
    }
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
    if !cli.no_prompt {
        return Ok(exit_code(&app));
    }
    Ok(ExitCode::from(headless.conclude(&app)))
}
