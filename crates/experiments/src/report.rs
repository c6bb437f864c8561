//! The result of one experiment: checks against reference numbers, tables and plotted
//! series. Serialised as `report.json` with the schema
//! `{experiment, quick, seed, config, wall_seconds, checks, tables, series}`; the xtask
//! renders it to Markdown and SVG.

use std::collections::BTreeMap;

use serde::ser::{Impossible, SerializeStruct, SerializeTuple, SerializeTupleStruct};
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// What a check's tolerance rests on, and so how often it may fail by chance
/// (docs/harness.md §4: "Levels and calibration").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A comparison that must hold at every seed: a closed form, an ODE, an invariant (a
    /// count of violations that must be 0); any tolerance covers floating-point error
    /// only.
    Exact,
    /// A Monte-Carlo test whose band is derived from the Monte-Carlo error: when the
    /// implementation is right it fails with probability about [`Check::level`].
    Statistical,
    /// A property the method is claimed to have, with a fixed threshold that is not an
    /// oracle band (a loss falls by 5×, one method beats another): no stated level; its
    /// failure rate over seeds is measured by `cargo xtask calibrate`.
    #[default]
    Threshold,
}

/// One verified claim: `value` compared with `reference` within `tolerance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked, in words.
    pub name: String,
    /// Our measured value.
    pub value: f64,
    /// The paper's or the exact oracle's value.
    pub reference: f64,
    /// Accepted |value − reference| (or half-width of an accepted band; see `name`).
    pub tolerance: f64,
    /// Whether the check holds.
    pub passed: bool,
    /// Exact, statistical or threshold (reports written before this field are read as
    /// thresholds).
    #[serde(default)]
    pub kind: CheckKind,
    /// For a [`CheckKind::Statistical`] check: the probability that it fails when the
    /// implementation is right (its false-alarm rate); `None` otherwise.
    #[serde(default)]
    pub level: Option<f64>,
}

impl Check {
    /// |value − reference| ≤ tolerance (false for NaN). A threshold check until marked
    /// [`exact`](Self::exact) or [`at_level`](Self::at_level).
    pub fn within(name: impl Into<String>, value: f64, reference: f64, tolerance: f64) -> Self {
        let passed = (value - reference).abs() <= tolerance;
        Self {
            name: name.into(),
            value,
            reference,
            tolerance,
            passed,
            kind: CheckKind::Threshold,
            level: None,
        }
    }

    /// value ∈ [lo, hi]; stored as reference = midpoint, tolerance = half-width.
    pub fn in_band(name: impl Into<String>, value: f64, lo: f64, hi: f64) -> Self {
        let passed = value >= lo && value <= hi;
        Self {
            name: name.into(),
            value,
            reference: 0.5 * (lo + hi),
            tolerance: 0.5 * (hi - lo),
            passed,
            kind: CheckKind::Threshold,
            level: None,
        }
    }

    /// value ≤ bound; stored as reference = bound, tolerance = 0.
    pub fn at_most(name: impl Into<String>, value: f64, bound: f64) -> Self {
        Self {
            name: name.into(),
            value,
            reference: bound,
            tolerance: 0.0,
            passed: value <= bound,
            kind: CheckKind::Threshold,
            level: None,
        }
    }

    /// A two-sided z-test: |value − reference| ≤ z·se, where `se` is the Monte-Carlo
    /// standard error of `value` and the estimate is asymptotically normal; its level is
    /// 2(1 − Φ(z)) ([`two_sided_level`]).
    pub fn z_within(name: impl Into<String>, value: f64, reference: f64, se: f64, z: f64) -> Self {
        Self::within(name, value, reference, z * se).at_level(two_sided_level(z))
    }

    /// A two-sided Student-t test at level `level`: |value − reference| ≤ t·se with
    /// t = T⁻¹_ν(1 − level/2), for an estimate whose standard error `se` was itself
    /// estimated with ν = `dof` degrees of freedom (B − 1 for B batch means, R − 1 for R
    /// replicates, Welch–Satterthwaite for a linear combination of such estimates): then
    /// (value − reference)/se is t_ν-distributed, not normal, and a normal z band has a
    /// false-alarm rate far above its nominal level for small ν (4 s.e. at ν = 5: 1.0e-2,
    /// not 6.3e-5). ν = ∞ is [`Check::z_within`]'s band. A ν that is not > 0 or a level
    /// outside (0, 1) gives a NaN band, so the check fails and names the problem in its
    /// tolerance rather than passing.
    pub fn t_within(
        name: impl Into<String>,
        value: f64,
        reference: f64,
        se: f64,
        dof: f64,
        level: f64,
    ) -> Self {
        Self::within(name, value, reference, student_quantile(dof, level) * se).at_level(level)
    }

