//! SCIM 2.0 provisioning: the request sequences Okta and Microsoft Entra ID document,
//! replayed against Roster, and what they leave (members, teams, audit events, emails);
//! filters, pages and projections; the forbidden paths; the independent compliance
//! checker `scim2-tester`.

use reqwest::Method;
use reqwest::header::HeaderMap;
use roster::domain::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The organization's SCIM endpoint, with its token.
struct Scim {
    base: String,
    token: String,
}

struct Answer {
    status: u16,
    body: Value,
    headers: HeaderMap,
}

impl Scim {
    /// Creates the organization's token on the settings page, as its Owner (`app`).
    async fn connect(app: &TestApp) -> Scim {
        let response = app
            .post_form(&format!("/orgs/{ORG_SLUG}/settings/scim/token"), &[])
            .await;
        assert_eq!(response.status(), 200, "the token is created");
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "the page that shows the token is not kept"
        );
        let page = response.text().await.unwrap();
        let token = attrs(&page, "#new-token", "value")
            .pop()
            .expect("the page shows the new token");
        let base = texts(&page, "#scim-base-url").pop().unwrap();
        assert!(base.ends_with("/scim/v2"), "{base}");
        Scim {
            base: app.url("/scim/v2"),
            token,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send_with(method, path, body, &self.token, &[]).await
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .header("Accept", "application/scim+json");
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json; charset=utf-8")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            let body: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
            assert_eq!(
                headers["content-type"], "application/scim+json",
                "{path} answers SCIM JSON"
            );
            body
        };
        Answer {
            status,
            body,
            headers,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    async fn patch(&self, path: &str, operations: Value) -> Answer {
        let body = json!({"schemas": [PATCH], "Operations": operations});
        self.send(Method::PATCH, path, Some(body)).await
    }
}

/// A SCIM error with this status (and scimType, when given).
fn assert_error(answer: &Answer, status: u16, scim_type: Option<&str>) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["schemas"], json!([ERROR]), "{}", answer.body);
    assert_eq!(answer.body["status"], json!(status.to_string()));
    assert!(
        answer.body["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{}",
        answer.body
    );
    if let Some(scim_type) = scim_type {
        assert_eq!(answer.body["scimType"], json!(scim_type), "{}", answer.body);
    }
}

fn q(filter: &str) -> String {
    url_escape(filter)
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar_i64(&app.state.db, sql).await
}

/// How many audit events of `action` SCIM wrote.
async fn by_scim(app: &TestApp, action: &str) -> i64 {
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND actor_email = 'SCIM' \
             AND actor_user_id IS NULL"
        ),
    )
    .await
}

async fn status_of(app: &TestApp, email: &str) -> Option<String> {
    let n = count(
        app,
        &format!(
            "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE u.email_normalized = '{email}'"
        ),
    )
    .await;
    if n == 0 {
        return None;
    }
    Some(
        scalar_text(
            &app.state.db,
            &format!(
                "SELECT m.status FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE u.email_normalized = '{email}'"
            ),
        )
        .await,
    )
}

