//! The configuration document's rules: derivation, validation, and the
//! server's judgment of a peer's write.

use super::*;
use ruta_domain::hlc::HlcClock;
use ruta_domain::{DeviceId, UserId};

fn actor(user: &str, role: Role, device: &str) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(device),
    }
}

fn event(clock: &mut HlcClock, at: i64, who: &Actor, change: ConfigChange) -> ConfigEvent {
    ConfigEvent {
        at: clock.tick(at),
        actor: who.clone(),
        change,
    }
}

fn tariff(base: i64) -> ConfigChange {
    ConfigChange::SetTariff(Tariff {
        base_cents: base,
        ..Tariff::default()
    })
}

fn admin() -> (Actor, Principal) {
    let a = actor("boss", Role::Admin, "aa01");
    let p = Principal {
        user: a.user.clone(),
        role: a.role,
    };
    (a, p)
}

#[test]
fn the_latest_change_of_each_part_holds_and_history_names_its_authors() {
    let boss = actor("boss", Role::Admin, "aa01");
    let other = actor("ada", Role::Admin, "aa02");
    let mut c1 = HlcClock::new(node_of("aa01"));
    let mut c2 = HlcClock::new(node_of("aa02"));
    let profile = TenantProfile {
        company_name: "Kuriiri Oy".into(),
        ..TenantProfile::default()
    };
    let events = vec![
        event(&mut c1, 1_000, &boss, tariff(500)),
        event(
            &mut c2,
            2_000,
            &other,
            ConfigChange::SetProfile(profile.clone()),
        ),
        event(&mut c1, 3_000, &boss, tariff(700)),
    ];
    // Any order in, the same result out.
    let mut reversed = events.clone();
    reversed.reverse();
    let (config, history) = derive(&events);
    assert_eq!(derive(&reversed), (config.clone(), history.clone()));
    assert_eq!(config.tariff.base_cents, 700);
    assert_eq!(config.profile, profile);
    let names: Vec<_> = history
        .iter()
        .map(|h| (h.by.as_str(), h.change.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("boss", "set_tariff"),
            ("ada", "set_profile"),
            ("boss", "set_tariff")
        ]
    );
    // A forged change by a dispatcher is not part of the configuration.
    let disp = actor("d", Role::Dispatcher, "dd01");
    let mut c3 = HlcClock::new(node_of("dd01"));
    let mut forged = events.clone();
    forged.push(event(&mut c3, 9_000, &disp, tariff(1)));
    assert_eq!(derive(&forged).0.tariff.base_cents, 700);
}

#[test]
fn bad_values_name_their_field() {
    let cases = [
        (
            ConfigChange::SetTariff(Tariff {
                currency: "euro".into(),
                ..Tariff::default()
            }),
            "tariff.currency",
        ),
        (
            ConfigChange::SetTariff(Tariff {
                per_km_cents: -1,
                ..Tariff::default()
            }),
            "tariff.per_km_cents",
        ),
        (
            ConfigChange::SetTariff(Tariff {
                vat_bp: 10_001,
                ..Tariff::default()
            }),
            "tariff.vat_bp",
        ),
        (
            ConfigChange::SetProfile(TenantProfile {
                company_name: "  ".into(),
                ..TenantProfile::default()
            }),
            "profile.company_name",
        ),
        (
            ConfigChange::SetProfile(TenantProfile {
                time_zone: "Helsinki".into(),
                ..TenantProfile::default()
            }),
            "profile.time_zone",
        ),
        (
            ConfigChange::SetProfile(TenantProfile {
                invoice_prefix: "INV #".into(),
                ..TenantProfile::default()
            }),
            "profile.invoice_prefix",
        ),
    ];
    for (change, field) in cases {
        assert_eq!(validate(&change).unwrap_err().field, field);
    }
    assert!(validate(&tariff(0)).is_ok());
    assert!(validate(&ConfigChange::SetProfile(TenantProfile::default())).is_ok());
}

/// A document as the server creates it, and a peer's copy of it.
fn server_doc() -> (ConfigDoc, Vec<u8>) {
    let mut doc = ConfigDoc::create(&DeviceId::new("5e7e"), ConfigScope::Tenant).unwrap();
    let bytes = doc.save();
    (doc, bytes)
}

