//! VROOM's problem and solution JSON, so a tool written for VROOM (or
//! vroom-express) can hand its body to Ruta and read the answer back.
//!
//! Read: `jobs` (delivery or pickup amounts, service, setup, skills, priority,
//! one time window), `shipments` (pickup and delivery steps, amount, skills,
//! priority), `vehicles` (start/end by coordinates or index, capacity, skills,
//! working hours, profile), and either a custom `matrices` block (`durations`,
//! optional `distances`, per profile; the legacy top-level `matrix` too) or
//! `[lon, lat]` coordinates, which are timed by the straight-line estimate
//! ([`StraightLine`], the profile's average speed). Written: `code`, `summary`,
//! `unassigned` (with a `reason`, which VROOM does not give) and `routes` with
//! `steps` (`type`, `arrival`, `duration`, `service`, `waiting_time`, `load`,
//! `id`, `location` / `location_index` as given, `distance` when known).
//!
//! What VROOM accepts but this solver cannot honour is refused, never silently
//! dropped: breaks, several time windows per task, `max_tasks`,
//! `max_travel_time`, `max_distance`, `speed_factor`, vehicle `costs`, a
//! `costs` matrix, more than two amount dimensions, more than 64 distinct
//! skills, several profiles in one problem, a job with both delivery and
//! pickup amounts. Setup time is added to service time (VROOM skips it for a
//! task at the previous task's location). Vehicle `steps` (a starting route in
//! VROOM's solving mode) are ignored. Every error names the field with a JSON
//! pointer (RFC 6901): `/jobs/3/location: expected [lon, lat]`.
//!
//! Pure: text in, values out; the caller reads files and sockets.

// Amounts are small fixed arrays indexed by dimension, as in `vrp`.
#![allow(clippy::needless_range_loop)]

use serde::Serialize;
use serde_json::{Map, Value};

use ruta_domain::GeoPoint;
use ruta_domain::fleet::VehicleKind;

use super::rng::Budget;
use super::vrp::{self, DIMS, Job, JobKind, OPEN, Problem, Task, Vehicle};
use super::{Matrix, StraightLine};

/// A field that could not be read, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct VroomError {
    /// JSON pointer to the field (`""` = the whole document).
    pub pointer: String,
    pub message: String,
}

fn err<T>(pointer: &str, message: impl Into<String>) -> Result<T, VroomError> {
    Err(VroomError {
        pointer: pointer.to_string(),
        message: message.into(),
    })
}

/// VROOM's answer to an input error: `{"code": 2, "error": "..."}`.
pub fn error_output(e: &VroomError) -> Value {
    serde_json::json!({"code": 2, "error": e.to_string()})
}

/// Where a task or vehicle end is, as the input gave it (echoed in the output).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Place {
    index: usize,
    coords: Option<[f64; 2]>,
    given_index: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
struct TaskInfo {
    id: u64,
    kind: &'static str,
    place: Place,
    description: Option<String>,
    service: i64,
}

#[derive(Clone, Debug, PartialEq)]
struct VehicleInfo {
    id: u64,
    description: Option<String>,
    start: Option<Place>,
    end: Option<Place>,
}

/// A VROOM problem translated to the solver's model, with what is needed to
/// answer in VROOM's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct VroomProblem {
    pub problem: Problem,
    /// Per solver job: the VROOM tasks (one for a job, pickup + delivery for a shipment).
    tasks: Vec<Vec<TaskInfo>>,
    /// Per solver job: the VROOM amounts as given (for `load`, `delivery`, `pickup`).
    dims: usize,
    vehicles: Vec<VehicleInfo>,
    has_distances: bool,
    priorities: Vec<u32>,
}

// ---------------------------------------------------------------------------
// Reading.

fn obj<'a>(v: &'a Value, ptr: &str) -> Result<&'a Map<String, Value>, VroomError> {
    v.as_object()
        .map_or_else(|| err(ptr, "expected an object"), Ok)
}

fn arr<'a>(m: &'a Map<String, Value>, ptr: &str, key: &str) -> Result<&'a [Value], VroomError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => err(&format!("{ptr}/{key}"), "expected an array"),
    }
}

fn int(m: &Map<String, Value>, ptr: &str, key: &str) -> Result<Option<i64>, VroomError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(x) if x >= 0 => Ok(Some(x)),
            _ => err(&format!("{ptr}/{key}"), "expected a non-negative integer"),
        },
    }
}

