//! Targets of `mf-mgdm-table` as typed, parametric cases ([`CaseSpec`]).
//!
//! A case names the target law p of the paths and the latent law q₀ the paths start
//! from. Syntax (spaces are ignored):
//!
//! | case | target p | latent q₀ |
//! |---|---|---|
//! | `ar(a1, …, ap)`, p ≥ 1 | stationary AR(p) with unit variance ([`ArProcess`]) | N(0, I_T) |
//! | `cir(κ, θ, σ, dt; latent = exp)` | CIR observed every dt, started stationary ([`CirProcess`]) | i.i.d. Exp(1) ([`Exponential`]) |
//! | `cir(κ, θ, σ, dt; latent = tgauss)` | the same CIR | i.i.d. Gaussian truncated to x ≥ 0 with the CIR's stationary mean and sd ([`TruncatedGaussian::matching_stationary`]) |
//! | `cir0` | alias of `cir(0.5, 1, 1, 1; latent = exp)` ([`CirProcess::cir0`]) | |
//! | `cir1` | alias of `cir(2^{−1/2}, 2^{1/2}, 1, 1; latent = tgauss)` ([`CirProcess::cir1`]) | |
//!
//! The CIR latent must be chosen explicitly (the paper uses `exp` for CIR0 and `tgauss`
//! for CIR1; neither is a default).
//!
//! **Validation.** Parsing builds the laws once (on paths of length 1) with the energy
//! crate's own constructors, so every case that parses can be run: a non-stationary AR
//! ([`ArProcess::new`] checks the partial autocorrelations, |κ_k| < 1), a CIR with a
//! non-finite or non-positive parameter or violating the Feller condition 2κθ ≥ σ²
//! ([`CirProcess::new`]), or `tgauss` where no truncated Gaussian has the stationary
//! moments (sd ≥ mean, e.g. q = 2κθ/σ² − 1 = 0) is a [`CaseSpecError`] naming the case.
//!
//! **Display.** `{}` writes the canonical name: the alias for the parameters of CIR0 and
//! CIR1, otherwise the parametric form without spaces (`ar(0.2,-0.1)`,
//! `cir(1,2,1,0.5;latent=tgauss)`, numbers in Rust's shortest round-trip form); `{:#}`
//! always writes the parametric form. Both parse back to an equal case. Serde uses the
//! canonical name.

use std::fmt;
use std::str::FromStr;

use meanfield_energy::EnergyError;
use meanfield_energy::PathLaw;
use meanfield_energy::process::{
    ArProcess, CirProcess, Exponential, StandardGaussian, TruncatedGaussian,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ExperimentError;

/// The accepted forms, quoted by the error for an unknown case.
pub const CASE_SYNTAX: &str = "write `ar(a1, …, ap)` (stationary AR, p ≥ 1), \
     `cir(κ, θ, σ, dt; latent = exp|tgauss)`, or one of the paper's cases ar(0.1), \
     ar(0.2,-0.1), ar(-0.1,0.2,0.1), cir0, cir1";

/// Names that expand to a parametric CIR case.
pub const ALIASES: [&str; 2] = ["cir0", "cir1"];

/// A case's target law p and latent law q₀.
pub type CaseLaws = (Box<dyn PathLaw>, Box<dyn PathLaw>);

/// Latent law q₀ of a CIR case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CirLatent {
    /// `exp`: i.i.d. Exp(1) coordinates (the paper's CIR0 latent).
    Exponential,
    /// `tgauss`: i.i.d. Gaussian coordinates truncated to x ≥ 0 whose mean and sd are the
    /// CIR's stationary mean θ and sd √(θσ²/(2κ)) (the paper's CIR1 latent).
    TruncatedGaussian,
}

impl CirLatent {
    /// The keyword of the `latent = …` option.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Exponential => "exp",
            Self::TruncatedGaussian => "tgauss",
        }
    }
}

/// A target of `mf-mgdm-table` (see the module docs for the syntax).
#[derive(Debug, Clone, PartialEq)]
pub enum CaseSpec {
    /// Stationary AR(p) with unit variance, latent N(0, I_T).
    Ar {
        /// Coefficients (a_1, …, a_p), p ≥ 1.
        coeffs: Vec<f64>,
    },
    /// Cox–Ingersoll–Ross process started in its stationary law.
    Cir {
        /// Mean-reversion rate κ.
        kappa: f64,
        /// Long-run mean θ.
        theta: f64,
        /// Volatility σ.
        sigma: f64,
        /// Observation step Δ.
        dt: f64,
        /// Latent law q₀.
        latent: CirLatent,
    },
}

