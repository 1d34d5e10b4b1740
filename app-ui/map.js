// The dispatcher's map: MapLibre GL JS over the offline basemap (vector tiles the device serves
// from data/tiles/helsinki.mbtiles, made by scripts/make-tiles.sh), with zones, orders coloured by
// status, live courier positions and the selected courier's run path.
//
// An ES module loaded by index.html before boot.js; it defines `window.rutaMap` at once and loads
// MapLibre (about 1.6 MB) only when a map is created. The wasm UI calls it through wasm-bindgen
// (js_namespace = rutaMap); every setter may be called before the map is ready: the data is kept
// and drawn when the style has loaded.
//
//   create(elementId, {center: [lon, lat], zoom})  -> Promise (also `ready`)
//   setOrders(FeatureCollection of points {id, status, reference, zone?})
//   setCouriers(FeatureCollection of points {id, name})
//   moveCouriers([{id, lon, lat}])                 a live position batch
//   setPath(LineString Feature | null)             the selected courier's run
//   setZones(FeatureCollection of polygons {id, name?})
//   filterZone(zoneId | null)                      orders of one zone only
//   onSelect(callback(kind, id))                   kind: 'order' | 'courier'
//   startDraw(ring | null, onChange(ring))         draw or edit a zone: a click adds a corner,
//                                                  a corner drags, a click on it removes it;
//                                                  ring: [[lon, lat], ...] (not closed)
//   stopDraw()                                     ends drawing; returns the ring
//   pin(elementId, {lon, lat} | null, onPick(lon, lat), {center})
//                                                  a small map of its own (address fields): a
//                                                  marker at the point; a click or a drag moves it
//   setPin(elementId, {lon, lat} | null)           moves (or hides) that map's marker
//   unpin(elementId)                               removes that small map
//   track(elementId, courier | null, dropoff | null) a small map following a parcel: the
//                                                  courier and the drop-off, both in view
//   ready                                          Promise: resolves when the map has loaded
//   statusColors                                   status -> colour, for legends
//
// Tiles come from the device host (`/tiles/{z}/{x}/{y}.pbf`) in a browser and from the Tauri
// shell's `rutatiles` URI scheme in the app. Text (street and place names, courier names) is drawn
// with local fonts (MapLibre 6 renders glyphs itself when the style has no glyphs URL), so no
// glyph server is needed. Map data © OpenStreetMap contributors (ODbL).

const ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';

export const statusColors = {
  pending: '#f59e0b',
  assigned: '#2563eb',
  picked_up: '#7c3aed',
  in_transit: '#0891b2',
  attempt_failed: '#dc2626',
  delivered: '#16a34a',
  cancelled: '#6b7280',
  returned: '#a16207',
  at_hub: '#17646b',
};

const EMPTY = { type: 'FeatureCollection', features: [] };

function tileUrl() {
  const tauri = window.__TAURI__ || window.__TAURI_INTERNALS__ || location.protocol === 'tauri:'
    || location.hostname === 'tauri.localhost';
  if (!tauri) return `${location.origin}/tiles/{z}/{x}/{y}.pbf`;
  // Windows and Android webviews reach custom schemes as http(s)://<scheme>.localhost.
  if (location.hostname === 'tauri.localhost') {
    return `${location.protocol}//rutatiles.localhost/{z}/{x}/{y}.pbf`;
  }
  return 'rutatiles://localhost/{z}/{x}/{y}.pbf';
}

function statusColorExpression() {
  const expr = ['match', ['get', 'status']];
  for (const [status, colour] of Object.entries(statusColors)) expr.push(status, colour);
  expr.push('#111827');
  return expr;
}

const FONT = ['sans-serif'];