fn id(m: &Map<String, Value>, ptr: &str) -> Result<u64, VroomError> {
    match int(m, ptr, "id")? {
        Some(x) => Ok(x as u64),
        None => err(&format!("{ptr}/id"), "required"),
    }
}

fn text(m: &Map<String, Value>, ptr: &str, key: &str) -> Result<Option<String>, VroomError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => err(&format!("{ptr}/{key}"), "expected a string"),
    }
}

fn coords(v: &Value, ptr: &str) -> Result<[f64; 2], VroomError> {
    let bad = || err(ptr, "expected [lon, lat]");
    let Some(a) = v.as_array() else { return bad() };
    if a.len() != 2 {
        return bad();
    }
    let (Some(lon), Some(lat)) = (a[0].as_f64(), a[1].as_f64()) else {
        return bad();
    };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return err(ptr, format!("[{lon}, {lat}] is not [lon, lat] on Earth"));
    }
    Ok([lon, lat])
}

fn amounts(m: &Map<String, Value>, ptr: &str, key: &str) -> Result<Vec<i64>, VroomError> {
    let p = format!("{ptr}/{key}");
    let a = arr(m, ptr, key)?;
    if a.len() > DIMS {
        return err(
            &p,
            format!("{} dimensions; at most {DIMS} are supported", a.len()),
        );
    }
    a.iter()
        .enumerate()
        .map(|(i, x)| match x.as_i64() {
            Some(x) if x >= 0 => Ok(x),
            _ => err(&format!("{p}/{i}"), "expected a non-negative integer"),
        })
        .collect()
}

fn pad(a: &[i64]) -> [i64; DIMS] {
    let mut out = [0; DIMS];
    out[..a.len()].copy_from_slice(a);
    out
}

fn window(v: &Value, ptr: &str) -> Result<(i64, i64), VroomError> {
    let bad = || err(ptr, "expected [start, end] in seconds");
    let Some(a) = v.as_array() else { return bad() };
    let (Some(s), Some(e)) = (
        a.first().and_then(Value::as_i64),
        a.get(1).and_then(Value::as_i64),
    ) else {
        return bad();
    };
    if a.len() != 2 || s < 0 {
        return bad();
    }
    if e < s {
        return err(ptr, "window ends before it starts");
    }
    Ok((s, e))
}

fn windows(m: &Map<String, Value>, ptr: &str) -> Result<(i64, i64), VroomError> {
    let a = arr(m, ptr, "time_windows")?;
    match a.len() {
        0 => Ok((0, OPEN)),
        1 => window(&a[0], &format!("{ptr}/time_windows/0")),
        _ => err(
            &format!("{ptr}/time_windows"),
            "more than one time window per task is not supported",
        ),
    }
}

fn refuse(m: &Map<String, Value>, ptr: &str, keys: &[&str]) -> Result<(), VroomError> {
    for k in keys {
        if m.get(*k).is_some_and(|v| !v.is_null()) {
            return err(&format!("{ptr}/{k}"), "not supported by this solver");
        }
    }
    Ok(())
}

/// Skill values to bits, in order of first use.
#[derive(Default)]
struct Skills(Vec<i64>);

impl Skills {
    fn bits(&mut self, m: &Map<String, Value>, ptr: &str) -> Result<u64, VroomError> {
        let mut bits = 0u64;
        for (i, s) in arr(m, ptr, "skills")?.iter().enumerate() {
            let p = format!("{ptr}/skills/{i}");
            let Some(s) = s.as_i64() else {
                return err(&p, "expected an integer");
            };
            let bit = match self.0.iter().position(|&x| x == s) {
                Some(b) => b,
                None if self.0.len() < 64 => {
                    self.0.push(s);
                    self.0.len() - 1
                }
                None => return err(&p, "more than 64 distinct skills"),
            };
            bits |= 1 << bit;
        }
        Ok(bits)
    }
}

/// Locations as they are read: matrix indices, or coordinates to be timed.
enum Locations {
    Matrix { n: usize },
    Coords(Vec<GeoPoint>),
}

