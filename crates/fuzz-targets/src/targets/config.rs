//! `--config` parsing and resolution as the harness does it: arbitrary text through
//! `xtask::config::parse_overrides` (with the registry's names), then every table through
//! its experiment's `resolve_config` and `check_config` (quick and full defaults). Never
//! panics. `parse_overrides` `Ok` ⇒ every table names a known experiment.
//! `resolve_config` `Ok` ⇒ the resolved configuration has exactly the default
//! configuration's keys and every overridden key holds the override's value; `Err` ⇒
//! `UnknownConfigKey` (naming a key not in the defaults) or `Config`. A configuration
//! that passes `check_config` written back with `config_toml` parses and resolves to the
//! same configuration (the `cargo xtask config` round trip).
//!
//! Layout: byte 0 bit 0 = `--quick`, the rest is the TOML text.

use crate::text;
use meanfield_experiments::{ExperimentError, RunContext, registry};
use xtask::config::{config_toml, parse_overrides};

/// The `config` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn config(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let quick = flags & 1 == 1;
    let toml_text = text(rest);
    let known: Vec<&str> = registry::all().iter().map(|e| e.name()).collect();
    let Ok(overrides) = parse_overrides(&toml_text, &known) else {
        return;
    };
    for (name, table) in &overrides {
        assert!(known.contains(&name.as_str()), "table `{name}` accepted");
        let exp = registry::find(name).expect("a known name is found");
        let ctx = RunContext {
            quick,
            seed: 1,
            overrides: table.clone(),
            progress: &|_, _| {},
        };
        let defaults = exp.default_config(quick).expect("defaults resolve");
        let resolved = match exp.resolve_config(&ctx) {
            Ok(r) => r,
            Err(ExperimentError::UnknownConfigKey { key, .. }) => {
                assert!(
                    defaults.get(&key).is_none() && table.contains_key(&key),
                    "`{key}` reported unknown"
                );
                assert!(
                    exp.check_config(&ctx).is_err(),
                    "check_config accepts what resolve refuses"
                );
                continue;
            }
            Err(ExperimentError::Config(_)) => {
                assert!(
                    exp.check_config(&ctx).is_err(),
                    "check_config accepts what resolve refuses"
                );
                continue;
            }
            Err(e) => panic!("{name}: unexpected error kind {e:?}"),
        };
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().expect("a table").keys().cloned().collect()
        };
        assert_eq!(keys(&resolved), keys(&defaults), "{name}: resolved keys");
        for (k, v) in table {
            assert_eq!(&resolved[k], v, "{name}: override `{k}` not applied");
        }
        if exp.check_config(&ctx).is_err() {
            continue;
        }
        // `cargo xtask config` round trip: only when the configuration has a TOML form
        // (no null in an array, integers within i64).
        let Ok(written) = config_toml(name, &resolved, quick) else {
            continue;
        };
        let back = parse_overrides(&written, &known).expect("config_toml output parses");
        let ctx2 = RunContext {
            quick,
            seed: 1,
            overrides: back[name.as_str()].clone(),
            progress: &|_, _| {},
        };
        let again = exp
            .resolve_config(&ctx2)
            .expect("written configuration resolves");
        assert_eq!(
            strip_nulls(&again),
            strip_nulls(&resolved),
            "{name}: config_toml round trip"
        );
    }
}

/// `resolved` without its top-level `null` values (TOML has none: `config_toml` drops
/// them and resolution then keeps the default, which may differ).
fn strip_nulls(v: &serde_json::Value) -> serde_json::Value {
    let mut map = v.as_object().expect("a table").clone();
    map.retain(|_, x| !x.is_null());
    serde_json::Value::Object(map)
}