    /// Marks a deterministic check ([`CheckKind::Exact`]).
    #[must_use]
    pub fn exact(mut self) -> Self {
        self.kind = CheckKind::Exact;
        self.level = None;
        self
    }

    /// Marks a Monte-Carlo test whose false-alarm probability is `level`
    /// ([`CheckKind::Statistical`]).
    #[must_use]
    pub fn at_level(mut self, level: f64) -> Self {
        self.kind = CheckKind::Statistical;
        self.level = Some(level);
        self
    }
}

/// The two-sided critical value T⁻¹_ν(1 − level/2) of Student's t with ν = `dof` degrees
/// of freedom (the normal quantile for ν = ∞); NaN for ν not > 0 or a level outside (0, 1).
pub fn student_quantile(dof: f64, level: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
    if !(level > 0.0 && level < 1.0) || dof.is_nan() || dof <= 0.0 {
        return f64::NAN;
    }
    let p = 1.0 - level / 2.0;
    if dof.is_infinite() {
        return Normal::standard().inverse_cdf(p);
    }
    StudentsT::new(0.0, 1.0, dof).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// The two-sided level of a normal z band, P(|Z| > z) = 2(1 − Φ(z)) = erfc(z/√2).
pub fn two_sided_level(z: f64) -> f64 {
    statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)
}

/// A table: column names and rows of cells (numbers or text).
///
/// Experiments build rows from `#[derive(Serialize)]` records rather than by hand: a
/// record's fields, in order, are the cells of a row ([`Table::push_record`],
/// [`Table::from_records`]), and its serde field names can be the headers
/// ([`Table::from_named_records`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push_row(&mut self, row: Vec<serde_json::Value>) {
        self.rows.push(row);
    }

    /// A table with these columns and one row per record (as [`Table::push_record`]).
    ///
    /// # Errors
    /// As [`Table::push_record`].
    pub fn from_records<S: Into<String>, R: Serialize>(
        columns: impl IntoIterator<Item = S>,
        records: &[R],
    ) -> Result<Self, ExperimentError> {
        let mut table = Self::new(columns);
        for record in records {
            table.push_record(record)?;
        }
        Ok(table)
    }

    /// A table whose columns are the field names of the records — serde's names, so
    /// `#[serde(rename = "…")]` sets a header — and one row per record (as
    /// [`Table::push_record`]). The names are read from the first record, so a table that
    /// may have no rows needs [`Table::from_records`] and its columns.
    ///
    /// # Errors
    /// No record, a record that is not a struct, or as [`Table::push_record`].
    pub fn from_named_records<R: Serialize>(records: &[R]) -> Result<Self, ExperimentError> {
        let first = records
            .first()
            .ok_or_else(|| ExperimentError::Table("no record to name the columns".into()))?;
        let names = to_record(first)?.names;
        if names.is_empty() {
            return Err(ExperimentError::Table(
                "a table named by its records needs struct records".into(),
            ));
        }
        Self::from_records(names, records)
    }

    /// Appends a row from a record: a `#[derive(Serialize)]` struct (or a tuple) whose
    /// fields, in declaration order, are the cells. Each field becomes the JSON value
    /// `serde_json::to_value` gives it — the same value `json!(field)` gives — so a record
    /// and the hand-built `vec![json!(…), …]` of its fields are the same row (`Option` is
    /// `null` or the value, a non-finite float `null`).
    ///
    /// # Errors
    /// A record that is not a struct or a tuple, a field that does not serialise, or a
    /// number of fields different from the number of columns.
    pub fn push_record<R: Serialize>(&mut self, record: &R) -> Result<(), ExperimentError> {
        let cells = to_record(record)?.cells;
        if cells.len() != self.columns.len() {
            return Err(ExperimentError::Table(format!(
                "a record of {} fields for {} columns ({})",
                cells.len(),
                self.columns.len(),
                self.columns.join(", ")
            )));
        }
        self.rows.push(cells);
        Ok(())
    }
}