fn peer_copy(bytes: &[u8], device: &str) -> AutoCommit {
    let mut d = AutoCommit::load(bytes).unwrap();
    d.set_actor(actor_of(&DeviceId::new(device)));
    d
}

#[test]
fn the_guard_takes_an_admins_new_changes_and_nothing_else() {
    let (before, bytes) = server_doc();
    let (boss, who) = admin();
    let mut clock = HlcClock::new(node_of("aa01"));
    let mut peer = ConfigDoc::load(&bytes, &boss.device).unwrap();
    let e = event(&mut clock, 5_000, &boss, tariff(990));
    peer.append(&e).unwrap();
    let added = check_write(before.automerge(), peer.automerge(), &who).unwrap();
    assert_eq!(added, vec![e.clone()]);

    // A dispatcher's client writing the tariff is refused.
    let disp = actor("d", Role::Dispatcher, "dd01");
    let mut dc = HlcClock::new(node_of("dd01"));
    let mut theirs = ConfigDoc::load(&bytes, &disp.device).unwrap();
    theirs
        .append(&event(&mut dc, 5_000, &disp, tariff(1)))
        .unwrap();
    let as_disp = Principal {
        user: disp.user.clone(),
        role: Role::Dispatcher,
    };
    assert_eq!(
        check_write(before.automerge(), theirs.automerge(), &as_disp),
        Err(ConfigRefusal::NotAdmin)
    );
    // An admin claiming to be another admin, or stamping under another node.
    let mut forged = ConfigDoc::load(&bytes, &boss.device).unwrap();
    let ada = actor("ada", Role::Admin, "aa01");
    forged
        .append(&event(&mut clock, 6_000, &ada, tariff(2)))
        .unwrap();
    assert!(matches!(
        check_write(before.automerge(), forged.automerge(), &who),
        Err(ConfigRefusal::Impersonation { .. })
    ));
    let mut foreign = ConfigDoc::load(&bytes, &boss.device).unwrap();
    let mut other_clock = HlcClock::new(node_of("ffff"));
    foreign
        .append(&event(&mut other_clock, 6_000, &boss, tariff(2)))
        .unwrap();
    assert!(matches!(
        check_write(before.automerge(), foreign.automerge(), &who),
        Err(ConfigRefusal::ForeignKey { .. })
    ));
    // Invalid values.
    let mut bad = ConfigDoc::load(&bytes, &boss.device).unwrap();
    bad.append(&event(
        &mut clock,
        7_000,
        &boss,
        ConfigChange::SetTariff(Tariff {
            vat_bp: 99_999,
            ..Tariff::default()
        }),
    ))
    .unwrap();
    let refusal = check_write(before.automerge(), bad.automerge(), &who).unwrap_err();
    assert!(refusal.to_string().contains("tariff.vat_bp"), "{refusal}");
}

#[test]
fn history_and_the_root_cannot_be_rewritten() {
    let (mut server, _) = server_doc();
    let (boss, who) = admin();
    let mut clock = HlcClock::new(node_of("aa01"));
    server
        .append(&event(&mut clock, 1_000, &boss, tariff(100)))
        .unwrap();
    let bytes = server.save();
    let key = server.events()[0].id();

    let mut rewrite = peer_copy(&bytes, "aa01");
    let events = match rewrite.get(ROOT, "events").unwrap() {
        Some((_, id)) => id,
        None => panic!(),
    };
    rewrite.put(&events, key.as_str(), "{}").unwrap();
    assert_eq!(
        check_write(server.automerge(), &rewrite, &who),
        Err(ConfigRefusal::HistoryRewritten(key.clone()))
    );
    let mut delete = peer_copy(&bytes, "aa01");
    delete.delete(&events, key.as_str()).unwrap();
    assert_eq!(
        check_write(server.automerge(), &delete, &who),
        Err(ConfigRefusal::HistoryRewritten(key))
    );
    let mut root = peer_copy(&bytes, "aa01");
    root.put(ROOT, "kind", "order").unwrap();
    assert!(matches!(
        check_write(server.automerge(), &root, &who),
        Err(ConfigRefusal::RootChanged(_))
    ));
    let mut extra = peer_copy(&bytes, "aa01");
    extra.put(ROOT, "tariff", "free").unwrap();
    assert_eq!(
        check_write(server.automerge(), &extra, &who),
        Err(ConfigRefusal::RootChanged("tariff".into()))
    );
    // A brand-new document from a peer is not a configuration document.
    let fresh = ConfigDoc::create(&DeviceId::new("aa01"), ConfigScope::Tenant).unwrap();
    let empty = AutoCommit::new();
    assert_eq!(
        check_write(&empty, fresh.automerge(), &who),
        Err(ConfigRefusal::NotCreatedByServer)
    );
}

