//! Import parsing on good and bad files: encodings, delimiters, quotes, columns,
//! one bad row among many good ones; time and money formats; export safety.

use super::*;

const HEADER: &str =
    "customer_name,pickup_address,dropoff_address,parcels,cod,priority,window_start,window_end";

fn good_row(k: usize) -> String {
    format!(
        "Customer {k},Kaivokatu {k},\"Bulevardi {k}, A 3\",2,12.50,high,2026-11-22T14:00:00+02:00,2026-11-22T16:00:00+02:00"
    )
}

fn parse(text: &[u8]) -> Parsed {
    parse_orders(text, |_, _| {})
}

#[test]
fn a_good_file_parses_every_row_with_its_fields() {
    let text = format!("{HEADER}\n{}\n{}\n", good_row(1), good_row(2));
    let p = parse(text.as_bytes());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.total, 2);
    let (line, o) = &p.rows[1];
    assert_eq!(*line, 3);
    assert_eq!(o.dropoff_address, "Bulevardi 2, A 3");
    assert_eq!(o.parcels, Some(2));
    assert_eq!(o.cod_cents, 1250);
    assert_eq!(o.priority, Priority::High);
    let (s, e) = o.dropoff_window.unwrap();
    assert_eq!(e - s, 2 * 3600 * 1000);
    assert_eq!(s, parse_time("2026-11-22T12:00:00Z").unwrap());
}

#[test]
fn semicolons_bom_and_any_column_order() {
    let text = "\u{FEFF}Dropoff_Address;customer_name;pickup_address;cod\nFredrikinkatu 32;Björn Öhman;Kaivokatu 1;3,75\n";
    let p = parse(text.as_bytes());
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.rows[0].1.customer_name, "Björn Öhman");
    assert_eq!(p.rows[0].1.cod_cents, 375);
}

#[test]
fn a_latin1_row_is_named_not_guessed() {
    let mut bytes = format!("{HEADER}\n{}\n", good_row(1)).into_bytes();
    bytes.extend_from_slice(b"Bj\xF6rn,Kaivokatu 1,Bulevardi 2,1,,,,\n");
    let p = parse(&bytes);
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.errors.len(), 1);
    let e = &p.errors[0];
    assert_eq!((e.line, e.column.as_deref()), (3, Some("customer_name")));
    assert!(
        e.message.contains("UTF-8") && e.message.contains("0xf6"),
        "{}",
        e.message
    );
    let p = parse(b"\xFF\xFEc\x00");
    assert!(p.errors[0].message.contains("UTF-16"));
}

#[test]
fn wrong_columns_are_reported_on_line_1() {
    let p = parse(b"customer_name,pickup_address\nA,B\n");
    assert_eq!(p.errors[0].line, 1);
    assert!(
        p.errors[0].message.contains("dropoff_address"),
        "{:?}",
        p.errors
    );
    assert!(p.rows.is_empty());
    let p = parse(b"customer_name,pickup_address,dropoff_address,colour\nA,B,C,red\n");
    assert!(
        p.errors[0].message.contains("unknown columns [\"colour\"]"),
        "{:?}",
        p.errors
    );
}