export function style(tiles = tileUrl()) {
  const road = (cls) => ['==', ['get', 'class'], cls];
  const width = (base) => ['interpolate', ['exponential', 1.6], ['zoom'], 12, base * 0.4, 15, base * 1.5, 18, base * 5];
  const roadClasses = [
    ['path', '#ffffff', 1.2, [2, 2]],
    ['service', '#ffffff', 1.4],
    ['pedestrian', '#f3f4f6', 2.5],
    ['minor', '#ffffff', 3],
    ['tertiary', '#fff7d6', 4],
    ['secondary', '#fde68a', 5],
    ['primary', '#fcd34d', 6],
    ['trunk', '#fb923c', 7],
    ['motorway', '#f97316', 8],
  ];
  const layers = [
    { id: 'background', type: 'background', paint: { 'background-color': '#f2efe9' } },
    { id: 'landuse-other', type: 'fill', source: 'basemap', 'source-layer': 'landuse',
      filter: ['!', ['in', ['get', 'class'], ['literal', ['green', 'sand']]]],
      paint: { 'fill-color': '#e7e3dc' } },
    { id: 'landuse-green', type: 'fill', source: 'basemap', 'source-layer': 'landuse',
      filter: road('green'), paint: { 'fill-color': '#cde8c0' } },
    { id: 'landuse-sand', type: 'fill', source: 'basemap', 'source-layer': 'landuse',
      filter: road('sand'), paint: { 'fill-color': '#f5e9c6' } },
    { id: 'water', type: 'fill', source: 'basemap', 'source-layer': 'water',
      paint: { 'fill-color': '#a8d2f0' } },
    { id: 'waterway', type: 'line', source: 'basemap', 'source-layer': 'waterway',
      paint: { 'line-color': '#a8d2f0', 'line-width': 2 } },
    { id: 'building', type: 'fill', source: 'basemap', 'source-layer': 'building', minzoom: 14,
      paint: { 'fill-color': '#d9d0c9', 'fill-outline-color': '#c8bcb3' } },
    // Road casings, then fills, minor to major so major roads are on top.
    ...roadClasses.filter(([cls]) => cls !== 'path').map(([cls, , w]) => ({
      id: `road-${cls}-casing`, type: 'line', source: 'basemap', 'source-layer': 'roads',
      filter: road(cls), layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#c7bfb5', 'line-width': width(w + 1.5) },
    })),
    ...roadClasses.map(([cls, colour, w, dash]) => ({
      id: `road-${cls}`, type: 'line', source: 'basemap', 'source-layer': 'roads',
      filter: road(cls), layout: { 'line-cap': dash ? 'butt' : 'round', 'line-join': 'round' },
      paint: { 'line-color': dash ? '#b8aa9a' : colour, 'line-width': width(w),
        ...(dash ? { 'line-dasharray': dash } : {}) },
    })),
    { id: 'railway', type: 'line', source: 'basemap', 'source-layer': 'railway',
      paint: { 'line-color': '#9ca3af', 'line-width': 1.2 } },
    { id: 'road-names', type: 'symbol', source: 'basemap', 'source-layer': 'roads', minzoom: 15,
      filter: ['all', ['has', 'name'], ['!=', ['get', 'class'], 'path']],
      layout: { 'symbol-placement': 'line', 'text-field': ['get', 'name'], 'text-font': FONT,
        'text-size': 11 },
      paint: { 'text-color': '#4b5563', 'text-halo-color': '#ffffff', 'text-halo-width': 1.2 } },
    { id: 'place-names', type: 'symbol', source: 'basemap', 'source-layer': 'place',
      layout: { 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 13 },
      paint: { 'text-color': '#374151', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 } },

    // Ruta's own layers.
    { id: 'zones-fill', type: 'fill', source: 'zones',
      paint: { 'fill-color': '#6366f1', 'fill-opacity': 0.08 } },
    { id: 'zones-line', type: 'line', source: 'zones',
      paint: { 'line-color': '#4f46e5', 'line-width': 1.5, 'line-dasharray': [3, 2] } },
    { id: 'draft-fill', type: 'fill', source: 'draft', filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': '#f59e0b', 'fill-opacity': 0.18 } },
    { id: 'draft-line', type: 'line', source: 'draft', filter: ['!=', ['geometry-type'], 'Point'],
      paint: { 'line-color': '#d97706', 'line-width': 2.5 } },
    { id: 'draft-corners', type: 'circle', source: 'draft', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-color': '#ffffff', 'circle-radius': 6,
        'circle-stroke-color': '#d97706', 'circle-stroke-width': 2.5 } },
    { id: 'path', type: 'line', source: 'path', layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#1d4ed8', 'line-width': 4, 'line-opacity': 0.8 } },
    { id: 'orders', type: 'circle', source: 'orders',
      paint: { 'circle-color': statusColorExpression(),
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 3, 15, 6, 18, 9],
        'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 } },
    { id: 'couriers', type: 'circle', source: 'couriers',
      paint: { 'circle-color': '#111827', 'circle-radius': 7,
        'circle-stroke-color': '#facc15', 'circle-stroke-width': 2.5 } },
    { id: 'courier-names', type: 'symbol', source: 'couriers', minzoom: 14,
      layout: { 'text-field': ['get', 'name'], 'text-font': FONT, 'text-size': 11,
        'text-offset': [0, 1.3], 'text-anchor': 'top', 'text-optional': true },
      paint: { 'text-color': '#111827', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 } },
  ];
  return {
    version: 8,
    name: 'Ruta offline basemap',
    sources: {
      basemap: { type: 'vector', tiles: [tiles], minzoom: 10, maxzoom: 14, attribution: ATTRIBUTION },
      zones: { type: 'geojson', data: EMPTY, promoteId: 'id' },
      orders: { type: 'geojson', data: EMPTY, promoteId: 'id' },
      couriers: { type: 'geojson', data: EMPTY, promoteId: 'id' },
      path: { type: 'geojson', data: EMPTY },
      draft: { type: 'geojson', data: EMPTY },
    },
    layers,
  };
}

// --- state kept across create() calls, drawn once the style is loaded ---

let maplibre = null;
let map = null;
let loaded = false;
let resolveReady;
let ready = new Promise((r) => { resolveReady = r; });
const selectCallbacks = [];
const data = { orders: EMPTY, couriers: EMPTY, zones: EMPTY, path: null };
const courierFeatures = new Map(); // id -> Feature (the couriers source's current data)
let zoneFilter = null;

async function loadMapLibre() {
  if (maplibre) return maplibre;
  if (!document.querySelector('link[data-maplibre]')) {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = new URL('./maplibre-gl.css', import.meta.url).href;
    css.dataset.maplibre = '';
    document.head.appendChild(css);
  }
  const mod = await import('./maplibre-gl.mjs');
  // Set explicitly: MapLibre only guesses the worker's URL on http(s) pages, not tauri://.
  mod.setWorkerUrl(new URL('./maplibre-gl-worker.mjs', import.meta.url).href);
  maplibre = mod;
  return mod;
}

function source(id) {
  return loaded ? map.getSource(id) : null;
}

function applyZoneFilter() {
  if (!loaded) return;
  const zone = zoneFilter == null ? null : String(zoneFilter);
  map.setFilter('orders', zone == null ? null : ['==', ['to-string', ['get', 'zone']], zone]);
  for (const layer of ['zones-fill', 'zones-line']) {
    map.setFilter(layer, zone == null ? null : ['==', ['to-string', ['get', 'id']], zone]);
  }
}

// --- drawing a zone: the corners being drawn, and who hears of changes ---

let draft = null; // { ring: [[lon, lat]], onChange, dragging: index | null }

function draftData() {
  if (!draft) return EMPTY;
  const ring = draft.ring;
  const features = ring.map((p, i) => ({
    type: 'Feature', properties: { i }, geometry: { type: 'Point', coordinates: p },
  }));
  if (ring.length >= 3) {
    features.unshift({ type: 'Feature', properties: {},
      geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] } });
  } else if (ring.length === 2) {
    features.unshift({ type: 'Feature', properties: {},
      geometry: { type: 'LineString', coordinates: ring } });
  }
  return { type: 'FeatureCollection', features };
}

