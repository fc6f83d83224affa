//! My files finds things (issue 23): search by name, every sort paged by its own key, the
//! count and size of what matches, a question before a rename to a name another file has,
//! and `find_same_file` for the upload page. Another user's files answer like missing ones;
//! made-up sorts and cursors answer 400 with the reason, never 5xx.

use serde_json::Value;

use crate::{
    helpers::TestApp,
    upload::{app, id},
};

const MIB: usize = 1024 * 1024;

/// `list_files` with these fields: its status and answer.
async fn list(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    app.json("/api/list_files", form).await
}

fn names(page: &Value) -> Vec<String> {
    page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Every file a search and sort lists, page after page by `next_cursor`: (name, id) each.
async fn all_pages(app: &TestApp, name: &str, sort: &str) -> Vec<(String, String)> {
    let mut listed = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut form = vec![("name", name), ("sort", sort)];
        if !cursor.is_empty() {
            form.push(("cursor", cursor.as_str()));
        }
        let (status, page) = list(app, &form).await;
        assert_eq!(status, 200, "{sort}: {page}");
        for file in page["files"].as_array().unwrap() {
            listed.push((
                file["name"].as_str().unwrap().to_owned(),
                file["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return listed,
        }
        assert!(listed.len() < 1000, "{sort}: the pages never end");
    }
}

/// Starts an upload of `size` bytes named `name` (listed, as uploading); its id.
pub(crate) async fn started(app: &TestApp, name: &str, size: usize) -> String {
    let (status, started) = app.start(name, size, "").await;
    assert_eq!(status, 200, "{name}: {started}");
    id(&started)
}

/// Uploads `size` bytes as `name`, for real, and completes it; its id.
pub(crate) async fn uploaded(app: &TestApp, name: &str, size: usize) -> String {
    let file_id = started(app, name, size).await;
    let bytes = crate::helpers::test_bytes(size, size as u64);
    app.upload_parts(&file_id, &bytes, 5 * MIB, None).await;
    let (status, file) = app.complete(&file_id).await;
    assert_eq!(status, 200, "{file}");
    file_id
}

#[tokio::test]
async fn search_finds_substrings_ignoring_case_and_takes_wildcards_literally() {
    let app = app().await;
    app.signed_up_user().await;
    // Three stored, two still uploading: all are listed, the stored ones counted.
    uploaded(&app, "Report 2024.pdf", 100).await;
    uploaded(&app, "report_final.txt", 20).await;
    uploaded(&app, "other.bin", 5).await;
    started(&app, "reportXfinal.txt", 3).await;
    started(&app, "100% done.txt", 4).await;
    // Someone else's report never shows, nor counts.
    let other = app.other_browser();
    other.signed_up_user().await;
    uploaded(&other, "report of someone else.pdf", 7).await;

    let (status, page) = list(&app, &[("name", "REPORT"), ("sort", "name")]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        names(&page),
        ["Report 2024.pdf", "report_final.txt", "reportXfinal.txt"]
    );
    assert_eq!(page["matching_files"], 2);
    assert_eq!(page["matching_bytes"], 120);
    // "_" and "%" are themselves, not LIKE's wildcards.
    let (_, page) = list(&app, &[("name", "t_f")]).await;
    assert_eq!(names(&page), ["report_final.txt"]);
    let (_, page) = list(&app, &[("name", "0% ")]).await;
    assert_eq!(names(&page), ["100% done.txt"]);
    assert_eq!(page["matching_files"], 0);
    let (_, page) = list(&app, &[("name", "nothing like it")]).await;
    assert_eq!(names(&page), Vec::<String>::new());
    assert_eq!(page["matching_files"], 0);
    assert_eq!(page["matching_bytes"], 0);
    // No search: every file listed, newest first; the stored ones counted. The fields may
    // be left out, as before.
    let (status, page) = list(&app, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        names(&page),
        [
            "100% done.txt",
            "reportXfinal.txt",
            "other.bin",
            "report_final.txt",
            "Report 2024.pdf"
        ]
    );
    assert_eq!(page["matching_files"], 3);
    assert_eq!(page["matching_bytes"], 125);
}

#[tokio::test]
async fn every_sort_pages_through_every_file_once_in_its_order() {
    let app = app().await;
    app.signed_up_user().await;
    // 55 files (two pages), whose names, sizes and times all run in different orders, with
    // ties in size and names that differ only in case.
    let mut made = Vec::new();
    for n in 0..53_usize {
        let name = format!(
            "{}{:02}.bin",
            if n % 2 == 0 { "F" } else { "f" },
            (n * 17) % 53
        );
        let size = (n * 29) % 53 / 2 + 1;
        made.push((name.clone(), size, started(&app, &name, size).await));
    }
    for name in ["Same.bin", "same.bin"] {
        made.push((name.to_owned(), 9, started(&app, name, 9).await));
    }
    let named = |files: &[(String, usize, String)]| -> Vec<(String, String)> {
        files
            .iter()
            .map(|(name, _, id)| (name.clone(), id.clone()))
            .collect()
    };
    // Ids as text sort as PostgreSQL sorts uuids (lower-case hex, hyphens in fixed places).
    let mut by_name = made.clone();
    by_name.sort_by(|a, b| (a.0.to_lowercase(), &a.2).cmp(&(b.0.to_lowercase(), &b.2)));
    let mut by_size = made.clone();
    by_size.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
    let oldest = named(&made);
    let reversed = |mut v: Vec<(String, String)>| {
        v.reverse();
        v
    };
    for (sort, expected) in [
        ("", reversed(oldest.clone())),
        ("newest", reversed(oldest.clone())),
        ("oldest", oldest.clone()),
        ("name", named(&by_name)),
        ("name_desc", reversed(named(&by_name))),
        ("smallest", named(&by_size)),
        ("largest", reversed(named(&by_size))),
    ] {
        assert_eq!(all_pages(&app, "", sort).await, expected, "sort {sort:?}");
    }
    // A search pages in its sort too: "f0" is f00.bin to f09.bin, whatever the case.
    let searched: Vec<String> = all_pages(&app, "F0", "name")
        .await
        .into_iter()
        .map(|(name, _)| name.to_lowercase())
        .collect();
    let expected: Vec<String> = (0..10).map(|n| format!("f{n:02}.bin")).collect();
    assert_eq!(searched, expected);
}

#[tokio::test]
async fn made_up_sorts_cursors_and_names_answer_400_with_the_reason() {
    let app = app().await;
    app.signed_up_user().await;
    for n in 0..51 {
        started(&app, &format!("g{n:02}.bin"), 1).await;
    }
    let (_, page) = list(&app, &[("sort", "name")]).await;
    let name_cursor = page["next_cursor"].as_str().unwrap().to_owned();
    assert!(name_cursor.starts_with("g49.bin_"), "{name_cursor}");
    let (_, page) = list(&app, &[("sort", "largest")]).await;
    let size_cursor = page["next_cursor"].as_str().unwrap().to_owned();

    let (status, body) = list(&app, &[("sort", "sideways")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["BadRequest"]
            .as_str()
            .unwrap()
            .contains("unknown sort \"sideways\""),
        "{body}"
    );
    let some_id = uuid_of(&size_cursor);
    let before_time = format!("{}_{some_id}", i64::MIN);
    let with_nul = format!("a\0b_{some_id}");
    for (sort, cursor) in [
        ("name", "garbage"),
        ("newest", "garbage"),
        ("largest", "12_not-a-uuid"),
        // A name sort's cursor is no size.
        ("largest", name_cursor.as_str()),
        // A time no database holds.
        ("newest", before_time.as_str()),
        // NUL, which PostgreSQL refuses in text.
        ("name", with_nul.as_str()),
    ] {
        let (status, body) = list(&app, &[("sort", sort), ("cursor", cursor)]).await;
        assert_eq!(status, 400, "{sort} {cursor:?}: {body}");
        assert_eq!(body["BadRequest"], "invalid cursor", "{sort} {cursor:?}");
    }
    let (status, body) = list(&app, &[("name", "a\0b")]).await;
    assert_eq!(status, 400, "{body}");
    // A cursor that could have been handed out, for a name sort: a sane page, not an error.
    let handed_out_maybe = format!("g25_{some_id}");
    let (status, page) = list(
        &app,
        &[("sort", "name"), ("cursor", handed_out_maybe.as_str())],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["files"][0]["name"], "g25.bin");
}

/// The id at the end of a cursor.
fn uuid_of(cursor: &str) -> String {
    cursor.rsplit_once('_').unwrap().1.to_owned()
}

#[tokio::test]
async fn renaming_to_a_name_another_file_has_asks_first() {
    let app = app().await;
    app.signed_up_user().await;
    started(&app, "Other.txt", 1).await;
    let mine = started(&app, "mine.txt", 1).await;
    // Another user's file of that name is none of this user's business.
    let stranger = app.other_browser();
    stranger.signed_up_user().await;
    started(&stranger, "theirs.txt", 1).await;

    let rename = async |name: &str, anyway: Option<&str>| {
        let mut form = vec![("file_id", mine.as_str()), ("name", name)];
        if let Some(anyway) = anyway {
            form.push(("anyway", anyway));
        }
        app.json("/api/rename_file", &form).await
    };
    // Ignoring case, as macOS would once both are downloaded: the existing name is said.
    let (status, body) = rename("other.TXT", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body, serde_json::json!({ "NameTaken": "Other.txt" }));
    let (_, page) = list(&app, &[("sort", "name")]).await;
    assert_eq!(names(&page), ["mine.txt", "Other.txt"]);
    let (status, body) = rename("other.TXT", Some("false")).await;
    assert_eq!(status, 409, "{body}");

    // Its own name, in another case, and a name only a stranger has: no question.
    assert_eq!(rename("Mine.txt", None).await.0, 200);
    assert_eq!(rename("theirs.txt", None).await.0, 200);

    // Asked and answered: the rename goes through, and both files keep their names.
    let (status, body) = rename("Other.txt", Some("true")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Other.txt");
    let (_, page) = list(&app, &[("name", "other")]).await;
    assert_eq!(names(&page), ["Other.txt", "Other.txt"]);
}

#[tokio::test]
async fn find_same_file_finds_only_the_callers_complete_file_of_that_name_and_size() {
    let app = app().await;
    let find = async |app: &TestApp, name: &str, size: &str| {
        app.json("/api/find_same_file", &[("name", name), ("size", size)])
            .await
    };
    assert_eq!(find(&app, "x.bin", "1").await.0, 401);
    app.signed_up_user().await;
    let done = uploaded(&app, "same.bin", 1000).await;
    // The same name and size, still uploading: not a copy yet.
    started(&app, "half.bin", 1000).await;
    let stranger = app.other_browser();
    stranger.signed_up_user().await;
    uploaded(&stranger, "theirs.bin", 10).await;

    let (status, found) = find(&app, "same.bin", "1000").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["id"], done.as_str());
    assert_eq!(found["status"], "complete");
    assert_eq!(found["size_bytes"], 1000);
    // Trimmed as a new upload's name is.
    assert_eq!(
        find(&app, " same.bin ", "1000").await.1["id"],
        done.as_str()
    );
    for (name, size) in [
        ("same.bin", "1001"),
        ("Same.bin", "1000"),
        ("half.bin", "1000"),
        ("theirs.bin", "10"),
        ("a\0b", "1000"),
        ("", "1000"),
    ] {
        let (status, found) = find(&app, name, size).await;
        assert_eq!((status, found), (200, Value::Null), "{name:?} {size}");
    }
    for size in ["-1", "lots", "99999999999999999999999"] {
        let (status, body) = find(&app, "same.bin", size).await;
        assert!((400..500).contains(&status), "{size}: {status} {body}");
    }
    assert_eq!(
        find(&stranger, "same.bin", "1000").await,
        (200, Value::Null)
    );
}
