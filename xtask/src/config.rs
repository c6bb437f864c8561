//! `--config FILE.toml`: one table per experiment, converted to the JSON overrides the
//! experiment receives in [`RunContext::overrides`](meanfield_experiments::RunContext).
//!
//! ```toml
//! [gaussian-oracle]
//! steps = 100
//! anchor = [1.0, 0.0]
//! ```
//!
//! A table naming an experiment that does not exist is an error (a typo would otherwise
//! silently change nothing); a table for an experiment that is not run is ignored by the
//! caller. Keys inside a table are checked by the experiment itself
//! (`RunContext::resolve` rejects unknown keys).
//!
//! The other direction, [`config_toml`], writes an experiment's full configuration as such
//! a file (`cargo xtask config NAME`).

use std::collections::BTreeMap;

/// Overrides per experiment name.
pub type Overrides = BTreeMap<String, serde_json::Map<String, serde_json::Value>>;

/// Parses the TOML text of a configuration file into overrides per experiment.
/// `known` lists the valid experiment names.
pub fn parse_overrides(text: &str, known: &[&str]) -> Result<Overrides, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("invalid TOML: {e}"))?;
    let mut out = Overrides::new();
    for (name, value) in &table {
        let toml::Value::Table(inner) = value else {
            return Err(format!(
                "top-level key `{name}` is not a table; write overrides as `[experiment-name]` tables (known experiments: {})",
                known.join(", ")
            ));
        };
        if !known.contains(&name.as_str()) {
            return Err(format!(
                "table `[{name}]` does not name an experiment; known experiments: {}",
                known.join(", ")
            ));
        }
        let mut map = serde_json::Map::new();
        for (key, v) in inner {
            let json = toml_to_json(v).map_err(|e| format!("[{name}] {key}: {e}"))?;
            map.insert(key.clone(), json);
        }
        out.insert(name.clone(), map);
    }
    Ok(out)
}

/// Converts a TOML value to JSON. Datetimes become strings; non-finite floats are
/// rejected because JSON cannot represent them.
pub fn toml_to_json(value: &toml::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .ok_or_else(|| format!("non-finite number {f} cannot be passed to an experiment"))?,
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => {
            J::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(t) => {
            let mut map = serde_json::Map::new();
            for (k, v) in t {
                map.insert(k.clone(), toml_to_json(v).map_err(|e| format!("{k}: {e}"))?);
            }
            J::Object(map)
        }
    })
}

/// Converts JSON to TOML, the inverse of [`toml_to_json`] on the values it produces.
/// `null` has no TOML form: it gives `None`, and a table drops keys whose value is `null`
/// (an override file then leaves them at their default); a `null` inside an array, or an
/// integer beyond the TOML (i64) range, is an error.
pub fn json_to_toml(value: &serde_json::Value) -> Result<Option<toml::Value>, String> {
    use serde_json::Value as J;
    Ok(Some(match value {
        J::Null => return Ok(None),
        J::Bool(b) => toml::Value::Boolean(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                toml::Value::Integer(i)
            } else if n.is_f64() {
                toml::Value::Float(n.as_f64().unwrap_or(f64::NAN))
            } else {
                return Err(format!("integer {n} does not fit a TOML integer (i64)"));
            }
        }
        J::String(s) => toml::Value::String(s.clone()),
        J::Array(items) => toml::Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    json_to_toml(v)?.ok_or_else(|| format!("[{i}]: null has no TOML form"))
                })
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => toml::Value::Table(json_object_to_toml(map)?),
    }))
}

/// A JSON object as a TOML table (`null` values dropped, see [`json_to_toml`]).
fn json_object_to_toml(
    map: &serde_json::Map<String, serde_json::Value>,
) -> Result<toml::Table, String> {
    let mut table = toml::Table::new();
    for (k, v) in map {
        if let Some(t) = json_to_toml(v).map_err(|e| format!("{k}: {e}"))? {
            table.insert(k.clone(), t);
        }
    }
    Ok(table)
}

