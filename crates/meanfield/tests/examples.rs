//! Runs every program of `examples/` as a test: each example checks its own result
//! against a known answer and returns an error when it is off.

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

#[path = "../examples/cbo_objective.rs"]
mod cbo_objective;
#[path = "../examples/fisher_rao.rs"]
mod fisher_rao;
#[path = "../examples/mf_mgdm_ar.rs"]
mod mf_mgdm_ar;
#[path = "../examples/mfld_double_well.rs"]
mod mfld_double_well;
#[path = "../examples/mirror_simplex.rs"]
mod mirror_simplex;
#[path = "../examples/particle_em.rs"]
mod particle_em;

#[test]
fn mfld_double_well() -> Result {
    mfld_double_well::main()
}

#[test]
fn mirror_simplex() -> Result {
    mirror_simplex::main()
}

#[test]
fn fisher_rao() -> Result {
    fisher_rao::main()
}

#[test]
fn mf_mgdm_ar() -> Result {
    mf_mgdm_ar::main()
}

#[test]
fn particle_em() -> Result {
    particle_em::main()
}

#[test]
fn cbo_objective() -> Result {
    cbo_objective::main()
}