impl Locations {
    fn place(
        &mut self,
        m: &Map<String, Value>,
        ptr: &str,
        coord_key: &str,
        index_key: &str,
    ) -> Result<Option<Place>, VroomError> {
        let c = match m.get(coord_key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(coords(v, &format!("{ptr}/{coord_key}"))?),
        };
        let i = int(m, ptr, index_key)?.map(|i| i as usize);
        match self {
            Locations::Matrix { n } => match i {
                Some(i) if i < *n => Ok(Some(Place {
                    index: i,
                    coords: c,
                    given_index: Some(i),
                })),
                Some(i) => err(
                    &format!("{ptr}/{index_key}"),
                    format!("{i} is outside the {n} x {n} matrix"),
                ),
                None if c.is_some() => err(
                    &format!("{ptr}/{index_key}"),
                    "required with custom matrices",
                ),
                None => Ok(None),
            },
            Locations::Coords(points) => match c {
                Some([lon, lat]) => {
                    points.push(GeoPoint { lat, lon });
                    Ok(Some(Place {
                        index: points.len() - 1,
                        coords: c,
                        given_index: i,
                    }))
                }
                None if i.is_some() => err(
                    &format!("{ptr}/{index_key}"),
                    "an index needs a custom `matrices` block; give coordinates",
                ),
                None => Ok(None),
            },
        }
    }
}

fn square(v: &Value, ptr: &str) -> Result<(usize, Vec<u32>), VroomError> {
    let Some(rows) = v.as_array() else {
        return err(ptr, "expected an array of rows");
    };
    let n = rows.len();
    if n == 0 {
        return err(ptr, "empty matrix");
    }
    let mut out = Vec::with_capacity(n * n);
    for (i, r) in rows.iter().enumerate() {
        let Some(r) = r.as_array().filter(|r| r.len() == n) else {
            return err(
                &format!("{ptr}/{i}"),
                format!("expected a row of {n} integers"),
            );
        };
        for (j, x) in r.iter().enumerate() {
            match x.as_u64() {
                Some(x) if x <= u64::from(u32::MAX) => out.push(x as u32),
                _ => {
                    return err(&format!("{ptr}/{i}/{j}"), "expected a non-negative integer");
                }
            }
        }
    }
    Ok((n, out))
}

fn profile_kind(p: &str) -> VehicleKind {
    match p {
        "foot" | "walking" | "pedestrian" => VehicleKind::OnFoot,
        "bike" | "bicycle" | "cycling" => VehicleKind::Bicycle,
        _ => VehicleKind::Car,
    }
}

