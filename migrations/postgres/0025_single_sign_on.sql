-- An organization's OpenID Connect provider. Its people sign in with it when their
-- address is on one of the organization's verified domains (org_domains).
CREATE TABLE org_sso (
    org_id         BIGINT NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    -- How pages name the provider: "Sign in with Okta", "SSO (Okta)".
    provider_name  TEXT    NOT NULL,
    issuer         TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    -- Sealed with the installation's key (crate::sealed); never shown back.
    client_secret  TEXT    NOT NULL,
    -- A person signing in through the provider with an address on a verified domain
    -- becomes a member with default_role, without an invitation.
    jit_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    default_role   TEXT    NOT NULL DEFAULT 'member',
    -- Accounts on the verified domains cannot use a password (instance admins can).
    require_sso    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- An account's identities at providers: the (issuer, subject) pair an ID token names.
CREATE TABLE user_identities (
    issuer        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