/// The cells (and, for a struct, the field names) of a record.
fn to_record<R: Serialize>(record: &R) -> Result<Record, ExperimentError> {
    record
        .serialize(RecordSerializer)
        .map_err(|e| ExperimentError::Table(e.to_string()))
}

/// A serialised record: its cells in field order and, for a struct, its field names.
struct Record {
    names: Vec<&'static str>,
    cells: Vec<serde_json::Value>,
}

/// Serialises a record (struct, tuple struct or tuple) into a [`Record`]; anything else is
/// an error.
struct RecordSerializer;

fn not_a_record(what: &str) -> serde_json::Error {
    serde::ser::Error::custom(format!(
        "a table row must be a struct or a tuple, not {what}"
    ))
}

macro_rules! reject {
    ($($method:ident($($ty:ty),*) => $what:literal;)*) => {
        $(fn $method(self $(, _: $ty)*) -> Result<Record, serde_json::Error> {
            Err(not_a_record($what))
        })*
    };
}

impl serde::Serializer for RecordSerializer {
    type Ok = Record;
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<Record, serde_json::Error>;
    type SerializeTuple = RecordBuilder;
    type SerializeTupleStruct = RecordBuilder;
    type SerializeTupleVariant = Impossible<Record, serde_json::Error>;
    type SerializeMap = Impossible<Record, serde_json::Error>;
    type SerializeStruct = RecordBuilder;
    type SerializeStructVariant = Impossible<Record, serde_json::Error>;

