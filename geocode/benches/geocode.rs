//! Address search benchmark: index build time and memory, per-keystroke
//! latency, and match rates on the extract's own addresses (exact, with one
//! typo injected, and held back from the index so their position must be
//! interpolated).
//!
//! `cargo bench -p ruta-geocode --bench geocode`; `RUTA_BENCH_GEOCODE_COPIES=N`
//! also builds a city-sized index of N renamed, shifted copies of the extract
//! (default 50) and times typing into it.

use std::time::Instant;

use ruta_domain::GeoPoint;
use ruta_geocode::AddressIndex;
use ruta_geocode::extract::RawExtract;
use ruta_geocode::text::HouseNumber;

const PBF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/osm/Helsinki.osm.pbf");

/// SplitMix64: the same typos on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One typo in the street part: a transposition, a missing, an extra or a wrong letter.
fn typo(rng: &mut Rng, street: &str) -> String {
    let chars: Vec<char> = street.chars().collect();
    let letters: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_alphabetic())
        .collect();
    let mut c = chars.clone();
    let at = letters[rng.below(letters.len())];
    match rng.below(4) {
        0 if at + 1 < c.len() && c[at + 1].is_alphabetic() => c.swap(at, at + 1),
        1 => {
            c.remove(at);
        }
        2 => c.insert(at, (b'a' + rng.below(26) as u8) as char),
        _ => {
            let mut r = (b'a' + rng.below(26) as u8) as char;
            if r == c[at].to_ascii_lowercase() {
                r = if r == 'z' { 'a' } else { (r as u8 + 1) as char };
            }
            c[at] = r;
        }
    }
    c.into_iter().collect()
}

/// Distinct (street, number) pairs of the extract with a parsable number.
fn samples(raw: &RawExtract) -> Vec<(String, String, GeoPoint)> {
    let mut out: Vec<(String, String, GeoPoint)> = Vec::new();
    for a in &raw.addresses {
        if HouseNumber::parse(&a.housenumber).is_none() {
            continue;
        }
        if !out
            .iter()
            .any(|(s, n, _)| *s == a.street && *n == a.housenumber)
        {
            out.push((a.street.clone(), a.housenumber.clone(), a.point));
        }
    }
    out
}

/// The top answer is on the street (spelt as the extract does, case aside)
/// at the same house number (`14-20` is 14, `16 B` is `16b`).
fn hit(index: &AddressIndex, query: &str, street: &str, number: &str) -> bool {
    let want = HouseNumber::parse(number);
    index.search(query, 1).first().is_some_and(|s| {
        s.street.as_deref().map(str::to_lowercase) == Some(street.to_lowercase())
            && s.housenumber.as_deref().and_then(HouseNumber::parse) == want
    })
}

/// A renamed, shifted copy of the extract, `k` of them: a city-sized index.
fn copies(raw: &RawExtract, k: usize) -> RawExtract {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ra", "su", "te", "vo", "ha", "ne", "pi", "jo", "ku", "li", "ma", "sa",
        "to",
    ];
    let mut out = RawExtract::default();
    for i in 0..k {
        let prefix = format!(
            "{}{}{}",
            SYLLABLES[i % 16],
            SYLLABLES[(i / 16) % 16],
            SYLLABLES[(i * 7 + 3) % 16]
        );
        let rename = |s: &str| format!("{prefix}{}", s.to_lowercase());
        let shift = |p: GeoPoint| GeoPoint {
            lat: p.lat + 0.02 * (i / 10) as f64,
            lon: p.lon + 0.04 * (i % 10) as f64,
        };
        for a in &raw.addresses {
            let mut a = a.clone();
            a.street = rename(&a.street);
            a.point = shift(a.point);
            a.source = format!("{}{i}", a.source);
            out.addresses.push(a);
        }
        for s in &raw.streets {
            let mut s = s.clone();
            s.name = rename(&s.name);
            s.other_names = s.other_names.iter().map(|n| rename(n)).collect();
            s.lines = s
                .lines
                .iter()
                .map(|l| l.iter().map(|p| shift(*p)).collect())
                .collect();
            out.streets.push(s);
        }
        for p in &raw.places {
            let mut p = p.clone();
            p.name = rename(&p.name);
            p.point = shift(p.point);
            p.street = p.street.as_deref().map(rename);
            out.places.push(p);
        }
    }
    out
}

