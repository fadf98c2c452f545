//! `flowdeck`: the command-line entry point.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::Context;
use app::auth::service::{NewUser, create_user};
use clap::{Parser, Subcommand};
use server::config::{CONFIG_HELP, Config};
use tracing_subscriber::EnvFilter;

/// Flowdeck: workflows, task boards and calendars in one place.
#[derive(Parser)]
#[command(name = "flowdeck", version, after_help = CONFIG_HELP)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the app (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the account an instance administrator.
        #[arg(long)]
        admin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(e.into()),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// One readable line (with its causes) instead of a backtrace: these are the operator's mistakes.
fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.config.log).context("FLOWDECK_LOG is not a valid log filter")?)
        .init();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let instance = server::app(&cli.config).await?;
            let listener = tokio::net::TcpListener::bind(cli.config.addr)
                .await
                .with_context(|| format!("listening on {}", cli.config.addr))?;
            tracing::info!("Flowdeck is listening on http://{}", listener.local_addr()?);
            server::serve(instance, listener).await
        }
        Command::Migrate => {
            let db = server::connect(&cli.config.database_url).await?;
            server::migrate(&db).await?;
            println!("Migrations applied.");
            Ok(())
        }
        Command::User(UserCommand::Create { email, name, admin }) => {
            let db = server::connect(&cli.config.database_url).await?;
            server::migrate(&db).await?;
            eprint!("Password for {email}: ");
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let new = NewUser::parse(&name, &email, password.trim_end_matches(['\r', '\n']), admin)
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            let user = create_user(&db, new).await.map_err(|e| anyhow::anyhow!(e.to_string()))?;
            println!("Created {} <{}>{}.", user.name, user.email, if admin { " (administrator)" } else { "" });
            Ok(())
        }
    }
}