/// Reads VROOM's problem JSON.
pub fn parse(json: &str) -> Result<VroomProblem, VroomError> {
    let root: Value = serde_json::from_str(json).map_err(|e| VroomError {
        pointer: String::new(),
        message: format!("not JSON ({e})"),
    })?;
    let root = obj(&root, "")?;
    let vehicles_v = arr(root, "", "vehicles")?;
    if vehicles_v.is_empty() {
        return err("/vehicles", "at least one vehicle is required");
    }
    // One profile for the whole problem.
    let mut profile: Option<(String, usize)> = None;
    for (i, v) in vehicles_v.iter().enumerate() {
        let ptr = format!("/vehicles/{i}");
        let p = text(obj(v, &ptr)?, &ptr, "profile")?.unwrap_or_else(|| "car".into());
        match &profile {
            Some((q, _)) if *q != p => {
                return err(
                    &format!("{ptr}/profile"),
                    format!("{p:?} differs from {q:?}: one profile per problem is supported"),
                );
            }
            Some(_) => {}
            None => profile = Some((p, i)),
        }
    }
    let (profile, _) = profile.expect("at least one vehicle");

    let mut durations_dist: Option<(usize, Vec<u32>, Option<Vec<u32>>)> = None;
    if let Some(ms) = root.get("matrices").filter(|v| !v.is_null()) {
        let ms = obj(ms, "/matrices")?;
        let Some(pm) = ms.get(&profile) else {
            return err("/matrices", format!("no matrices for profile {profile:?}"));
        };
        let ptr = format!("/matrices/{profile}");
        let pm = obj(pm, &ptr)?;
        refuse(pm, &ptr, &["costs"])?;
        let Some(d) = pm.get("durations") else {
            return err(&format!("{ptr}/durations"), "required");
        };
        let (n, d) = square(d, &format!("{ptr}/durations"))?;
        let dist = match pm.get("distances") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let (n2, x) = square(v, &format!("{ptr}/distances"))?;
                if n2 != n {
                    return err(
                        &format!("{ptr}/distances"),
                        format!("{n2} x {n2}, but durations are {n} x {n}"),
                    );
                }
                Some(x)
            }
        };
        durations_dist = Some((n, d, dist));
    } else if let Some(m) = root.get("matrix").filter(|v| !v.is_null()) {
        let (n, d) = square(m, "/matrix")?;
        durations_dist = Some((n, d, None));
    }
    let mut locs = match &durations_dist {
        Some((n, _, _)) => Locations::Matrix { n: *n },
        None => Locations::Coords(vec![]),
    };

    let mut skills = Skills::default();
    let mut jobs = vec![];
    let mut tasks = vec![];
    let mut priorities = vec![];
    let mut dims = 0usize;
    let task_of = |locs: &mut Locations,
                   m: &Map<String, Value>,
                   ptr: &str,
                   kind: &'static str|
     -> Result<(Task, TaskInfo), VroomError> {
        let Some(place) = locs.place(m, ptr, "location", "location_index")? else {
            return match locs {
                Locations::Matrix { .. } => err(&format!("{ptr}/location_index"), "required"),
                Locations::Coords(_) => err(&format!("{ptr}/location"), "expected [lon, lat]"),
            };
        };
        refuse(m, ptr, &["setup_per_type", "service_per_type"])?;
        let service = int(m, ptr, "service")?.unwrap_or(0) + int(m, ptr, "setup")?.unwrap_or(0);
        let task = Task {
            location: place.index,
            service,
            window: windows(m, ptr)?,
        };
        let info = TaskInfo {
            id: id(m, ptr)?,
            kind,
            place,
            description: text(m, ptr, "description")?,
            service,
        };
        Ok((task, info))
    };
    let priority = |m: &Map<String, Value>, ptr: &str| -> Result<u32, VroomError> {
        match int(m, ptr, "priority")? {
            Some(p) if p > 100 => err(&format!("{ptr}/priority"), "expected 0..=100"),
            p => Ok(p.unwrap_or(0) as u32),
        }
    };

    let mut seen_ids = std::collections::HashSet::new();
    for (i, j) in arr(root, "", "jobs")?.iter().enumerate() {
        let ptr = format!("/jobs/{i}");
        let m = obj(j, &ptr)?;
        let (task, info) = task_of(&mut locs, m, &ptr, "job")?;
        if !seen_ids.insert(("job", info.id)) {
            return err(
                &format!("{ptr}/id"),
                format!("duplicate job id {}", info.id),
            );
        }
        let mut delivery = amounts(m, &ptr, "delivery")?;
        if delivery.is_empty() {
            delivery = amounts(m, &ptr, "amount")?;
        }
        let pickup = amounts(m, &ptr, "pickup")?;
        dims = dims.max(delivery.len()).max(pickup.len());
        let has = |a: &[i64]| a.iter().any(|&x| x > 0);
        let (kind, amount) = match (has(&delivery), has(&pickup)) {
            (true, true) => {
                return err(
                    &ptr,
                    "a job with both delivery and pickup amounts is not supported; use a shipment",
                );
            }
            (false, true) => (JobKind::Pickup { task }, pad(&pickup)),
            _ => (JobKind::Delivery { task }, pad(&delivery)),
        };
        let p = priority(m, &ptr)?;
        jobs.push(Job {
            kind,
            amount,
            skills: skills.bits(m, &ptr)?,
            priority: p,
            pinned: None,
        });
        tasks.push(vec![info]);
        priorities.push(p);
    }
    for (i, s) in arr(root, "", "shipments")?.iter().enumerate() {
        let ptr = format!("/shipments/{i}");
        let m = obj(s, &ptr)?;
        let mut step = |key: &str, kind: &'static str| {
            let p = format!("{ptr}/{key}");
            match m.get(key) {
                Some(v) => task_of(&mut locs, obj(v, &p)?, &p, kind),
                None => err(&p, "required"),
            }
        };
        let (pickup, pi) = step("pickup", "pickup")?;
        let (delivery, di) = step("delivery", "delivery")?;
        for (info, key) in [(&pi, "pickup"), (&di, "delivery")] {
            if !seen_ids.insert((info.kind, info.id)) {
                return err(
                    &format!("{ptr}/{key}/id"),
                    format!("duplicate {key} id {}", info.id),
                );
            }
        }
        let amount = amounts(m, &ptr, "amount")?;
        dims = dims.max(amount.len());
        let p = priority(m, &ptr)?;
        jobs.push(Job {
            kind: JobKind::Shipment { pickup, delivery },
            amount: pad(&amount),
            skills: skills.bits(m, &ptr)?,
            priority: p,
            pinned: None,
        });
        tasks.push(vec![pi, di]);
        priorities.push(p);
    }

    let mut vehicles = vec![];
    let mut infos = vec![];
    let mut needs_anywhere = vec![];
    let mut seen_vehicles = std::collections::HashSet::new();
    for (i, v) in vehicles_v.iter().enumerate() {
        let ptr = format!("/vehicles/{i}");
        let m = obj(v, &ptr)?;
        refuse(
            m,
            &ptr,
            &[
                "breaks",
                "max_tasks",
                "max_travel_time",
                "max_distance",
                "costs",
            ],
        )?;
        if m.get("speed_factor")
            .is_some_and(|s| s.as_f64() != Some(1.0) && !s.is_null())
        {
            return err(
                &format!("{ptr}/speed_factor"),
                "not supported by this solver",
            );
        }
        let vid = id(m, &ptr)?;
        if !seen_vehicles.insert(vid) {
            return err(&format!("{ptr}/id"), format!("duplicate vehicle id {vid}"));
        }
        let start = locs.place(m, &ptr, "start", "start_index")?;
        let end = locs.place(m, &ptr, "end", "end_index")?;
        if start.is_none() && end.is_none() {
            return err(&ptr, "a vehicle needs a start, an end or both");
        }
        let capacity = match m.get("capacity") {
            None | Some(Value::Null) => [OPEN; DIMS],
            Some(_) => {
                let c = amounts(m, &ptr, "capacity")?;
                dims = dims.max(c.len());
                let mut out = [OPEN; DIMS];
                out[..c.len()].copy_from_slice(&c);
                // Dimensions the vehicle leaves out hold nothing (as in VROOM,
                // where amounts and capacities have one length).
                for x in out.iter_mut().skip(c.len()) {
                    *x = 0;
                }
                out
            }
        };
        let shift = match m.get("time_window") {
            None | Some(Value::Null) => (0, OPEN),
            Some(w) => window(w, &format!("{ptr}/time_window"))?,
        };
        needs_anywhere.push(start.is_none());
        vehicles.push(Vehicle {
            start: start.map_or(usize::MAX, |p| p.index),
            end: end.map(|p| p.index),
            shift,
            capacity,
            skills: skills.bits(m, &ptr)?,
            fixed: vec![],
        });
        infos.push(VehicleInfo {
            id: vid,
            description: text(m, &ptr, "description")?,
            start,
            end,
        });
    }
    // The matrix; a vehicle without a start leaves from a point at no distance
    // from anywhere (its route starts at its first task, as in VROOM).
    let anywhere = needs_anywhere.iter().any(|&b| b);
    let (matrix, has_distances) = match (durations_dist, locs) {
        (Some((n, d, dist)), _) => {
            let has = dist.is_some();
            let dist = dist.unwrap_or_else(|| vec![0; n * n]);
            let m = if anywhere {
                let at = |v: &[u32], i: usize, j: usize| {
                    if i == n || j == n { 0 } else { v[i * n + j] }
                };
                Matrix::from_fn(n + 1, |i, j| (at(&d, i, j), at(&dist, i, j)))
            } else {
                Matrix::new(n, d, dist).map_err(|e| VroomError {
                    pointer: "/matrices".into(),
                    message: e,
                })?
            };
            (m, has)
        }
        (None, Locations::Coords(points)) => {
            let sl = StraightLine::for_vehicle(profile_kind(&profile));
            let n = points.len();
            let m = Matrix::from_fn(n + usize::from(anywhere), |i, j| {
                if i == n || j == n {
                    (0, 0)
                } else {
                    let (metres, secs) = sl.leg(points[i], points[j]);
                    (secs, metres)
                }
            });
            (m, true)
        }
        (None, Locations::Matrix { .. }) => unreachable!("matrix locations come with a matrix"),
    };
    let virtual_start = matrix.len() - 1;
    for (v, &any) in vehicles.iter_mut().zip(&needs_anywhere) {
        if any {
            v.start = virtual_start;
        }
    }
    let problem = Problem {
        matrix,
        vehicles,
        jobs,
        balance_weight: 0,
        warm_start: None,
    };
    problem.validate().map_err(|e| VroomError {
        pointer: String::new(),
        message: e.to_string(),
    })?;
    Ok(VroomProblem {
        problem,
        tasks,
        dims,
        vehicles: infos,
        has_distances,
        priorities,
    })
}