/// The `--config` file holding the configuration `config` (a JSON object, e.g.
/// `Experiment::default_config`) of experiment `name`: a comment header and one `[name]`
/// table with every key. [`parse_overrides`] reads it back to the same values.
pub fn config_toml(name: &str, config: &serde_json::Value, quick: bool) -> Result<String, String> {
    let serde_json::Value::Object(map) = config else {
        return Err(format!("the configuration of `{name}` is not a table"));
    };
    let mut file = toml::Table::new();
    file.insert(
        name.to_string(),
        toml::Value::Table(json_object_to_toml(map)?),
    );
    let body = toml::to_string(&file).map_err(|e| format!("cannot write TOML: {e}"))?;
    let settings = if quick { "--quick" } else { "full" };
    Ok(format!(
        "# Default configuration of `{name}` ({settings} settings): every key it accepts.\n\
         # Edit, save and pass back with `cargo xtask reproduce {name} --config FILE`; the\n\
         # file sets every key, so the values below are used with or without --quick.\n\
         {body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KNOWN: &[&str] = &["gaussian-oracle", "other"];

    #[test]
    fn converts_tables_with_nested_values() {
        let text = r#"
[gaussian-oracle]
steps = 100
eta = 0.5
anchor = [1.0, -0.5]
name = "x"
flag = true
nested = { a = 1, b = [[1, 2], [3]] }

[other.deep]
k = 2
"#;
        let o = parse_overrides(text, KNOWN).unwrap();
        assert_eq!(o.len(), 2);
        let g = &o["gaussian-oracle"];
        assert_eq!(g["steps"], json!(100));
        assert_eq!(g["eta"], json!(0.5));
        assert_eq!(g["anchor"], json!([1.0, -0.5]));
        assert_eq!(g["name"], json!("x"));
        assert_eq!(g["flag"], json!(true));
        assert_eq!(g["nested"], json!({"a": 1, "b": [[1, 2], [3]]}));
        assert_eq!(o["other"]["deep"], json!({"k": 2}));
    }

    #[test]
    fn empty_file_is_no_overrides() {
        assert!(parse_overrides("", KNOWN).unwrap().is_empty());
    }

    #[test]
    fn unknown_experiment_table_is_an_error() {
        let err = parse_overrides("[gausian-oracle]\nsteps = 1\n", KNOWN).unwrap_err();
        assert!(err.contains("gausian-oracle"), "{err}");
        assert!(err.contains("gaussian-oracle, other"), "{err}");
    }

    #[test]
    fn top_level_scalar_is_an_error() {
        let err = parse_overrides("steps = 1\n", KNOWN).unwrap_err();
        assert!(err.contains("`steps` is not a table"), "{err}");
    }

    #[test]
    fn invalid_toml_is_an_error() {
        let err = parse_overrides("[gaussian-oracle\n", KNOWN).unwrap_err();
        assert!(err.starts_with("invalid TOML"), "{err}");
    }

    #[test]
    fn non_finite_float_is_rejected() {
        let err = parse_overrides("[other]\nx = nan\n", KNOWN).unwrap_err();
        assert!(err.contains("[other] x"), "{err}");
    }

    #[test]
    fn json_to_toml_round_trips_and_drops_nulls() {
        let config = json!({
            "steps": 100, "eta": 0.5, "gamma": 10.0, "tiny": 1.0e-300, "neg": -3,
            "name": "ar(0.2,-0.1)", "flag": false, "anchor": [1.0, -0.5],
            "nested": {"a": 1, "b": [[1, 2], [3]]}, "empty": [], "none": null
        });
        let text = config_toml("other", &config, true).unwrap();
        assert!(text.starts_with("# Default configuration of `other` (--quick settings)"));
        let back = parse_overrides(&text, KNOWN).unwrap();
        let mut want = config.as_object().unwrap().clone();
        want.remove("none");
        assert_eq!(back["other"], want);
    }

    #[test]
    fn json_without_toml_form_is_an_error() {
        let err = config_toml("other", &json!({"a": [1, null]}), false).unwrap_err();
        assert!(err.contains("a: [1]: null"), "{err}");
        let err = config_toml("other", &json!({"big": u64::MAX}), false).unwrap_err();
        assert!(err.contains("big") && err.contains("i64"), "{err}");
        assert!(config_toml("other", &json!([1]), false).is_err());
    }

    #[test]
    fn datetime_becomes_string() {
        let o = parse_overrides("[other]\nd = 1979-05-27\n", KNOWN).unwrap();
        assert_eq!(o["other"]["d"], json!("1979-05-27"));
    }
}
