//! SCIM 2.0 over HTTP (`/scim/v2`, RFC 7644): the organization's identity provider
//! authenticates with the organization's SCIM token as a bearer token. Every answer is
//! `application/scim+json`, every failure a SCIM error, unknown routes and ids included.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actor::Actor;
use crate::auth::ClientIp;
use crate::scim::{self, Error, ListParams, Update};
use crate::state::AppState;

/// Where SCIM lives.
pub const BASE: &str = "/scim/v2";

pub fn router() -> Router<AppState> {
    // A method an endpoint does not answer is a SCIM error too (405).
    let only = |r: axum::routing::MethodRouter<AppState>| r.fallback(method_not_allowed);
    Router::new()
        .route("/ServiceProviderConfig", only(get(service_provider_config)))
        .route("/ResourceTypes", only(get(resource_types)))
        .route("/ResourceTypes/{id}", only(get(resource_type)))
        .route("/Schemas", only(get(schemas)))
        .route("/Schemas/{id}", only(get(schema)))
        .route("/Users", only(get(list_users).post(create_user)))
        .route("/Users/.search", only(post(search_users)))
        .route(
            "/Users/{id}",
            only(
                get(get_user)
                    .put(update_user)
                    .patch(update_user)
                    .delete(delete_user),
            ),
        )
        .route("/Groups", only(get(list_groups).post(create_group)))
        .route("/Groups/.search", only(post(search_groups)))
        .route(
            "/Groups/{id}",
            only(
                get(get_group)
                    .put(update_group)
                    .patch(update_group)
                    .delete(delete_group),
            ),
        )
        .route("/.search", only(post(search_everything)))
        .fallback(unknown_route)
}

const CONTENT_TYPE: &str = "application/scim+json";

/// A SCIM answer: a status, a JSON body and maybe an ETag.
struct Scim {
    status: StatusCode,
    body: Option<Value>,
}

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let Some(body) = self.body else {
            return self.status.into_response();
        };
        let etag = body
            .pointer("/meta/version")
            .and_then(Value::as_str)
            .and_then(|v| HeaderValue::from_str(v).ok());
        let location = (self.status == StatusCode::CREATED)
            .then(|| body.pointer("/meta/location").and_then(Value::as_str))
            .flatten()
            .and_then(|v| HeaderValue::from_str(v).ok());
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            body.to_string(),
        )
            .into_response();
        if let Some(etag) = etag {
            response.headers_mut().insert(header::ETAG, etag);
        }
        if let Some(location) = location {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

fn ok(body: Value) -> Scim {
    Scim {
        status: StatusCode::OK,
        body: Some(body),
    }
}

/// A SCIM error answer.
pub struct ScimError(Error);

impl From<Error> for ScimError {
    fn from(err: Error) -> Self {
        ScimError(err)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let (status, scim_type) = self.0.status();
        let detail = match &self.0 {
            Error::Internal(err) => {
                tracing::error!(error = ?err, "a SCIM request failed");
                "Roster could not do that; try again.".to_string()
            }
            other => other.to_string(),
        };
        error_response(status, scim_type, &detail)
    }
}

fn error_response(status: u16, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": [scim::ERROR_SCHEMA],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(scim_type) = scim_type {
        body["scimType"] = json!(scim_type);
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Scim {
        status,
        body: Some(body),
    }
    .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"roster-scim\""),
        );
    }
    response
}

type Result<T> = std::result::Result<T, ScimError>;

async fn unknown_route() -> ScimError {
    ScimError(Error::NotFound(
        "No such SCIM endpoint: Roster serves /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas.".into(),
    ))
}

async fn method_not_allowed() -> Response {
    error_response(
        405,
        None,
        "This endpoint does not answer that method (discovery endpoints answer GET only).",
    )
}

/// The identity provider of the organization whose SCIM token the request carries.
pub struct Provisioner(Actor);

impl FromRequestParts<AppState> for Provisioner {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or(ScimError(Error::Unauthorized))?
            .to_string();
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp("unknown".into()));
        Ok(Provisioner(scim::authenticate(state, &secret, ip).await?))
    }
}

/// The SCIM base URL as identity providers are given it.
pub fn base_url(state: &AppState) -> String {
    format!("{}{BASE}", state.public_url())
}

