//! Single sign-on with OpenID Connect: an organization's identity provider (Owners
//! configure it), and signing in through it (authorization code flow with PKCE, `state`
//! and `nonce`, the ID token's signature and claims checked by `openidconnect`). An
//! address on one of the organization's verified domains signs in there; a new
//! colleague becomes a member by themselves when the organization allows it
//! (just-in-time membership).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::accounts::SignedIn;
use crate::actor::Actor;
use crate::db::{self, audit, sso::ProviderRow};
use crate::domain::permissions::{self, Action};
use crate::domain::{Email, FieldErrors, Role, text};
use crate::email::messages;
use crate::outbound;
use crate::sealed::{Purpose, Sealer};
use crate::state::AppState;

/// How long a sign-in may stay at the provider before its callback is refused.
pub const PENDING_SECS: i64 = 10 * 60;

/// Why a provider was not saved, tested or removed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Only Owners configure single sign-on.
    #[error("forbidden")]
    Forbidden,
    /// The form's fields, each with what is wrong with it; or the issuer that could not
    /// be discovered, in the issuer's field.
    #[error("invalid form")]
    Invalid(FieldErrors),
    #[error("no provider")]
    NotConfigured,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

/// Why a sign-in through a provider was refused. Each says, in words, what the person
/// can do; none says more about accounts than the provider already told them.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("This sign-in was not started here, or took too long. Sign in again.")]
    NotStarted,
    #[error("The sign-in could not be checked: its state does not match. Sign in again.")]
    StateMismatch,
    #[error("{provider} did not sign you in: {reason}")]
    Provider { provider: String, reason: String },
    #[error("{0} is not set up for single sign-on any more. Sign in with your password.")]
    Unavailable(String),
    #[error(
        "{provider} has not verified the address {email}. Verify it there, then sign in again."
    )]
    EmailUnverified { provider: String, email: String },
    #[error(
        "{provider} signed you in as {email}, which is not on a domain {org} has verified. Sign in with your password, or ask an Owner of {org}."
    )]
    OutsideDomains {
        provider: String,
        email: String,
        org: String,
    },
    #[error(
        "{org} does not let people join by signing in. Ask an Owner of {org} for an invitation."
    )]
    NeedsInvitation { org: String },
    #[error("{org} has as many members as it allows. Ask an Owner of {org} to make room.")]
    OrganizationFull { org: String },
    #[error("Your account is deactivated. Ask an instance admin to activate it.")]
    AccountInactive,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SignInError {
    fn from(err: sqlx::Error) -> Self {
        SignInError::Internal(err.into())
    }
}

/// The provider form, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    pub provider_name: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub client_id: String,
    /// Empty keeps the stored secret.
    #[serde(default)]
    pub client_secret: String,
    pub jit_enabled: Option<String>,
    #[serde(default)]
    pub default_role: String,
    pub require_sso: Option<String>,
}

/// A provider's settings, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSettings {
    pub provider_name: String,
    pub issuer: String,
    pub client_id: String,
    /// None keeps the stored secret.
    pub client_secret: Option<String>,
    pub jit_enabled: bool,
    pub default_role: Role,
    pub require_sso: bool,
}

