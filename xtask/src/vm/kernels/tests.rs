use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn newest_plain_image_of_the_series_is_chosen() {
    let n = names(&[
        "linux-image-6.1.0-54-amd64",
        "linux-image-6.1.0-56-amd64-unsigned",
        "linux-image-6.1.0-56-amd64",
        "linux-image-6.1.0-56-rt-amd64",
        "linux-image-6.1.0-56-cloud-amd64",
        "linux-image-6.1.0-56-amd64-dbg",
        "linux-image-6.12.117+deb12-amd64",
        "linux-image-amd64",
    ]);
    assert_eq!(
        newest_image(&n, "6.1").as_deref(),
        Some("linux-image-6.1.0-56-amd64")
    );
    assert_eq!(
        newest_image(&n, "6.12").as_deref(),
        Some("linux-image-6.12.117+deb12-amd64")
    );
    assert_eq!(newest_image(&n, "5.10"), None);
}

#[test]
fn unsigned_image_is_taken_when_it_is_the_only_one() {
    let n = names(&[
        "linux-image-5.10.0-31-amd64",
        "linux-image-5.10.0-32-amd64-unsigned",
    ]);
    assert_eq!(
        newest_image(&n, "5.10").as_deref(),
        Some("linux-image-5.10.0-32-amd64-unsigned")
    );
}

#[test]
fn version_order_is_numeric() {
    let n = names(&[
        "linux-image-6.12.9+deb13-amd64",
        "linux-image-6.12.117+deb13-amd64",
    ]);
    assert_eq!(
        newest_image(&n, "6.12").as_deref(),
        Some("linux-image-6.12.117+deb13-amd64")
    );
}

#[test]
fn sid_names_with_a_deb_suffix_are_read() {
    let n = names(&[
        "linux-image-7.2.13+deb14-amd64",
        "linux-image-7.2.13+deb14-amd64-unsigned",
        "linux-image-7.2.9+deb14-amd64",
        "linux-image-7.2.13+deb14-rt-amd64",
        "linux-image-7.1.8+deb14-amd64",
    ]);
    assert_eq!(
        newest_image(&n, "7.2").as_deref(),
        Some("linux-image-7.2.13+deb14-amd64")
    );
    assert_eq!(spec("7.2").map(|k| k.suite), Some("sid"));
}

#[test]
fn mirror_comes_from_deb822_main_suite_not_security() {
    let text = "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n\
                Types: deb\n# http://snapshot.example/x\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n";
    let entries = parse_deb822(text);
    assert_eq!(entries.len(), 2);
    assert_eq!(
        pick_mirror(&entries, Some("bookworm")).as_deref(),
        Some("http://mirror.example/debian")
    );
}

#[test]
fn mirror_comes_from_one_line_sources() {
    let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] https://m.example/debian trixie main\ndeb https://m.example/debian-security trixie-security main\n";
    let entries = parse_one_line(text);
    assert_eq!(
        pick_mirror(&entries, None).as_deref(),
        Some("https://m.example/debian")
    );
}

#[test]
fn disabled_and_non_deb_stanzas_are_ignored() {
    let text = "Types: deb-src\nURIs: http://a.example/debian\nSuites: bookworm\n\nTypes: deb\nEnabled: no\nURIs: http://b.example/debian\nSuites: bookworm\n";
    assert_eq!(pick_mirror(&parse_deb822(text), Some("bookworm")), None);
}