/// A list's query string; other parameters (Entra ID's feature flags) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

/// Which attributes an answer keeps (RFC 7644 §3.9).
#[derive(Clone, Debug, Default)]
struct Projection {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl Projection {
    fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        let split = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or("")
                .split(',')
                .map(|a| strip_schema(a.trim()).to_ascii_lowercase())
                .filter(|a| !a.is_empty())
                .collect()
        };
        Projection {
            attributes: split(attributes),
            excluded: split(excluded),
        }
    }

    fn from_lists(attributes: &[String], excluded: &[String]) -> Projection {
        Projection::parse(Some(&attributes.join(",")), Some(&excluded.join(",")))
    }

    /// Whether a Group's members are wanted (they cost a query).
    fn wants(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        if !self.attributes.is_empty() {
            return self
                .attributes
                .iter()
                .any(|a| a == &name || a.starts_with(&format!("{name}.")));
        }
        !self.excluded.contains(&name)
    }

    fn apply(&self, mut resource: Value) -> Value {
        let Value::Object(obj) = &mut resource else {
            return resource;
        };
        // `id` and `schemas` are always returned (RFC 7643 §2.2, "returned": "always").
        let always = |k: &str| k == "id" || k == "schemas";
        if !self.attributes.is_empty() {
            obj.retain(|key, value| {
                let key_l = key.to_ascii_lowercase();
                if always(&key_l) || self.attributes.contains(&key_l) {
                    return true;
                }
                let subs: Vec<&str> = self
                    .attributes
                    .iter()
                    .filter_map(|a| a.strip_prefix(&format!("{key_l}.")))
                    .collect();
                if subs.is_empty() {
                    return false;
                }
                keep_subs(value, &subs);
                true
            });
        } else {
            obj.retain(|key, value| {
                let key_l = key.to_ascii_lowercase();
                if always(&key_l) {
                    return true;
                }
                if self.excluded.contains(&key_l) {
                    return false;
                }
                let subs: Vec<&str> = self
                    .excluded
                    .iter()
                    .filter_map(|a| a.strip_prefix(&format!("{key_l}.")))
                    .collect();
                drop_subs(value, &subs);
                true
            });
        }
        resource
    }
}

fn keep_subs(value: &mut Value, subs: &[&str]) {
    match value {
        Value::Object(obj) => obj.retain(|k, _| subs.contains(&k.to_ascii_lowercase().as_str())),
        Value::Array(items) => items.iter_mut().for_each(|i| keep_subs(i, subs)),
        _ => {}
    }
}

fn drop_subs(value: &mut Value, subs: &[&str]) {
    match value {
        Value::Object(obj) => obj.retain(|k, _| !subs.contains(&k.to_ascii_lowercase().as_str())),
        Value::Array(items) => items.iter_mut().for_each(|i| drop_subs(i, subs)),
        _ => {}
    }
}

/// An attribute name without the core schema's URN.
fn strip_schema(name: &str) -> &str {
    for urn in [scim::USER_SCHEMA, scim::GROUP_SCHEMA] {
        if let Some(head) = name.get(..urn.len())
            && head.eq_ignore_ascii_case(urn)
        {
            return name[urn.len()..].trim_start_matches(':');
        }
    }
    name
}

fn number(text: Option<&str>, what: &str) -> std::result::Result<Option<i64>, Error> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .map(Some)
            .map_err(|_| Error::invalid_value(format!("{what} must be a whole number."))),
    }
}

impl ListQuery {
    fn params(&self) -> std::result::Result<(ListParams, Projection), Error> {
        Ok((
            ListParams {
                filter: self.filter.clone(),
                sort_by: self.sort_by.clone(),
                sort_order: self.sort_order.clone(),
                start_index: number(self.start_index.as_deref(), "startIndex")?,
                count: number(self.count.as_deref(), "count")?,
                across_types: false,
            },
            Projection::parse(
                self.attributes.as_deref(),
                self.excluded_attributes.as_deref(),
            ),
        ))
    }
}

/// A `/.search` body (RFC 7644 §3.4.3).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    #[serde(default)]
    schemas: Vec<String>,
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    #[serde(default)]
    attributes: Vec<String>,
    #[serde(default)]
    excluded_attributes: Vec<String>,
}