#[test]
fn concurrent_admin_edits_merge_to_the_same_configuration_everywhere() {
    let (_, bytes) = server_doc();
    let boss = actor("boss", Role::Admin, "aa01");
    let ada = actor("ada", Role::Admin, "aa02");
    let mut a = ConfigDoc::load(&bytes, &boss.device).unwrap();
    let mut b = ConfigDoc::load(&bytes, &ada.device).unwrap();
    let mut ca = HlcClock::new(node_of("aa01"));
    let mut cb = HlcClock::new(node_of("aa02"));
    a.append(&event(&mut ca, 1_000, &boss, tariff(300)))
        .unwrap();
    b.append(&event(&mut cb, 1_000, &ada, tariff(400))).unwrap();
    b.append(&event(
        &mut cb,
        1_001,
        &ada,
        ConfigChange::SetProfile(TenantProfile {
            company_name: "Ada Oy".into(),
            ..TenantProfile::default()
        }),
    ))
    .unwrap();
    let (ab, ba) = (a.save(), b.save());
    a.merge_bytes(&ba).unwrap();
    b.merge_bytes(&ab).unwrap();
    let (x, y) = (derive(&a.events()), derive(&b.events()));
    assert_eq!(x, y);
    assert_eq!(x.1.len(), 3, "no write lost");
    assert_eq!(x.0.profile.company_name, "Ada Oy");
    // The same wall time: the stamp's node decides, the same on both.
    let winner = if node_of("aa01") > node_of("aa02") {
        300
    } else {
        400
    };
    assert_eq!(x.0.tariff.base_cents, winner);
}

fn vehicle(id: &str, items: u32) -> Vehicle {
    Vehicle {
        id: id.into(),
        name: format!("Van {id}"),
        kind: app_api::config::VehicleType::Van,
        capacity_items: items,
        capacity_kg: 500,
        plate: "ABC-123".into(),
    }
}

#[test]
fn staff_changes_go_only_in_the_staff_document_and_tenant_changes_only_in_the_tenants() {
    let (boss, who) = admin();
    let mut clock = HlcClock::new(node_of("aa01"));
    for (scope, wrong) in [
        (
            ConfigScope::Tenant,
            ConfigChange::PutVehicle(vehicle("v1", 10)),
        ),
        (ConfigScope::Staff, tariff(100)),
    ] {
        let mut server = ConfigDoc::create(&DeviceId::new("5e7e"), scope).unwrap();
        let bytes = server.save();
        let mut peer = ConfigDoc::load(&bytes, &boss.device).unwrap();
        assert_eq!(peer.scope(), scope);
        peer.append(&event(&mut clock, 1_000, &boss, wrong.clone()))
            .unwrap();
        assert!(
            matches!(
                check_write(server.automerge(), peer.automerge(), &who),
                Err(ConfigRefusal::WrongDocument { .. })
            ),
            "{scope:?}"
        );
        // And a forged one that got in anyway is not read from it.
        assert!(peer.events().is_empty(), "{scope:?}");
    }
    // The right document takes it.
    let mut server = ConfigDoc::create(&DeviceId::new("5e7e"), ConfigScope::Staff).unwrap();
    let bytes = server.save();
    let mut peer = ConfigDoc::load(&bytes, &boss.device).unwrap();
    let e = event(
        &mut clock,
        2_000,
        &boss,
        ConfigChange::PutVehicle(vehicle("v1", 10)),
    );
    peer.append(&e).unwrap();
    assert_eq!(
        check_write(server.automerge(), peer.automerge(), &who),
        Ok(vec![e])
    );
}