function redrawDraft(changed) {
  source('draft')?.setData(draftData());
  if (changed && draft) draft.onChange?.(draft.ring.map((p) => [...p]));
}

function cornerAt(point) {
  if (!loaded || !draft) return null;
  const hit = map.queryRenderedFeatures(
    [[point.x - 8, point.y - 8], [point.x + 8, point.y + 8]], { layers: ['draft-corners'] });
  return hit.length ? hit[0].properties.i : null;
}

function wireDrawing(m) {
  m.on('mousedown', (e) => {
    const i = cornerAt(e.point);
    if (i == null) return;
    e.preventDefault();
    draft.dragging = i;
    draft.moved = false;
    m.dragPan.disable();
  });
  m.on('mousemove', (e) => {
    if (!draft) return;
    m.getCanvas().style.cursor = cornerAt(e.point) != null ? 'move' : 'crosshair';
    if (draft.dragging == null) return;
    draft.ring[draft.dragging] = [e.lngLat.lng, e.lngLat.lat];
    draft.moved = true;
    redrawDraft(false);
  });
  m.on('mouseup', () => {
    if (!draft || draft.dragging == null) return;
    const moved = draft.moved;
    draft.dragging = null;
    m.dragPan.enable();
    if (moved) {
      draft.justDragged = true;
      redrawDraft(true);
    }
  });
  m.on('click', (e) => {
    if (!draft) return;
    if (draft.justDragged) { draft.justDragged = false; return; }
    const i = cornerAt(e.point);
    if (i != null) draft.ring.splice(i, 1);
    else draft.ring.push([e.lngLat.lng, e.lngLat.lat]);
    redrawDraft(true);
  });
}