fn search_params(body: &Bytes) -> std::result::Result<(ListParams, Projection), Error> {
    let search: SearchBody = serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            "invalidSyntax",
            format!("The body is not a SearchRequest: {e}."),
        )
    })?;
    if !search
        .schemas
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scim::SEARCH_SCHEMA))
    {
        return Err(Error::invalid(
            "invalidSyntax",
            format!("A search names the schema {}.", scim::SEARCH_SCHEMA),
        ));
    }
    Ok((
        ListParams {
            filter: search.filter,
            sort_by: search.sort_by,
            sort_order: search.sort_order,
            start_index: search.start_index,
            count: search.count,
            across_types: false,
        },
        Projection::from_lists(&search.attributes, &search.excluded_attributes),
    ))
}

/// A request body as JSON, whatever content type it was sent with (Okta sends
/// `application/scim+json`, some clients `application/json` or none).
fn json_body(body: &Bytes) -> std::result::Result<Value, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::invalid("invalidSyntax", format!("The body is not JSON: {e}.")))
}

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Scim {
    ok(json!({
        "schemas": [scim::LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
}

async fn users_page(
    state: &AppState,
    actor: &Actor,
    params: ListParams,
    projection: Projection,
) -> Result<Scim> {
    let base = base_url(state);
    let list = scim::list_users(state, actor, &params).await?;
    let resources = list
        .users
        .iter()
        .map(|u| projection.apply(u.to_json(&base)))
        .collect();
    Ok(list_response(resources, list.total, list.start_index))
}

async fn list_users(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Query(query): Query<ListQuery>,
) -> Result<Scim> {
    let (params, projection) = query.params()?;
    users_page(&state, &actor, params, projection).await
}

async fn search_users(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    body: Bytes,
) -> Result<Scim> {
    let (params, projection) = search_params(&body)?;
    users_page(&state, &actor, params, projection).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectionQuery {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ProjectionQuery {
    fn projection(&self) -> Projection {
        Projection::parse(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }
}

async fn get_user(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Path(id): Path<String>,
    Query(query): Query<ProjectionQuery>,
) -> Result<Scim> {
    let user = scim::get_user(&state, &actor, &id).await?;
    Ok(ok(query
        .projection()
        .apply(user.to_json(&base_url(&state)))))
}

async fn create_user(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    body: Bytes,
) -> Result<Scim> {
    let user = scim::create_user(&state, &actor, &json_body(&body)?).await?;
    Ok(Scim {
        status: StatusCode::CREATED,
        body: Some(user.to_json(&base_url(&state))),
    })
}

/// A PATCH, or else a PUT.
fn update_of<'b>(method: &Method, body: &'b Value) -> Update<'b> {
    if method == Method::PATCH {
        Update::Patch(body)
    } else {
        Update::Replace(body)
    }
}

/// PUT and PATCH.
async fn update_user(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Scim> {
    let body = json_body(&body)?;
    let update = update_of(&method, &body);
    let user = scim::update_user(&state, &actor, &id, update, if_match(&headers)).await?;
    Ok(ok(user.to_json(&base_url(&state))))
}

async fn delete_user(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    scim::delete_user(&state, &actor, &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn groups_page(
    state: &AppState,
    actor: &Actor,
    params: ListParams,
    projection: Projection,
) -> Result<Scim> {
    let base = base_url(state);
    let list = scim::list_groups(state, actor, &params, projection.wants("members")).await?;
    let resources = list
        .groups
        .iter()
        .map(|g| projection.apply(g.to_json(&base)))
        .collect();
    Ok(list_response(resources, list.total, list.start_index))
}

async fn list_groups(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Query(query): Query<ListQuery>,
) -> Result<Scim> {
    let (params, projection) = query.params()?;
    groups_page(&state, &actor, params, projection).await
}

async fn search_groups(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    body: Bytes,
) -> Result<Scim> {
    let (params, projection) = search_params(&body)?;
    groups_page(&state, &actor, params, projection).await
}

async fn get_group(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Path(id): Path<String>,
    Query(query): Query<ProjectionQuery>,
) -> Result<Scim> {
    let projection = query.projection();
    let group = scim::get_group(&state, &actor, &id, projection.wants("members")).await?;
    Ok(ok(projection.apply(group.to_json(&base_url(&state)))))
}

async fn create_group(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    body: Bytes,
) -> Result<Scim> {
    let group = scim::create_group(&state, &actor, &json_body(&body)?).await?;
    Ok(Scim {
        status: StatusCode::CREATED,
        body: Some(group.to_json(&base_url(&state))),
    })
}

/// PUT and PATCH.
async fn update_group(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Scim> {
    let body = json_body(&body)?;
    let update = update_of(&method, &body);
    let group = scim::update_group(&state, &actor, &id, update, if_match(&headers)).await?;
    Ok(ok(group.to_json(&base_url(&state))))
}

async fn delete_group(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode> {
    scim::delete_group(&state, &actor, &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A search across both resource types (RFC 7644 §3.4.3): the Users, then the Groups,
/// that match, paged as one list. A filter that names what only one type has matches
/// nothing of the other.
async fn search_everything(
    State(state): State<AppState>,
    Provisioner(actor): Provisioner,
    body: Bytes,
) -> Result<Scim> {
    let (mut params, projection) = search_params(&body)?;
    params.across_types = true;
    let base = base_url(&state);
    let start = params.start_index.unwrap_or(1).max(1);
    let count = params
        .count
        .unwrap_or(scim::MAX_COUNT)
        .clamp(0, scim::MAX_COUNT);
    let users = scim::list_users(&state, &actor, &params).await?;
    // The Groups continue the list where the Users end.
    let group_params = ListParams {
        start_index: Some((start - 1 - users.total).max(0) + 1),
        count: Some((count - users.users.len() as i64).max(0)),
        ..params
    };
    let groups =
        scim::list_groups(&state, &actor, &group_params, projection.wants("members")).await?;
    let total = users.total + groups.total;
    let (users, groups) = (users.users, groups.groups);
    let resources = users
        .iter()
        .map(|u| projection.apply(u.to_json(&base)))
        .chain(groups.iter().map(|g| projection.apply(g.to_json(&base))))
        .collect();
    Ok(list_response(resources, total, start))
}

async fn service_provider_config(
    State(state): State<AppState>,
    Provisioner(_): Provisioner,
) -> Scim {
    let base = base_url(&state);
    ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": format!("{}/api/v1/docs", state.public_url()),
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": scim::MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM token",
            "description": "The organization's SCIM token, created by an Owner in Settings → SCIM provisioning, sent as Authorization: Bearer.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    }))
}

fn resource_type_json(base: &str, id: &str) -> Option<Value> {
    let (endpoint, schema, description) = match id {
        "User" => ("/Users", scim::USER_SCHEMA, "A member of the organization"),
        "Group" => ("/Groups", scim::GROUP_SCHEMA, "A team of the organization"),
        _ => return None,
    };
    Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": id,
        "name": id,
        "endpoint": endpoint,
        "description": description,
        "schema": schema,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base}/ResourceTypes/{id}"),
        },
    }))
}

async fn resource_types(State(state): State<AppState>, Provisioner(_): Provisioner) -> Scim {
    let base = base_url(&state);
    let all: Vec<Value> = ["User", "Group"]
        .into_iter()
        .filter_map(|id| resource_type_json(&base, id))
        .collect();
    let total = all.len() as i64;
    list_response(all, total, 1)
}

async fn resource_type(
    State(state): State<AppState>,
    Provisioner(_): Provisioner,
    Path(id): Path<String>,
) -> Result<Scim> {
    resource_type_json(&base_url(&state), &id)
        .map(ok)
        .ok_or_else(|| ScimError(Error::NotFound(format!("No resource type {id:?}."))))
}

/// An attribute of a published schema.
fn attribute(
    name: &str,
    kind: &str,
    required: bool,
    mutability: &str,
    uniqueness: &str,
    description: &str,
) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": required,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    })
}

fn schema_json(base: &str, id: &str) -> Option<Value> {
    let string = |name, required, description| {
        attribute(name, "string", required, "readWrite", "none", description)
    };
    let (name, description, attributes) = if id.eq_ignore_ascii_case(scim::USER_SCHEMA) {
        let mut user_name = string(
            "userName",
            true,
            "The identity provider's login name for the member, unique in the organization regardless of case.",
        );
        user_name["uniqueness"] = json!("server");
        let mut name = attribute(
            "name",
            "complex",
            false,
            "readWrite",
            "none",
            "The member's name as the identity provider has it.",
        );
        name["subAttributes"] = json!([
            string("givenName", false, "Given name."),
            string("familyName", false, "Family name."),
        ]);
        let mut emails = attribute(
            "emails",
            "complex",
            true,
            "readWrite",
            "none",
            "The member's address: a User needs one. Roster keeps one, the primary (else the work one, else the first); a userName that is an address stands in when none is sent.",
        );
        emails["multiValued"] = json!(true);
        let mut kind = string("type", false, "Always work.");
        kind["canonicalValues"] = json!(["work"]);
        emails["subAttributes"] = json!([
            string("value", true, "The address."),
            kind,
            attribute(
                "primary",
                "boolean",
                false,
                "readWrite",
                "none",
                "As the identity provider sent it (Roster keeps one address)."
            ),
        ]);
        let active = attribute(
            "active",
            "boolean",
            true,
            "readWrite",
            "none",
            "Whether the membership is active; false deactivates it (its API tokens end), true restores it. True when not sent.",
        );
        let mut groups = attribute(
            "groups",
            "complex",
            false,
            "readOnly",
            "none",
            "The member's teams; change them through /Groups.",
        );
        groups["multiValued"] = json!(true);
        let mut group_ref = attribute(
            "$ref",
            "reference",
            false,
            "readOnly",
            "none",
            "The team's URI.",
        );
        group_ref["referenceTypes"] = json!(["Group"]);
        let mut group_type = attribute("type", "string", false, "readOnly", "none", "direct.");
        group_type["canonicalValues"] = json!(["direct"]);
        groups["subAttributes"] = json!([
            attribute(
                "value",
                "string",
                false,
                "readOnly",
                "none",
                "The team's id."
            ),
            attribute(
                "display",
                "string",
                false,
                "readOnly",
                "none",
                "The team's name."
            ),
            group_ref,
            group_type,
        ]);
        (
            "User",
            "A member of the organization",
            vec![
                user_name,
                name,
                string("displayName", false, "The name to show."),
                emails,
                active,
                groups,
            ],
        )
    } else if id.eq_ignore_ascii_case(scim::GROUP_SCHEMA) {
        let mut display = string(
            "displayName",
            true,
            "The team's name, unique in the organization regardless of case.",
        );
        display["uniqueness"] = json!("server");
        let mut members = attribute(
            "members",
            "complex",
            false,
            "readWrite",
            "none",
            "The team's members, by User id.",
        );
        members["multiValued"] = json!(true);
        let mut value = attribute(
            "value",
            "string",
            false,
            "immutable",
            "none",
            "A User's id.",
        );
        value["caseExact"] = json!(true);
        let mut reference = attribute(
            "$ref",
            "reference",
            false,
            "immutable",
            "none",
            "The User's URI.",
        );
        reference["referenceTypes"] = json!(["User"]);
        members["subAttributes"] = json!([value, reference]);
        (
            "Group",
            "A team of the organization",
            vec![display, members],
        )
    } else {
        return None;
    };
    let urn = if name == "User" {
        scim::USER_SCHEMA
    } else {
        scim::GROUP_SCHEMA
    };
    Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{urn}"),
        },
    }))
}

async fn schemas(State(state): State<AppState>, Provisioner(_): Provisioner) -> Scim {
    let base = base_url(&state);
    let all: Vec<Value> = [scim::USER_SCHEMA, scim::GROUP_SCHEMA]
        .into_iter()
        .filter_map(|id| schema_json(&base, id))
        .collect();
    let total = all.len() as i64;
    list_response(all, total, 1)
}

async fn schema(
    State(state): State<AppState>,
    Provisioner(_): Provisioner,
    Path(id): Path<String>,
) -> Result<Scim> {
    schema_json(&base_url(&state), &id)
        .map(ok)
        .ok_or_else(|| ScimError(Error::NotFound(format!("No schema {id:?}."))))
}