// ---------------------------------------------------------------------------
// Writing.

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Output {
    pub code: u8,
    pub summary: Summary,
    pub unassigned: Vec<Unassigned>,
    pub routes: Vec<Route>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub cost: i64,
    pub routes: usize,
    pub unassigned: usize,
    pub setup: i64,
    pub service: i64,
    pub duration: i64,
    pub waiting_time: i64,
    pub priority: u64,
    pub violations: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivery: Vec<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pickup: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<i64>,
    pub computing_times: ComputingTimes,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComputingTimes {
    pub loading: u64,
    pub solving: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unassigned {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_index: Option<usize>,
    /// Not in VROOM's output: `skills` (no vehicle has them), `capacity` (no
    /// vehicle can carry it), `time_window` (no vehicle reaches it in time even
    /// alone), or `no_room` (fits alone, not with the rest).
    pub reason: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Route {
    pub vehicle: u64,
    pub steps: Vec<Step>,
    pub cost: i64,
    pub setup: i64,
    pub service: i64,
    pub duration: i64,
    pub waiting_time: i64,
    pub priority: u64,
    pub violations: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivery: Vec<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pickup: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub arrival: i64,
    /// Travel time so far.
    pub duration: i64,
    pub setup: i64,
    pub service: i64,
    pub waiting_time: i64,
    pub violations: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// After the step; left out when the problem has no amounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance: Option<i64>,
}

impl VroomProblem {
    /// Solves and answers in VROOM's terms. `loading_ms` is reported as given.
    pub fn solve(&self, seed: u64, budget: Budget, loading_ms: u64) -> Output {
        let p = &self.problem;
        let sol = vrp::solve(p, seed, budget).expect("validated in parse");
        let dims = self.dims;
        let cut = |a: &[i64; DIMS]| a[..dims].to_vec();
        let mut routes = vec![];
        let (mut tot_service, mut tot_wait) = (0, 0);
        let mut tot_priority = 0u64;
        let (mut tot_delivery, mut tot_pickup) = (vec![0; dims], vec![0; dims]);
        for r in sol.routes.iter().filter(|r| !r.stops.is_empty()) {
            let v = &p.vehicles[r.vehicle];
            let info = &self.vehicles[r.vehicle];
            let m = &p.matrix;
            let mut load: [i64; DIMS] = [0; DIMS];
            let (mut delivery, mut pickup) = ([0i64; DIMS], [0i64; DIMS]);
            for st in &r.stops {
                let j = &p.jobs[st.job.expect("no fixed stops from VROOM input")];
                match j.kind {
                    JobKind::Delivery { .. } => {
                        for d in 0..DIMS {
                            load[d] += j.amount[d];
                            delivery[d] += j.amount[d];
                        }
                    }
                    JobKind::Pickup { .. } => {
                        for d in 0..DIMS {
                            pickup[d] += j.amount[d];
                        }
                    }
                    JobKind::Shipment { .. } if !st.delivery => {
                        for d in 0..DIMS {
                            pickup[d] += j.amount[d];
                            delivery[d] += j.amount[d];
                        }
                    }
                    JobKind::Shipment { .. } => {}
                }
            }
            let first = &r.stops[0];
            let start_place = info.start.or_else(|| {
                let job = first.job.expect("job stop");
                Some(self.tasks[job][usize::from(first.delivery)].place)
            });
            let depart = first.arrival - i64::from(m.time(v.start, first.location));
            let mut steps = vec![Step {
                kind: "start",
                arrival: depart,
                duration: 0,
                setup: 0,
                service: 0,
                waiting_time: 0,
                violations: vec![],
                description: None,
                location: start_place.and_then(|p| p.coords),
                location_index: start_place.and_then(|p| p.given_index),
                id: None,
                load: cut(&load),
                distance: self.has_distances.then_some(0),
            }];
            let (mut travel, mut dist, mut prev) = (0i64, 0i64, v.start);
            let (mut service, mut wait, mut priority) = (0i64, 0i64, 0u64);
            for st in &r.stops {
                let job = st.job.expect("job stop");
                let t = &self.tasks[job][usize::from(st.delivery)];
                travel += i64::from(m.time(prev, st.location));
                dist += i64::from(m.dist(prev, st.location));
                prev = st.location;
                service += t.service;
                wait += st.start - st.arrival;
                if t.kind != "delivery" {
                    priority += u64::from(self.priorities[job]);
                }
                steps.push(Step {
                    kind: t.kind,
                    arrival: st.arrival,
                    duration: travel,
                    setup: 0,
                    service: t.service,
                    waiting_time: st.start - st.arrival,
                    violations: vec![],
                    description: t.description.clone(),
                    location: t.place.coords,
                    location_index: t.place.given_index,
                    id: Some(t.id),
                    load: cut(&st.load),
                    distance: self.has_distances.then_some(dist),
                });
            }
            if let (Some(e), Some(place)) = (v.end, info.end) {
                travel += i64::from(m.time(prev, e));
                dist += i64::from(m.dist(prev, e));
                steps.push(Step {
                    kind: "end",
                    arrival: r.end_time,
                    duration: travel,
                    setup: 0,
                    service: 0,
                    waiting_time: 0,
                    violations: vec![],
                    description: None,
                    location: place.coords,
                    location_index: place.given_index,
                    id: None,
                    load: cut(&r.stops.last().expect("non-empty").load),
                    distance: self.has_distances.then_some(dist),
                });
            }
            tot_service += service;
            tot_wait += wait;
            tot_priority += priority;
            for d in 0..dims {
                tot_delivery[d] += delivery[d];
                tot_pickup[d] += pickup[d];
            }
            routes.push(Route {
                vehicle: info.id,
                steps,
                cost: travel,
                setup: 0,
                service,
                duration: travel,
                waiting_time: wait,
                priority,
                violations: vec![],
                delivery: cut(&delivery),
                pickup: cut(&pickup),
                description: info.description.clone(),
                distance: self.has_distances.then_some(dist),
            });
        }
        let mut unassigned = vec![];
        for &j in &sol.unassigned {
            let reason = self.reason(j);
            for t in &self.tasks[j] {
                unassigned.push(Unassigned {
                    id: t.id,
                    kind: t.kind,
                    description: t.description.clone(),
                    location: t.place.coords,
                    location_index: t.place.given_index,
                    reason,
                });
            }
        }
        let duration: i64 = routes.iter().map(|r| r.duration).sum();
        let distance: i64 = routes.iter().filter_map(|r| r.distance).sum();
        Output {
            code: 0,
            summary: Summary {
                cost: duration,
                routes: routes.len(),
                unassigned: unassigned.len(),
                setup: 0,
                service: tot_service,
                duration,
                waiting_time: tot_wait,
                priority: tot_priority,
                violations: vec![],
                delivery: tot_delivery,
                pickup: tot_pickup,
                distance: self.has_distances.then_some(distance),
                computing_times: ComputingTimes {
                    loading: loading_ms,
                    solving: sol.ms.round() as u64,
                },
            },
            unassigned,
            routes,
        }
    }

    /// Why job `j` was left out: the first rule no vehicle can meet even with
    /// the job alone on its route.
    fn reason(&self, j: usize) -> &'static str {
        let p = &self.problem;
        let job = &p.jobs[j];
        let skilled: Vec<&Vehicle> = p
            .vehicles
            .iter()
            .filter(|v| job.skills & !v.skills == 0)
            .collect();
        if skilled.is_empty() {
            return "skills";
        }
        let fits: Vec<&&Vehicle> = skilled
            .iter()
            .filter(|v| job.amount.iter().zip(&v.capacity).all(|(a, c)| a <= c))
            .collect();
        if fits.is_empty() {
            return "capacity";
        }
        let tasks: Vec<&Task> = match &job.kind {
            JobKind::Shipment { pickup, delivery } => vec![pickup, delivery],
            JobKind::Delivery { task } | JobKind::Pickup { task } => vec![task],
        };
        let alone = |v: &Vehicle| {
            let (mut loc, mut t) = (v.start, v.shift.0);
            for task in &tasks {
                let arrival = t + i64::from(p.matrix.time(loc, task.location));
                let start = arrival.max(task.window.0);
                if start > task.window.1 {
                    return false;
                }
                t = start + task.service;
                loc = task.location;
            }
            t + v.end.map_or(0, |e| i64::from(p.matrix.time(loc, e))) <= v.shift.1
        };
        if fits.iter().any(|v| alone(v)) {
            "no_room"
        } else {
            "time_window"
        }
    }
}

#[cfg(test)]
mod tests;