impl ProviderForm {
    /// The settings typed, or what is wrong with each field. `has_secret` says whether a
    /// secret is stored, which an empty secret field keeps.
    pub fn parse(&self, has_secret: bool) -> Result<ProviderSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let provider_name = text::single_line(&self.provider_name, "the provider's name", 60)
            .map_err(|m| errors.add("provider_name", m))
            .unwrap_or_default();
        let issuer = parse_issuer(&self.issuer)
            .map_err(|m| errors.add("issuer", m))
            .unwrap_or_default();
        let client_id = text::single_line(&self.client_id, "the client ID", 255)
            .map_err(|m| errors.add("client_id", m))
            .unwrap_or_default();
        let client_secret = match self.client_secret.trim() {
            "" if has_secret => None,
            "" => {
                errors.add(
                    "client_secret",
                    "Enter the client secret the provider gave you.",
                );
                None
            }
            typed => match text::single_line(typed, "the client secret", 1000) {
                Ok(secret) => Some(secret),
                Err(message) => {
                    errors.add("client_secret", message);
                    None
                }
            },
        };
        let default_role = match Role::parse_name(&self.default_role) {
            Some(Role::Owner) => {
                errors.add(
                    "default_role",
                    "People who join by signing in cannot be Owners. Choose another role.",
                );
                Role::Member
            }
            Some(role) => role,
            None => {
                errors.add("default_role", "Choose a role.");
                Role::Member
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ProviderSettings {
            provider_name,
            issuer,
            client_id,
            client_secret,
            jit_enabled: self.jit_enabled.is_some(),
            default_role,
            require_sso: self.require_sso.is_some(),
        })
    }
}

/// An issuer URL as discovery takes it: an absolute http(s) URL without query or
/// fragment, kept as typed but for a trailing slash (an issuer is compared exactly with
/// what its discovery document says, and providers differ on that slash).
fn parse_issuer(typed: &str) -> Result<String, String> {
    let issuer = text::single_line(typed, "the issuer URL", 500)?;
    let url = url::Url::parse(&issuer).map_err(|_| {
        "Enter the issuer's address, like https://login.example.com or https://example.okta.com."
            .to_string()
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err("The issuer's address starts with https://.".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("An issuer's address has no ? or # part.".into());
    }
    Ok(issuer)
}

/// The provider as the settings page shows it: never its secret.
#[derive(Clone, Debug)]
pub struct ProviderView {
    pub provider_name: String,
    pub issuer: String,
    pub client_id: String,
    pub jit_enabled: bool,
    pub default_role: Role,
    pub require_sso: bool,
    pub updated_at: i64,
}

impl From<ProviderRow> for ProviderView {
    fn from(row: ProviderRow) -> Self {
        ProviderView {
            provider_name: row.provider_name,
            issuer: row.issuer,
            client_id: row.client_id,
            jit_enabled: row.jit_enabled,
            default_role: row.default_role,
            require_sso: row.require_sso,
            updated_at: row.updated_at,
        }
    }
}

/// What discovery found at an issuer, as "Test connection" shows it.
#[derive(Clone, Debug)]
pub struct Discovered {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
    pub keys: usize,
    pub scopes: Vec<String>,
}

/// The address providers send people back to, which the Owner registers there.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/sso/callback", state.public_url())
}

fn may_configure(actor: &Actor) -> bool {
    permissions::allows(actor.role, Action::EditSettings)
}

/// The organization's provider, if it has one.
pub async fn provider(state: &AppState, actor: &Actor) -> Result<Option<ProviderView>, Error> {
    if !may_configure(actor) {
        return Err(Error::Forbidden);
    }
    Ok(db::sso::of_org(&state.db, actor.org.id)
        .await?
        .map(ProviderView::from))
}

/// Runs discovery at the issuer typed, without saving anything.
pub async fn test_connection(
    state: &AppState,
    actor: &Actor,
    typed_issuer: &str,
) -> Result<Discovered, Error> {
    if !may_configure(actor) {
        return Err(Error::Forbidden);
    }
    let issuer = parse_issuer(typed_issuer).map_err(|m| issuer_error(&m))?;
    let metadata = discover(state, &issuer)
        .await
        .map_err(|m| issuer_error(&m))?;
    Ok(discovered(&metadata))
}

fn issuer_error(message: &str) -> Error {
    let mut errors = FieldErrors::default();
    errors.add("issuer", message.to_string());
    Error::Invalid(errors)
}

fn discovered(metadata: &CoreProviderMetadata) -> Discovered {
    Discovered {
        issuer: metadata.issuer().to_string(),
        authorization_endpoint: metadata.authorization_endpoint().to_string(),
        token_endpoint: metadata.token_endpoint().map(|u| u.to_string()),
        userinfo_endpoint: metadata.userinfo_endpoint().map(|u| u.to_string()),
        jwks_uri: metadata.jwks_uri().to_string(),
        keys: metadata.jwks().keys().len(),
        scopes: metadata
            .scopes_supported()
            .map(|scopes| scopes.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
    }
}

/// Saves the provider typed, once discovery at its issuer succeeds (a provider that
/// cannot be reached would only fail people later, at their sign-in). Audited, with
/// what changed; a secret only as "replaced".
pub async fn save(
    state: &AppState,
    actor: &Actor,
    form: &ProviderForm,
) -> Result<Discovered, Error> {
    if !may_configure(actor) {
        return Err(Error::Forbidden);
    }
    let stored = db::sso::of_org(&state.db, actor.org.id).await?;
    let settings = form.parse(stored.is_some()).map_err(Error::Invalid)?;
    let metadata = discover(state, &settings.issuer)
        .await
        .map_err(|m| issuer_error(&m))?;
    let now = state.clock.now();
    let sealer = Sealer::new(state, Purpose::SsoClientSecret);
    let mut tx = state.db.begin().await?;
    let before = db::sso::of_org_for_update(&mut tx, actor.org.id).await?;
    let client_secret = match (&settings.client_secret, &before) {
        (Some(secret), _) => sealer.seal(secret.as_bytes())?,
        (None, Some(before)) => before.client_secret.clone(),
        // Removed meanwhile: the form offered to keep a secret there no longer is.
        (None, None) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "client_secret",
                "Enter the client secret the provider gave you.",
            );
            return Err(Error::Invalid(errors));
        }
    };
    let row = ProviderRow {
        org_id: actor.org.id,
        provider_name: settings.provider_name.clone(),
        issuer: settings.issuer.clone(),
        client_id: settings.client_id.clone(),
        client_secret,
        jit_enabled: settings.jit_enabled,
        default_role: settings.default_role,
        require_sso: settings.require_sso,
        created_at: before.as_ref().map_or(now, |b| b.created_at),
        updated_at: now,
    };
    db::sso::upsert(&mut tx, &row).await?;
    let after = audited(&row, settings.client_secret.is_some() && before.is_some());
    let event = match &before {
        None => audit::Event::new(audit::Action::SsoConfigured, &actor.audit).after(after),
        Some(before) => audit::Event::new(audit::Action::SsoChanged, &actor.audit)
            .before(audited(before, false))
            .after(after),
    }
    .in_org(actor.org.id);
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(discovered(&metadata))
}

