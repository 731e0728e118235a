use crate::helpers::*;
use roster::db;
use roster::domain::{Email, Role};

async fn members_page_lists_each_member_with_role_status_and_joined(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "Bea@Example.com", "Bea Admin", Role::Admin)
        .await;

    let (status, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert_eq!(status, 200);
    assert_eq!(
        texts(&html, "thead th"),
        vec![
            "Email",
            "Name",
            "Role",
            "Status",
            "Joined",
            "Last active",
            "Sign-in",
            "Teams",
            "Actions"
        ]
    );
    let rows = texts(&html, "tbody tr");
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].starts_with("ada@example.com you Ada Lovelace Owner Active"),
        "{rows:?}"
    );
    assert!(
        rows[1].starts_with("Bea@Example.com Bea Admin Admin Active"),
        "{rows:?}"
    );
    assert!(html.contains("<time datetime="), "joined has an exact time");
}

async fn members_page_paginates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for n in 0..55 {
        app.add_member(
            ORG_SLUG,
            &format!("person{n:02}@example.com"),
            &format!("Person {n}"),
            Role::Member,
        )
        .await;
    }

    let (_, first) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let (_, second) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?page=2"))
        .await;

    assert_eq!(texts(&first, "tbody tr").len(), 50);
    assert_eq!(texts(&second, "tbody tr").len(), 6);
    assert!(
        texts(&first, ".pagination")
            .iter()
            .any(|t| t.contains("Page 1 of 2"))
    );
    assert!(
        texts(&first, "p.muted")
            .iter()
            .any(|t| t.starts_with("56 members"))
    );
}