/// Why a case could not be parsed or is not a valid target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseSpecError {
    /// Neither an alias nor `ar(…)` / `cir(…)`.
    #[error("unknown case `{input}`; {CASE_SYNTAX}")]
    Unknown {
        /// The case as written.
        input: String,
    },
    /// Malformed `ar(…)` / `cir(…)`.
    #[error("case `{input}`: {reason}")]
    Syntax {
        /// The case as written.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed, but the energy crate rejects the law.
    #[error("case `{input}` is not a valid target: {source}")]
    Invalid {
        /// The case as written.
        input: String,
        /// The law constructor's error (names the parameter and its value).
        source: EnergyError,
    },
}

impl CaseSpecError {
    /// The case as written.
    pub fn input(&self) -> &str {
        match self {
            Self::Unknown { input } | Self::Syntax { input, .. } | Self::Invalid { input, .. } => {
                input
            }
        }
    }

    fn with_input(mut self, text: &str) -> Self {
        match &mut self {
            Self::Unknown { input } | Self::Syntax { input, .. } | Self::Invalid { input, .. } => {
                *input = text.to_string();
            }
        }
        self
    }
}

impl From<CaseSpecError> for ExperimentError {
    fn from(e: CaseSpecError) -> Self {
        ExperimentError::Config(e.to_string())
    }
}

impl CaseSpec {
    /// The parametric case an alias stands for (`cir0`, `cir1`; see [`ALIASES`]), with the
    /// parameters of [`CirProcess::cir0`] / [`CirProcess::cir1`].
    pub fn alias(name: &str) -> Option<Self> {
        let (cir, latent) = match name {
            "cir0" => (CirProcess::cir0(1), CirLatent::Exponential),
            "cir1" => (CirProcess::cir1(1), CirLatent::TruncatedGaussian),
            _ => return None,
        };
        cir.ok().map(|c| Self::Cir {
            kappa: c.kappa(),
            theta: c.theta(),
            sigma: c.sigma(),
            dt: c.dt(),
            latent,
        })
    }

    /// The alias whose expansion is this case, if any.
    pub fn alias_name(&self) -> Option<&'static str> {
        ALIASES
            .into_iter()
            .find(|a| Self::alias(a).as_ref() == Some(self))
    }

    /// Checks that the laws of the case can be built (see the module docs); errors name
    /// the case in its parametric form.
    ///
    /// # Errors
    /// [`CaseSpecError::Syntax`] for an AR without coefficients; [`CaseSpecError::Invalid`]
    /// when the energy crate rejects the target or the latent law.
    pub fn validate(&self) -> Result<(), CaseSpecError> {
        self.laws_or_error(1).map(|_| ())
    }

    /// Target p and latent q₀ of the case on paths of length `t`.
    ///
    /// # Errors
    /// As [`CaseSpec::validate`], or `t` = 0 ([`CaseSpecError::Invalid`]).
    pub fn laws(&self, t: usize) -> Result<CaseLaws, ExperimentError> {
        Ok(self.laws_or_error(t)?)
    }

    fn laws_or_error(&self, t: usize) -> Result<CaseLaws, CaseSpecError> {
        let invalid = |source| CaseSpecError::Invalid {
            input: format!("{self:#}"),
            source,
        };
        match self {
            Self::Ar { coeffs } => {
                if coeffs.is_empty() {
                    return Err(CaseSpecError::Syntax {
                        input: format!("{self:#}"),
                        reason: "an AR case needs at least one coefficient".into(),
                    });
                }
                Ok((
                    Box::new(ArProcess::new(coeffs, t).map_err(invalid)?),
                    Box::new(StandardGaussian::new(t).map_err(invalid)?),
                ))
            }
            Self::Cir {
                kappa,
                theta,
                sigma,
                dt,
                latent,
            } => {
                let cir = CirProcess::new(*kappa, *theta, *sigma, *dt, t).map_err(invalid)?;
                let q0: Box<dyn PathLaw> = match latent {
                    CirLatent::Exponential => Box::new(Exponential::new(t).map_err(invalid)?),
                    CirLatent::TruncatedGaussian => {
                        Box::new(TruncatedGaussian::matching_stationary(&cir).map_err(invalid)?)
                    }
                };
                Ok((Box::new(cir), q0))
            }
        }
    }
}

