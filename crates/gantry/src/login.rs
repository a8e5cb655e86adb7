//! `gantry login` and `gantry logout` on a console.
//!
//! The password is read from the terminal with echo off (or from standard input when there is
//! no terminal), never from the command line. With a daemon running, the sign-in goes through
//! it so its links restart at once; without one, the token is stored for the next start.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::cloud::account::{self, LinkError, SsoGrant};
use crate::cloud::api::{Credentials, Secret};
use crate::cloud::oidc::{self, DevicePrompt, Provider};
use crate::cloud::settings::SETTINGS_KEY;
use crate::cloud::vault::Vault;
use crate::cloud::{catalogue, directory};
use crate::location::{Location, RuntimeInfo};
use crate::secrets::Secrets;
use crate::store::Store;

/// How long `--sso` waits for the browser.
const SSO_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default, clap::Args)]
pub struct LoginArgs {
    /// The account's e-mail address (asked for when missing)
    #[arg(long)]
    pub email: Option<String>,
    /// Sign in on another device: shows a code, a link and a QR code (RFC 8628)
    #[arg(long, conflicts_with = "sso")]
    pub device: bool,
    /// Sign in with your organisation in the system browser
    #[arg(long)]
    pub sso: bool,
    /// The organisation to sign in with (see organisations.json in the data directory)
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
    /// The organisation's OpenID issuer, instead of --org
    #[arg(long, value_name = "URL", requires = "client_id")]
    pub issuer: Option<String>,
    /// The client id registered for Gantry at --issuer
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The cloud to link to (stored; default https://cli-cloud.3dprinteros.com)
    #[arg(long, value_name = "URL")]
    pub cloud_url: Option<String>,
    /// The page "Forgot your password?" opens (stored; default: the cloud's website)
    #[arg(long, value_name = "URL")]
    pub password_reset_url: Option<String>,
    /// Work offline instead: never contact the cloud
    #[arg(long, conflicts_with_all = ["device", "sso", "email"])]
    pub offline: bool,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogoutArgs {
    /// Log out even while printing (the prints continue)
    #[arg(long)]
    pub force: bool,
}

async fn open_store(location: &Location) -> anyhow::Result<Store> {
    let data_dir = location.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    Ok(Store::open(&data_dir.join("gantry.db")).await?)
}

/// The running daemon's base URL, when one answers.
async fn daemon(location: &Location) -> Option<(reqwest::Client, String)> {
    RuntimeInfo::read(&location.data_dir())?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .ok()?;
    let base = format!("http://127.0.0.1:{}", location.client_port());
    let alive = http.get(format!("{base}/api/v1/cloud")).send().await.ok()?;
    alive.status().is_success().then_some((http, base))
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let response = http.post(&url).json(&body).send().await?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let message = value["error"]["message"].as_str().unwrap_or(&text);
        bail!("{message}");
    }
    Ok(value)
}

fn prompt(label: &str) -> anyhow::Result<String> {
    eprint!("{label}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// The password with echo off on a terminal; a line of standard input otherwise.
fn password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        Ok(rpassword::prompt_password("Password: ")?)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// The provider named by `--issuer`/`--client-id`, or found in the organisation directory
/// (the admin's file merged with the cloud's list).
async fn provider(
    store: &Store,
    location: &Location,
    args: &LoginArgs,
) -> anyhow::Result<Provider> {
    if let (Some(issuer), Some(client_id)) = (&args.issuer, &args.client_id) {
        return Ok(Provider {
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            login_hint: args.email.clone(),
        });
    }
    let all = catalogue::organisations(store, &location.data_dir()).await?;
    let query = args
        .org
        .clone()
        .or_else(|| args.email.clone())
        .unwrap_or_default();
    let found = directory::search(&all, &query);
    match found.as_slice() {
        [one] => Ok(one.provider()),
        [] => bail!(
            "no organisation matches `{query}`; name one with --org, or give --issuer and --client-id (the directory is {})",
            location.data_dir().join(directory::FILE).display()
        ),
        many => bail!(
            "several organisations match `{query}`: {}; choose one with --org",
            many.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn show_device_prompt(prompt: &DevicePrompt) {
    let target = prompt
        .verification_uri_complete
        .as_deref()
        .unwrap_or(&prompt.verification_uri);
    println!("To sign in, open {} on any device", prompt.verification_uri);
    println!("and enter the code:  {}", prompt.user_code);
    if let Some(qr) = oidc::qr_text(target) {
        println!("or scan this QR code:\n{qr}");
    }
    println!(
        "Waiting for you to confirm (the code expires in {} minutes)…",
        prompt.expires_in.as_secs().div_ceil(60)
    );
    let _ = std::io::stdout().flush();
}

/// `gantry login`.
pub async fn login(location: &Location, args: &LoginArgs) -> anyhow::Result<()> {
    let store = open_store(location).await?;
    if args.cloud_url.is_some() || args.password_reset_url.is_some() {
        let mut settings = account::settings(&store).await?;
        if let Some(url) = &args.cloud_url {
            url::Url::parse(url).with_context(|| format!("--cloud-url {url} is not a URL"))?;
            settings.base_url = url.clone();
        }
        if let Some(url) = &args.password_reset_url {
            let parsed = url::Url::parse(url)
                .with_context(|| format!("--password-reset-url {url} is not a URL"))?;
            if !matches!(parsed.scheme(), "https" | "http") {
                bail!("--password-reset-url must be a web page (https://…)");
            }
            settings.password_reset_url = Some(url.clone());
        }
        store.set_setting(SETTINGS_KEY, &settings).await?;
    }
    let daemon = daemon(location).await;
    if args.offline {
        match &daemon {
            Some((http, base)) => {
                post(
                    http,
                    format!("{base}/api/v1/cloud/offline"),
                    json!({"offline": true}),
                )
                .await?;
            }
            None => {
                let vault = Vault::new(Secrets::open(&location.data_dir())?);
                account::go_offline(&store, &vault).await.map_err(explain)?;
            }
        }
        println!("Working offline: Gantry will not contact the cloud.");
        return Ok(());
    }

    let mut skew = None;
    let mut grant = None;
    let credentials = if args.device || args.sso {
        let provider = provider(&store, location, args).await?;
        let tokens = if args.device {
            oidc::device_flow(&provider, show_device_prompt).await?
        } else {
            oidc::sso_flow(&provider, SSO_TIMEOUT, |start| {
                println!(
                    "Sign in in your browser. If none opened, open:\n  {}",
                    start.url
                );
                let _ = std::io::stdout().flush();
            })
            .await?
        };
        skew = tokens.clock_skew;
        let credentials = Credentials::AccessToken {
            email: args.email.clone(),
            issuer: provider.issuer.clone(),
            access_token: tokens.access_token,
        };
        grant = Some(SsoGrant {
            provider,
            refresh_token: tokens.refresh_token,
        });
        credentials
    } else {
        let email = match &args.email {
            Some(email) => email.clone(),
            None => prompt("E-mail: ")?,
        };
        if email.is_empty() {
            bail!("an e-mail address is needed");
        }
        let password = password()?;
        if password.is_empty() {
            bail!("a password is needed");
        }
        Credentials::Password {
            email,
            password: Secret::new(password),
        }
    };

    let (account_name, warning, note) = match &daemon {
        Some((http, base)) => {
            let body = match &credentials {
                Credentials::Password { email, password } => {
                    json!({"email": email, "password": password.expose()})
                }
                Credentials::AccessToken {
                    email,
                    issuer,
                    access_token,
                } => {
                    let client_id = grant.as_ref().map(|g| g.provider.client_id.clone());
                    let refresh_token = grant
                        .as_ref()
                        .and_then(|g| g.refresh_token.as_ref())
                        .map(|t| t.expose().to_owned());
                    json!({
                        "issuer": issuer,
                        "access_token": access_token.expose(),
                        "email": email,
                        "client_id": client_id,
                        "refresh_token": refresh_token,
                    })
                }
            };
            let status = post(http, format!("{base}/api/v1/cloud/login"), body).await?;
            (
                status["account"].as_str().unwrap_or_default().to_owned(),
                status["warning"].as_str().map(str::to_owned),
                status["secrets_note"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
        None => {
            let vault = Vault::new(Secrets::open(&location.data_dir())?);
            let session = account::sign_in(&store, &vault, &credentials, grant)
                .await
                .map_err(explain)?;
            (
                session.account,
                account::clock_warning(session.clock_skew),
                format!("tokens are kept in {}", vault.backend().describe()),
            )
        }
    };
    store.close().await;
    println!("Linked to the cloud as {account_name}; {note}.");
    if let Some(warning) = warning.or_else(|| account::clock_warning(skew)) {
        println!("Warning: {warning}");
    }
    if daemon.is_none() {
        println!("Printers link when `gantry serve` starts.");
    }
    Ok(())
}

fn explain(error: LinkError) -> anyhow::Error {
    anyhow::Error::msg(error.to_string())
}

/// `gantry logout`.
pub async fn logout(location: &Location, args: &LogoutArgs) -> anyhow::Result<()> {
    match daemon(location).await {
        Some((http, base)) => {
            post(
                &http,
                format!("{base}/api/v1/cloud/logout"),
                json!({"force": args.force}),
            )
            .await?;
        }
        None => {
            // No daemon, so nothing is printing.
            let store = open_store(location).await?;
            let vault = Vault::new(Secrets::open(&location.data_dir())?);
            account::sign_out(&store, &vault).await.map_err(explain)?;
            store.close().await;
        }
    }
    println!("Logged out of the cloud. Printers keep working locally.");
    Ok(())
}