/// A provider's settings as the audit log keeps them: the secret never, only that it
/// was replaced.
fn audited(row: &ProviderRow, secret_replaced: bool) -> String {
    let mut fields = serde_json::json!({
        "provider_name": row.provider_name,
        "issuer": row.issuer,
        "client_id": row.client_id,
        "jit_enabled": row.jit_enabled,
        "default_role": row.default_role.as_str(),
        "require_sso": row.require_sso,
    });
    if secret_replaced {
        fields["client_secret"] = serde_json::Value::String("replaced".into());
    }
    fields.to_string()
}

/// Removes the organization's provider: its people sign in with passwords again.
pub async fn remove(state: &AppState, actor: &Actor) -> Result<(), Error> {
    if !may_configure(actor) {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(before) = db::sso::of_org_for_update(&mut tx, actor.org.id).await? else {
        return Err(Error::NotConfigured);
    };
    db::sso::delete(&mut tx, actor.org.id).await?;
    let event = audit::Event::new(audit::Action::SsoRemoved, &actor.audit)
        .in_org(actor.org.id)
        .before(audited(&before, false));
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// `openidconnect`'s HTTP client: Roster's guarded one (`outbound`).
fn http_client(
    state: &AppState,
) -> impl Fn(
    openidconnect::HttpRequest,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<openidconnect::HttpResponse, outbound::Error>> + Send>,
> + use<> {
    let outbound = state.outbound.clone();
    move |request| {
        let outbound = outbound.clone();
        Box::pin(async move { outbound.send(request).await })
    }
}

/// The discovery document at `issuer` and its keys, through the guarded client.
async fn discover(state: &AppState, issuer: &str) -> Result<CoreProviderMetadata, String> {
    let issuer_url = IssuerUrl::new(issuer.to_string()).map_err(|e| e.to_string())?;
    let http = http_client(state);
    CoreProviderMetadata::discover_async(issuer_url, &http)
        .await
        .map_err(|err| discovery_problem(issuer, err))
}

/// A failed discovery in words, for the Owner who typed the issuer.
fn discovery_problem(issuer: &str, err: openidconnect::DiscoveryError<outbound::Error>) -> String {
    use openidconnect::DiscoveryError as D;
    match err {
        D::Request(cause) => cause.to_string(),
        D::Response(status, _, _) => format!(
            "{issuer}/.well-known/openid-configuration answered with status {}; check the issuer's address.",
            status.as_u16()
        ),
        D::Parse(_) => format!(
            "The answer at {issuer}/.well-known/openid-configuration is not an OpenID Connect discovery document."
        ),
        D::Validation(message) => {
            format!("The provider's discovery document is not valid: {message}")
        }
        D::UrlParse(_) => "The issuer's address is not valid.".to_string(),
        D::Other(message) => message,
        _ => "The provider could not be discovered.".to_string(),
    }
}

/// Where an address signs in: the provider of the organization that verified its
/// domain, if it has one.
pub async fn provider_for(state: &AppState, email: &Email) -> anyhow::Result<Option<ProviderRow>> {
    Ok(db::sso::for_domain(&state.db, email.domain()).await?)
}

/// The provider's name, when `user` may not use a password: their address is on a
/// domain whose provider requires single sign-on, and they are no instance admin (who
/// keep a password as the way in when the provider fails).
pub async fn password_barred(
    state: &AppState,
    user: &db::users::User,
) -> anyhow::Result<Option<String>> {
    if user.is_instance_admin {
        return Ok(None);
    }
    let Ok(email) = Email::parse(&user.email) else {
        return Ok(None);
    };
    Ok(db::sso::requires_sso(&state.db, email.domain()).await?)
}

/// A sign-in sent to a provider, kept in the browser's session until it comes back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub org_id: i64,
    pub issuer: String,
    pub client_id: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go once signed in (a local path, or empty).
    pub next: String,
    /// When the callback stops being accepted (unix seconds).
    pub until: i64,
}

/// Starts a sign-in of `email` at its domain's provider: the address to send the
/// browser to, and what to keep in its session for the callback.
pub async fn begin(
    state: &AppState,
    provider: &ProviderRow,
    email: &Email,
    next: &str,
) -> Result<(String, Pending), SignInError> {
    let metadata =
        discover(state, &provider.issuer)
            .await
            .map_err(|reason| SignInError::Provider {
                provider: provider.provider_name.clone(),
                reason,
            })?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri(state)).map_err(anyhow::Error::from)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .add_extra_param("login_hint", email.as_str())
        .url();
    let pending = Pending {
        org_id: provider.org_id,
        issuer: provider.issuer.clone(),
        client_id: provider.client_id.clone(),
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next: next.to_string(),
        until: state.clock.now() + PENDING_SECS,
    };
    Ok((url.to_string(), pending))
}

/// What the provider sent back to the callback.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A finished sign-in: the account, where to go, and the organization joined on the
/// way, if any.
#[derive(Debug)]
pub struct Finished {
    pub signed_in: SignedIn,
    pub next: String,
    pub joined: Option<String>,
}

/// Finishes a sign-in the provider sent back: checks `state` against the pending
/// sign-in, exchanges the code (with the PKCE verifier), checks the ID token (signature,
/// issuer, audience, expiry, nonce) and its address (verified by the provider, on one
/// of the organization's verified domains), then finds, links or creates the account
/// and, when the organization allows it, its membership.
pub async fn finish(
    state: &AppState,
    pending: Option<Pending>,
    callback: &Callback,
    ip: &str,
) -> Result<Finished, SignInError> {
    let now = state.clock.now();
    let Some(pending) = pending.filter(|p| p.until > now) else {
        return Err(SignInError::NotStarted);
    };
    let returned = callback.state.as_deref().unwrap_or_default();
    if !bool::from(returned.as_bytes().ct_eq(pending.state.as_bytes())) {
        return Err(SignInError::StateMismatch);
    }
    let provider = db::sso::of_org(&state.db, pending.org_id)
        .await?
        .filter(|p| p.issuer == pending.issuer && p.client_id == pending.client_id);
    let Some(provider) = provider else {
        return Err(SignInError::Unavailable("Your organization".into()));
    };
    let refused = |reason: String| SignInError::Provider {
        provider: provider.provider_name.clone(),
        reason,
    };
    if let Some(error) = &callback.error {
        let described = callback
            .error_description
            .as_deref()
            .unwrap_or(error.as_str());
        return Err(refused(text::sanitized(described, 300)));
    }
    let Some(code) = callback.code.clone() else {
        return Err(refused("it sent no authorization code.".into()));
    };
    let claims = id_token_claims(state, &provider, &pending, code)
        .await
        .map_err(refused)?;
    let email_claim = claims
        .email()
        .map(|e| e.as_str().to_string())
        .unwrap_or_default();
    let Ok(email) = Email::parse(&email_claim) else {
        return Err(refused(
            "it did not say which email address you signed in with.".into(),
        ));
    };
    if claims.email_verified() != Some(true) {
        return Err(SignInError::EmailUnverified {
            provider: provider.provider_name.clone(),
            email: email.to_string(),
        });
    }
    let org = db::orgs::find(&state.db, provider.org_id)
        .await?
        .ok_or_else(|| SignInError::Unavailable("Your organization".into()))?;
    let covering = db::sso::for_domain(&state.db, email.domain()).await?;
    if covering.as_ref().map(|p| p.org_id) != Some(provider.org_id) {
        return Err(SignInError::OutsideDomains {
            provider: provider.provider_name.clone(),
            email: email.to_string(),
            org: org.name,
        });
    }
    let name = claims
        .name()
        .and_then(|names| names.get(None))
        .map(|n| n.as_str().to_string())
        .or_else(|| {
            let given = claims.given_name().and_then(|n| n.get(None))?;
            let family = claims.family_name().and_then(|n| n.get(None));
            Some(match family {
                Some(family) => format!("{} {}", given.as_str(), family.as_str()),
                None => given.as_str().to_string(),
            })
        })
        .map(|n| text::sanitized(&n, 100))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_string());
    let subject = claims.subject().as_str().to_string();
    // Two callbacks of one person at once may both find no account: the second's
    // insert fails on the unique address, and its second try finds the first's.
    let mut tries = 0;
    loop {
        tries += 1;
        match enter(state, &provider, &org, &email, &subject, &name, ip, now).await {
            Err(SignInError::Internal(e)) if tries < 2 && is_unique_violation(&e) => continue,
            Ok((signed_in, joined)) => {
                state.mailer.wake();
                return Ok(Finished {
                    signed_in,
                    next: pending.next,
                    joined,
                });
            }
            Err(other) => return Err(other),
        }
    }
}