    reject! {
        serialize_bool(bool) => "a bool";
        serialize_i8(i8) => "a number";
        serialize_i16(i16) => "a number";
        serialize_i32(i32) => "a number";
        serialize_i64(i64) => "a number";
        serialize_u8(u8) => "a number";
        serialize_u16(u16) => "a number";
        serialize_u32(u32) => "a number";
        serialize_u64(u64) => "a number";
        serialize_f32(f32) => "a number";
        serialize_f64(f64) => "a number";
        serialize_char(char) => "a char";
        serialize_str(&str) => "a string";
        serialize_bytes(&[u8]) => "bytes";
        serialize_none() => "an option";
        serialize_unit() => "a unit";
        serialize_unit_struct(&'static str) => "a unit struct";
        serialize_unit_variant(&'static str, u32, &'static str) => "an enum";
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<Record, serde_json::Error> {
        Err(not_a_record("an option"))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Record, serde_json::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Record, serde_json::Error> {
        Err(not_a_record("an enum"))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        Err(not_a_record("a sequence"))
    }
    fn serialize_tuple(self, len: usize) -> Result<RecordBuilder, serde_json::Error> {
        Ok(RecordBuilder::with_capacity(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<RecordBuilder, serde_json::Error> {
        Ok(RecordBuilder::with_capacity(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, serde_json::Error> {
        Err(not_a_record("an enum"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        Err(not_a_record("a map"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<RecordBuilder, serde_json::Error> {
        Ok(RecordBuilder::with_capacity(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, serde_json::Error> {
        Err(not_a_record("an enum"))
    }
}

/// Collects the cells of a record, each serialised by `serde_json::to_value`.
struct RecordBuilder(Record);

impl RecordBuilder {
    fn with_capacity(len: usize) -> Self {
        Self(Record {
            names: Vec::with_capacity(len),
            cells: Vec::with_capacity(len),
        })
    }
}

impl SerializeStruct for RecordBuilder {
    type Ok = Record;
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.0.names.push(key);
        self.0.cells.push(serde_json::to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Record, serde_json::Error> {
        Ok(self.0)
    }
}

impl SerializeTuple for RecordBuilder {
    type Ok = Record;
    type Error = serde_json::Error;
    fn serialize_element<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.0.cells.push(serde_json::to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Record, serde_json::Error> {
        Ok(self.0)
    }
}

impl SerializeTupleStruct for RecordBuilder {
    type Ok = Record;
    type Error = serde_json::Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        SerializeTuple::serialize_element(self, value)
    }
    fn end(self) -> Result<Record, serde_json::Error> {
        Ok(self.0)
    }
}

/// A plotted series y(x).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Series {
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
    /// Monte-Carlo standard errors of the ordinates, when the experiment has them: the
    /// renderers draw error bars of ±2 s.e. (absent from report.json when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_err: Option<Vec<f64>>,
}

/// How a series is drawn (a hint to the renderer; not part of the JSON schema's data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plot {
    /// File stem of the SVG (`<name>.svg`).
    pub name: String,
    /// Title over the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Series names (keys of `Report::series`) drawn in this plot.
    pub series: Vec<String>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Draw points only (scatter) instead of lines.
    pub scatter: bool,
}

/// A grid of grey-scale images (e.g. generated digits), rendered as an SVG of squares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageGrid {
    /// File stem of the SVG (`<name>.svg`).
    pub name: String,
    /// Title over the grid.
    pub title: String,
    /// Pixels per image row.
    pub width: usize,
    /// Pixel rows per image.
    pub height: usize,
    /// Images per grid row.
    pub columns: usize,
    /// Intensities in [0, 1] (0 = white, 1 = black), image after image, each row-major.
    pub pixels: Vec<f64>,
}

/// Everything an experiment produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Experiment name (the `reproduce` argument).
    pub experiment: String,
    /// Whether the quick (reduced) settings were used.
    pub quick: bool,
    /// Base seed.
    pub seed: u64,
    /// The full configuration actually used (after overrides).
    pub config: serde_json::Value,
    /// Wall-clock duration of the run.
    pub wall_seconds: f64,
    /// Peak resident memory of the process during the run, in bytes (filled by the
    /// harness where the operating system reports it: Linux's VmHWM, reset before each
    /// experiment); `None` when not measured.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
    /// Checks against references.
    pub checks: Vec<Check>,
    /// Named tables.
    pub tables: BTreeMap<String, Table>,
    /// Named series.
    pub series: BTreeMap<String, Series>,
    /// Plot layout hints for the renderer.
    #[serde(default)]
    pub plots: Vec<Plot>,
    /// Free-text notes (Markdown) shown at the top of the report: setting, data, caveats.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Image grids (rendered as SVG beside the plots).
    #[serde(default)]
    pub images: Vec<ImageGrid>,
}

impl Report {
    /// An empty report.
    pub fn new(
        experiment: impl Into<String>,
        quick: bool,
        seed: u64,
        config: serde_json::Value,
    ) -> Self {
        Self {
            experiment: experiment.into(),
            quick,
            seed,
            config,
            wall_seconds: 0.0,
            peak_memory_bytes: None,
            checks: Vec::new(),
            tables: BTreeMap::new(),
            series: BTreeMap::new(),
            plots: Vec::new(),
            notes: Vec::new(),
            images: Vec::new(),
        }
    }

    /// Whether every check passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn two_sided_levels_of_the_usual_z() {
        // References: erfc(z/√2) from C's libm (Python's math.erfc).
        for (z, level) in [
            (1.959_963_984_540_054, 0.050_000_000_000_000_04),
            (3.29, 1.001_873_827_571_444_2e-3),
            (4.0, 6.334_248_366_623_993e-5),
        ] {
            let got = two_sided_level(z);
            assert!(
                (got / level - 1.0).abs() < 1e-9,
                "z = {z}: {got} vs {level}"
            );
        }
    }

    #[test]
    fn t_within_widens_the_band_by_the_student_quantile() {
        // Textbook two-sided critical values: t_5 at 1e-3 is 6.869, t_10 at 0.01 is 3.169.
        assert!((student_quantile(5.0, 1e-3) - 6.8688).abs() < 1e-3);
        assert!((student_quantile(10.0, 0.01) - 3.1693).abs() < 1e-3);
        // ν = ∞ and large ν are the normal band.
        let z4 = two_sided_level(4.0);
        assert!((student_quantile(f64::INFINITY, z4) - 4.0).abs() < 1e-9);
        assert!((student_quantile(1e7, z4) - 4.0).abs() < 1e-4);
        let c = Check::t_within("x", 1.5, 1.0, 0.1, 5.0, z4);
        assert_eq!(c.level, Some(z4));
        assert_eq!(c.kind, CheckKind::Statistical);
        assert!(
            c.tolerance > 1.0 && c.passed,
            "t_5 band at 6.3e-5 is ≈ 12.9 s.e."
        );
        assert!(!Check::t_within("x", 3.0, 1.0, 0.1, 5.0, z4).passed);
        // A meaningless ν or level cannot pass.
        for (dof, level) in [(0.0, z4), (f64::NAN, z4), (5.0, 0.0), (5.0, 1.0)] {
            let c = Check::t_within("x", 1.0, 1.0, 0.1, dof, level);
            assert!(!c.passed && c.tolerance.is_nan());
        }
    }

    #[test]
    fn z_within_states_its_level_and_band() {
        let c = Check::z_within("x", 1.3, 1.0, 0.1, 4.0);
        assert!(c.passed && c.kind == CheckKind::Statistical);
        assert!((c.tolerance - 0.4).abs() < 1e-15);
        assert_eq!(c.level, Some(two_sided_level(4.0)));
        let c = Check::z_within("x", f64::NAN, 1.0, 0.1, 4.0);
        assert!(!c.passed);
        let c = Check::at_most("y", 0.0, 0.0).exact();
        assert!(c.kind == CheckKind::Exact && c.level.is_none());
        // Reports written before the fields existed read as thresholds.
        let old: Check = serde_json::from_str(
            r#"{"name":"n","value":1.0,"reference":1.0,"tolerance":0.0,"passed":true}"#,
        )
        .unwrap();
        assert_eq!((old.kind, old.level), (CheckKind::Threshold, None));
    }

    #[derive(Serialize)]
    struct Row<'a> {
        name: &'a str,
        #[serde(rename = "N")]
        n: usize,
        #[serde(rename = "mean ± s.e.")]
        mean: f64,
        missing: Option<f64>,
        present: Option<f64>,
        nan: f64,
        text: String,
        cell: serde_json::Value,
    }

    fn row() -> Row<'static> {
        Row {
            name: "a",
            n: 7,
            mean: 0.1 + 0.2,
            missing: None,
            present: Some(-0.0),
            nan: f64::NAN,
            text: format!("{:.3}", 1.0 / 3.0),
            cell: json!([1, "x"]),
        }
    }

    #[test]
    fn a_record_is_the_row_of_its_fields_as_json() {
        let r = row();
        let by_hand = vec![
            json!(r.name),
            json!(r.n),
            json!(r.mean),
            json!(r.missing),
            json!(r.present),
            json!(r.nan),
            json!(r.text),
            r.cell.clone(),
        ];
        let mut table = Table::new(["a", "b", "c", "d", "e", "f", "g", "h"]);
        table.push_record(&r).unwrap();
        table.push_record(&("t", 1u64, 2.5)).unwrap_err();
        assert_eq!(table.rows, vec![by_hand.clone()]);
        // Serialised the same, byte for byte.
        assert_eq!(
            serde_json::to_string(&table.rows[0]).unwrap(),
            serde_json::to_string(&by_hand).unwrap()
        );
        let tuples = Table::from_records(["x", "y"], &[("p", 1.5), ("q", f64::INFINITY)]).unwrap();
        assert_eq!(
            tuples.rows,
            vec![vec![json!("p"), json!(1.5)], vec![json!("q"), json!(null)]]
        );
    }

    #[test]
    fn named_records_give_the_headers() {
        let table = Table::from_named_records(&[row(), row()]).unwrap();
        assert_eq!(
            table.columns,
            [
                "name",
                "N",
                "mean ± s.e.",
                "missing",
                "present",
                "nan",
                "text",
                "cell"
            ]
        );
        assert_eq!(table.rows.len(), 2);
        assert!(Table::from_named_records::<Row<'_>>(&[]).is_err());
        assert!(Table::from_named_records(&[(1, 2)]).is_err());
    }

    #[test]
    fn records_of_the_wrong_shape_are_errors() {
        let mut table = Table::new(["only"]);
        let err = table.push_record(&row()).unwrap_err().to_string();
        assert!(err.contains("8 fields for 1 columns"), "{err}");
        let err = table.push_record(&3.0).unwrap_err().to_string();
        assert!(err.contains("struct or a tuple"), "{err}");
        assert!(table.push_record(&vec![1.0]).is_err());
        assert!(table.rows.is_empty());
    }
}