#[test]
fn items_are_kept_by_id_and_the_last_put_or_remove_of_each_wins() {
    let boss = actor("boss", Role::Admin, "aa01");
    let mut c = HlcClock::new(node_of("aa01"));
    let courier = |vehicle: &str| CourierProfile {
        user: "courier-1".into(),
        phone: "+358 40 123 4567".into(),
        vehicle: Some(vehicle.into()),
        home_zones: vec!["kallio".into()],
        handles_cash: true,
        carrier: Default::default(),
        shift_start: None,
    };
    let events = vec![
        event(
            &mut c,
            1_000,
            &boss,
            ConfigChange::PutVehicle(vehicle("v1", 10)),
        ),
        event(
            &mut c,
            1_100,
            &boss,
            ConfigChange::PutVehicle(vehicle("v2", 4)),
        ),
        event(
            &mut c,
            1_200,
            &boss,
            ConfigChange::PutVehicle(vehicle("v1", 12)),
        ),
        event(
            &mut c,
            1_300,
            &boss,
            ConfigChange::PutCourier(courier("v1")),
        ),
        event(
            &mut c,
            1_400,
            &boss,
            ConfigChange::RemoveVehicle { id: "v2".into() },
        ),
        event(
            &mut c,
            1_500,
            &boss,
            ConfigChange::PutCourier(courier("v2")),
        ),
    ];
    let mut reversed = events.clone();
    reversed.reverse();
    let (config, history) = derive(&events);
    assert_eq!(derive(&reversed).0, config, "order-independent");
    assert_eq!(config.vehicles, vec![vehicle("v1", 12)]);
    assert_eq!(config.couriers, vec![courier("v2")]);
    // The profile names a vehicle that is gone: the courier has none.
    assert_eq!(config.vehicle_of("courier-1"), None);
    assert_eq!(history[0].change, "put_courier");
    assert_eq!(history[0].subject.as_deref(), Some("courier-1"));
    assert_eq!(history[1].change, "remove_vehicle");
}

#[test]
fn new_parts_are_validated_with_the_field_named() {
    let mut bad_vehicle = vehicle("v1", 10);
    bad_vehicle.capacity_items = 20_000;
    let bad_courier = CourierProfile {
        user: "courier-1".into(),
        phone: "call me".into(),
        vehicle: None,
        home_zones: vec![],
        handles_cash: false,
        carrier: Default::default(),
        shift_start: None,
    };
    let bad_warehouse = Warehouse {
        id: "hub".into(),
        name: "Hub".into(),
        address: "Sörnäisten rantatie 1".into(),
        position: app_api::Point {
            lat: 99.0,
            lon: 24.9,
        },
        uses: Default::default(),
        opening_hours: String::new(),
    };
    let bad_service = ServiceLevel {
        id: "Express!".into(),
        name: "Express".into(),
        price_cents: 500,
        window_minutes: 120,
        proofs: Default::default(),
    };
    let bad_policy = PodPolicy {
        photo_quality: 100,
        ..PodPolicy::default()
    };
    for (change, field) in [
        (
            ConfigChange::PutVehicle(bad_vehicle),
            "vehicle.capacity_items",
        ),
        (ConfigChange::PutCourier(bad_courier), "courier.phone"),
        (
            ConfigChange::PutWarehouse(bad_warehouse),
            "warehouse.position",
        ),
        (ConfigChange::PutService(bad_service), "service.id"),
        (
            ConfigChange::SetPodPolicy(bad_policy),
            "pod_policy.photo_quality",
        ),
    ] {
        assert_eq!(validate(&change).unwrap_err().field, field);
    }
    assert!(validate(&ConfigChange::SetPodPolicy(PodPolicy::default())).is_ok());
}

fn route(id: &str, name: &str) -> app_api::config::Route {
    app_api::config::Route {
        id: id.into(),
        name: name.into(),
        points: vec![app_api::config::RoutePoint {
            name: "Hub".into(),
            warehouse: Some("hub-1".into()),
            address: "Mäkelänkatu 50".into(),
            position: app_api::Point {
                lat: 60.19,
                lon: 24.95,
            },
        }],
        drivers: vec!["aki".into()],
        vehicle: None,
        weekdays: vec![1, 2, 3, 4, 5],
        start: "07:00".into(),
        auto_attach: true,
        attach_radius_m: 150,
    }
}