fn is_unique_violation(err: &anyhow::Error) -> bool {
    err.downcast_ref::<sqlx::Error>()
        .is_some_and(db::is_unique_violation)
}

/// The ID token's claims, once the code is exchanged and the token checked; or what
/// went wrong, in words.
async fn id_token_claims(
    state: &AppState,
    provider: &ProviderRow,
    pending: &Pending,
    code: String,
) -> Result<CoreIdTokenClaims, String> {
    let metadata = discover(state, &provider.issuer).await?;
    let secret = Sealer::new(state, Purpose::SsoClientSecret)
        .open(&provider.client_secret)
        .map_err(|_| "its client secret could not be read; an Owner should enter it again.")?;
    let secret = String::from_utf8(secret).map_err(|_| "its client secret is not text.")?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri(state)).map_err(|e| e.to_string())?);
    let http = http_client(state);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| "it has no token endpoint.".to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&http)
        .await
        .map_err(|err| match err {
            openidconnect::RequestTokenError::ServerResponse(answer) => format!(
                "it refused the authorization code ({}).",
                answer.error().as_ref()
            ),
            openidconnect::RequestTokenError::Request(cause) => cause.to_string(),
            _ => "its token endpoint gave an answer Roster could not read.".to_string(),
        })?;
    let id_token = tokens
        .id_token()
        .ok_or("it sent no ID token.".to_string())?;
    let claims = id_token
        .claims(
            &client.id_token_verifier(),
            &Nonce::new(pending.nonce.clone()),
        )
        .map_err(|err| format!("its ID token did not pass the checks ({err})."))?;
    Ok(claims.clone())
}