/// Comma-separated numbers of an argument list (empty text: none).
fn parse_numbers(text: &str) -> Result<Vec<f64>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|piece| {
            let piece = piece.trim();
            if piece.is_empty() {
                return Err("empty parameter between commas".to_string());
            }
            piece
                .parse::<f64>()
                .map_err(|_| format!("parameter `{piece}` is not a number"))
        })
        .collect()
}

/// `key = value` options after the `;`.
fn parse_options(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(|item| {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("option `{}` is not `key = value`", item.trim()))?;
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() || value.is_empty() {
                return Err(format!("option `{}` is not `key = value`", item.trim()));
            }
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

/// The `latent = …` option of `cir(…)`.
fn cir_latent(options: &[(String, String)]) -> Result<CirLatent, String> {
    let mut latent = None;
    for (key, value) in options {
        if key != "latent" {
            return Err(format!(
                "unknown option `{key}`; `cir(…)` takes `latent = exp|tgauss`"
            ));
        }
        if latent.is_some() {
            return Err("option `latent` given twice".into());
        }
        latent = Some(match value.as_str() {
            "exp" => CirLatent::Exponential,
            "tgauss" => CirLatent::TruncatedGaussian,
            other => {
                return Err(format!(
                    "unknown latent law `{other}`; use `exp` (i.i.d. Exp(1)) or `tgauss` \
                     (Gaussian truncated at 0 with the stationary mean and sd)"
                ));
            }
        });
    }
    latent.ok_or_else(|| {
        "missing `; latent = exp|tgauss` (the latent law q₀: `exp` = i.i.d. Exp(1), \
         `tgauss` = Gaussian truncated at 0 with the stationary mean and sd)"
            .to_string()
    })
}

impl FromStr for CaseSpec {
    type Err = CaseSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let input = s.trim();
        let syntax = |reason: String| CaseSpecError::Syntax {
            input: input.to_string(),
            reason,
        };
        if let Some(spec) = Self::alias(input) {
            return Ok(spec);
        }
        let unknown = || CaseSpecError::Unknown {
            input: input.to_string(),
        };
        let Some((head, rest)) = input.split_once('(') else {
            return Err(unknown());
        };
        let head = head.trim();
        if head != "ar" && head != "cir" {
            return Err(unknown());
        }
        let body = rest
            .strip_suffix(')')
            .ok_or_else(|| syntax("missing closing `)` at the end".into()))?;
        if body.contains(['(', ')']) {
            return Err(syntax("unbalanced or nested parentheses".into()));
        }
        let (args, options) = match body.split_once(';') {
            Some((a, o)) => (a, parse_options(o).map_err(syntax)?),
            None => (body, Vec::new()),
        };
        let numbers = parse_numbers(args).map_err(syntax)?;
        let spec = if head == "ar" {
            if !options.is_empty() {
                return Err(syntax("`ar(…)` takes no options".into()));
            }
            if numbers.is_empty() {
                return Err(syntax(
                    "`ar(…)` needs at least one coefficient (p ≥ 1)".into(),
                ));
            }
            Self::Ar { coeffs: numbers }
        } else {
            let &[kappa, theta, sigma, dt] = numbers.as_slice() else {
                return Err(syntax(format!(
                    "`cir(…)` takes 4 parameters κ, θ, σ, dt; got {}",
                    numbers.len()
                )));
            };
            let latent = cir_latent(&options).map_err(syntax)?;
            Self::Cir {
                kappa,
                theta,
                sigma,
                dt,
                latent,
            }
        };
        spec.validate().map_err(|e| e.with_input(input))?;
        Ok(spec)
    }
}

impl fmt::Display for CaseSpec {
    /// The canonical name (`{}`) or always the parametric form (`{:#}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate()
            && let Some(name) = self.alias_name()
        {
            return f.write_str(name);
        }
        match self {
            Self::Ar { coeffs } => {
                f.write_str("ar(")?;
                for (i, a) in coeffs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Self::Cir {
                kappa,
                theta,
                sigma,
                dt,
                latent,
            } => write!(
                f,
                "cir({kappa},{theta},{sigma},{dt};latent={})",
                latent.keyword()
            ),
        }
    }
}

impl Serialize for CaseSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CaseSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<CaseSpec, CaseSpecError> {
        s.parse()
    }

    fn ar(coeffs: &[f64]) -> CaseSpec {
        CaseSpec::Ar {
            coeffs: coeffs.to_vec(),
        }
    }

    #[test]
    fn parses_good_cases() {
        assert_eq!(parse("ar(0.1)").unwrap(), ar(&[0.1]));
        assert_eq!(parse(" ar( 0.2 , -0.1 ) ").unwrap(), ar(&[0.2, -0.1]));
        assert_eq!(parse("ar(-0.1,0.2,0.1)").unwrap(), ar(&[-0.1, 0.2, 0.1]));
        assert_eq!(parse("ar(3e-1)").unwrap(), ar(&[0.3]));
        assert_eq!(
            parse("cir(1, 2, 1, 0.5; latent = tgauss)").unwrap(),
            CaseSpec::Cir {
                kappa: 1.0,
                theta: 2.0,
                sigma: 1.0,
                dt: 0.5,
                latent: CirLatent::TruncatedGaussian
            }
        );
        assert_eq!(
            parse("cir(0.5,1,1,1;latent=exp)").unwrap(),
            CaseSpec::alias("cir0").unwrap()
        );
    }

    #[test]
    fn aliases_expand_to_the_paper_parameters() {
        assert_eq!(
            parse("cir0").unwrap(),
            CaseSpec::Cir {
                kappa: 0.5,
                theta: 1.0,
                sigma: 1.0,
                dt: 1.0,
                latent: CirLatent::Exponential
            }
        );
        assert_eq!(
            parse("cir1").unwrap(),
            CaseSpec::Cir {
                kappa: std::f64::consts::FRAC_1_SQRT_2,
                theta: std::f64::consts::SQRT_2,
                sigma: 1.0,
                dt: 1.0,
                latent: CirLatent::TruncatedGaussian
            }
        );
        assert_eq!(
            format!("{:#}", parse("cir0").unwrap()),
            "cir(0.5,1,1,1;latent=exp)"
        );
        assert_eq!(
            parse("cir(0.7071067811865476, 1.4142135623730951, 1, 1; latent = tgauss)")
                .unwrap()
                .to_string(),
            "cir1"
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "ar(0.1)",
            "ar(0.2,-0.1)",
            "ar(-0.1,0.2,0.1)",
            "ar(0.3)",
            "ar(0.5,-0.25,0.125,0.0625)",
            "cir0",
            "cir1",
            "cir(1,2,1,0.5;latent=tgauss)",
            "cir(2,0.25,1,0.1;latent=exp)",
            "cir(0.0000001,10000000000000000000000,1,1;latent=exp)",
        ] {
            let spec = parse(s).unwrap();
            assert_eq!(spec.to_string(), s, "canonical form of {s}");
            assert_eq!(parse(&spec.to_string()).unwrap(), spec);
            assert_eq!(parse(&format!("{spec:#}")).unwrap(), spec);
        }
        // a non-canonical spelling is normalised
        assert_eq!(
            parse("ar( 0.10 , -1e-1 )").unwrap().to_string(),
            "ar(0.1,-0.1)"
        );
    }

    #[test]
    fn serde_uses_the_canonical_name() {
        let specs: Vec<CaseSpec> = serde_json::from_value(serde_json::json!([
            "ar(0.3)",
            "cir0",
            "cir(1,2,1,1;latent=exp)"
        ]))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&specs).unwrap(),
            serde_json::json!(["ar(0.3)", "cir0", "cir(1,2,1,1;latent=exp)"])
        );
        let err = serde_json::from_value::<Vec<CaseSpec>>(serde_json::json!(["ar(1.5)"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ar(1.5)") && err.contains("not stationary"),
            "{err}"
        );
    }

    /// Parses `s`, expects an error whose message contains `s` and every `needle`.
    fn bad(s: &str, needles: &[&str]) -> CaseSpecError {
        let err = parse(s).expect_err(s);
        let msg = err.to_string();
        assert!(msg.contains(s.trim()), "`{s}`: {msg}");
        assert_eq!(err.input(), s.trim());
        for n in needles {
            assert!(msg.contains(n), "`{s}`: `{n}` not in {msg}");
        }
        err
    }

    #[test]
    fn bad_cases_are_errors_naming_the_value() {
        // unknown names list the accepted forms
        for s in ["garch(1,1)", "cir2", "", "ar", "AR(0.1)"] {
            let e = bad(s, &["unknown case", "ar(a1, …, ap)", "cir1"]);
            assert!(matches!(e, CaseSpecError::Unknown { .. }));
        }
        // syntax
        bad("ar(0.1", &["missing closing `)`"]);
        bad("ar(0.1))", &["parentheses"]);
        bad("ar()", &["at least one coefficient"]);
        bad("ar(0.1,,0.2)", &["empty parameter"]);
        bad("ar(0.1,x)", &["`x` is not a number"]);
        bad("ar(0.1; latent = exp)", &["takes no options"]);
        bad("cir(1,2,1)", &["4 parameters", "got 3"]);
        bad("cir(1,2,1,1)", &["missing `; latent = exp|tgauss`"]);
        bad(
            "cir(1,2,1,1; latent = gamma)",
            &["unknown latent law `gamma`"],
        );
        bad("cir(1,2,1,1; steps = 3)", &["unknown option `steps`"]);
        bad("cir(1,2,1,1; latent = exp, latent = exp)", &["given twice"]);
        bad("cir(1,2,1,1; latent)", &["not `key = value`"]);
        // invalid laws: the energy crate's message names the parameter and its value
        for (s, needle) in [
            ("ar(0.7,0.7)", "not stationary"),
            ("ar(1)", "not stationary"),
            ("ar(-1.5)", "not stationary"),
            ("ar(inf)", "must be finite"),
            ("ar(NaN)", "must be finite"),
            ("cir(0,1,1,1;latent=exp)", "κ = 0: must be positive"),
            ("cir(1,-2,1,1;latent=exp)", "θ = -2: must be positive"),
            ("cir(1,1,-1,1;latent=exp)", "σ = -1: must be positive"),
            ("cir(1,1,1,0;latent=exp)", "dt = 0: must be positive"),
            ("cir(0.1,1,1,1;latent=exp)", "Feller"),
            // q = 0: the stationary sd equals the mean, no truncated Gaussian has them
            ("cir(0.5,1,1,1;latent=tgauss)", "truncated"),
        ] {
            let e = bad(s, &["not a valid target", needle]);
            assert!(matches!(e, CaseSpecError::Invalid { .. }), "{s}");
        }
    }

    #[test]
    fn hand_built_invalid_cases_are_errors_not_panics() {
        let e = ar(&[]).validate().unwrap_err();
        assert!(e.to_string().contains("ar()"), "{e}");
        let e = ar(&[2.0]).laws(16).err().expect("non-stationary");
        assert!(e.to_string().contains("ar(2)"), "{e}");
        assert!(ar(&[0.3]).laws(0).is_err());
    }

    #[test]
    fn laws_match_the_energy_crate_constructors() {
        let t = 32;
        let (p, q) = parse("cir1").unwrap().laws(t).unwrap();
        let cir = CirProcess::cir1(t).unwrap();
        let tg = TruncatedGaussian::matching_stationary(&cir).unwrap();
        let x: Vec<f64> = (0..t).map(|i| 0.5 + 0.1 * i as f64).collect();
        assert_eq!(
            p.log_density(&x).unwrap().to_bits(),
            cir.log_density(&x).unwrap().to_bits()
        );
        assert_eq!(
            q.log_density(&x).unwrap().to_bits(),
            tg.log_density(&x).unwrap().to_bits()
        );
        assert!(p.non_negative() && q.non_negative());
        let (p, q) = parse("ar(0.2,-0.1)").unwrap().laws(t).unwrap();
        let arp = ArProcess::new(&[0.2, -0.1], t).unwrap();
        assert_eq!(
            p.log_density(&x).unwrap().to_bits(),
            arp.log_density(&x).unwrap().to_bits()
        );
        assert!(!q.non_negative());
    }
}