async fn someone_in_several_organizations_gets_a_switcher(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (_, single) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let admin = db::users::find_by_email(&app.state.db, &Email::parse(ADMIN_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    // Created out of name order: the switcher lists by name.
    let mut tx = app.state.db.begin().await.unwrap();
    for name in ["Difference Engines", "Abacus Works"] {
        let other = db::orgs::insert(&mut tx, name, app.state.clock.now())
            .await
            .unwrap();
        db::memberships::insert(
            &mut tx,
            other.id,
            admin.id,
            Role::Viewer,
            None,
            app.state.clock.now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let (_, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let (status, other_page) = app.get_html("/orgs/difference-engines/members").await;

    assert!(texts(&single, ".org-switcher").is_empty());
    assert_eq!(
        texts(&html, ".org-switcher a"),
        vec!["Abacus Works", "Analytical Engines", "Difference Engines"]
    );
    assert!(html.contains(r#"aria-current="page">Analytical Engines"#));
    assert_eq!(status, 200);
    assert!(
        texts(&other_page, "p.muted")
            .iter()
            .any(|t| t.contains("your role: Viewer"))
    );
}

async fn an_inactive_membership_does_not_open_the_organization(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let user_id = app
        .add_member(ORG_SLUG, "ina@example.com", "Ina", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE memberships SET status = 'inactive' WHERE user_id = {user_id}"),
    )
    .await;
    let ina = app.new_browser();
    assert_eq!(
        ina.sign_in("ina@example.com", MEMBER_PASSWORD)
            .await
            .status(),
        303
    );

    let (status, _) = ina.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert_eq!(status, 404);
    let (_, home) = ina.get_html("/").await;
    assert!(
        texts(&home, "h1")
            .iter()
            .any(|t| t.contains("not in any organization"))
    );
}
/// A page of the Members page: its emails in order, and its links.
struct Shown {
    emails: Vec<String>,
    next: Option<String>,
    prev: Option<String>,
    last: Option<String>,
    pagination: String,
}

async fn shown(app: &TestApp, path: &str) -> Shown {
    let (status, html) = app.get_html(path).await;
    assert_eq!(status, 200, "{path}");
    let link = |css: &str| attrs(&html, css, "href").into_iter().next();
    Shown {
        emails: texts(&html, "tbody tr td:first-child")
            .into_iter()
            .map(|t| t.trim_end_matches(" you").to_string())
            .collect(),
        next: link(r#"a[rel="next"]"#),
        prev: link(r#"a[rel="prev"]"#),
        last: link(r#"a[data-page="last"]"#),
        pagination: texts(&html, ".pagination span").join(" "),
    }
}

async fn next_and_previous_walk_every_order_without_losing_a_row(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    // Ties everywhere: names repeat, members join ten at a time, invitations are sent at
    // the last members' joining time, and most members were never active.
    let names = [
        "Ann Lee", "Bo Chen", "Cy Diaz", "Di Eto", "Ed Fox", "Flo Gu", "Gus Hu",
    ];
    for n in 0..110 {
        if n % 10 == 0 {
            app.clock().advance(5);
        }
        app.add_member(
            ORG_SLUG,
            &format!("p{n:03}@example.com"),
            names[n % names.len()],
            Role::Member,
        )
        .await;
    }
    let invited: Vec<String> = (0..12).map(|n| format!("i{n:02}@example.org")).collect();
    let response = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", &invited.join(", ")), ("role", "member")],
        )
        .await;
    assert_eq!(response.status(), 200, "without SMTP the links are shown");
    let now = app.clock().now();
    exec_sql(
        &app.state.db,
        &format!("UPDATE memberships SET last_active_at = {now} - (id % 4) * 60 WHERE id % 3 = 0"),
    )
    .await;
    let members = format!("/orgs/{ORG_SLUG}/members");

    for sort in ["joined", "email", "name", "active"] {
        for dir in ["asc", "desc"] {
            let query = format!("{members}?sort={sort}&dir={dir}");
            let mut by_number = Vec::new();
            for page in 1..=3 {
                by_number.extend(shown(&app, &format!("{query}&page={page}")).await.emails);
            }
            let mut unique = by_number.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 123, "{query}: every row once by number");
            assert_eq!(by_number.len(), 123, "{query}");

            let mut forward = Vec::new();
            let mut page = shown(&app, &query).await;
            let last = page.last.clone().expect("a link to the last page");
            loop {
                forward.extend(page.emails.clone());
                let Some(next) = page.next.clone() else { break };
                assert!(next.contains("after="), "{next}");
                page = shown(&app, &next).await;
            }
            assert_eq!(forward, by_number, "{query}: Next from the first page");
            assert_eq!(page.pagination, "Page 3 of 3");

            let mut backward = Vec::new();
            let mut page = shown(&app, &last).await;
            loop {
                backward.splice(0..0, page.emails.clone());
                let Some(prev) = page.prev.clone() else { break };
                assert!(prev.contains("before="), "{prev}");
                page = shown(&app, &prev).await;
            }
            assert_eq!(backward, by_number, "{query}: Previous from the last page");
            assert_eq!(page.pagination, "Page 1 of 3");
        }
    }

    // A search pages by number, its matches counted with its page.
    let search = format!("{members}?q=example.com&sort=email");
    let mut found = Vec::new();
    let mut page = shown(&app, &search).await;
    assert_eq!(page.pagination, "Page 1 of 3");
    loop {
        found.extend(page.emails.clone());
        let Some(next) = page.next.clone() else { break };
        assert!(!next.contains("after="), "{next}");
        page = shown(&app, &next).await;
    }
    assert_eq!(found.len(), 111, "the Owner and 110 members; no invitation");
    assert!(found.windows(2).all(|w| w[0] < w[1]), "in order, each once");
    let beyond = shown(&app, &format!("{search}&page=9")).await;
    assert_eq!(beyond.pagination, "Page 3 of 3");
    assert_eq!(beyond.emails, found[100..].to_vec());
    // A page number too large for any offset is the last page, searched or not.
    let far = "page=9223372036854775807";
    assert_eq!(
        shown(&app, &format!("{search}&{far}")).await.pagination,
        "Page 3 of 3"
    );
    assert_eq!(
        shown(&app, &format!("{members}?{far}")).await.emails,
        shown(&app, &format!("{members}?page=999")).await.emails
    );

    let page_two = shown(&app, &format!("{members}?page=2")).await.emails;
    for broken in [
        "after=x1",
        "after=m",
        "before=m12:abc",
        "after=m999999:99999999999",
    ] {
        assert_eq!(
            shown(&app, &format!("{members}?page=2&{broken}"))
                .await
                .emails,
            page_two,
            "a cursor that finds nothing falls back to the page number: {broken}"
        );
    }
}

/// Emails in the order the Members page shows them for `query`.
async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    let (status, html) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?{query}"))
        .await;
    assert_eq!(status, 200, "{query}");
    texts(&html, "tbody tr td:first-child")
        .into_iter()
        .map(|t| t.trim_end_matches(" you").to_string())
        .collect()
}

async fn members_page_searches_filters_and_sorts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "zoe@example.com", "Zoe Ng", Role::Admin)
        .await;
    app.clock().advance(10);
    app.add_member(ORG_SLUG, "bob@example.com", "Bob 100%_Sure", Role::Viewer)
        .await;
    let zoe = app.browser_for("zoe@example.com").await;
    app.clock().advance(1);
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "carl@elsewhere.test"), ("role", "viewer")],
    )
    .await;
    app.clock().advance(120);
    zoe.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert_eq!(
        listed(&app, "").await,
        vec![
            "ada@example.com",
            "zoe@example.com",
            "bob@example.com",
            "carl@elsewhere.test"
        ]
    );
    assert_eq!(listed(&app, "q=ZOE").await, vec!["zoe@example.com"]);
    assert_eq!(
        listed(&app, "q=ng").await,
        vec!["zoe@example.com"],
        "by name"
    );
    assert_eq!(
        listed(&app, "q=elsewhere").await,
        vec!["carl@elsewhere.test"]
    );
    assert_eq!(
        listed(&app, "q=100%25_").await,
        vec!["bob@example.com"],
        "% and _ are literal"
    );
    assert_eq!(listed(&app, "q=%25").await, vec!["bob@example.com"]);
    assert_eq!(
        listed(&app, "role=viewer").await,
        vec!["bob@example.com", "carl@elsewhere.test"]
    );
    assert_eq!(
        listed(&app, "status=invited").await,
        vec!["carl@elsewhere.test"]
    );
    assert_eq!(
        listed(&app, "status=active&role=viewer").await,
        vec!["bob@example.com"]
    );
    assert_eq!(
        listed(&app, "sort=email&dir=desc").await,
        vec![
            "zoe@example.com",
            "carl@elsewhere.test",
            "bob@example.com",
            "ada@example.com"
        ]
    );
    assert_eq!(
        listed(&app, "sort=name&status=active").await,
        vec!["ada@example.com", "bob@example.com", "zoe@example.com"]
    );
    app.clock().advance(61);
    let by_activity = listed(&app, "sort=active&dir=desc&status=active").await;
    assert_eq!(
        by_activity,
        vec!["ada@example.com", "zoe@example.com", "bob@example.com"],
        "the viewer is active right now; Bob never was"
    );
    assert!(listed(&app, "q=nobody").await.is_empty());
    assert!(
        listed(&app, "q=.comzoe").await.is_empty() && listed(&app, "q=com+zoe").await.is_empty(),
        "no match across the end of an email and the start of a name"
    );
    let (_, html) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?q=nobody"))
        .await;
    assert!(texts(&html, ".empty").contains(&"No members or invitations match.".to_string()));
}

async fn an_htmx_search_gets_only_the_results(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "zoe@example.com", "Zoe", Role::Member)
        .await;

    let response = app
        .client
        .get(app.url(&format!("/orgs/{ORG_SLUG}/members?q=zoe")))
        .header("HX-Request", "true")
        .header("HX-Target", "members-results")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<html"), "a fragment, not a page");
    assert_eq!(texts(&html, "tbody tr").len(), 1);
    assert!(html.contains("zoe@example.com"));
}

async fn last_active_is_recorded_at_most_once_a_minute(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    let last_active = || async {
        scalar_i64(
            &app.state.db,
            "SELECT last_active_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE u.email_normalized = 'ada@example.com'",
        )
        .await
    };
    app.get_html(&members).await;
    let first = last_active().await;

    app.clock().advance(30);
    app.get_html(&members).await;
    let within_a_minute = last_active().await;
    app.clock().advance(31);
    app.get_html(&members).await;
    let after_a_minute = last_active().await;

    assert_eq!(within_a_minute, first);
    // The clock runs on from the real time, so a second may tick between requests.
    assert!(
        (first + 61..first + 65).contains(&after_a_minute),
        "{first} then {after_a_minute}"
    );
    let (_, html) = app.get_html(&members).await;
    assert!(texts(&html, "tbody tr")[0].contains("just now"));
}

async fn a_renamed_member_is_found_and_sorted_by_the_new_name(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "zoe@example.com", "Zoe", Role::Member)
        .await;
    let zoe = app.browser_for("zoe@example.com").await;

    let renamed = zoe
        .post_form("/account/name", &[("name", "Aaron Zoe")])
        .await;

    assert_eq!(renamed.status(), 303);
    assert_eq!(listed(&app, "q=aaron").await, vec!["zoe@example.com"]);
    assert_eq!(
        listed(&app, "sort=name").await,
        vec!["zoe@example.com", "ada@example.com"]
    );
}