/// Okta's documented sequence ("SCIM 2.0 protocol reference", Okta's SCIM test): look a
/// user up by userName, create them, read them, change the profile with a full PUT,
/// deactivate and reactivate with path-less PATCHes; then push a group: create it,
/// find it, add, remove and replace its members, rename it, delete it.
async fn okta_provisions_a_user_and_pushes_a_group(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let scim = Scim::connect(&app).await;
    let login = "isaac.brock@example.com";

    let found = scim
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            q(&format!("userName eq \"{login}\""))
        ))
        .await;
    assert_eq!(found.status, 200);
    assert_eq!(found.body["totalResults"], 0);
    assert_eq!(found.body["Resources"], json!([]));

    let okta_user = json!({
        "schemas": [USER],
        "userName": login,
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": true, "value": login, "type": "work"}],
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
    });
    let created = scim
        .send(Method::POST, "/Users", Some(okta_user.clone()))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["userName"], login);
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(created.body["name"]["givenName"], "Isaac");
    assert_eq!(created.body["emails"][0]["value"], login);
    assert_eq!(created.body["meta"]["resourceType"], "User");
    let location = created.body["meta"]["location"].as_str().unwrap();
    assert_eq!(location, format!("{}/Users/{id}", scim.base));
    assert_eq!(created.headers["location"], location);
    assert!(
        created.body.get("password").is_none(),
        "no password comes back"
    );
    assert_eq!(status_of(&app, login).await.as_deref(), Some("active"));
    assert_eq!(
        scalar_text(
            &app.state.db,
            &format!(
                "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE u.email_normalized = '{login}'"
            )
        )
        .await,
        "member",
        "the default role"
    );
    let welcome = sink.wait_for_mail_to(login).await;
    assert!(welcome.text.contains(ORG_NAME), "{}", welcome.text);
    assert!(
        welcome.text.contains("identity provider"),
        "{}",
        welcome.text
    );

    // Okta creates once: the same userName again is a conflict that stops its job.
    let again = scim
        .send(Method::POST, "/Users", Some(okta_user.clone()))
        .await;
    assert_error(&again, 409, Some("uniqueness"));
    let mut shouting = okta_user.clone();
    shouting["userName"] = json!(login.to_uppercase());
    shouting["emails"] = json!([{"primary": true, "value": "other@example.com", "type": "work"}]);
    let shouting = scim.send(Method::POST, "/Users", Some(shouting)).await;
    assert_error(&shouting, 409, Some("uniqueness"));

    let read = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["id"], id.as_str());
    assert!(read.headers.contains_key("etag"));

    // A profile change is a full PUT, echoing what Okta read (id, meta included).
    let mut put = read.body.clone();
    put["name"] = json!({"givenName": "Isaac", "familyName": "Brock-Modest"});
    put["displayName"] = json!("Isaac Brock-Modest");
    let replaced = scim
        .send(Method::PUT, &format!("/Users/{id}"), Some(put))
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["name"]["familyName"], "Brock-Modest");
    assert_eq!(by_scim(&app, "member.profile_changed").await, 1);

    // Deactivation: replace, no path, `{"active": false}`.
    let off = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(status_of(&app, login).await.as_deref(), Some("inactive"));
    assert_eq!(by_scim(&app, "member.deactivated").await, 1);
    // Deactivated users still come back, by id and by filter.
    let still = scim
        .get(&format!(
            "/Users?filter={}",
            q(&format!("userName eq \"{login}\""))
        ))
        .await;
    assert_eq!(still.body["totalResults"], 1);
    assert_eq!(still.body["Resources"][0]["active"], false);
    let on = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .await;
    assert_eq!(on.body["active"], true);
    assert_eq!(status_of(&app, login).await.as_deref(), Some("active"));
    assert_eq!(by_scim(&app, "member.activated").await, 1);

    // Group push.
    let group = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_string();
    let team = gid
        .strip_prefix("team-")
        .expect("a Group's id is its team's");
    let listed = scim
        .get(&format!(
            "/Groups?filter={}&startIndex=1&count=100",
            q("displayName eq \"Test SCIMv2\"")
        ))
        .await;
    assert_eq!(listed.body["totalResults"], 1);
    let bea = app
        .add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await
        .to_string();
    let bea_id = app.membership_id("bea@example.com").await.to_string();
    let _ = bea;
    let added = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": [
                {"value": id, "display": login},
                {"value": bea_id, "display": "bea@example.com"},
            ]}]),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["members"].as_array().unwrap().len(), 2);
    // The Members page filters by the pushed team.
    let (_, page) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?team={team}"))
        .await;
    assert!(page.contains(login), "{page}");
    let user = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(user.body["groups"][0]["display"], "Test SCIMv2");
    let removed = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{bea_id}\"]")}]),
        )
        .await;
    assert_eq!(
        removed.body["members"],
        json!([{"value": id, "$ref": format!("{}/Users/{id}", scim.base)}])
    );
    let replaced = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "path": "members", "value": [{"value": bea_id}]}]),
        )
        .await;
    let members: Vec<&str> = replaced.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, [bea_id.as_str()]);
    // Okta renames with a path-less replace that carries the id too.
    let renamed = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "replace", "value": {"id": gid, "displayName": "Engineering"}}]),
        )
        .await;
    assert_eq!(renamed.body["displayName"], "Engineering");
    for action in [
        "team.created",
        "team.member_added",
        "team.member_removed",
        "team.renamed",
    ] {
        assert!(by_scim(&app, action).await >= 1, "{action}");
    }
    let gone = scim
        .send(Method::DELETE, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(gone.status, 204);
    assert_error(&scim.get(&format!("/Groups/{gid}")).await, 404, None);
    assert_eq!(by_scim(&app, "team.deleted").await, 1);
    assert_eq!(by_scim(&app, "member.provisioned").await, 1);
}