/// Types each query a character at a time; milliseconds per keystroke.
fn keystrokes(index: &AddressIndex, queries: &[String]) -> Vec<f64> {
    let mut ms = Vec::new();
    for q in queries {
        let chars: Vec<char> = q.chars().collect();
        for n in 1..=chars.len() {
            let typed: String = chars[..n].iter().collect();
            let t = Instant::now();
            std::hint::black_box(index.search(&typed, 8));
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    ms.sort_by(f64::total_cmp);
    ms
}

fn main() {
    let bytes =
        std::fs::read(PBF).unwrap_or_else(|e| panic!("{PBF}: {e} (run scripts/fetch-osm.sh)"));
    let before = rss();
    let t = Instant::now();
    let raw = RawExtract::from_pbf(&bytes).expect("extract");
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let index = AddressIndex::from_extract(raw.clone());
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let grown = rss().saturating_sub(before);
    println!(
        "extract {} KB: read {read_ms:.1} ms, index {build_ms:.1} ms, RSS +{:.1} MiB; {:?}",
        bytes.len() / 1000,
        grown as f64 / 1048576.0,
        index.stats()
    );

    let all = samples(&raw);
    let mut rng = Rng(20_261_202);
    let (mut exact, mut one_typo, mut typo_n) = (0usize, 0usize, 0usize);
    for (street, number, _) in &all {
        let ok = hit(&index, &format!("{street} {number}"), street, number);
        if !ok && std::env::var_os("RUTA_BENCH_MISSES").is_some() {
            eprintln!(
                "miss {street:?} {number:?} -> {:?}",
                index
                    .search(&format!("{street} {number}"), 1)
                    .first()
                    .map(|s| (&s.label, s.housenumber.clone()))
            );
        }
        exact += usize::from(ok);
        // Streets of 4+ letters: shorter ones are matched exactly by design.
        if street.chars().filter(|c| c.is_alphabetic()).count() >= 4 {
            typo_n += 1;
            let q = format!("{} {number}", typo(&mut rng, street));
            one_typo += usize::from(hit(&index, &q, street, number));
        }
    }
    println!(
        "top-1 on the extract's {} addresses: exact {:.1} % ({exact}), one typo {:.1} % ({one_typo} of {typo_n})",
        all.len(),
        100.0 * exact as f64 / all.len() as f64,
        100.0 * one_typo as f64 / typo_n as f64
    );

    // Held back: every 10th address left out of the index; found when the
    // top answer is on its street within 50 m of where it really is.
    let held: Vec<&(String, String, GeoPoint)> = all.iter().step_by(10).collect();
    let mut rest = raw.clone();
    rest.addresses.retain(|a| {
        !held
            .iter()
            .any(|(s, n, _)| *s == a.street && *n == a.housenumber)
    });
    let partial = AddressIndex::from_extract(rest);
    let (mut within, mut kinds) = (0usize, [0usize; 4]);
    let mut errors: Vec<f64> = Vec::new();
    for (street, number, point) in &held {
        let Some(top) = partial
            .search(&format!("{street} {number}"), 1)
            .into_iter()
            .next()
        else {
            continue;
        };
        kinds[top.kind as usize] += 1;
        if top.street.as_deref() == Some(street.as_str()) {
            let d = top.point.distance_m(*point);
            errors.push(d);
            within += usize::from(d <= 50.0);
        }
    }
    errors.sort_by(f64::total_cmp);
    println!(
        "held back {}: on the street within 50 m {:.1} % ({within}); answers address/interpolated/place/street {:?}; error p50 {:.0} m, p90 {:.0} m",
        held.len(),
        100.0 * within as f64 / held.len() as f64,
        kinds,
        percentile(&errors, 0.5),
        percentile(&errors, 0.9)
    );

    let queries: Vec<String> = all
        .iter()
        .step_by(3)
        .map(|(s, n, _)| format!("{s} {n}"))
        .collect();
    let ms = keystrokes(&index, &queries);
    println!(
        "per keystroke ({} keystrokes): p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.95),
        ms.last().copied().unwrap_or(0.0)
    );

    // A 100,000-row import's addresses: every extract address in turn, one in
    // three with a typo, each resolved to one position (what CSV import does).
    let rows = 100_000;
    let mut rng = Rng(7);
    let inputs: Vec<String> = (0..rows)
        .map(|i| {
            let (street, number, _) = &all[i % all.len()];
            match i % 3 {
                0 => format!("{} {number}", typo(&mut rng, street)),
                _ => format!("{street} {number}, Helsinki"),
            }
        })
        .collect();
    let t = Instant::now();
    let mut found = 0usize;
    for q in &inputs {
        found += usize::from(matches!(index.geocode(q), ruta_geocode::Geocoded::Found(_)));
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "geocode {rows} import rows: {:.2} s, {:.0} rows/s, found {:.1} %",
        secs,
        rows as f64 / secs,
        100.0 * found as f64 / rows as f64
    );

    let k: usize = std::env::var("RUTA_BENCH_GEOCODE_COPIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    if k > 1 {
        let big_raw = copies(&raw, k);
        let before = rss();
        let t = Instant::now();
        let big = AddressIndex::from_extract(big_raw.clone());
        let build_ms = t.elapsed().as_secs_f64() * 1e3;
        let grown = rss().saturating_sub(before);
        let queries: Vec<String> = big_raw
            .addresses
            .iter()
            .step_by(97)
            .take(300)
            .map(|a| format!("{} {}", a.street, a.housenumber))
            .collect();
        let ms = keystrokes(&big, &queries);
        println!(
            "{k} copies: {:?}; index {build_ms:.0} ms, RSS +{:.1} MiB; per keystroke ({}) p50 {:.3} ms, p95 {:.3} ms, max {:.3} ms",
            big.stats(),
            grown as f64 / 1048576.0,
            ms.len(),
            percentile(&ms, 0.5),
            percentile(&ms, 0.95),
            ms.last().copied().unwrap_or(0.0)
        );
    }
}