/// Merging the search index (SQLite's, in bounded steps) leaves one segment that finds
/// what the many did, and members added after it are found too.
async fn the_merged_search_index_finds_what_it_found_before(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    // A transaction each, as members join: a segment of the index each.
    for i in 0..40 {
        app.add_member(
            ORG_SLUG,
            &format!("person{i:02}@example.com"),
            &format!("Person {i} Lovelace"),
            Role::Member,
        )
        .await;
    }
    let searches = ["q=person1", "q=lovelace&sort=email", "q=son3", "q=nobody"];
    let mut before = Vec::new();
    for search in searches {
        before.push(listed(&app, search).await);
    }
    assert_eq!(before[0].len(), 10, "person10 to person19");
    let db = &app.state.db;
    let segments = "SELECT COUNT(DISTINCT segid) FROM member_search_idx";
    let sqlite = matches!(backend, Backend::Sqlite);
    if sqlite {
        assert!(scalar_i64(db, segments).await > 1);
    }

    let mut steps = 0;
    while db::memberships::merge_search_step(db).await.unwrap() {
        steps += 1;
        assert!(steps < 100, "the merge ends");
    }

    if sqlite {
        assert!(steps > 0);
        assert_eq!(scalar_i64(db, segments).await, 1);
        exec_sql(
            db,
            "INSERT INTO member_search (member_search) VALUES ('integrity-check')",
        )
        .await;
    } else {
        assert_eq!(steps, 0, "nothing to merge on PostgreSQL");
    }
    for (search, found) in searches.iter().zip(&before) {
        assert_eq!(&listed(&app, search).await, found, "{search}");
    }
    app.add_member(ORG_SLUG, "grace@example.com", "Grace Hopper", Role::Member)
        .await;
    assert_eq!(listed(&app, "q=hopper").await, vec!["grace@example.com"]);
}