/// Entra ID's documented sequence ("Tutorial: develop and plan provisioning for a SCIM
/// endpoint", and its SCIM compatibility notes): the connection test, the lookups by
/// userName and by an unquoted externalId, a create with the enterprise extension and
/// empty roles, PATCHes with capitalised operations, string booleans, dotted keys and
/// `emails[type eq "work"].value`, a PATCH with no operations; groups found without
/// their members, members added and removed by value; then a hard delete.
async fn entra_provisions_in_its_own_dialect(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let scim = Scim::connect(&app).await;

    let test = scim
        .get(&format!(
            "/Users?aadOptscim062020&filter={}",
            q("userName eq \"non-existent user\"")
        ))
        .await;
    assert_eq!(test.status, 200, "{}", test.body);
    assert_eq!(test.body["totalResults"], 0);
    let by_external = scim
        .get(&format!("/Users?filter={}", q("externalId eq jyoung")))
        .await;
    assert_eq!(by_external.status, 200, "{}", by_external.body);
    assert_eq!(by_external.body["totalResults"], 0);

    let entra_user = json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "jyoung",
        "userName": "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081@contoso.com",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb6cd4@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
    });
    let created = scim.send(Method::POST, "/Users", Some(entra_user)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.body["emails"][0]["value"],
        "Test_User_11bb6cd4@testuser.com"
    );
    assert_eq!(
        status_of(&app, "test_user_11bb6cd4@testuser.com")
            .await
            .as_deref(),
        Some("active"),
        "the account is the primary address"
    );
    let by_external = scim
        .get(&format!("/Users?filter={}", q("externalId eq \"jyoung\"")))
        .await;
    assert_eq!(by_external.body["totalResults"], 1);
    assert_eq!(by_external.body["Resources"][0]["id"], id.as_str());

    let updated = scim
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Add", "path": "displayName", "value": "Jo Young"},
                {"op": "replace", "value": {"name.givenName": "Jo", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42"}},
            ]),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        updated.body["emails"][0]["value"],
        "updatedEmail@microsoft.com"
    );
    assert_eq!(updated.body["name"]["familyName"], "updatedFamilyName");
    assert_eq!(updated.body["name"]["givenName"], "Jo");
    assert_eq!(updated.body["displayName"], "Jo Young");

    let off = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(off.body["active"], false, "{}", off.body);
    let nothing = scim.patch(&format!("/Users/{id}"), json!([])).await;
    assert_eq!(nothing.status, 200);
    assert_eq!(nothing.body["active"], false);
    let on = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}]),
        )
        .await;
    assert_eq!(on.body["active"], true);

    // Groups.
    let none = scim
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            q("displayName eq \"Group1DisplayName\"")
        ))
        .await;
    assert_eq!(none.body["totalResults"], 0);
    let group = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Group1DisplayName",
                "meta": {"resourceType": "Group"},
                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            })),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let gid = group.body["id"].as_str().unwrap().to_string();
    let other = app
        .add_member(ORG_SLUG, "cy@example.com", "Cy", Role::Member)
        .await;
    let cy = app.membership_id("cy@example.com").await.to_string();
    let _ = other;
    let added = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}, {"$ref": null, "value": cy}]}]),
        )
        .await;
    assert_eq!(
        added.body["members"].as_array().unwrap().len(),
        2,
        "{}",
        added.body
    );
    // Entra removes the listed members only, never the whole group.
    let removed = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": cy}]}]),
        )
        .await;
    let left: Vec<&str> = removed.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(left, [id.as_str()]);
    let renamed = scim
        .patch(
            &format!("/Groups/{gid}"),
            json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]),
        )
        .await;
    assert_eq!(renamed.status, 200);
    let fetched = scim
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!(
        fetched.body["displayName"],
        "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    );
    assert!(fetched.body.get("members").is_none(), "{}", fetched.body);
    assert_eq!(
        fetched.body["externalId"],
        "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    );

    // A hard delete removes the membership; the account stays.
    let deleted = scim
        .send(Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_error(&scim.get(&format!("/Users/{id}")).await, 404, None);
    assert_eq!(
        status_of(&app, "test_user_11bb6cd4@testuser.com").await,
        None
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE email_normalized = 'test_user_11bb6cd4@testuser.com'"
        )
        .await,
        1
    );
    assert_eq!(by_scim(&app, "member.removed").await, 1);
    assert_eq!(
        by_scim(&app, "team.member_removed").await,
        1,
        "only Cy was taken out by a PATCH"
    );
}

/// Filters (every operator, logic and parentheses), pages in a stable order, sorting,
/// projections on GET, list and `/.search`, ETags, discovery, and the errors of each.
async fn filters_pages_and_projections(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let scim = Scim::connect(&app).await;
    let mut ids = Vec::new();
    for (login, external, active) in [
        ("alice@corp.test", "A-1", true),
        ("bob@corp.test", "B-2", true),
        ("carol@corp.test", "C-3", false),
        ("dave@other.test", "D-4", true),
    ] {
        let created = scim
            .send(
                Method::POST,
                "/Users",
                Some(json!({"schemas": [USER], "userName": login, "externalId": external, "active": active})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_string());
    }
    let names = |answer: &Answer| -> Vec<String> {
        answer.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_string())
            .collect()
    };
    let filtered = |filter: &str| {
        let path = format!("/Users?sortBy=userName&filter={}", q(filter));
        let scim = &scim;
        async move { scim.get(&path).await }
    };
    for (filter, expected) in [
        ("userName eq \"ALICE@corp.test\"", vec!["alice@corp.test"]),
        ("userName co \"AR\"", vec!["carol@corp.test"]),
        ("userName sw \"b\"", vec!["bob@corp.test"]),
        ("userName ew \"other.test\"", vec!["dave@other.test"]),
        (
            "userName ne \"bob@corp.test\" and userName ew \"corp.test\"",
            vec!["alice@corp.test", "carol@corp.test"],
        ),
        ("active eq false", vec!["carol@corp.test"]),
        (
            "externalId eq \"B-2\" or externalId eq \"D-4\"",
            vec!["bob@corp.test", "dave@other.test"],
        ),
        ("externalId eq \"b-2\"", vec![]),
        (
            "not (userName ew \"corp.test\")",
            vec!["ada@example.com", "dave@other.test"],
        ),
        (
            "(userName sw \"al\" or userName sw \"c\") and active eq true",
            vec!["alice@corp.test"],
        ),
        ("emails.value co \"carol\"", vec!["carol@corp.test"]),
        (
            "emails[type eq \"work\" and value sw \"dave\"]",
            vec!["dave@other.test"],
        ),
        (
            "externalId pr and userName sw \"a\"",
            vec!["alice@corp.test"],
        ),
        (
            "meta.lastModified gt \"2000-01-01T00:00:00Z\" and userName sw \"d\"",
            vec!["dave@other.test"],
        ),
        ("meta.created lt \"2000-01-01T00:00:00Z\"", vec![]),
        ("userName co \"%\"", vec![]),
        ("userName co \"_\"", vec![]),
    ] {
        let answer = filtered(filter).await;
        assert_eq!(answer.status, 200, "{filter}: {}", answer.body);
        assert_eq!(names(&answer), expected, "{filter}");
        assert_eq!(answer.body["totalResults"], expected.len(), "{filter}");
    }
    for bad in [
        "userName eq",
        "userName xx \"a\"",
        "title eq \"Boss\"",
        "(userName eq \"a\"",
        "meta.lastModified gt \"yesterday\"",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\"",
    ] {
        assert_error(&filtered(bad).await, 400, Some("invalidFilter"));
    }
    // Pages: a stable order, startIndex from 1, count bounded.
    let first = scim.get("/Users?startIndex=1&count=2").await;
    let second = scim.get("/Users?startIndex=3&count=2").await;
    assert_eq!(
        first.body["totalResults"], 5,
        "the Owner and four provisioned"
    );
    assert_eq!(first.body["itemsPerPage"], 2);
    assert_eq!(second.body["startIndex"], 3);
    let both: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|a| a.body["Resources"].as_array().unwrap().clone())
        .map(|r| r["id"].clone())
        .collect();
    let all = scim.get("/Users").await;
    let every: Vec<Value> = all.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(both, every[..4]);
    let none = scim.get("/Users?count=0").await;
    assert_eq!(none.body["totalResults"], 5);
    assert_eq!(none.body["Resources"], json!([]));
    let sorted = scim
        .get("/Users?sortBy=userName&sortOrder=descending&count=1")
        .await;
    assert_eq!(names(&sorted), ["dave@other.test"]);
    assert_error(
        &scim.get("/Users?count=lots").await,
        400,
        Some("invalidValue"),
    );

    // Projections.
    let only = scim
        .get(&format!("/Users/{}?attributes=userName", ids[0]))
        .await;
    let keys: Vec<&String> = only.body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "{}", only.body);
    assert_eq!(only.body["userName"], "alice@corp.test");
    let without = scim
        .get(&format!(
            "/Users?excludedAttributes=emails,groups&filter={}",
            q("userName eq \"bob@corp.test\"")
        ))
        .await;
    assert!(without.body["Resources"][0].get("emails").is_none());
    assert_eq!(without.body["Resources"][0]["userName"], "bob@corp.test");
    let searched = scim
        .send(
            Method::POST,
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "attributes": ["userName", "name.givenName"],
                "filter": "userName sw \"c\"",
                "startIndex": 1,
                "count": 10,
            })),
        )
        .await;
    assert_eq!(searched.status, 200, "{}", searched.body);
    assert_eq!(names(&searched), ["carol@corp.test"]);
    assert!(searched.body["Resources"][0].get("active").is_none());
    // Across both types: the Users, then the Groups; a filter only Users answer.
    scim.send(
        Method::POST,
        "/Groups",
        Some(json!({"schemas": [GROUP], "displayName": "Crew"})),
    )
    .await;
    let search = |filter: &str| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
    let both = scim
        .send(
            Method::POST,
            "/.search",
            Some(search(
                "displayName sw \"c\" or userName eq \"alice@corp.test\"",
            )),
        )
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    let found: Vec<&str> = both.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["User", "Group"], "{}", both.body);
    let users_only = scim
        .send(
            Method::POST,
            "/.search",
            Some(search("externalId eq \"A-1\"")),
        )
        .await;
    assert_eq!(users_only.body["totalResults"], 1);
    let neither = scim
        .send(Method::POST, "/.search", Some(search("title eq \"x\"")))
        .await;
    assert_error(&neither, 400, Some("invalidFilter"));
    let bad_search = scim
        .send(
            Method::POST,
            "/Users/.search",
            Some(json!({"schemas": [], "filter": "x"})),
        )
        .await;
    assert_error(&bad_search, 400, Some("invalidSyntax"));

    // ETags: the version a client read, and nothing else.
    let read = scim.get(&format!("/Users/{}", ids[1])).await;
    let etag = read.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(read.body["meta"]["version"], etag.as_str());
    let body = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Bob"}]});
    let stale = scim
        .send_with(
            Method::PATCH,
            &format!("/Users/{}", ids[1]),
            Some(body.clone()),
            &scim.token,
            &[("If-Match", "W/\"0000\"")],
        )
        .await;
    assert_error(&stale, 412, None);
    let fresh = scim
        .send_with(
            Method::PATCH,
            &format!("/Users/{}", ids[1]),
            Some(body),
            &scim.token,
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_ne!(fresh.headers["etag"].to_str().unwrap(), etag);

    // Discovery answers GET only; unknown routes and ids are SCIM errors.
    let config = scim.get("/ServiceProviderConfig").await;
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["filter"]["supported"], true);
    assert_eq!(config.body["bulk"]["supported"], false);
    let types = scim.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    assert_eq!(
        scim.get("/ResourceTypes/User").await.body["endpoint"],
        "/Users"
    );
    let schemas = scim.get("/Schemas").await;
    assert_eq!(schemas.body["totalResults"], 2);
    let user_schema = scim.get(&format!("/Schemas/{USER}")).await;
    let emails = user_schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "emails")
        .unwrap()
        .clone();
    assert_eq!(emails["required"], true, "a User needs an address");
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let answer = scim.send(method.clone(), path, Some(json!({}))).await;
            assert_error(&answer, 405, None);
        }
    }
    assert_error(&scim.get("/Nope").await, 404, None);
    assert_error(&scim.get("/Users/999999").await, 404, None);
    assert_error(&scim.get("/Users/not-a-number").await, 404, None);
    assert_error(&scim.get("/Schemas/urn:nope").await, 404, None);
    assert_error(&scim.send(Method::DELETE, "/Users", None).await, 405, None);
}

