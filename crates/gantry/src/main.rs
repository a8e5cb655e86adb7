use clap::Parser;

use gantry::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gantry: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Serve(args) => gantry::daemon::serve(&cli.location, args).await,
            Command::Status(args) => {
                gantry::logging::init_stderr();
                gantry::client::status(&cli.location, args.json).await
            }
            Command::Config(args) => {
                gantry::logging::init_stderr();
                gantry::access::cli::run(&cli.location, args).await
            }
            Command::Login(args) => {
                gantry::logging::init_stderr();
                gantry::login::login(&cli.location, args).await
            }
            Command::Logout(args) => {
                gantry::logging::init_stderr();
                gantry::login::logout(&cli.location, args).await
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gantry: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