#[test]
fn quotes_field_counts_and_values_get_line_and_column() {
    let text = format!(
        "{HEADER}\n\
         \"Quoted \"\"name\"\"\",\"Kaivokatu 1\nsecond line\",Bulevardi 1,1,,,,\n\
         Short row,Kaivokatu 1\n\
         Bad parcels,Kaivokatu 1,Bulevardi 1,two,,,,\n\
         Bad cod,Kaivokatu 1,Bulevardi 1,1,12.345,,,\n\
         Bad priority,Kaivokatu 1,Bulevardi 1,1,,asap,,\n\
         Half window,Kaivokatu 1,Bulevardi 1,1,,,2026-11-22T14:00:00Z,\n\
         Backwards,Kaivokatu 1,Bulevardi 1,1,,,2026-11-22T14:00:00Z,2026-11-22T13:00:00Z\n\
         ,Kaivokatu 1,Bulevardi 1,1,,,,\n"
    );
    let p = parse(text.as_bytes());
    assert_eq!(p.rows.len(), 1, "{:?}", p.errors);
    assert_eq!(p.rows[0].1.customer_name, "Quoted \"name\"");
    assert_eq!(p.rows[0].1.pickup_address, "Kaivokatu 1\nsecond line");
    let found: Vec<(u64, Option<&str>)> = p
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![
            (4, None),
            (5, Some("parcels")),
            (6, Some("cod")),
            (7, Some("priority")),
            (8, Some("window_end")),
            (9, Some("window_end")),
            (10, Some("customer_name")),
        ]
    );
    assert!(
        p.errors[0].message.contains("expected 8 fields"),
        "{}",
        p.errors[0].message
    );
}

#[test]
fn one_bad_row_among_ten_thousand_good_ones() {
    let mut text = String::from(HEADER);
    text.push('\n');
    for k in 0..10_000 {
        if k == 6_543 {
            text.push_str("Broken,Kaivokatu 1,Bulevardi 1,1,,,,,extra\n");
        } else {
            text.push_str(&good_row(k));
            text.push('\n');
        }
    }
    let mut calls = 0;
    let p = parse_orders(text.as_bytes(), |done, total| {
        calls += 1;
        assert!(done <= total);
    });
    assert_eq!(p.total, 10_000);
    assert_eq!(p.rows.len(), 9_999);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].line, 6_545);
    assert!(calls >= 2, "progress reported during the parse");
}

#[test]
fn an_unclosed_quote_is_caught() {
    let text = format!(
        "{HEADER}\n{}\n\"Unclosed,Kaivokatu 1,Bulevardi 1,1,,,,\n{}\n",
        good_row(1),
        good_row(2)
    );
    let p = parse(text.as_bytes());
    // The open quote swallows the rest of the file into one field: the field count is wrong.
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].line, 3);
}

#[test]
fn times_and_money() {
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_time("2000-03-01T00:00:00Z"), Some(951_868_800_000));
    assert_eq!(
        parse_time("2026-11-22T14:00:00+02:00"),
        parse_time("2026-11-22T12:00:00Z")
    );
    assert_eq!(
        parse_time("2026-11-22T14:00Z"),
        parse_time("2026-11-22T14:00:00Z")
    );
    assert_eq!(parse_time("2026-11-22T14:00:00.250Z").unwrap() % 1000, 250);
    assert_eq!(parse_time("1763812800000"), Some(1_763_812_800_000));
    for bad in [
        "2026-13-01T00:00:00Z",
        "22.11.2026 14:00",
        "2026-11-22T14:00:00",
        "soon",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
    assert_eq!(money_cents("12"), Some(1200));
    assert_eq!(money_cents("12,5"), Some(1250));
    assert_eq!(money_cents("0.05"), Some(5));
    assert_eq!(money_cents("1.234"), None);
    assert_eq!(money_cents("1e3"), None);
}

#[test]
fn exported_cells_cannot_run_as_formulas() {
    let csv = write_csv(
        &["a", "b"],
        vec![vec![
            "=HYPERLINK(\"x\")".to_string(),
            "Björn, \"B\"".to_string(),
        ]],
    );
    let mut r = ::csv::Reader::from_reader(csv.as_bytes());
    let row = r.records().next().unwrap().unwrap();
    assert_eq!(&row[0], "'=HYPERLINK(\"x\")");
    assert_eq!(&row[1], "Björn, \"B\"");
    // Read back, the protection comes off; an apostrophe before anything else stays.
    for v in [
        "=HYPERLINK(\"x\")",
        "+358 40 111",
        "-5",
        "@home",
        "'quoted",
        "plain",
    ] {
        assert_eq!(unsafe_cell(&safe_cell(v)), v);
    }
    assert_eq!(unsafe_cell("'plain"), "'plain");
}
