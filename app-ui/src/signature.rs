//! The signature pad: pointer strokes on a canvas, kept as vectors (points with
//! times) — the core stores and renders them; the canvas only shows the ink.

use app_api::{SignatureInput, StrokePoint};
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

pub const PAD_W: f32 = 400.0;
pub const PAD_H: f32 = 180.0;

/// A signature pad writing into `strokes`.
#[component]
pub fn SignaturePad(strokes: RwSignal<Vec<Vec<StrokePoint>>>) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let drawing = RwSignal::new(false);
    let started = RwSignal::new(0.0f64);

    let ctx2d = move || -> Option<web_sys::CanvasRenderingContext2d> {
        canvas
            .get()?
            .get_context("2d")
            .ok()??
            .dyn_into::<web_sys::CanvasRenderingContext2d>()
            .ok()
    };
    let point = move |ev: &web_sys::PointerEvent| -> Option<StrokePoint> {
        let el = canvas.get()?;
        let rect = el.get_bounding_client_rect();
        let sx = PAD_W as f64 / rect.width().max(1.0);
        let sy = PAD_H as f64 / rect.height().max(1.0);
        let now = js_sys::Date::now();
        if strokes.with_untracked(|s| s.is_empty()) && !drawing.get_untracked() {
            started.set(now);
        }
        Some(StrokePoint {
            x: ((ev.client_x() as f64 - rect.left()) * sx) as f32,
            y: ((ev.client_y() as f64 - rect.top()) * sy) as f32,
            t_ms: (now - started.get_untracked()).max(0.0) as u32,
        })
    };
    let down = move |ev: web_sys::PointerEvent| {
        ev.prevent_default();
        let Some(p) = point(&ev) else { return };
        drawing.set(true);
        strokes.update(|s| s.push(vec![p]));
        if let Some(c) = ctx2d() {
            c.begin_path();
            c.move_to(p.x as f64, p.y as f64);
        }
    };
    let moved = move |ev: web_sys::PointerEvent| {
        if !drawing.get_untracked() {
            return;
        }
        let Some(p) = point(&ev) else { return };
        strokes.update(|s| {
            if let Some(last) = s.last_mut() {
                last.push(p);
            }
        });
        if let Some(c) = ctx2d() {
            c.set_line_width(3.0);
            c.set_line_cap("round");
            c.set_stroke_style_str("#141830");
            c.line_to(p.x as f64, p.y as f64);
            c.stroke();
        }
    };
    let up = move |_| drawing.set(false);
    let clear = move |_| {
        strokes.set(Vec::new());
        if let Some(c) = ctx2d() {
            c.clear_rect(0.0, 0.0, PAD_W as f64, PAD_H as f64);
        }
    };
    view! {
        <div class="sigpad">
            <canvas id="signature-pad" node_ref=canvas width=PAD_W as u32 height=PAD_H as u32
                on:pointerdown=down on:pointermove=moved on:pointerup=up on:pointerleave=up>
            </canvas>
            <button type="button" class="ghost" id="signature-clear" on:click=clear>"Clear"</button>
        </div>
    }
}

/// The strokes as the core's signature input (`None` when nothing was drawn).
pub fn input(strokes: &[Vec<StrokePoint>]) -> Option<SignatureInput> {
    (!strokes.is_empty()).then(|| SignatureInput {
        width: PAD_W,
        height: PAD_H,
        strokes: strokes.to_vec(),
    })
}