#[test]
fn dispatchers_edit_routes_and_nothing_else_of_the_staff_document() {
    let mut server = ConfigDoc::create(&DeviceId::new("5e7e"), ConfigScope::Staff).unwrap();
    let bytes = server.save();
    let disp = actor("dora", Role::Dispatcher, "dd01");
    let as_disp = Principal {
        user: disp.user.clone(),
        role: Role::Dispatcher,
    };
    let mut clock = HlcClock::new(node_of("dd01"));
    let mut peer = ConfigDoc::load(&bytes, &disp.device).unwrap();
    let put = event(
        &mut clock,
        1_000,
        &disp,
        ConfigChange::PutRoute(route("bakery", "Bakery run")),
    );
    peer.append(&put).unwrap();
    assert_eq!(
        check_write(server.automerge(), peer.automerge(), &as_disp),
        Ok(vec![put.clone()])
    );
    // A vehicle is the admins'.
    let mut theirs = ConfigDoc::load(&bytes, &disp.device).unwrap();
    theirs
        .append(&event(
            &mut clock,
            2_000,
            &disp,
            ConfigChange::PutVehicle(vehicle("v1", 10)),
        ))
        .unwrap();
    assert!(matches!(
        check_write(server.automerge(), theirs.automerge(), &as_disp),
        Err(ConfigRefusal::NotPermitted { .. })
    ));
    // A courier writes no route, and the tenant's document stays the admins'.
    let kim = actor("kim", Role::Courier, "cc01");
    let mut cc = HlcClock::new(node_of("cc01"));
    let mut phone = ConfigDoc::load(&bytes, &kim.device).unwrap();
    phone
        .append(&event(
            &mut cc,
            1_000,
            &kim,
            ConfigChange::PutRoute(route("mine", "Mine")),
        ))
        .unwrap();
    let as_kim = Principal {
        user: kim.user.clone(),
        role: Role::Courier,
    };
    assert_eq!(
        check_write(server.automerge(), phone.automerge(), &as_kim),
        Err(ConfigRefusal::NotAdmin)
    );
    assert!(may_write(ConfigScope::Staff, Role::Dispatcher));
    assert!(!may_write(ConfigScope::Tenant, Role::Dispatcher));
    // What derives: the dispatcher's route holds; a forged vehicle would not.
    let forged = event(
        &mut clock,
        3_000,
        &disp,
        ConfigChange::PutVehicle(vehicle("v9", 1)),
    );
    let (config, history) = derive(&[put, forged]);
    assert_eq!(config.routes.len(), 1);
    assert!(config.vehicles.is_empty());
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].change, "put_route");
    let _ = server.save();
}

#[test]
fn a_route_names_the_field_at_fault() {
    let ok = route("bakery", "Bakery run");
    assert!(validate(&ConfigChange::PutRoute(ok.clone())).is_ok());
    type Edit = Box<dyn Fn(&mut app_api::config::Route)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|r| r.id = "Bad Id".into()), "route.id"),
        (Box::new(|r| r.points.clear()), "route.points"),
        (
            Box::new(|r| r.points[0].position.lat = 91.0),
            "route.points[0].position",
        ),
        (
            Box::new(|r| r.points[0].name = "".into()),
            "route.points[0].name",
        ),
        (
            Box::new(|r| r.drivers.push("aki".into())),
            "route.drivers[1]",
        ),
        (Box::new(|r| r.weekdays = vec![0]), "route.weekdays"),
        (Box::new(|r| r.weekdays = vec![1, 1]), "route.weekdays"),
        (Box::new(|r| r.start = "7:00".into()), "route.start"),
        (
            Box::new(|r| r.attach_radius_m = 10),
            "route.attach_radius_m",
        ),
    ];
    for (edit, field) in cases {
        let mut r = ok.clone();
        edit(&mut r);
        assert_eq!(
            validate(&ConfigChange::PutRoute(r)).unwrap_err().field,
            field
        );
    }
}