/// What Roster refuses: requests without the organization's current token, another
/// organization's ids, roles from the provider, the last Owner, an organization that
/// is full, bad and hostile values; and who may manage the token.
async fn refuses_what_it_must(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Admin)
        .await;
    let scim = Scim::connect(&app).await;

    let anonymous = scim.send_with(Method::GET, "/Users", None, "", &[]).await;
    assert_error(&anonymous, 401, None);
    assert!(anonymous.headers.contains_key("www-authenticate"));
    for wrong in [
        "roster_scim_nope",
        "not-a-token",
        &format!("{}x", scim.token),
    ] {
        assert_error(
            &scim
                .send_with(Method::GET, "/Users", None, wrong, &[])
                .await,
            401,
            None,
        );
    }
    assert_error(
        &scim
            .send_with(Method::GET, "/ServiceProviderConfig", None, "", &[])
            .await,
        401,
        None,
    );

    // The last active Owner stays: SCIM can neither deactivate nor remove her.
    let owner = app.membership_id(ADMIN_EMAIL).await.to_string();
    let off = scim
        .patch(
            &format!("/Users/{owner}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_error(&off, 409, None);
    assert_error(
        &scim
            .send(Method::DELETE, &format!("/Users/{owner}"), None)
            .await,
        409,
        None,
    );
    assert_eq!(
        status_of(&app, ADMIN_EMAIL).await.as_deref(),
        Some("active")
    );

    // Roles are not the provider's to give.
    let owner_please = scim
        .send(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "mallory@example.com", "roles": [{"value": "owner", "primary": true}]})),
        )
        .await;
    assert_error(&owner_please, 400, Some("mutability"));
    assert_eq!(status_of(&app, "mallory@example.com").await, None);
    let bea = app.membership_id("bea@example.com").await.to_string();
    let promote = scim
        .patch(
            &format!("/Users/{bea}"),
            json!([{"op": "add", "path": "roles", "value": [{"value": "owner"}]}]),
        )
        .await;
    assert_error(&promote, 400, Some("mutability"));
    let groups = scim
        .patch(
            &format!("/Users/{bea}"),
            json!([{"op": "add", "path": "groups", "value": [{"value": "1"}]}]),
        )
        .await;
    assert_error(&groups, 400, Some("mutability"));
    assert_eq!(
        scalar_text(&app.state.db, "SELECT role FROM memberships WHERE user_id = (SELECT id FROM users WHERE email_normalized = 'bea@example.com')").await,
        "admin"
    );
    // The default role cannot be Owner either.
    let response = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/settings/scim"),
            &[("default_role", "owner")],
        )
        .await;
    assert_eq!(response.status(), 422);

    // Bad input: named, nothing written.
    for (body, scim_type) in [
        (
            json!({"schemas": [USER], "userName": "no-address"}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER], "userName": "x@example.com", "emails": [{"value": "not an address", "primary": true}]}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER], "userName": "line\nbreak@example.com"}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER], "userName": format!("{}@example.com", "a".repeat(5000))}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER], "userName": "nul@example.com", "displayName": "a\u{0}b"}),
            "invalidValue",
        ),
        (
            json!({"schemas": [USER], "userName": "x@example.com", "active": "maybe"}),
            "invalidValue",
        ),
        (json!({"schemas": [USER]}), "invalidValue"),
        (json!([1, 2]), "invalidSyntax"),
    ] {
        let answer = scim.send(Method::POST, "/Users", Some(body.clone())).await;
        assert_error(&answer, 400, Some(scim_type));
    }
    let not_json = reqwest::Client::new()
        .post(format!("{}/Users", scim.base))
        .bearer_auth(&scim.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let bad_patch = scim
        .send(
            Method::PATCH,
            &format!("/Users/{bea}"),
            Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]})),
        )
        .await;
    assert_error(&bad_patch, 400, Some("invalidSyntax"));
    let bad_path = scim
        .patch(
            &format!("/Users/{bea}"),
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
        )
        .await;
    assert_error(&bad_path, 400, Some("invalidPath"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM memberships").await,
        2,
        "nothing was added"
    );
    // The address of a member is theirs alone.
    let taken = scim
        .send(Method::POST, "/Users", Some(json!({"schemas": [USER], "userName": "bea-login", "emails": [{"value": "BEA@example.com", "primary": true}]})))
        .await;
    assert_error(&taken, 409, Some("uniqueness"));
    // A group member must be a User of this organization.
    let group = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "424242"}]})),
        )
        .await;
    assert_error(&group, 400, Some("invalidValue"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM teams").await,
        0,
        "all or nothing"
    );
    let twice = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Ops"})),
        )
        .await;
    assert_eq!(twice.status, 201);
    let again = scim
        .send(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "OPS"})),
        )
        .await;
    assert_error(&again, 409, Some("uniqueness"));

    // A full organization takes no one more.
    exec_sql(&app.state.db, "UPDATE organizations SET max_members = 2").await;
    let full = scim
        .send(
            Method::POST,
            "/Users",
            Some(json!({"schemas": [USER], "userName": "late@example.com"})),
        )
        .await;
    assert_error(&full, 403, None);
    exec_sql(&app.state.db, "UPDATE organizations SET max_members = 1000").await;

    // Another organization's token finds nothing of this one.
    let now = app.clock().now();
    let owner_id = scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM users WHERE email_normalized = '{ADMIN_EMAIL}'"),
    )
    .await;
    let mut tx = app.state.db.begin().await.unwrap();
    let other = roster::db::orgs::insert(&mut tx, "Difference Engines", now)
        .await
        .unwrap();
    roster::db::memberships::insert(&mut tx, other.id, owner_id, Role::Owner, None, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let response = app
        .post_form(&format!("/orgs/{}/settings/scim/token", other.slug), &[])
        .await;
    let page = response.text().await.unwrap();
    let theirs = attrs(&page, "#new-token", "value").pop().unwrap();
    let gid = twice.body["id"].as_str().unwrap();
    for path in [format!("/Users/{bea}"), format!("/Groups/{gid}")] {
        assert_error(
            &scim.send_with(Method::GET, &path, None, &theirs, &[]).await,
            404,
            None,
        );
        let patch = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false, "displayName": "x"}}]});
        assert_error(
            &scim
                .send_with(Method::PATCH, &path, Some(patch), &theirs, &[])
                .await,
            404,
            None,
        );
        assert_error(
            &scim
                .send_with(Method::DELETE, &path, None, &theirs, &[])
                .await,
            404,
            None,
        );
    }
    let listed = scim
        .send_with(Method::GET, "/Users", None, &theirs, &[])
        .await;
    assert_eq!(listed.body["totalResults"], 1, "only their own Owner");

    // Only Owners manage the token; a revoked or replaced token is refused at once.
    let bea_browser = app.browser_for("bea@example.com").await;
    for path in ["/settings/scim", "/settings/scim/revoke"] {
        let (status, _) = bea_browser
            .get_html(&format!("/orgs/{ORG_SLUG}{path}"))
            .await;
        assert_eq!(status, 403, "{path}");
    }
    for path in [
        "/settings/scim/token",
        "/settings/scim/revoke",
        "/settings/scim",
    ] {
        let response = bea_browser
            .post_form(
                &format!("/orgs/{ORG_SLUG}{path}"),
                &[("default_role", "viewer")],
            )
            .await;
        assert_eq!(response.status(), 403, "{path}");
    }
    let replaced = Scim::connect(&app).await;
    assert_error(&scim.get("/Users").await, 401, None);
    assert_eq!(replaced.get("/Users").await.status, 200);
    let (status, page) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/settings/scim/revoke"))
        .await;
    assert_eq!(status, 200, "{page}");
    let revoked = app
        .post_form(&format!("/orgs/{ORG_SLUG}/settings/scim/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    assert_error(&replaced.get("/Users").await, 401, None);
    let (_, page) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/settings/scim"))
        .await;
    assert!(page.contains("There is no token"), "{page}");
    assert!(
        !page.contains(&replaced.token),
        "a token is never shown again"
    );
    for action in ["scim.token_created", "scim.token_revoked"] {
        assert!(count(&app, &format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND actor_email = '{ADMIN_EMAIL}'")).await >= 1, "{action}");
    }
}

/// Two identity provider requests creating the same userName at once: one member.
async fn parallel_creates_make_one_member(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let scim = Scim::connect(&app).await;
    let body = json!({"schemas": [USER], "userName": "twin@example.com"});
    let (a, b) = tokio::join!(
        scim.send(Method::POST, "/Users", Some(body.clone())),
        scim.send(Method::POST, "/Users", Some(body.clone())),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email_normalized = 'twin@example.com'").await,
        1
    );
    // Two deactivations of the last two Owners at once leave one.
    app.add_member(ORG_SLUG, "olive@example.com", "Olive", Role::Owner)
        .await;
    let ada = app.membership_id(ADMIN_EMAIL).await;
    let olive = app.membership_id("olive@example.com").await;
    let off = json!([{"op": "replace", "value": {"active": false}}]);
    let (ada, olive) = (format!("/Users/{ada}"), format!("/Users/{olive}"));
    let (a, b) = tokio::join!(
        scim.patch(&ada, off.clone()),
        scim.patch(&olive, off.clone())
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND status = 'active'"
        )
        .await,
        1
    );
}

/// The independent compliance checker `scim2-tester` (PyPI, installed by `.ci/run` in
/// `tests/tools/scim/venv`) finds no ERROR or CRITICAL result.
async fn passes_the_scim2_tester(backend: Backend) {
    let python = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/tools/scim/venv/bin/python"
    );
    if !std::path::Path::new(python).exists() {
        assert!(
            std::env::var("CI").is_err(),
            "scim2-tester is not installed: run .ci/run (it makes tests/tools/scim/venv)"
        );
        eprintln!("SKIPPED: scim2-tester is not installed in tests/tools/scim/venv (see .ci/run)");
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let scim = Scim::connect(&app).await;
    let output = tokio::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/tools/scim/scim_check.py"
        ))
        .arg(&scim.base)
        .arg(&scim.token)
        .args(["--require", "User,Group"])
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scim2-tester found errors:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("RESULT: PASS"), "{report}");
    // What it checked, for the test's log.
    for line in report.lines().filter(|l| {
        l.starts_with("summary") || l.starts_with("resource types") || l.starts_with("SKIPPED")
    }) {
        eprintln!("scim2-tester: {line}");
    }
    assert!(!report.contains("SUCCESS=0"), "{report}");
}

crate::on_both_backends!(
    okta_provisions_a_user_and_pushes_a_group,
    entra_provisions_in_its_own_dialect,
    filters_pages_and_projections,
    refuses_what_it_must,
    parallel_creates_make_one_member,
    passes_the_scim2_tester,
);