/// An instance admin deactivated the account: each of its organizations shows it so,
/// and offers only what frees or removes.
async fn a_deactivated_account_is_shown_as_such(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        "UPDATE users SET status = 'deactivated' WHERE email_normalized = 'bea@example.com'",
    )
    .await;

    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let row = texts(&page, "tbody tr")
        .into_iter()
        .find(|r| r.contains("bea@example.com"))
        .unwrap();
    assert!(row.contains("Account deactivated"), "{row}");
    assert!(!row.contains("Change role"), "{row}");
    assert!(row.contains("Remove"), "{row}");
    let token = app.create_token(ORG_SLUG, "audit").await;
    let (_, body) = app
        .api(
            reqwest::Method::GET,
            &token,
            &format!("/orgs/{ORG_SLUG}/members?q=bea"),
            None,
        )
        .await;
    assert_eq!(body["items"][0]["account_status"], "deactivated", "{body}");
    assert_eq!(body["items"][0]["status"], "active");
}

crate::on_both_backends!(
    a_deactivated_account_is_shown_as_such,
    members_page_lists_each_member_with_role_status_and_joined,
    members_page_paginates,
    next_and_previous_walk_every_order_without_losing_a_row,
    someone_in_several_organizations_gets_a_switcher,
    an_inactive_membership_does_not_open_the_organization,
    members_page_searches_filters_and_sorts,
    an_htmx_search_gets_only_the_results,
    last_active_is_recorded_at_most_once_a_minute,
    a_renamed_member_is_found_and_sorted_by_the_new_name,
    the_merged_search_index_finds_what_it_found_before,
);
