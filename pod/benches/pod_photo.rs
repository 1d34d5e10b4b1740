//! POD photo processing speed: camera bytes -> the stored photo, on one core.
//!
//! Run: `cargo bench -p ruta-pod --bench pod_photo` (set `RUTA_BENCH_RUNS` for more
//! or fewer runs; default 15). Synthesises, in memory, a photo-like 12 MP JPEG
//! (4000×3000, quality 92, with an EXIF block carrying Orientation=6,
//! DateTimeOriginal, OffsetTimeOriginal and GPS, like a phone's; ~3.3 MB), a grainier
//! one (~10 MB) and a 12 MP PNG, runs `pod::photo::process` on each with the default
//! policy, and prints the median and p95 time (wall clock, and this thread's CPU time
//! where Linux reports it, which a busy machine inflates less) and the stored size.
//! The goal for the JPEG is <= 250 ms and <= 300 KB. `process` is single-threaded
//! (the `image` crate is built without rayon), so this is one core's time.

use std::time::{Duration, Instant};

use image::{ExtendedColorType, ImageEncoder};
use ruta_pod::photo::{PhotoPolicy, PodPhoto, process};

#[path = "../src/photo/fixtures.rs"]
mod fixtures;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// This thread's time on a CPU (Linux `schedstat`), so a busy machine's other work
/// does not count; `None` elsewhere.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        stat.split_whitespace().next()?.parse().ok()?,
    ))
}

fn measure(name: &str, input: &[u8], runs: usize) -> PodPhoto {
    let policy = PhotoPolicy::default();
    let first = process(input, &policy).expect("bench input processes");
    let (mut wall, mut cpu) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let (t, c) = (Instant::now(), thread_cpu());
        let photo = process(input, &policy).expect("bench input processes");
        wall.push(t.elapsed());
        if let (Some(c0), Some(c1)) = (c, thread_cpu()) {
            cpu.push(c1 - c0);
        }
        assert_eq!(photo.sha256, first.sha256, "processing is deterministic");
    }
    wall.sort();
    cpu.sort();
    let cpu_text = if cpu.is_empty() {
        String::new()
    } else {
        format!(
            "  cpu median {:>6.1} p95 {:>6.1}",
            percentile(&cpu, 0.5),
            percentile(&cpu, 0.95)
        )
    };
    println!(
        "{name:<34} in {:>7.0} KB  wall median {:>6.1} ms p95 {:>6.1}{cpu_text}  -> {}×{} {:.1} KB",
        input.len() as f64 / 1000.0,
        percentile(&wall, 0.5),
        percentile(&wall, 0.95),
        first.width,
        first.height,
        first.jpeg.len() as f64 / 1000.0,
    );
    first
}

fn main() {
    let runs: usize = std::env::var("RUTA_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let pixels = fixtures::photo_like(4000, 3000, 6, 0x5EED);
    let exif = fixtures::exif_tiff(&fixtures::ExifSpec {
        orientation: Some(6),
        date_time_original: Some("2026:05:04 14:03:21"),
        offset_time_original: Some("+03:00"),
        sub_sec_time_original: Some("25"),
        gps: Some((60.168_5, 24.941_2)),
    });
    let jpeg = fixtures::jpeg_with_exif(&pixels, 92, Some(exif));
    let photo = measure("12 MP JPEG q92 + EXIF (Orient. 6)", &jpeg, runs);
    assert_eq!(
        (photo.width, photo.height),
        (1200, 1600),
        "orientation applied"
    );
    assert!(
        photo.captured_at_ms.is_some() && photo.gps.is_some(),
        "EXIF read"
    );

    // A grainier photo (dim light, gravel): ~3× the entropy, a slower decode.
    let grainy = fixtures::photo_like(4000, 3000, 20, 0x5EED);
    let grainy_jpeg = fixtures::jpeg_with_exif(&grainy, 92, None);
    measure("12 MP JPEG q92, grainy (±20 noise)", &grainy_jpeg, runs);

    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(pixels.as_raw(), 4000, 3000, ExtendedColorType::Rgb8)
        .expect("encode PNG");
    measure("12 MP PNG (RGB 8-bit)", &png, runs.min(7));
}