/// Inside one transaction: the account (by its identity at this provider, else by its
/// address, which is then linked, else created when the organization lets this person
/// in) and, with just-in-time membership, its membership. Returns the sign-in, and the
/// organization's name when this person joined it now.
#[allow(clippy::too_many_arguments)]
async fn enter(
    state: &AppState,
    provider: &ProviderRow,
    org: &db::orgs::Org,
    email: &Email,
    subject: &str,
    name: &str,
    ip: &str,
    now: i64,
) -> Result<(SignedIn, Option<String>), SignInError> {
    let mut tx = state.db.begin().await?;
    let standing =
        db::invitations::standing(&mut tx, org.id, &[email.normalized().to_string()], now).await?;
    let invited = standing
        .open
        .iter()
        .any(|o| o.email_normalized == email.normalized() && o.expires_at > now);
    let is_member = !standing.members.is_empty();
    let person = |user_id: i64, email: &str| audit::Actor {
        user_id: Some(user_id),
        email: Some(email.to_string()),
        ip: Some(ip.to_string()),
    };
    let user =
        match db::sso::identity_user(&mut tx, &provider.issuer, subject, now).await? {
            Some(user_id) => db::users::find_for_update(&mut tx, user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("an identity's account is gone"))?,
            None => {
                let user =
                    match db::users::find_by_email_in(&mut tx, email).await? {
                        Some(user) => user,
                        None => {
                            if !provider.jit_enabled && !invited {
                                return Err(SignInError::NeedsInvitation {
                                    org: org.name.clone(),
                                });
                            }
                            // No password: this account signs in through its provider.
                            let user_id = db::users::insert(&mut tx, email, name, "", false, now)
                                .await
                                .map_err(anyhow::Error::from)?;
                            let actor = person(user_id, email.as_str());
                            let event = audit::Event::new(audit::Action::UserSignedUp, &actor)
                                .target("user", Some(user_id), Some(email.normalized()));
                            audit::record(&mut tx, &event, now).await?;
                            db::users::find_for_update(&mut tx, user_id)
                                .await?
                                .ok_or_else(|| anyhow::anyhow!("a new account is gone"))?
                        }
                    };
                db::sso::link(&mut tx, &provider.issuer, subject, user.id, now)
                    .await
                    .map_err(anyhow::Error::from)?;
                let actor = person(user.id, &user.email);
                let event = audit::Event::new(audit::Action::SsoLinked, &actor)
                    .in_org(org.id)
                    .target("user", Some(user.id), Some(email.normalized()))
                    .after(provider.provider_name.as_str());
                audit::record(&mut tx, &event, now).await?;
                user
            }
        };
    if !user.is_active() {
        return Err(SignInError::AccountInactive);
    }
    db::users::set_auth_method(&mut tx, user.id, "sso").await?;
    let actor = person(user.id, &user.email);
    let mut joined = None;
    if !is_member && !invited && provider.jit_enabled {
        let settings = db::orgs::settings_for_update(&mut tx, org.id).await?;
        let pending = db::invitations::count_pending(&mut tx, org.id, now).await?;
        let members = db::memberships::count_in_org(&mut tx, org.id).await?;
        if members + pending >= settings.max_members {
            return Err(SignInError::OrganizationFull {
                org: org.name.clone(),
            });
        }
        db::memberships::insert(&mut tx, org.id, user.id, provider.default_role, None, now)
            .await
            .map_err(anyhow::Error::from)?;
        let event = audit::Event::new(audit::Action::MemberJoinedSso, &actor)
            .in_org(org.id)
            .target("user", Some(user.id), Some(email.normalized()))
            .after(provider.default_role.as_str());
        audit::record(&mut tx, &event, now).await?;
        let welcome = messages::JoinedBySso {
            to: user.email.clone(),
            name: user.name.clone(),
            org_name: org.name.clone(),
            role: provider.default_role.label(),
            provider_name: provider.provider_name.clone(),
            org_url: format!("{}/orgs/{}/members", state.public_url(), org.slug),
        };
        state.mailer.queue(&mut tx, &welcome, now).await?;
        joined = Some(org.name.clone());
    }
    db::users::record_sign_in(&mut tx, user.id, now).await?;
    let event = audit::Event::new(audit::Action::SsoSignedIn, &actor)
        .in_org(org.id)
        .target("user", Some(user.id), Some(email.normalized()))
        .after(provider.provider_name.as_str());
    audit::record(&mut tx, &event, now).await?;
    let session_epoch = db::users::session_epoch(&user, now);
    tx.commit().await?;
    Ok((
        SignedIn {
            user,
            session_epoch,
        },
        joined,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> ProviderForm {
        ProviderForm {
            provider_name: "Okta".into(),
            issuer: "https://acme.okta.com".into(),
            client_id: "0oa1".into(),
            client_secret: "s3cret".into(),
            jit_enabled: Some("on".into()),
            default_role: "member".into(),
            require_sso: None,
        }
    }

    #[test]
    fn a_provider_form_parses() {
        let parsed = form().parse(false).unwrap();
        assert_eq!(parsed.issuer, "https://acme.okta.com");
        assert_eq!(parsed.client_secret.as_deref(), Some("s3cret"));
        assert!(parsed.jit_enabled && !parsed.require_sso);
        assert_eq!(parsed.default_role, Role::Member);
    }

    #[test]
    fn an_empty_secret_keeps_the_stored_one_and_is_needed_without() {
        let typed = ProviderForm {
            client_secret: "  ".into(),
            ..form()
        };
        assert_eq!(typed.parse(true).unwrap().client_secret, None);
        assert!(
            typed
                .parse(false)
                .unwrap_err()
                .get("client_secret")
                .is_some()
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let typed = ProviderForm {
            provider_name: "".into(),
            issuer: "ftp://acme".into(),
            client_id: "a\u{0}b".into(),
            default_role: "owner".into(),
            ..form()
        };
        let errors = typed.parse(true).unwrap_err();
        for field in ["provider_name", "issuer", "client_id", "default_role"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let with_query = ProviderForm {
            issuer: "https://acme.okta.com/?x=1".into(),
            ..form()
        };
        assert!(with_query.parse(true).unwrap_err().get("issuer").is_some());
    }
}