/** Starts drawing (ring null) or editing a zone's corners; `onChange(ring)` after each change. */
export function startDraw(ring, onChange) {
  draft = { ring: (ring ?? []).map((p) => [...p]), onChange, dragging: null };
  redrawDraft(false);
  if (loaded && draft.ring.length >= 3 && maplibre) {
    const bounds = new maplibre.LngLatBounds();
    for (const p of draft.ring) bounds.extend(p);
    map.fitBounds(bounds, { padding: 60, duration: 0 });
  }
}

/** Ends drawing; returns the ring drawn. */
export function stopDraw() {
  const ring = draft ? draft.ring.map((p) => [...p]) : [];
  draft = null;
  redrawDraft(false);
  if (loaded) map.getCanvas().style.cursor = '';
  return ring;
}

function drawAll() {
  source('orders')?.setData(data.orders);
  source('couriers')?.setData(data.couriers);
  source('zones')?.setData(data.zones);
  source('path')?.setData(data.path ?? EMPTY);
  source('draft')?.setData(draftData());
  applyZoneFilter();
}

/** Creates the map in the element with id `elementId`; resolves when it has loaded. */
export async function create(elementId, { center = [24.9445, 60.1712], zoom = 14 } = {}) {
  const ml = await loadMapLibre();
  if (map) {
    map.remove();
    map = null;
    loaded = false;
    ready = new Promise((r) => { resolveReady = r; });
  }
  const container = document.getElementById(elementId);
  if (!container) throw new Error(`rutaMap.create: no element #${elementId}`);
  map = new ml.Map({
    container,
    style: style(),
    center,
    zoom,
    minZoom: 10,
    maxZoom: 19,
    attributionControl: false,
    // Lets a test read the canvas back (screenshots, pixel checks).
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new ml.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new ml.AttributionControl({ compact: false }), 'bottom-right');
  const clicked = (kind) => (e) => {
    const id = e.features?.[0]?.properties?.id;
    if (id != null) for (const cb of selectCallbacks) cb(kind, id);
  };
  map.on('click', 'orders', (e) => { if (!draft) clicked('order')(e); });
  map.on('click', 'couriers', (e) => { if (!draft) clicked('courier')(e); });
  wireDrawing(map);
  for (const layer of ['orders', 'couriers']) {
    map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
  }
  const created = map;
  await new Promise((resolve) => created.once('load', resolve));
  if (map !== created) return ready; // replaced while loading
  loaded = true;
  drawAll();
  resolveReady(map);
  return map;
}

/** Orders: points with properties {id, status, reference, zone?}. */
export function setOrders(featureCollection) {
  data.orders = featureCollection ?? EMPTY;
  source('orders')?.setData(data.orders);
}

/** Couriers: points with properties {id, name}. */
export function setCouriers(featureCollection) {
  data.couriers = featureCollection ?? EMPTY;
  courierFeatures.clear();
  for (const f of data.couriers.features) courierFeatures.set(f.properties?.id, f);
  source('couriers')?.setData(data.couriers);
}

/**
 * Applies a batch of live positions [{id, lon, lat}]: one incremental update of the couriers
 * source (only the moved features are re-indexed), not a new data set. Unknown ids are ignored.
 */
export function moveCouriers(batch) {
  const update = [];
  for (const { id, lon, lat } of batch) {
    const feature = courierFeatures.get(id);
    if (!feature) continue;
    feature.geometry = { type: 'Point', coordinates: [lon, lat] };
    update.push({ id, newGeometry: feature.geometry });
  }
  if (update.length === 0) return;
  const src = source('couriers');
  if (!src) return;
  if (typeof src.updateData === 'function') src.updateData({ update });
  else src.setData(data.couriers);
}

/** The selected courier's run as a LineString Feature, or null to clear it. */
export function setPath(feature) {
  data.path = feature ?? null;
  source('path')?.setData(data.path ?? EMPTY);
}

/** Zones: polygons with properties {id, name?}. */
export function setZones(featureCollection) {
  data.zones = featureCollection ?? EMPTY;
  source('zones')?.setData(data.zones);
}

/** Shows only the orders (and outline) of one zone, fitting the view to it; null shows all. */
export function filterZone(zoneId) {
  zoneFilter = zoneId ?? null;
  applyZoneFilter();
  if (!loaded || zoneFilter == null || !maplibre) return;
  const zone = data.zones.features.find((f) => String(f.properties?.id) === String(zoneFilter));
  if (!zone) return;
  const bounds = new maplibre.LngLatBounds();
  const rings = zone.geometry.type === 'MultiPolygon'
    ? zone.geometry.coordinates.flat() : zone.geometry.coordinates;
  for (const ring of rings) for (const p of ring) bounds.extend(p);
  map.fitBounds(bounds, { padding: 40, duration: 0 });
}

/** Calls `callback(kind, id)` when an order ('order') or a courier ('courier') is clicked. */
export function onSelect(callback) {
  selectCallbacks.push(callback);
}

/** Resolves on the map's next `idle` (everything requested is drawn). */
export function idle() {
  return ready.then((m) => new Promise((resolve) => {
    m.once('idle', resolve);
    m.triggerRepaint();
  }));
}

/** Small maps of their own (an address field's position), by element id. */
const pins = new Map();

/** A small map in `elementId` with a marker at `point` ({lon, lat} or null); a click on the map
 * or a drag of the marker moves it and calls `onPick(lon, lat)`. */
export async function pin(elementId, point, onPick, { center = [24.9445, 60.1712] } = {}) {
  const ml = await loadMapLibre();
  unpin(elementId);
  const container = document.getElementById(elementId);
  if (!container) throw new Error(`rutaMap.pin: no element #${elementId}`);
  const at = point ? [point.lon, point.lat] : center;
  const m = new ml.Map({
    container, style: style(), center: at, zoom: point ? 16 : 13, minZoom: 10, maxZoom: 19,
    attributionControl: false, canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  m.addControl(new ml.AttributionControl({ compact: true }), 'bottom-right');
  const marker = new ml.Marker({ color: '#c0392b', draggable: true }).setLngLat(at);
  if (point) marker.addTo(m);
  const entry = { map: m, marker, shown: !!point };
  pins.set(elementId, entry);
  const place = (lngLat) => {
    marker.setLngLat(lngLat);
    if (!entry.shown) { marker.addTo(m); entry.shown = true; }
    onPick?.(lngLat.lng, lngLat.lat);
  };
  m.on('click', (e) => place(e.lngLat));
  marker.on('dragend', () => place(marker.getLngLat()));
  await new Promise((resolve) => m.once('load', resolve));
  return m;
}

/** Moves the marker of the small map in `elementId` (null hides it). */
export function setPin(elementId, point) {
  const entry = pins.get(elementId);
  if (!entry) return;
  if (!point) { entry.marker.remove(); entry.shown = false; return; }
  entry.marker.setLngLat([point.lon, point.lat]);
  if (!entry.shown) { entry.marker.addTo(entry.map); entry.shown = true; }
  entry.map.jumpTo({ center: [point.lon, point.lat], zoom: Math.max(entry.map.getZoom(), 16) });
}

/** Removes the small map in `elementId`. */
export function unpin(elementId) {
  const entry = pins.get(elementId);
  if (entry) { entry.map.remove(); pins.delete(elementId); }
}

/** A small map in `elementId` following a parcel: the courier (blue) and the drop-off (red), both
 * in view. Called again, it moves the markers; `unpin(elementId)` removes it. */
export async function track(elementId, courier, dropoff) {
  const ml = await loadMapLibre();
  const ll = (p) => [p.lon, p.lat];
  let entry = pins.get(elementId);
  if (!entry || !entry.courier) {
    unpin(elementId);
    const container = document.getElementById(elementId);
    if (!container) throw new Error(`rutaMap.track: no element #${elementId}`);
    const first = courier ?? dropoff;
    const m = new ml.Map({
      container, style: style(), center: first ? ll(first) : [24.9445, 60.1712], zoom: 14,
      minZoom: 10, maxZoom: 18, attributionControl: false, interactive: true,
      canvasContextAttributes: { preserveDrawingBuffer: true },
    });
    m.addControl(new ml.AttributionControl({ compact: true }), 'bottom-right');
    entry = {
      map: m,
      marker: new ml.Marker({ color: '#c0392b' }),
      courier: new ml.Marker({ color: '#1f4fa8' }),
      loaded: new Promise((resolve) => m.once('load', resolve)),
    };
    pins.set(elementId, entry);
  }
  const points = [];
  for (const [marker, p] of [[entry.courier, courier], [entry.marker, dropoff]]) {
    if (p) { marker.setLngLat(ll(p)).addTo(entry.map); points.push(ll(p)); } else marker.remove();
  }
  if (points.length === 2) {
    const b = new ml.LngLatBounds(points[0], points[0]);
    b.extend(points[1]);
    entry.map.fitBounds(b, { padding: 36, maxZoom: 16, duration: 0 });
  } else if (points.length === 1) {
    entry.map.jumpTo({ center: points[0], zoom: 15 });
  }
  await entry.loaded;
  return entry.map;
}

window.rutaMap = {
  pin, setPin, unpin, track,
  create, setOrders, setCouriers, moveCouriers, setPath, setZones, filterZone, onSelect, idle,
  startDraw, stopDraw, style, statusColors,
  get ready() { return ready; },
  /** The corners being drawn ([[lon, lat]]), or null: for tests. */
  get draft() { return draft ? draft.ring.map((p) => [...p]) : null; },
  /** The MapLibre map, for tests and benchmarks. */
  get map() { return map; },
};
